"""A crash right after `up`'s own rollback write (UpdateService back to the last healthy
revision): the next `up` converges, on the config's revision, with one service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import REGION, write_config
from test_deploy_failures import CLUSTER, broken, run

from gatewayproxy import failures
from gatewayproxy.aws import Aws

pytestmark = pytest.mark.crash


class Crash(BaseException):
    """Stands for SIGKILL: no handler of ours may catch it."""


def test_crash_after_the_rollback_write_then_up_converges(moto_account: None, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path / "gatewayproxy.toml")
    assert run("up", config=config).exit_code == 0
    ecs = boto3.client("ecs", region_name=REGION)
    healthy = ecs.describe_services(cluster=CLUSTER, services=["quizapi"])["services"][0][
        "taskDefinition"]
    original = Aws.call

    def call(aws: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        result = original(aws, service, operation, **kwargs)
        if operation == "update_service" and kwargs.get("taskDefinition") == healthy:
            raise Crash("after the rollback")
        return result

    monkeypatch.setattr(Aws, "call", call)
    with pytest.raises(Crash):
        run("up", config=broken(config, failures.FAIL_EXIT, budget=2))
    monkeypatch.setattr(Aws, "call", original)
    fixed = write_config(config, **{'image = "public.ecr.aws/nginx/nginx:1.27"':
                                    'image = "public.ecr.aws/nginx/nginx:1.28"'})
    result = run("up", config=fixed)
    assert result.exit_code == 0, result.output
    services = ecs.list_services(cluster=CLUSTER)["serviceArns"]
    assert len(services) == 1
    live = ecs.describe_services(cluster=CLUSTER, services=["quizapi"])["services"][0]
    assert live["taskDefinition"].endswith(":3") and len(live["deployments"]) == 1
    status = json.loads(run("status", "--json", config=fixed).stdout)
    service = next(s for s in status["steps"] if s["name"] == "service")
    assert service["healthy"] and service["details"]["rolled_back_from"] is None

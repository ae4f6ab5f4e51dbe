"""`doctor` on the sandbox's failure images (gatewayproxy/failures.py): each broken stack fails
at the hop that broke, in AWS's words; a stack rolled back to its healthy revision passes, its
failed deployment's tasks shown as history."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_config
from test_deploy_failures import broken, run

from gatewayproxy import doctor, failures

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """As against the sandbox: no TestInvokeMethod (in-process moto has no endpoint URL)."""
    monkeypatch.setattr(doctor, "real_aws", lambda ctx: False)


def failing(config: Path) -> dict[str, str]:
    result = run("doctor", config=config)
    assert result.exit_code == 1, result.output
    hops = [line.split(None, 1) for line in result.output.splitlines()]
    return {rest.split("  ")[0]: rest for status, rest in hops if status == "fail"}


@pytest.mark.parametrize(("image", "targets", "tasks"), [
    (failures.FAIL_PULL, "0/0 healthy", "CannotPullContainerError"),
    (failures.FAIL_EXIT, "0/0 healthy", "Essential container in task exited"),
    (failures.FAIL_UNHEALTHY, "Target.FailedHealthChecks", "Task failed ELB health checks"),
])
def test_each_failure_image_fails_at_its_hop(moto_account: None, tmp_path: Path, image: str,
                                             targets: str, tasks: str) -> None:
    config = broken(tmp_path / "gatewayproxy.toml", image)
    assert run("up", config=config).exit_code == 1
    failed = failing(config)
    assert {"targets", "service", "tasks"} <= set(failed)
    assert targets in failed["targets"]
    assert "rollout FAILED" in failed["service"]
    assert "of the current deployment stopped" in failed["tasks"] and tasks in failed["tasks"]
    assert {"VPC link", "NLB", "listener"}.isdisjoint(failed)  # the hops before are fine


def test_a_rolled_back_stack_passes_with_the_failure_as_history(moto_account: None,
                                                                tmp_path: Path) -> None:
    config = write_config(tmp_path / "gatewayproxy.toml")
    assert run("up", config=config).exit_code == 0
    assert run("up", config=broken(config, failures.FAIL_EXIT, budget=2)).exit_code == 1
    result = run("doctor", config=config)
    assert result.exit_code == 0, result.output
    tasks = next(line for line in result.output.splitlines() if line.split()[1] == "tasks")
    assert tasks.startswith("ok")
    assert "of earlier deployments: " in tasks and "Essential container in task exited" in tasks

"""A Context for the API Gateway resources' unit tests: the access config, the backend's
outputs handed on, on the fake AWS layer of resources/fakes.py."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from access_fixtures import ACCESS_CONFIG
from resources.fakes import FakeAws

from gatewayproxy import config
from gatewayproxy.context import Context, Outputs
from gatewayproxy.errors import AwsError
from gatewayproxy.state import State


def not_found(operation: str) -> AwsError:
    return AwsError(operation, "NotFoundException", "not found")


def context(tmp_path: Path, text: str = ACCESS_CONFIG, **answers: Any) -> tuple[Context, FakeAws]:
    cfg = config.parse(tomllib.loads(text))
    aws = FakeAws(answers)
    ctx = Context(config=cfg, state=State.load(tmp_path / "s.json", cfg.name), aws=aws,  # type: ignore[arg-type]
                  outputs=Outputs())
    ctx.outputs.publish("rest_api.functions", {
        "quiz-hook": "arn:aws:lambda:eu-west-1:123456789012:function:quiz-hook"})
    for key, value in {"load_balancer.dns": "nlb.example", "load_balancer.arn": "arn:nlb",
                       "vpc_link.id": "link1", "vpc_link.generation": "v1"}.items():
        ctx.outputs.publish(key, value)
    return ctx, aws

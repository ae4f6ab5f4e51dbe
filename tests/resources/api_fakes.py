"""A Context on a fake AWS layer for the resource unit tests: canned answers per operation,
every call recorded, no moto."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from access_fixtures import ACCESS_CONFIG

from gatewayproxy import config
from gatewayproxy.context import Context, Outputs
from gatewayproxy.errors import AwsError
from gatewayproxy.state import State


class FakeAws:
    region = "eu-west-1"
    account_id = "123456789012"

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = answers or {}
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, /, **params: Any) -> Any:
        self.sent.append((operation, params))
        answer = self.answers.get(operation, {})
        if isinstance(answer, AwsError):
            raise answer
        return answer(params) if callable(answer) else answer

    def find(self, service: str, operation: str, /, **params: Any) -> Any:
        try:
            return self.call(service, operation, **params)
        except AwsError as exc:
            if exc.code in ("NotFoundException", "ResourceNotFoundException"):
                return None
            raise

    def pages(self, service: str, operation: str, /, *, items: str, token: str,
              **params: Any) -> Any:
        return iter(self.call(service, operation, **params).get(items) or [])


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

"""A Context on a fake AWS layer: canned answers per operation, every call recorded (no moto)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from conftest import CONFIG

import gatewayproxy.steps  # noqa: F401 - the steps first, as the engine imports them
from gatewayproxy.aws import is_not_found
from gatewayproxy.config import parse
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.state import State


class FakeAws:
    """Answers each operation from `answers` (a value, a function of the parameters, or an
    AwsError to raise); `find` is None where the real layer's is (gatewayproxy.aws)."""

    region = "eu-west-1"
    account_id = "123456789012"

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = dict(answers or {})
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
            if is_not_found(exc) or exc.code.endswith("NotFound"):
                return None
            raise

    def pages(self, service: str, operation: str, /, *, items: str, token: str,
              **params: Any) -> Any:
        return iter(self.call(service, operation, **params).get(items) or [])

    @property
    def operations(self) -> list[str]:
        return [op for op, _ in self.sent]


def context(tmp_path: Path, answers: dict[str, Any] | None = None) -> tuple[Context, FakeAws]:
    cfg = parse(tomllib.loads(CONFIG))
    aws = FakeAws(answers)
    state = State.load(tmp_path / "s.state.json", cfg.name).scratch()
    return Context(config=cfg, state=state, aws=aws), aws  # type: ignore[arg-type]

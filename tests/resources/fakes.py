"""A Context on a fake AWS layer: canned answers per operation, every call recorded (no moto)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from conftest import CONFIG

import gatewayproxy.steps  # noqa: F401 - the steps first, as the engine imports them
from gatewayproxy.config import parse
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.state import State


class FakeAws:
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
            if exc.code.endswith("NotFound"):
                return None
            raise

    @property
    def operations(self) -> list[str]:
        return [op for op, _ in self.sent]


def context(tmp_path: Path, answers: dict[str, Any] | None = None) -> tuple[Context, FakeAws]:
    cfg = parse(tomllib.loads(CONFIG))
    aws = FakeAws(answers)
    state = State.load(tmp_path / "s.state.json", cfg.name).scratch()
    return Context(config=cfg, state=state, aws=aws), aws  # type: ignore[arg-type]

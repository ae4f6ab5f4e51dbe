"""Shared fixtures: an offline moto account, a config on disk, and a clock that never sleeps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from gatewayproxy.aws import Aws, Clock, Target
from gatewayproxy.emulator import patch_moto_ecs

REGION = "eu-west-1"

CONFIG = """\
[stack]
name = "quizapi"
region = "eu-west-1"

[container]
image = "public.ecr.aws/nginx/nginx:1.27"
port = 8080
desired_count = 2
environment = { GREETING = "hello" }

[api]
stage = "live"

[[api.routes]]
path = "/answers"
methods = ["GET", "POST"]

[[api.routes]]
path = "/teams/{team}"
methods = ["GET"]
"""


class FakeClock(Clock):
    """Time that moves only when someone sleeps: waits finish instantly and deterministically."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()
        self.slept: list[float] = []
        super().__init__(now=self._read, sleep=self._sleep)

    def _read(self) -> float:
        with self._lock:
            return self._now

    def _sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += seconds


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real credentials, profile, endpoint or sandbox ever leak into a test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "AWS_SESSION_TOKEN", "GATEWAYPROXY_POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("GATEWAYPROXY_SANDBOX_DIR", str(tmp_path / "sandbox-home"))


@pytest.fixture
def moto_account() -> Iterator[None]:
    """A fresh emulated account with AWS managed policies and ECS services that run."""
    patch_moto_ecs()
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws(moto_account: None, clock: FakeClock) -> Aws:
    return Aws(Target(region=REGION), clock=clock, max_poll=5.0)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "gatewayproxy.toml"
    path.write_text(CONFIG)
    return path


def write_config(path: Path, **replace: Any) -> Path:
    text = CONFIG
    for old, new in replace.items():
        text = text.replace(old, new)
    path.write_text(text)
    return path

"""Shared by the S3 state tests: a state bucket in the emulated account, stack sessions on an S3
state (as one process each would have them), and a way to make S3 answer an error."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import CONFIG, REGION

from gatewayproxy import config, s3_state
from gatewayproxy.aws import Aws
from gatewayproxy.errors import AwsError
from gatewayproxy.s3_state import S3Store
from gatewayproxy.session import StackSession
from gatewayproxy.state import State
from gatewayproxy.state_store import parse_s3_url

BUCKET = "team-state"
KEY = "stacks/quizapi.state.json"
URL = f"s3://{BUCKET}/{KEY}"


@pytest.fixture
def bucket(moto_account: None) -> str:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return BUCKET


class WallClock:
    """The lease's clock (seconds since the epoch), moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    clock = WallClock()
    monkeypatch.setattr(s3_state, "wall_time", clock)
    return clock


def store(aws: Aws, url: str = URL) -> S3Store:
    return S3Store(aws, parse_s3_url(url, "test"))


def s3_session(aws: Aws, url: str = URL, text: str = CONFIG) -> StackSession:
    """A new process's view of the stack whose state is `url`."""
    cfg = config.parse(tomllib.loads(text))
    return StackSession(cfg, State.open(store(aws, url), cfg.name), aws)


def state_object(key: str = KEY) -> bytes:
    return bytes(boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=key)["Body"].read())


def keys_in_bucket() -> list[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def folder(tmp_path: Path, name: str, text: str = CONFIG) -> Path:
    """Another checkout of the same stack: a folder with its own config file."""
    path = tmp_path / name
    path.mkdir()
    config_path = path / "gatewayproxy.toml"
    config_path.write_text(text)
    return config_path


@pytest.fixture
def s3_fails(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, AwsError]]:
    """operation -> the AwsError S3 answers it with (once per entry put in)."""
    planned: dict[str, AwsError] = {}
    original = Aws.call

    def call(aws: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        if service == "s3" and operation in planned:
            raise planned.pop(operation)
        return original(aws, service, operation, **kwargs)

    monkeypatch.setattr(Aws, "call", call)
    yield planned


def aws_error(operation: str, code: str, message: str = "",
              region: str | None = None) -> AwsError:
    error = AwsError(operation, code, message or code)
    error.bucket_region = region
    return error

"""Hard to misuse: locks, wrong targets, lost or corrupt state, AWS pushing back, Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from conftest import REGION, Call, FakeClock, writes
from inventory import counts, inventory
from test_lifecycle import EXPECTED

from gatewayproxy.aws import Aws, Target
from gatewayproxy.cli import main
from gatewayproxy.state import State


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


def state_path(config: Path) -> Path:
    return config.parent / ".gatewayproxy" / "quizapi.state.json"


class Faults:
    """Makes named operations answer with AWS error codes, after botocore's own retries."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plan: dict[str, list[str]] = {}
        self.seen: list[str] = []
        original = Aws.client
        faults = self

        class Faulty:
            def __init__(self, client: Any) -> None:
                self._client = client

            def __getattr__(self, name: str) -> Any:
                method = getattr(self._client, name)

                def call(**kwargs: Any) -> Any:
                    codes = faults.plan.get(name)
                    if codes:
                        code = codes.pop(0)
                        faults.seen.append(f"{name}:{code}")
                        raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}},
                                          name)
                    return method(**kwargs)

                return call

        monkeypatch.setattr(Aws, "client", lambda aws, service: Faulty(original(aws, service)))

    def inject(self, operation: str, *codes: str) -> None:
        self.plan[operation] = list(codes)


@pytest.fixture
def faults(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Faults:
    return Faults(monkeypatch)


# -- one writer at a time ----------------------------------------------------------------------
def test_a_second_run_is_refused_while_one_holds_the_lock(moto_account: None,
                                                          config_file: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        lock = state_path(config_file).with_suffix(".lock")
        lock.parent.mkdir(parents=True)
        lock.write_text(json.dumps({"pid": other.pid, "command": "up"}))
        result = run("up", config=config_file)
        assert result.exit_code == 1
        assert f"another gatewayproxy (up, pid {other.pid}) is working on this stack" in result.output
        assert not any(inventory(REGION).values())
        assert lock.exists()
    finally:
        other.kill()
        other.wait()


def test_a_stale_lock_from_a_dead_process_is_taken_over(moto_account: None,
                                                        config_file: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = state_path(config_file).with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": dead.pid, "command": "down"}))
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    assert not lock.exists()


# -- wrong target ------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, words", [
    ("account_id", "999999999999", "lives in account 999999999999"),
    ("region", "us-east-1", "lives in region us-east-1"),
    ("endpoint_url", "http://127.0.0.1:4566", "lives in endpoint http://127.0.0.1:4566"),
])
@pytest.mark.parametrize("command", ["up", "status", "down"])
def test_a_stack_of_another_account_region_or_endpoint_is_refused(
        moto_account: None, config_file: Path, command: str, field: str, value: str,
        words: str, calls: list[Call]) -> None:
    path = state_path(config_file)
    state = State.load(path, "quizapi")
    target = {"account_id": "123456789012", "region": REGION, "endpoint_url": None, field: value}
    state.set_target(**target)
    state.record("cluster", "vpc_id", "vpc-0123456789abcdef0")
    before = path.read_bytes()
    args = ["down", "--yes"] if command == "down" else [command]
    result = run(*args, config=config_file)
    assert result.exit_code == 1
    assert words in result.output and "refusing to touch it" in result.output
    assert writes(calls) == []
    assert path.read_bytes() == before


# -- lost and corrupt state --------------------------------------------------------------------
def test_down_without_a_state_file_still_removes_everything_tagged(moto_account: None,
                                                                   config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    state_path(config_file).unlink()
    status = run("status", "--json", config=config_file)
    report = json.loads(status.stdout)
    assert report["exists"] is False and len(report["untracked"]) >= 10
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 0, result.output
    left = {kind: items for kind, items in inventory(REGION).items() if items}
    assert not left


def test_import_rebuilds_the_state_from_tags(moto_account: None, config_file: Path,
                                             calls: list[Call]) -> None:
    assert run("up", config=config_file).exit_code == 0
    path = state_path(config_file)
    original = json.loads(path.read_text())
    path.unlink()
    calls.clear()
    result = run("import", config=config_file)
    assert result.exit_code == 0, result.output
    assert writes(calls) == []
    rebuilt = json.loads(path.read_text())
    for step, entry in original["steps"].items():
        kept = {k: v for k, v in entry["resources"].items() if k != "deployment_id"}
        assert {k: rebuilt["steps"][step]["resources"].get(k) for k in kept} == kept, step
        assert rebuilt["steps"][step]["done"]
    assert rebuilt["target"] == original["target"]
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []


def test_import_of_a_half_built_stack_says_what_is_missing(faults: Faults,
                                                           config_file: Path) -> None:
    faults.inject("create_load_balancer", "InternalFailure")
    assert run("up", config=config_file).exit_code == 1
    state_path(config_file).unlink()
    result = run("import", config=config_file)
    assert result.exit_code == 0, result.output
    # The NLB reads only the private subnets: they exist (and are found), whatever else the
    # failed run's other resources had done by the time it stopped.
    rebuilt = json.loads(state_path(config_file).read_text())["steps"]["private_subnet"]
    assert {"private_subnet_0", "private_subnet_1"} <= set(rebuilt["resources"])
    assert "4. load_balancer: incomplete: would need NLB quizapi-nlb" in result.output
    assert "run `gatewayproxy up` to finish" in result.output


@pytest.mark.parametrize("content, words", [
    ("{not json", "is corrupt"),
    ('{"format": "something-else"}', "is not a gatewayproxy state file"),
    ('{"format": "gatewayproxy-state", "version": 99, "stack": "quizapi", "steps": {}}',
     "has version 99"),
    ('{"format": "gatewayproxy-state", "version": 1, "stack": "other", "steps": {}}',
     "belongs to stack 'other'"),
])
@pytest.mark.parametrize("command", ["up", "status", "down"])
def test_a_corrupt_or_foreign_state_file_is_reported_and_left_untouched(
        moto_account: None, config_file: Path, command: str, content: str, words: str,
        calls: list[Call]) -> None:
    path = state_path(config_file)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    args = ["down", "--yes"] if command == "down" else [command]
    result = run(*args, config=config_file)
    assert result.exit_code == 1
    assert words in result.output and "Traceback" not in result.output
    assert path.read_text() == content
    assert calls == []


def test_a_crash_while_saving_leaves_the_previous_state(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.state.json"
    state = State.load(path, "s")
    state.record("cluster", "vpc_id", "vpc-1")
    before = path.read_text()

    def power_cut(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError):
        state.record("cluster", "internet_gateway", "igw-1")
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.state.json"]


# -- AWS pushes back, we wait ------------------------------------------------------------------
def test_throttling_and_eventual_consistency_are_retried(faults: Faults, config_file: Path,
                                                         clock: FakeClock) -> None:
    faults.inject("create_vpc", "RequestLimitExceeded", "RequestLimitExceeded")
    faults.inject("attach_internet_gateway", "InvalidInternetGatewayID.NotFound")
    faults.inject("create_target_group", "Throttling")
    faults.inject("create_rest_api", "TooManyRequestsException")
    faults.inject("create_service", "ThrottlingException")
    faults.inject("register_task_definition", "ClientException")  # not retried: see below
    faults.plan["register_task_definition"] = []
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    assert len(faults.seen) == 6
    assert dict(counts(REGION)) == EXPECTED
    assert clock.slept  # the retries waited, on the fake clock


def test_dependency_violation_while_interfaces_drain_is_retried(faults: Faults,
                                                                config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    faults.inject("delete_subnet", *["DependencyViolation"] * 4)
    faults.inject("delete_security_group", "DependencyViolation")
    faults.inject("detach_internet_gateway", "DependencyViolation")
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 0, result.output
    assert not any(inventory(REGION).values())


def test_a_resource_that_stays_in_use_is_reported_with_its_holders(faults: Faults,
                                                                   config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    faults.inject("delete_security_group", *["DependencyViolation"] * 10_000)
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    # The tasks' group or the (default, v2) VPC link's: whichever is deleted first.
    assert any(f"step {step} failed" in message for step in ("service", "vpc_link"))
    assert "gave up waiting for sg-" in message
    assert "DependencyViolation" in message and "interface" in message
    assert "gatewayproxy down --yes" in message
    assert state_path(config_file).exists()
    faults.plan.clear()
    assert run("down", "--yes", config=config_file).exit_code == 0
    assert not any(inventory(REGION).values())


def test_a_permanent_error_names_step_resource_code_and_the_resume_command(
        faults: Faults, config_file: Path) -> None:
    faults.inject("create_nat_gateway", "InsufficientAddressCapacity")
    result = run("up", config=config_file)
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("Error: step nat_gateway failed: CreateNatGateway: "
                              "InsufficientAddressCapacity: injected")
    assert message.endswith("run `gatewayproxy up` to resume")
    state = json.loads(state_path(config_file).read_text())
    assert state["steps"]["nat_gateway"]["resources"]["elastic_ip"].startswith("eipalloc-")
    recorded = json.dumps(state)
    made = [i for kind, items in inventory(REGION).items() if kind != "log_groups" for i in items]
    assert made and all(resource in recorded for resource in made)  # nothing made is untracked
    assert run("up", config=config_file).exit_code == 0
    assert dict(counts(REGION)) == EXPECTED


def test_ctrl_c_saves_the_state_and_says_how_to_resume(moto_account: None, config_file: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    original = Aws.call

    def interrupted(self: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        if operation == "create_vpc_link":
            raise KeyboardInterrupt
        return original(self, service, operation, **kwargs)

    monkeypatch.setattr(Aws, "call", interrupted)
    result = run("up", config=config_file)
    assert result.exit_code == 130
    assert "interrupted" in result.output and "`gatewayproxy up` to resume" in result.output
    monkeypatch.setattr(Aws, "call", original)
    assert run("up", config=config_file).exit_code == 0
    assert dict(counts(REGION)) == EXPECTED


def test_api_gateway_control_plane_limits_are_paced(moto_account: None) -> None:
    clock = FakeClock()
    aws = Aws(Target(region=REGION), clock=clock, max_poll=5.0)
    first = aws.call("apigateway", "create_rest_api", name="a")["id"]
    aws.call("apigateway", "create_rest_api", name="b")
    assert clock.slept == [3.0]  # CreateRestApi: one per 3 seconds
    aws.call("apigateway", "delete_rest_api", restApiId=first)
    assert clock.slept == [3.0]


def test_missing_credentials_is_one_clear_line(moto_account: None, config_file: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setattr("botocore.credentials.InstanceMetadataProvider.load", lambda self: None)
    monkeypatch.setattr("botocore.credentials.ContainerProvider.load", lambda self: None)
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no AWS credentials found: configure a profile (aws configure), pass --profile, "
        "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"]


def test_an_unknown_region_is_refused_before_any_call(config_file: Path, calls: list[Call]) -> None:
    config_file.write_text(config_file.read_text().replace('region = "eu-west-1"',
                                                           'region = "eu-fake-9"'))
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: 'eu-fake-9' is not an AWS region this botocore knows (check stack.region, "
        "--region or AWS_REGION)"]
    assert calls == []


def test_more_zones_than_the_region_has_is_refused_before_any_write(
        moto_account: None, config_file: Path, calls: list[Call]) -> None:
    zones = len(boto3.client("ec2", region_name=REGION).describe_availability_zones()[
        "AvailabilityZones"])
    config_file.write_text(config_file.read_text().replace(
        "[api]", f"[network]\navailability_zones = {zones + 1}\n\n[api]"))
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert f"network.availability_zones = {zones + 1}, but {REGION} has {zones}" in result.output
    assert writes(calls) == []


def test_a_renamed_stack_is_refused_rather_than_built_twice(moto_account: None,
                                                            config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    config_file.write_text(config_file.read_text().replace('name = "quizapi"', 'name = "quiz2"'))
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert "already holds stack 'quizapi'" in result.output and "down" in result.output
    assert dict(counts(REGION)) == EXPECTED


def test_import_of_nothing_writes_no_state(moto_account: None, config_file: Path) -> None:
    result = run("import", config=config_file)
    assert result.exit_code == 0
    assert "found nothing tagged gatewayproxy:stack=quizapi" in result.output
    assert not state_path(config_file).exists()


def test_a_failed_plan_says_what_is_wrong_not_how_to_resume(moto_account: None,
                                                           config_file: Path) -> None:
    config_file.write_text(config_file.read_text().replace(
        "[api]", '[network]\navailability_zones = 6\n\n[api]'))
    result = run("plan", config=config_file)
    assert result.exit_code == 1
    assert "availability_zones = 6" in result.output and "to resume" not in result.output

"""`status` tells drift (AWS says the resource is gone) from an AWS error (AWS would not say)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REGION
from test_safety import Faults, run, state_path

from gatewayproxy.errors import AwsError
from gatewayproxy.state import State
from gatewayproxy.steps import NAMES
from gatewayproxy.steps.base import is_not_found

ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012"
# A finished stack as the state file records it; none of it exists in the emulated account,
# exactly as if each resource had been deleted behind the tool's back.
RECORDED = {
    "task_definition": {"task_definition_arn": f"arn:aws:ecs:{REGION}:123456789012:"
                                               "task-definition/gatewayproxy-quizapi-app:1"},
    "cluster": {"vpc_id": "vpc-0123456789abcdef0", "cluster": "gatewayproxy-quizapi-cluster"},
    "private_subnet": {"private_subnet_0": "subnet-0123456789abcdef0"},
    "load_balancer": {"load_balancer_arn": f"{ARN}:loadbalancer/net/quizapi-nlb/50dc6c495c0c9188"},
    "nat_gateway": {"nat_gateway": "nat-0123456789abcdef0"},
    "service": {"service": "quizapi",
                "target_group_arn": f"{ARN}:targetgroup/quizapi-tg-8080/50dc6c495c0c9188"},
    "target_group": {},
    "vpc_link": {"vpc_link_id": "abc123"},
    "rest_api": {"rest_api_id": "def456"},
}
# What each step's status reads, and what AWS answers a caller without the permission.
DENIED = {
    "task_definition": ("describe_task_definition", "DescribeTaskDefinition", "AccessDeniedException"),
    "cluster": ("describe_vpcs", "DescribeVpcs", "UnauthorizedOperation"),
    "private_subnet": ("describe_subnets", "DescribeSubnets", "UnauthorizedOperation"),
    "load_balancer": ("describe_load_balancers", "DescribeLoadBalancers", "AccessDenied"),
    "nat_gateway": ("describe_nat_gateways", "DescribeNatGateways", "UnauthorizedOperation"),
    "service": ("describe_services", "DescribeServices", "AccessDeniedException"),
    "target_group": ("describe_target_health", "DescribeTargetHealth", "AccessDenied"),
    "vpc_link": ("get_vpc_link", "GetVpcLink", "AccessDeniedException"),
    "rest_api": ("get_stage", "GetStage", "AccessDeniedException"),
}


@pytest.fixture
def recorded(moto_account: None, config_file: Path) -> Path:
    state = State.load(state_path(config_file), "quizapi")
    state.set_target(account_id="123456789012", region=REGION, endpoint_url=None)
    for step, resources in RECORDED.items():
        for key, value in resources.items():
            state.record(step, key, value)
        state.mark_done(step)
    return config_file


@pytest.fixture
def faults(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Faults:
    return Faults(monkeypatch)


def steps_of(stdout: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in json.loads(stdout)["steps"]}


def test_resources_aws_no_longer_has_are_drift(recorded: Path) -> None:
    result = run("status", "--json", config=recorded)
    assert result.exit_code == 0, result.output  # unhealthy is a finding: exit 0, as before
    steps = steps_of(result.stdout)
    assert list(steps) == list(NAMES)
    for step in steps.values():
        assert step["healthy"] is False and "(drift)" in step["summary"], step
        assert "error" not in step["details"], step


def test_an_access_denied_read_is_an_error_not_drift(recorded: Path, faults: Faults) -> None:
    for operation, _, code in DENIED.values():
        faults.inject(operation, code)
    result = run("status", "--json", config=recorded)
    assert result.exit_code == 1
    assert f"could not read {', '.join(NAMES)}" in result.stderr
    report = json.loads(result.stdout)  # the whole report still comes first, on stdout
    assert report["healthy"] is False
    for name, step in steps_of(result.stdout).items():
        _, title, code = DENIED[name]
        assert step["healthy"] is False and step["done"] is True
        assert step["summary"] == f"error: {title} {code}: injected {code}", step
        assert step["details"] == {"error": {"operation": title, "code": code,
                                             "message": f"injected {code}"}}
        # target_group records nothing itself: it shows the group the service step recorded
        shown = {"target_group_arn": RECORDED["service"]["target_group_arn"]} \
            if name == "target_group" else RECORDED[name]
        assert step["resources"] == shown


def test_the_table_marks_an_unread_step_as_error(recorded: Path, faults: Faults) -> None:
    faults.inject("describe_vpcs", "UnauthorizedOperation")
    result = run("status", config=recorded)
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if "2. cluster" in line)
    assert "│ error " in row and "drift" not in row
    assert "error: DescribeVpcs" in row and "UnauthorizedOperation" in result.stdout
    assert "Error: could not read cluster" in result.stderr


def test_throttling_that_outlasts_the_retries_is_an_error_not_drift(recorded: Path,
                                                                     faults: Faults) -> None:
    faults.inject("describe_load_balancers", *["Throttling"] * 30)
    result = run("status", "--json", config=recorded)
    assert result.exit_code == 1
    step = steps_of(result.stdout)["load_balancer"]
    assert step["summary"].startswith("error: DescribeLoadBalancers Throttling")
    assert len(faults.seen) > 1  # it was retried first (on the fake clock)


@pytest.mark.parametrize(("code", "message"), [
    ("InvalidVpcID.NotFound", ""), ("InvalidSubnetID.NotFound", ""), ("NatGatewayNotFound", ""),
    ("ClusterNotFoundException", ""), ("ServiceNotFoundException", ""),
    ("LoadBalancerNotFound", ""), ("TargetGroupNotFound", ""), ("ListenerNotFound", ""),
    ("NotFoundException", ""), ("NoSuchEntity", ""), ("ResourceNotFoundException", ""),
    ("ClientException", "Unable to describe task definition."),
])
def test_each_services_not_found_codes_mean_gone(code: str, message: str) -> None:
    assert is_not_found(AwsError("Describe", code, message))


@pytest.mark.parametrize(("code", "message"), [
    ("AccessDenied", ""), ("AccessDeniedException", ""), ("UnauthorizedOperation", ""),
    ("Throttling", ""), ("RequestLimitExceeded", ""), ("InternalError", ""),
    ("ClientException", "Too many concurrent attempts"), ("InvalidParameterValue", ""),
])
def test_other_errors_say_nothing_about_existence(code: str, message: str) -> None:
    assert not is_not_found(AwsError("Describe", code, message))

"""`[container.autoscaling]`: a scalable target and a CPU target-tracking policy on the service;
`up` leaves the desired count to it; `down` removes both."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from access_fixtures import run
from conftest import REGION, Call, write_config, writes
from inventory import inventory

AUTOSCALING = {"desired_count = 2\n": "desired_count = 2\nautoscaling = { min = 1, max = 4, "
                                      "cpu_target = 60 }\n"}
RESOURCE = "service/gatewayproxy-quizapi-cluster/quizapi"


@pytest.fixture
def scaled(moto_account: None, config_file: Path) -> Path:
    write_config(config_file, **AUTOSCALING)
    return config_file


def test_target_and_policy_are_registered_changed_and_removed(scaled: Path, calls: list[Call]) -> None:
    assert run("up", config=scaled).exit_code == 0
    client = boto3.client("application-autoscaling", region_name=REGION)
    [target] = client.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["ResourceId"], target["ScalableDimension"]) == (RESOURCE, "ecs:service:DesiredCount")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    [register] = [c.params for c in calls if c.operation == "register_scalable_target"]
    assert register["Tags"]["gatewayproxy:stack"] == "quizapi"  # moto does not keep tags
    [policy] = client.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 60.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization")
    report = json.loads(run("status", "--json", config=scaled).stdout)
    service = next(s for s in report["steps"] if s["name"] == "service")
    assert service["details"]["autoscaling"] == "autoscaling 1-4 tasks, CPU 60%"
    check_changed_limits_update_in_place_and_removal_deregisters(scaled, calls)
    write_config(scaled, **AUTOSCALING)
    assert run("up", config=scaled).exit_code == 0
    assert run("down", "--yes", config=scaled).exit_code == 0
    assert not any(inventory(REGION).values())


def test_up_does_not_fight_the_autoscaler_over_the_desired_count(scaled: Path,
                                                                 calls: list[Call]) -> None:
    assert run("up", config=scaled).exit_code == 0
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.update_service(cluster="gatewayproxy-quizapi-cluster", service="quizapi", desiredCount=3)
    calls.clear()
    assert run("up", config=scaled).exit_code == 0
    assert writes(calls) == []


def check_changed_limits_update_in_place_and_removal_deregisters(scaled: Path,
                                                                 calls: list[Call]) -> None:
    write_config(scaled, **{"desired_count = 2\n": "desired_count = 2\nautoscaling = { min = 2, "
                                                   "max = 6, cpu_target = 50 }\n"})
    calls.clear()
    assert run("up", config=scaled).exit_code == 0
    assert sorted(writes(calls)) == ["application-autoscaling.put_scaling_policy",
                                     "application-autoscaling.register_scalable_target"]
    [register] = [c.params for c in calls if c.operation == "register_scalable_target"]
    assert "Tags" not in register and (register["MinCapacity"], register["MaxCapacity"]) == (2, 6)
    write_config(scaled)
    assert run("up", config=scaled).exit_code == 0
    assert inventory(REGION)["scalable_targets"] == []

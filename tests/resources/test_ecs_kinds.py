"""Unit tests of the ECS-side kinds (task definition, ECS service, target group, listener,
security group rule, autoscaling): diff, find and waits, on fakes (no moto)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG

from gatewayproxy import config, steps  # noqa: F401  (the steps first: they import the kinds)
from gatewayproxy.context import Context, Outputs
from gatewayproxy.resources import ecs_service, listener, scalable_target, security_group
from gatewayproxy.resources import target_group as groups
from gatewayproxy.resources import task_definition as definitions
from gatewayproxy.resources.base import UNKNOWN, FieldChange
from gatewayproxy.state import State


class FakeAws:
    """Answers each operation from a table; notes what was called."""

    region = "eu-west-1"
    account_id = "123456789012"

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.called: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, /, **params: Any) -> Any:
        self.called.append((operation, params))
        return self.answers[operation]

    find = call

    def pages(self, service: str, operation: str, /, *, items: str, **params: Any) -> Any:
        return iter(self.call(service, operation)[items])


def _ctx(tmp_path: Path, answers: dict[str, Any] | None = None, text: str = CONFIG) -> Context:
    cfg = config.parse(tomllib.loads(text))
    return Context(config=cfg, state=State.load(tmp_path / "s.json", cfg.name),
                   aws=FakeAws(answers or {}), outputs=Outputs())  # type: ignore[arg-type]


def _registered(ctx: Context, **container: Any) -> dict[str, Any]:
    definition = definitions.desired_task_definition(ctx, "arn:aws:iam::1:role/r")
    definition["containerDefinitions"][0].update(container)
    return {**definition, "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/f:3",
            "revision": 3, "status": "ACTIVE"}


def test_an_image_change_is_an_update_naming_old_and_new(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.outputs.publish("task_definition.role_arn", "arn:aws:iam::1:role/r")
    current = _registered(ctx, image="nginx:1.26")
    resource = definitions.TaskDefinition("task_definition", "task_definition_arn")
    assert resource.diff(ctx, current) == [
        FieldChange("image", "nginx:1.26", "public.ecr.aws/nginx/nginx:1.27")]
    assert "image" not in resource.FORCE_NEW  # a new revision, not a replacement


def test_an_environment_change_shows_names_never_values(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.outputs.publish("task_definition.role_arn", "arn:aws:iam::1:role/r")
    current = _registered(ctx, environment=[{"name": "TOKEN", "value": "s3cret-old"},
                                            {"name": "GONE", "value": "x"}])
    ctx.config.environment.clear()
    ctx.config.environment.update({"TOKEN": "s3cret-new", "NEW": "y"})
    changes = definitions.TaskDefinition("task_definition", "k").diff(ctx, current)
    assert [c.field for c in changes] == ["environment"]
    assert changes[0].new == "added NEW; changed TOKEN; removed GONE"
    assert "s3cret" not in repr(changes)


def test_a_role_still_to_be_made_is_known_after_apply(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.outputs.planning = True  # plan: the role's ARN is not published
    changes = definitions.TaskDefinition("task_definition", "k").diff(ctx, _registered(ctx))
    assert changes == [FieldChange("execution role", "arn:aws:iam::1:role/r", UNKNOWN)]


def _service(**fields: Any) -> dict[str, Any]:
    return {"status": "ACTIVE", "taskDefinition": "arn:aws:ecs:eu-west-1:1:task-definition/f:3",
            "desiredCount": 1, "runningCount": 1, "pendingCount": 0,
            "loadBalancers": [{"targetGroupArn": "tg", "containerName": "app",
                               "containerPort": 8080}],
            "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}], **fields}


def test_the_service_diff_names_the_revision_count_and_port(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.outputs.publish("task_definition.arn", "arn:aws:ecs:eu-west-1:1:task-definition/f:4")
    ctx.outputs.publish("service.target_group_arn", "tg")
    resource = ecs_service.EcsService("service", "service")
    found = _service(desiredCount=1)
    found["loadBalancers"][0]["containerName"] = ctx.config.container_name
    assert resource.diff(ctx, found) == [FieldChange("task definition revision", "3", "4"),
                                         FieldChange("desired_count", 1, 2)]
    assert resource.diff(ctx, _service(status="DRAINING")) == [
        FieldChange("status", "DRAINING", "ACTIVE")]
    assert "status" in resource.FORCE_NEW  # waited INACTIVE, then made anew


def test_the_service_is_ready_when_stable_and_fails_on_a_failed_rollout() -> None:
    wait = ecs_service.EcsService.ready
    assert wait is not None
    assert wait.status(_service()) == "stable"
    assert wait.status(_service(runningCount=0)) == "0/1 tasks running, 0 pending"
    failed = _service(deployments=[{"status": "PRIMARY", "rolloutState": "FAILED",
                                    "rolloutStateReason": "circuit breaker"}],
                      events=[{"message": "task stopped"}])
    assert wait.status(failed) in wait.failed
    assert wait.reason is not None and wait.reason(failed) == "circuit breaker task stopped"
    assert wait.status(None) in wait.failed  # disappeared


def test_target_health_is_ready_at_the_desired_count() -> None:
    wait = groups.TargetHealth.ready
    assert wait is not None
    assert wait.status({"healthy": 1, "want": 1, "reasons": []}) == "healthy"
    assert wait.status({"healthy": 0, "want": 1, "reasons": ["Target.Timeout"]}) == (
        "0/1 targets healthy (Target.Timeout)")
    assert wait.status({"healthy": None, "want": 0}) == "unknown"


def test_an_old_ports_group_is_stale_and_only_ours(tmp_path: Path) -> None:
    mine = {"TargetGroupName": "quizapi-tg-80", "TargetGroupArn": "arn-80"}
    current = {"TargetGroupName": "quizapi-tg-8080", "TargetGroupArn": "arn-8080"}
    other = {"TargetGroupName": "quizapi-tg-81", "TargetGroupArn": "arn-81"}
    ctx = _ctx(tmp_path, {"describe_target_groups": {"TargetGroups": [mine, current, other]},
                          "describe_tags": {"TagDescriptions": [
                              {"ResourceArn": a, "Tags": [{"Key": "gatewayproxy:stack",
                                                           "Value": "quizapi"}]}
                              for a in ("arn-80", "arn-8080")]}})
    resource = groups.TargetHealth("target_group", "target_group_arn")
    assert [g["TargetGroupArn"] for g in resource.stale(ctx)] == ["arn-80"]


def test_the_health_view_is_not_a_second_group_in_plan_or_down(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    resource = groups.TargetHealth("target_group", "target_group_arn")
    assert resource.find(ctx) is None  # down: the service step deletes the group
    ctx.outputs.planning = True
    assert resource.find(ctx) is not None  # plan: no second `+ target group` row


def test_the_listener_is_swapped_to_the_new_ports_group(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.outputs.publish("service.target_group_arn",
                        "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/quizapi-tg-8080/b")
    found = {"ListenerArn": "l", "DefaultActions": [{"Type": "forward", "TargetGroupArn":
             "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/quizapi-tg-80/a"}]}
    assert listener.Listener("service", "listener_arn").diff(ctx, found) == [
        FieldChange("target group", "quizapi-tg-80", "quizapi-tg-8080")]


def test_an_old_ports_ingress_rule_is_a_port_change(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    old = {**security_group.wanted_rule(ctx), "FromPort": 80, "ToPort": 80}
    rule = security_group.IngressRule("service", "ingress_rule")
    assert rule.diff(ctx, {"GroupId": "sg", "IpPermissions": [old]}) == [
        FieldChange("port", [80], 8080)]
    assert rule.diff(ctx, {"GroupId": "sg",
                           "IpPermissions": [security_group.wanted_rule(ctx)]}) == []


@pytest.mark.parametrize(("limits", "changed"), [((1, 4), False), ((2, 6), True)])
def test_scalable_target_limits(tmp_path: Path, limits: tuple[int, int], changed: bool) -> None:
    text = CONFIG.replace("desired_count = 2\n", "desired_count = 2\nautoscaling = { min = 1, "
                                                  "max = 4, cpu_target = 60 }\n")
    ctx = _ctx(tmp_path, text=text)
    target = scalable_target.ScalableTarget("service", "scalable_target")
    found = {"ResourceId": "r", "MinCapacity": limits[0], "MaxCapacity": limits[1]}
    assert bool(target.diff(ctx, found)) is changed

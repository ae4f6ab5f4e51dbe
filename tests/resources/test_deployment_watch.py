"""The deployment watch on a fake AWS layer: which tasks count against the budget, when it
lists tasks, which events it shows, the verdict's words, and the rollback it sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock, write_config
from fakes import FakeAws, context

from gatewayproxy import config, failures
from gatewayproxy.errors import ConfigError, StepFailed
from gatewayproxy.resources import deployment_watch as watching

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:ecs:eu-west-1:123456789012:task-definition/gatewayproxy-quizapi-app:{}"
PULL = failures.PULL_REASON.format(ref="docker.io/acme/api:v2")


def service(failed: int = 0, state: str = "IN_PROGRESS", events: list[dict[str, Any]] = (),
            deployment: str = "ecs-svc/2", revision: int = 2) -> dict[str, Any]:
    return {"serviceArn": "arn:svc", "taskDefinition": ARN.format(revision), "desiredCount": 2,
            "runningCount": 2, "pendingCount": 0, "events": list(events),
            "loadBalancers": [{"targetGroupArn": "arn:tg"}],
            "deployments": [
                {"id": deployment, "status": "PRIMARY", "taskDefinition": ARN.format(revision),
                 "createdAt": T0, "failedTasks": failed, "rolloutState": state,
                 "rolloutStateReason": failures.CIRCUIT_BREAKER_REASON},
                {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": ARN.format(1),
                 "createdAt": T0 - timedelta(days=1), "rolloutState": "COMPLETED"}]}


def task(n: int, started_by: str = "ecs-svc/2", reason: str = PULL, code: str | None = None,
         exit_code: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    elif reason.startswith("CannotPull"):
        container["reason"] = reason
    return {"taskArn": f"arn:aws:ecs:eu-west-1:1:task/c/task{n:04d}", "startedBy": started_by,
            "stoppedReason": reason, "stopCode": code or failures.STOP_FAILED_TO_START,
            "containers": [container]}


def watch_on(tmp_path: Path, tasks: list[dict[str, Any]], budget: int = 3,
             extra: dict[str, Any] | None = None) -> tuple[watching.Watch, FakeAws, list[str]]:
    ctx, aws = context(tmp_path, {
        "list_tasks": lambda p: {"taskArns": [t["taskArn"] for t in tasks]},
        "describe_tasks": lambda p: {"tasks": [t for t in tasks if t["taskArn"] in p["tasks"]]},
        "describe_target_health": {"TargetHealthDescriptions": []},
        "update_service": {"service": {}}, **(extra or {})})
    aws.clock = FakeClock()  # type: ignore[attr-defined]
    said: list[str] = []
    ctx.report = lambda step, text: said.append(text)
    return watching.Watch(ctx, "service", "cluster", "quizapi", budget=budget), aws, said


def test_only_the_new_deployments_stopped_tasks_count(tmp_path: Path) -> None:
    tasks = [task(1, started_by="ecs-svc/1"), task(2), task(3)]
    watch, aws, said = watch_on(tmp_path, tasks)
    watch.observe(service(failed=2))
    assert sorted(watch.stopped) == ["task0002", "task0003"]
    assert sum("stopped (" in s for s in said) == 2
    assert ("list_tasks", {"cluster": "cluster", "serviceName": "quizapi",
                           "desiredStatus": "STOPPED"}) in aws.sent


def test_tasks_are_listed_only_when_failures_grow_or_on_schedule(tmp_path: Path) -> None:
    watch, aws, _ = watch_on(tmp_path, [])
    for _ in range(5):
        watch.observe(service(failed=0))
    assert aws.operations.count("list_tasks") == 1  # the first poll only
    aws.clock.sleep(watching.LIST_EVERY)  # type: ignore[attr-defined]
    watch.observe(service(failed=0))
    watch.observe(service(failed=1))
    assert aws.operations.count("list_tasks") == 3
    assert "describe_tasks" not in aws.operations  # nothing new to describe


def test_events_since_the_deployment_began_shown_once_oldest_first(tmp_path: Path) -> None:
    old = {"id": "e0", "createdAt": T0 - timedelta(minutes=5), "message": "before"}
    first = {"id": "e1", "createdAt": T0 + timedelta(seconds=1), "message": "first"}
    second = {"id": "e2", "createdAt": T0 + timedelta(seconds=2), "message": "second"}
    watch, _, said = watch_on(tmp_path, [])
    watch.observe(service(events=[first, old]))
    watch.observe(service(events=[second, first, old]))
    assert [s for s in said if s.startswith("event:")] == ["event: first", "event: second"]


def test_budget_stops_a_first_deploy_with_the_reason_and_the_hint(tmp_path: Path) -> None:
    watch, aws, _ = watch_on(tmp_path, [task(1), task(2), task(3)])
    with pytest.raises(watching.DeploymentFailed) as caught:
        watch.observe(service(failed=3))
    assert str(caught.value) == f"ECS service quizapi: 3 tasks of the new deployment stopped: {PULL}"
    assert caught.value.hints[0] == failures.HINT_PULL
    assert "run `gatewayproxy up` again" in caught.value.hints[-1]
    assert "update_service" not in aws.operations  # nothing to roll back to


def test_budget_stops_an_update_and_rolls_back_to_the_last_healthy(tmp_path: Path) -> None:
    exited = [task(n, reason=failures.EXIT_REASON, code=failures.STOP_ESSENTIAL_EXITED,
                   exit_code=1) for n in (1, 2)]
    logs = {"get_log_events": {"events": [{"message": "boom\n"}]}}
    watch, aws, _ = watch_on(tmp_path, exited, budget=2, extra=logs)
    watch.ctx.state.record("service", watching.LAST_HEALTHY, ARN.format(1))
    with pytest.raises(watching.DeploymentFailed) as caught:
        watch.observe(service(failed=2))
    assert str(caught.value) == ("ECS service quizapi: rolled back to gatewayproxy-quizapi-app:1 "
                                 "because Essential container in task exited (2 tasks of the "
                                 "new deployment stopped)")
    assert caught.value.hints[:2] == [failures.HINT_EXIT.format(code=" with code 1"),
                                      "last log line: boom"]
    assert ("update_service", {"cluster": "cluster", "service": "quizapi",
                               "taskDefinition": ARN.format(1),
                               "deploymentConfiguration": watching.DEPLOYMENT_CONFIGURATION}) \
        in aws.sent
    logs_sent = dict(aws.sent)["get_log_events"]
    assert logs_sent["logStreamName"] == "app/app/task0002"
    assert logs_sent["logGroupName"] == "/gatewayproxy/quizapi"
    assert watch.ctx.state.get("service", watching.ROLLED_BACK_FROM) == ARN.format(2)


def test_circuit_breaker_before_the_budget(tmp_path: Path) -> None:
    watch, _, _ = watch_on(tmp_path, [task(1)], budget=5)
    with pytest.raises(watching.DeploymentFailed) as caught:
        watch.observe(service(failed=1, state="FAILED"))
    assert str(caught.value) == ("ECS service quizapi: ECS deployment circuit breaker: tasks "
                                 f"failed to start: {PULL}")


def test_ecs_rolled_back_itself_no_second_update(tmp_path: Path) -> None:
    watch, aws, _ = watch_on(tmp_path, [task(1)])
    watch.ctx.state.record("service", watching.LAST_HEALTHY, ARN.format(1))
    watch.observe(service(failed=1))
    back = service(deployment="ecs-svc/3", revision=1, state="COMPLETED")
    back["deployments"] = back["deployments"][:1]
    with pytest.raises(watching.DeploymentFailed) as caught:
        watch.observe(back)
    assert "rolled back to gatewayproxy-quizapi-app:1" in str(caught.value)
    assert "update_service" not in aws.operations


def test_unhealthy_targets_are_shown_with_their_reason(tmp_path: Path) -> None:
    health = {"describe_target_health": {"TargetHealthDescriptions": [
        {"Target": {"Id": "10.0.1.5"}, "TargetHealth": {
            "State": "unhealthy", "Reason": failures.TARGET_FAILED_HEALTH_CHECKS,
            "Description": failures.TARGET_FAILED_DESCRIPTION}}]}}
    watch, _, said = watch_on(tmp_path, [], extra=health)
    watch.observe(service())
    assert "target 10.0.1.5 unhealthy: Target.FailedHealthChecks: Health checks failed" in said


@pytest.mark.parametrize(("reason", "hint"), [
    (failures.PULL_REASON, failures.HINT_PULL),
    ("ResourceInitializationError: unable to pull secrets or registry auth", failures.HINT_SECRETS),
    (failures.UNHEALTHY_REASON, failures.HINT_HEALTH),
    (failures.EXIT_REASON, failures.HINT_EXIT.format(code="")),
])
def test_hints_map_the_common_reasons(reason: str, hint: str) -> None:
    assert failures.hint(reason) == hint


def test_played_failures_match_the_documented_images() -> None:
    assert failures.played("docker.io/gatewayproxy/fail:pull").stop_code == "TaskFailedToStart"
    assert failures.played("nginx:1.27") is None
    assert failures.resolved_ref("nginx") == "docker.io/library/nginx:latest"


def test_step_failed_puts_each_hint_on_its_own_line() -> None:
    error = StepFailed("service", watching.DeploymentFailed("it failed", ["do this", "then that"]),
                       "gatewayproxy up")
    assert str(error).splitlines() == [
        "step service failed: it failed. Everything made so far is in the state; run "
        "`gatewayproxy up` to resume", "  hint: do this", "  hint: then that"]


@pytest.mark.parametrize("value", ["0", "51", '"3"', "true"])
def test_budget_is_validated_naming_the_key(tmp_path: Path, value: str) -> None:
    path = write_config(tmp_path / "g.toml", **{"port = 8080": f"port = 8080\nmax_failed_tasks = {value}"})
    with pytest.raises(ConfigError, match="container.max_failed_tasks"):
        config.load(path)


def test_budget_defaults_to_three(tmp_path: Path) -> None:
    assert config.load(write_config(tmp_path / "g.toml")).max_failed_tasks == 3
    path = write_config(tmp_path / "h.toml", **{"port = 8080": "port = 8080\nmax_failed_tasks = 1"})
    assert config.load(path).max_failed_tasks == 1

"""Deploys that fail fast in the sandbox: the failure images of gatewayproxy/failures.py make
`up` stop within the budget with AWS's reason and a hint, roll an update back to the last
healthy revision, and leave a first deploy resumable."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from click.testing import CliRunner, Result
from conftest import REGION, Call, write_config

from gatewayproxy import failures
from gatewayproxy.cli import main

CLUSTER = "gatewayproxy-quizapi-cluster"
IMAGE = 'image = "public.ecr.aws/nginx/nginx:1.27"'


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


def broken(path: Path, image: str, budget: int | None = None) -> Path:
    extra = f"\nmax_failed_tasks = {budget}" if budget is not None else ""
    return write_config(path, **{IMAGE: f'image = "{image}"{extra}'})


def service() -> dict:
    ecs = boto3.client("ecs", region_name=REGION)
    return ecs.describe_services(cluster=CLUSTER, services=["quizapi"])["services"][0]


def sent(calls: list[Call], operation: str) -> list[dict]:
    return [c.params for c in calls if c.operation == operation]


def test_unpullable_image_fails_first_up_within_budget(moto_account: None, tmp_path: Path,
                                                       calls: list[Call]) -> None:
    config = broken(tmp_path / "gatewayproxy.toml", failures.FAIL_PULL)
    result = run("up", config=config)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "CannotPullContainerError: pull image manifest has been retried" in result.output
    assert "hint: the image could not be pulled" in result.output
    assert "run `gatewayproxy up` to resume" in result.output
    stopped = sent(calls, "describe_tasks")
    assert sum(len(p["tasks"]) for p in stopped) == 3
    # startedBy must be ListTasks' only filter (AWS), so the deployment's tasks are picked by
    # their startedBy from the service's STOPPED ones.
    assert sent(calls, "list_tasks") and all(p == {
        "cluster": CLUSTER, "serviceName": "quizapi", "desiredStatus": "STOPPED"}
        for p in sent(calls, "list_tasks"))
    create = sent(calls, "create_service")[0]
    assert create["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    # fixed image: converges, one service, no duplicates
    fixed = write_config(config)
    again = run("up", config=fixed)
    assert again.exit_code == 0, again.output
    ecs = boto3.client("ecs", region_name=REGION)
    assert len(ecs.list_services(cluster=CLUSTER)["serviceArns"]) == 1
    live = service()
    assert len(live["deployments"]) == 1 and live["runningCount"] == 2


def test_failed_update_rolls_back_to_last_healthy_revision(moto_account: None, tmp_path: Path,
                                                           calls: list[Call]) -> None:
    config = write_config(tmp_path / "gatewayproxy.toml")
    assert run("up", config=config).exit_code == 0
    healthy = service()["taskDefinition"]
    assert healthy.endswith(":1")
    calls.clear()
    # A budget below the circuit breaker's threshold (3): up stops first and rolls back itself.
    result = run("up", config=broken(config, failures.FAIL_EXIT, budget=2))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert ("ECS service quizapi: rolled back to gatewayproxy-quizapi-app:1 because Essential "
            "container in task exited (2 tasks of the new deployment stopped)") in result.output
    assert "hint: the container exited with code 1" in result.output
    assert "last log line: error: required environment variable DATABASE_URL is not set" \
        in result.output
    updates = sent(calls, "update_service")
    assert updates[0]["taskDefinition"].endswith(":2")
    assert updates[0]["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    assert updates[-1] == {"cluster": CLUSTER, "service": "quizapi", "taskDefinition": healthy,
                           "deploymentConfiguration": {"deploymentCircuitBreaker": {
                               "enable": True, "rollback": True}}}
    logs = [c.params for c in calls if c.operation == "get_log_events"]
    assert logs and logs[0]["logStreamName"].startswith("app/app/")
    live = service()
    assert live["taskDefinition"] == healthy and len(live["deployments"]) == 1
    status = run("status", "--json", config=config)
    assert status.exit_code == 0, status.output
    steps = {s["name"]: s for s in json.loads(status.stdout)["steps"]}
    assert steps["service"]["healthy"] is True
    assert steps["service"]["details"]["task_definition"] == healthy
    assert steps["service"]["details"]["rolled_back_from"].endswith(":2")
    assert "on gatewayproxy-quizapi-app:1 (rolled back from gatewayproxy-quizapi-app:2" \
        in steps["service"]["summary"]
    assert steps["task_definition"]["details"]["deployed"] is False
    assert "not deployed" in steps["task_definition"]["summary"]
    # plan says the next up deploys the config's revision again
    plan = run("plan", config=config)
    assert "task definition revision: 1 -> 2" in plan.output, plan.output


def test_update_to_image_failing_health_checks_names_them(moto_account: None, tmp_path: Path,
                                                          calls: list[Call]) -> None:
    config = write_config(tmp_path / "gatewayproxy.toml")
    assert run("up", config=config).exit_code == 0
    healthy = service()["taskDefinition"]
    calls.clear()
    # The default budget (3) meets the circuit breaker's threshold (3): ECS rolls back itself.
    result = run("up", config=broken(config, failures.FAIL_UNHEALTHY))
    assert result.exit_code == 1
    assert "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:" \
        in result.output
    assert "target 10." in result.output and "unhealthy: Target.FailedHealthChecks: Health " \
        "checks failed" in result.output
    assert "rolled back to gatewayproxy-quizapi-app:1" in result.output
    assert "hint: the target group's health checks failed" in result.output
    assert "event: (service quizapi) (task " in result.output  # events shown as they happen
    live = service()
    assert live["taskDefinition"] == healthy and len(live["deployments"]) == 1
    # ECS rolled back already: up sends no rollback of its own
    assert [p.get("taskDefinition") for p in sent(calls, "update_service")] == [
        healthy.rsplit(":", 1)[0] + ":2"]
    assert any(c.operation == "describe_target_health" for c in calls)

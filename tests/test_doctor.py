"""`gatewayproxy doctor`: every hop of a healthy stack is ok (exit 0); each broken one is named
with AWS's reason (exit 1). Broken states are crafted in moto (a FAILED VPC link, a failed NLB,
unhealthy targets, a stage without a deployment) or on the fake AWS layer (stopped tasks, which
moto never runs). TestInvokeMethod is sent only on real AWS (no endpoint URL)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from access_fixtures import run
from click.testing import Result
from conftest import CONFIG, REGION, Call, write_config
from moto.apigateway import models as apigateway_models
from moto.apigateway.responses import APIGatewayResponse
from moto.core import responses as moto_responses
from moto.elbv2 import models as elbv2_models
from resources.fakes import context
from worlds import made_once

from gatewayproxy import doctor
from gatewayproxy.aws import Aws, Target
from gatewayproxy.config import Route

ACCOUNT = "123456789012"
HOPS = ["REST API", "stage", "route GET /answers", "route POST /answers",
        "route GET /teams/{team}", "VPC link", "NLB", "listener", "targets", "service", "tasks",
        "logs"]


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """As against the sandbox (an endpoint URL): no test invocation. In-process moto has no
    endpoint URL, so it would otherwise count as real AWS."""
    monkeypatch.setattr(doctor, "real_aws", lambda ctx: False)


@pytest.fixture
def deployed(moto_account: None, config_file: Path) -> Iterator[Path]:
    """The default stack, up (made by one test of the process, restored for the others)."""
    made_once(("test_doctor.deployed", CONFIG), config_file.parent,
              lambda: _assert_up(run("up", config=config_file)))
    yield config_file


def _assert_up(result: Result) -> None:
    assert result.exit_code == 0, result.output


def hops_of(config_file: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run("doctor", "--json", config=config_file)
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def failing(config_file: Path) -> list[str]:
    result = run("doctor", config=config_file)
    assert result.exit_code == 1, result.output
    return [line for line in result.stdout.splitlines() if line.startswith("fail")]


def apigateway() -> Any:
    return apigateway_models.apigateway_backends[ACCOUNT][REGION]


def elbv2() -> Any:
    return elbv2_models.elbv2_backends[ACCOUNT][REGION]


# -- a healthy stack, and the JSON schema -------------------------------------------------------
def test_a_healthy_stack_passes_every_hop(deployed: Path, sandbox: None,
                                          calls: list[Call]) -> None:
    result = run("doctor", config=deployed)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["ok"] * len(HOPS)
    assert [line[6:].split("  ")[0].strip() for line in lines] == HOPS
    assert "ok    targets                  2/2 healthy (want 2)" in lines

    code, hops = hops_of(deployed)
    assert code == 0
    assert [h["hop"] for h in hops] == HOPS
    for hop in hops:
        assert isinstance(hop["ok"], bool) and hop["ok"]
        assert isinstance(hop["detail"], str) and hop["detail"]
    by_hop = {h["hop"]: h for h in hops}
    assert by_hop["VPC link"]["status"] == "AVAILABLE"
    assert by_hop["NLB"]["state"] == "active"
    assert [t["state"] for t in by_hop["targets"]["targets"]] == ["healthy", "healthy"]
    assert by_hop["service"]["deployments"][0]["status"] == "PRIMARY"
    assert by_hop["route GET /answers"]["connectionType"] == "VPC_LINK"
    # doctor only reads, and never asks for a test invocation against an emulator
    assert [c.operation for c in calls if not c.operation.startswith(("describe_", "get_",
                                                                       "list_"))] == []


# -- each broken hop is named, with AWS's reason --------------------------------------------
def test_each_broken_hop_is_named(moto_account: None, tmp_path: Path, sandbox: None,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A v1 link (a v2 link's failure: test_a_failed_v2_link_is_named_with_its_message).
    deployed = write_config(tmp_path / "gatewayproxy.toml",
                            **{'stage = "live"': 'stage = "live"\nvpc_link = "v1"'})
    assert run("up", config=deployed).exit_code == 0
    link = next(iter(apigateway().vpc_links.values()))
    link.status = "FAILED"
    monkeypatch.setattr(apigateway_models.VpcLink, "to_json", lambda self: {
        "id": self.id, "name": self.name, "targetArns": self.target_arns, "tags": self.tags,
        "status": self.status, "statusMessage": "NLB ARN is malformed"})
    assert failing(deployed) == [f"fail  VPC link                 VPC link {link.id} FAILED: NLB "
                                 "ARN is malformed"]
    link.status = "AVAILABLE"

    balancer = next(iter(elbv2().load_balancers.values()))
    balancer.state = "failed"
    assert failing(deployed) == ["fail  NLB                      quizapi-nlb failed"]
    balancer.state = "active"

    def unhealthy(group: Any, target: dict[str, Any], ec2: Any) -> Any:
        return elbv2_models.FakeHealthStatus(
            target["Id"], target.get("Port", "8080"), "traffic-port", "unhealthy",
            "Target.FailedHealthChecks", "Health checks failed")

    with monkeypatch.context() as patch:
        patch.setattr(elbv2_models.FakeTargetGroup, "health_for", unhealthy)
        [line] = failing(deployed)
    assert line.startswith("fail  targets                  0/2 healthy (want 2); ")
    assert line.count(":8080 unhealthy (Target.FailedHealthChecks: Health checks failed)") == 2

    api = next(iter(apigateway().apis.values()))
    stage = api.stages["live"]
    deployment, stage.deployment_id = stage.deployment_id, None
    assert failing(deployed) == ["fail  stage     stage live has no deployment: run "
                                 "`gatewayproxy up`"]
    stage.deployment_id = deployment
    assert run("doctor", config=deployed).exit_code == 0


def test_a_stack_never_made_fails_at_the_first_hop(moto_account: None, config_file: Path,
                                                   sandbox: None) -> None:
    code, hops = hops_of(config_file)
    assert code == 1
    assert hops[0] == {"hop": "REST API", "ok": False,
                       "detail": "no REST API of stack quizapi: run `gatewayproxy up`"}
    assert [h["hop"] for h in hops] == ["REST API", "VPC link", "NLB", "service"]


# -- tasks: the current deployment's stopped tasks fail, older ones are history -------------
def task(number: int, deployment: str, reason: str, exit_code: int | None = None) -> dict[str, Any]:
    return {"taskArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/c/task{number:04d}abcdef",
            "startedBy": deployment, "stoppedReason": reason, "stopCode": "TaskFailedToStart",
            "startedAt": f"2026-01-01T00:0{number}:00Z", "stoppedAt": f"2026-01-01T00:0{number}:30Z",
            "containers": [{"name": "app", "exitCode": exit_code,
                            "reason": "CannotPullContainerError: pull access denied"}]}


SERVICE = {"clusterArn": "arn:cluster", "runningCount": 2, "desiredCount": 2,
           "deployments": [{"id": "ecs-svc/new", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"},
                           {"id": "ecs-svc/old", "status": "ACTIVE", "rolloutState": "COMPLETED"}]}


def tasks_answers(stopped: list[dict[str, Any]]) -> dict[str, Any]:
    by_arn = {t["taskArn"]: t for t in stopped}
    return {"list_tasks": lambda p: {"taskArns": list(by_arn) if p["desiredStatus"] == "STOPPED"
                                     else []},
            "describe_tasks": lambda p: {"tasks": [by_arn[a] for a in p["tasks"]]},
            "get_log_events": {"events": [{"message": "starting\n"}, {"message": "boom\n"}]}}


def test_a_stopped_task_of_the_current_deployment_fails_the_hop(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, tasks_answers([task(1, "ecs-svc/old", "Scaling activity"),
                                                task(2, "ecs-svc/new", "Task failed to start")]))
    hop, tasks = doctor._stopped_tasks(ctx, SERVICE)
    assert not hop.ok
    # Read as up's deployment watch reads it: the container's reason adds to the task's.
    assert hop.detail == ("1 task(s) of the current deployment stopped: task0002: Task failed to "
                          "start: CannotPullContainerError: pull access denied "
                          "(TaskFailedToStart)")
    assert [t["task"] for t in hop.data["failed"]] == ["task0002abcdef"]
    assert [t["task"] for t in hop.data["history"]] == ["task0001abcdef"]
    sent = [p for op, p in aws.sent if op == "list_tasks"]
    assert sent[0] == {"cluster": "arn:cluster", "serviceName": "quizapi",
                       "desiredStatus": "STOPPED", "maxResults": 100}
    logs = doctor._logs(ctx, tasks)
    assert logs.detail == "task task0002: starting | boom"
    assert [p for op, p in aws.sent if op == "get_log_events"] == [{
        "logGroupName": "/gatewayproxy/quizapi", "logStreamName": "app/app/task0002abcdef",
        "limit": doctor.LOG_LINES, "startFromHead": False}]


def test_stopped_tasks_of_a_replaced_deployment_are_history(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, tasks_answers([task(1, "ecs-svc/old", "Essential container in "
                                                         "task exited", exit_code=1)]))
    hop, _ = doctor._stopped_tasks(ctx, SERVICE)
    assert hop.ok
    assert hop.detail == ("no task of the current deployment stopped (1 of earlier deployments: "
                          "task0001: Essential container in task exited: "
                          "CannotPullContainerError: pull access denied (TaskFailedToStart); app "
                          "exit 1)")


def test_a_failed_rollout_fails_the_service_hop(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    failed = {**SERVICE, "runningCount": 0, "deployments": [
        {"id": "ecs-svc/new", "status": "PRIMARY", "rolloutState": "FAILED",
         "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start."}]}
    hop = doctor._service(ctx, failed)
    assert not hop.ok
    assert hop.detail == ("0/2 running, rollout FAILED: ECS deployment circuit breaker: tasks "
                          "failed to start.")


def test_an_integration_that_misses_the_link_is_named(tmp_path: Path) -> None:
    backend = {"link_id": "link1", "dns": "nlb.example", "nlb_arn": "arn:nlb",
               "generation": "v1"}
    wrong = {"type": "HTTP_PROXY", "connectionType": "INTERNET", "connectionId": None,
             "uri": "http://example.com/answers"}
    assert doctor._integration_problems(wrong, backend) == [
        "connectionType INTERNET, not VPC_LINK", "connectionId None, not our VPC link link1",
        "uri http://example.com/answers does not target the NLB's listener "
        "(http://nlb.example:80/)"]


# -- TestInvokeMethod: real AWS only ---------------------------------------------------------
def test_real_aws_means_no_endpoint_url() -> None:
    ctx_aws = Aws(Target(region=REGION, endpoint_url="http://127.0.0.1:4566"))
    assert not doctor.real_aws(type("Ctx", (), {"aws": ctx_aws})())  # type: ignore[arg-type]
    assert doctor.real_aws(type("Ctx", (), {"aws": Aws(Target(region=REGION))})())  # type: ignore[arg-type]


def test_paths_are_made_concrete_for_the_test_invocation() -> None:
    assert doctor.concrete_path(Route("/teams/{team}", ("GET",))) == "/teams/doctor"
    assert doctor.concrete_path(Route("/{proxy+}", ("ANY",))) == "/doctor"
    assert doctor.concrete_path(Route("/", ("GET",))) == "/"


@pytest.fixture
def test_invoke(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto has no TestInvokeMethod: it answers one here as API Gateway does (status, latency).
    The suite caches each response class's method names (conftest): cleared on both sides."""
    monkeypatch.setattr(APIGatewayResponse, "test_invoke_method", lambda self: json.dumps(
        {"status": 502, "latency": 31, "body": "{\"message\": \"Internal server error\"}"}),
        raising=False)
    moto_responses.method_names_from_class.cache_clear()
    yield
    monkeypatch.undo()
    moto_responses.method_names_from_class.cache_clear()


def test_on_real_aws_a_public_route_is_test_invoked(deployed: Path, calls: list[Call],
                                                    test_invoke: None) -> None:
    calls.clear()
    code, hops = hops_of(deployed)
    assert code == 1
    assert hops[-1] == {"hop": "invoke", "ok": False, "detail": "GET /answers: HTTP 502 in 31 ms",
                        "method": "GET", "path": "/answers", "status": 502, "latency_ms": 31}
    [sent] = [c.params for c in calls if c.operation == "test_invoke_method"]
    resource = next(r for r in boto3.client("apigateway", region_name=REGION).get_resources(
        restApiId=sent["restApiId"])["items"] if r["path"] == "/answers")
    assert sent == {"restApiId": sent["restApiId"], "resourceId": resource["id"],
                    "httpMethod": "GET", "pathWithQueryString": "/answers"}


def test_the_test_invocation_fills_path_parameters(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"test_invoke_method": {"status": 200, "latency": 12}})
    ctx.config = dataclasses.replace(ctx.config, routes=(
        Route("/admin", ("ANY",), auth="iam"), Route("/teams/{team}", ("ANY",))))
    ctx.outputs.publish("rest_api.id", "api1")
    ctx.outputs.publish("rest_api._cache", {"resources:api1": {
        "/teams/{team}": {"id": "res7", "path": "/teams/{team}"}}})
    hop = doctor.invoke(ctx)
    assert hop.ok and hop.detail == "GET /teams/doctor: HTTP 200 in 12 ms"
    assert [p for op, p in aws.sent if op == "test_invoke_method"] == [{
        "restApiId": "api1", "resourceId": "res7", "httpMethod": "GET",
        "pathWithQueryString": "/teams/doctor"}]


def test_a_failed_v2_link_is_named_with_its_message(tmp_path: Path) -> None:
    """Both generations: v2 reads apigatewayv2's GetVpcLink (VpcLinkStatus and its message)."""
    ctx, aws = context(tmp_path, {"get_vpc_link": {
        "VpcLinkId": "l2", "VpcLinkStatus": "FAILED",
        "VpcLinkStatusMessage": "subnet-0123 does not exist"}})
    ctx.config = dataclasses.replace(ctx.config, vpc_link="v2")
    ctx.state.record("vpc_link", "vpc_link_v2_id", "l2")
    link, hop = doctor._vpc_link(ctx)
    assert link is not None and not hop.ok
    assert hop.detail == "VPC link (v2) l2 FAILED: subnet-0123 does not exist"
    assert hop.data == {"id": "l2", "generation": "v2", "status": "FAILED",
                        "status_message": "subnet-0123 does not exist"}
    assert aws.sent == [("get_vpc_link", {"VpcLinkId": "l2"})]

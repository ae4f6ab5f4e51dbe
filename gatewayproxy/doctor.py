"""`gatewayproxy doctor`: walk a request's way through the stack, hop by hop, and say which one
is broken and why.

The hops, in the order a request takes them: the REST API, its stage and deployment, each
route's integration, the VPC link, the NLB, its listener's target group, the targets' health,
the service's deployments, the tasks that stopped, and the newest task's last log lines. On
real AWS (no endpoint URL) a test invocation of a public route ends the walk. Every read goes
through the resources' own readers (gatewayproxy/resources); nothing here writes.

Each hop is a `Hop`: `hop` (its name), `ok`, `detail` (one line, AWS's words where there are
some) and, in `data`, what `--json` adds (e.g. each target's state and reason).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatewayproxy.config import Route
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.resources import (
    api_route,
    deployment_watch,
    ecs_service,
    listener,
    nlb,
    target_group,
    vpc_link,
)
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import Found
from gatewayproxy.resources.task_definition import log_group

LOG_LINES = 5
STOPPED_SHOWN = 3
PLACEHOLDER = "doctor"  # what a path parameter is filled with for the test invocation
LOG_PREFIX = "app"  # the task definition's awslogs-stream-prefix: streams are app/<container>/<task>


@dataclass
class Hop:
    """One hop's finding. `--json` prints {hop, ok, detail, **data}."""

    hop: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"hop": self.hop, "ok": self.ok, "detail": self.detail, **self.data}


def real_aws(ctx: Context) -> bool:
    """Only against AWS itself (no endpoint URL: not the sandbox, not a test's emulator)."""
    return not ctx.aws.endpoint_url and not ctx.aws.emulated


def examine(ctx: Context) -> list[Hop]:
    """Every hop, in a request's order. A hop whose resource is missing ends the walk of what
    hangs off it (no stage without the API, no tasks without the service)."""
    link, link_hop = _vpc_link(ctx)
    balancer, nlb_hop = _nlb(ctx)
    gen = vpc_link.GENERATIONS[vpc_link.generation(ctx)]
    backend = {"link_id": str(link[gen.id_key]) if link else None,
               "dns": balancer["DNSName"] if balancer else None,
               "nlb_arn": balancer["LoadBalancerArn"] if balancer else None,
               "generation": gen.generation}
    hops = [*_api_hops(ctx, backend), link_hop, nlb_hop]
    group_arn = None
    if balancer is not None:
        hop, group_arn = _listener(ctx, balancer)
        hops.append(hop)
    if group_arn:
        hops.append(_targets(ctx, group_arn))
    try:
        service = ecs_service.describe(ctx)
    except AwsError as exc:
        return [*hops, _refused("service", exc)]
    hops.append(_service(ctx, service))
    if service is not None:
        tasks_hop, tasks = _stopped_tasks(ctx, service)
        hops += [tasks_hop, _logs(ctx, tasks)]
    if real_aws(ctx) and hops[0].ok:
        hops.append(invoke(ctx))
    return hops


def _refused(hop: str, exc: GatewayProxyError) -> Hop:
    """A read AWS refused (or a resource that is not ours): the hop fails, in AWS's words."""
    if isinstance(exc, AwsError):
        return Hop(hop, False, f"{exc.operation}: {exc.code}: {exc.aws_message}")
    return Hop(hop, False, str(exc))


def _guard(hop: str, read: Callable[[], Hop]) -> Hop:
    """A read AWS refused is that hop's failure, not the end of the walk."""
    try:
        return read()
    except GatewayProxyError as exc:
        return _refused(hop, exc)


# -- API Gateway ---------------------------------------------------------------------------------
def _api_hops(ctx: Context, backend: dict[str, Any]) -> list[Hop]:
    try:
        found = api.find(ctx)
    except GatewayProxyError as exc:
        return [_refused("REST API", exc)]
    if found is None:
        return [Hop("REST API", False, f"no REST API of stack {ctx.stack}: run `gatewayproxy up`")]
    ctx.outputs.publish(api.API_ID, found["id"])
    hops = [Hop("REST API", True, f"{found.get('name')} ({found['id']})", {"id": found["id"]})]
    hops.append(_guard("stage", lambda: _stage(ctx, found["id"])))
    if not hops[-1].ok:
        return hops
    for route in ctx.config.routes:
        for method in route.methods:
            hops.append(_guard(f"route {method} {route.path}",
                               functools.partial(_route, ctx, route, method, backend)))
    return hops


def _stage(ctx: Context, api_id: str) -> Hop:
    stage = api.stage(ctx)
    name = ctx.config.stage
    if stage is None:
        return Hop("stage", False, f"stage {name} does not exist: run `gatewayproxy up`")
    deployment_id = stage.get("deploymentId")
    deployment = (ctx.aws.find("apigateway", "get_deployment", restApiId=api_id,
                               deploymentId=deployment_id) if deployment_id else None)
    if deployment is None:
        return Hop("stage", False, f"stage {name} has no deployment: run `gatewayproxy up`",
                   {"stage": name})
    url = api.invoke_url(api_id, ctx.aws.region, name)
    return Hop("stage", True, f"{name} on deployment {deployment_id}",
               {"stage": name, "deployment_id": deployment_id, "invoke_url": url})


def _route(ctx: Context, route: Route, method: str, backend: dict[str, Any]) -> Hop:
    hop = f"route {method} {route.path}"
    resource = api.resources_by_path(ctx).get(route.path)
    if resource is None or method not in (resource.get("resourceMethods") or {}):
        return Hop(hop, False, "no such method in the API: run `gatewayproxy up`")
    integration = ctx.aws.find("apigateway", "get_integration", restApiId=api.api_id(ctx),
                               resourceId=resource["id"], httpMethod=method)
    if integration is None:
        return Hop(hop, False, "the method has no integration: run `gatewayproxy up`")
    data = {k: integration.get(k) for k in ("type", "connectionType", "connectionId", "uri",
                                             api_route.TIMEOUT)}
    if route.function:
        ok = integration.get("type") == "AWS_PROXY"
        return Hop(hop, ok, f"Lambda {route.function}" if ok
                   else f"integration type {integration.get('type')}, not AWS_PROXY", data)
    problems = _integration_problems(integration, backend)
    return Hop(hop, not problems, "; ".join(problems) or
               f"VPC link {integration.get('connectionId')} -> {integration.get('uri')}", data)


def _integration_problems(integration: dict[str, Any], backend: dict[str, Any]) -> list[str]:
    """What a service route's integration has otherwise than the NLB through our link."""
    problems = []
    if integration.get("type") != "HTTP_PROXY":
        problems.append(f"type {integration.get('type')}, not HTTP_PROXY")
    if integration.get("connectionType") != "VPC_LINK":
        problems.append(f"connectionType {integration.get('connectionType')}, not VPC_LINK")
    if backend["link_id"] and integration.get("connectionId") != backend["link_id"]:
        problems.append(f"connectionId {integration.get('connectionId')}, not our VPC link "
                        f"{backend['link_id']}")
    prefix = f"http://{backend['dns']}:{listener.LISTENER_PORT}/"
    if backend["dns"] and not str(integration.get("uri", "")).startswith(prefix):
        problems.append(f"uri {integration.get('uri')} does not target the NLB's listener "
                        f"({prefix})")
    if (backend["generation"] == "v2" and backend["nlb_arn"]
            and integration.get("integrationTarget") != backend["nlb_arn"]):
        problems.append(f"integrationTarget {integration.get('integrationTarget')}, not the NLB")
    return problems


# -- the network path ------------------------------------------------------------------------
def _vpc_link(ctx: Context) -> tuple[Found | None, Hop]:
    gen = vpc_link.GENERATIONS[vpc_link.generation(ctx)]
    try:
        link = vpc_link.find(ctx, gen)
    except GatewayProxyError as exc:
        return None, _refused("VPC link", exc)
    if link is None:
        return None, Hop("VPC link", False, f"no {gen.label} of the stack: run `gatewayproxy up`")
    status = str(link.get(gen.status_key))
    message = link.get(gen.message_key) or ""
    data = {"id": link[gen.id_key], "generation": gen.generation, "status": status,
            "status_message": message}
    detail = f"{gen.label} {link[gen.id_key]} {status}" + (f": {message}" if message else "")
    return link, Hop("VPC link", status in gen.ready, detail, data)


def _nlb(ctx: Context) -> tuple[Found | None, Hop]:
    try:
        found = nlb.find(ctx, ctx.state.get("load_balancer", "load_balancer_arn"))
    except GatewayProxyError as exc:
        return None, _refused("NLB", exc)
    if found is None:
        return None, Hop("NLB", False, f"no NLB {nlb.nlb_name(ctx)}: run `gatewayproxy up`")
    state = found.get("State", {})
    code = str(state.get("Code", "?"))
    detail = f"{found['LoadBalancerName']} {code}" + (
        f": {state['Reason']}" if state.get("Reason") else "")
    return found, Hop("NLB", code == "active", detail, {"state": code, "dns": found.get("DNSName")})


def _listener(ctx: Context, balancer: Found) -> tuple[Hop, str | None]:
    try:
        found = listener.find_listener(ctx, balancer["LoadBalancerArn"])
        group = target_group.find_group(ctx)
    except GatewayProxyError as exc:
        return _refused("listener", exc), None
    if found is None:
        return Hop("listener", False, f"no listener on port {listener.LISTENER_PORT}: run "
                                      "`gatewayproxy up`"), None
    forwards = listener.forwards_to(found)
    want = group["TargetGroupArn"] if group else None
    name = target_group.group_name(ctx)
    if forwards is None or forwards != want:
        shown = forwards.split(":targetgroup/")[-1].split("/")[0] if forwards else "nothing"
        return Hop("listener", False, f"port {listener.LISTENER_PORT} forwards to {shown}, not "
                                      f"{name}: run `gatewayproxy up`"), forwards
    return Hop("listener", True, f"TCP {listener.LISTENER_PORT} -> target group {name}",
               {"target_group_arn": forwards}), forwards


def _targets(ctx: Context, group_arn: str) -> Hop:
    def read() -> Hop:
        found = target_group.targets(ctx, group_arn)
        healthy = [t for t in found if t["state"] == "healthy"]
        want = ctx.config.desired_count
        sick = [f"{t['id']}:{t['port']} {t['state']}"
                + (f" ({t['reason']}: {t['description']})" if t["reason"] else "")
                for t in found if t["state"] != "healthy"]
        detail = f"{len(healthy)}/{len(found)} healthy (want {want})" + (
            f"; {'; '.join(sick)}" if sick else "")
        return Hop("targets", len(healthy) >= want and not sick, detail, {"targets": found})

    return _guard("targets", read)


# -- the service and its tasks ---------------------------------------------------------------
def _service(ctx: Context, service: Found | None) -> Hop:
    if service is None:
        return Hop("service", False, f"no ECS service {ecs_service.service_name(ctx)}: run "
                                     "`gatewayproxy up`")
    primary = ecs_service.primary(service)
    deployments = [{"id": d.get("id"), "status": d.get("status"),
                    "rollout_state": d.get("rolloutState"),
                    "rollout_state_reason": d.get("rolloutStateReason"),
                    "task_definition": d.get("taskDefinition"), "running": d.get("runningCount"),
                    "desired": d.get("desiredCount")} for d in service.get("deployments", [])]
    rollout = primary.get("rolloutState", "?")
    running, desired = service["runningCount"], service["desiredCount"]
    detail = (f"{running}/{desired} running, rollout {rollout}"
              + (f": {primary['rolloutStateReason']}" if rollout == "FAILED" else "")
              + (f"; {len(deployments) - 1} older deployment(s) draining"
                 if len(deployments) > 1 else ""))
    ok = rollout != "FAILED" and running >= desired
    return Hop("service", ok, detail, {"deployments": deployments, "running": running,
                                       "desired": desired})


def _task_words(task: Found) -> dict[str, Any]:
    return {"task": str(task["taskArn"]).rsplit("/", 1)[-1], "started_by": task.get("startedBy"),
            "stopped_reason": task.get("stoppedReason"), "stop_code": task.get("stopCode"),
            "stopped_at": str(task.get("stoppedAt") or ""),
            "containers": [{"name": c.get("name"), "exit_code": c.get("exitCode"),
                            "reason": c.get("reason")} for c in task.get("containers", [])]}


def _why(task: Found) -> str:
    """`<task>: <why> (<stopCode>)[; app exit N]`, the reason read as `up`'s deployment watch
    reads it (resources/deployment_watch.stopped_task: a container's reason only when it adds)."""
    stopped = deployment_watch.stopped_task(task)
    words = f"{stopped.task_id[:8]}: {stopped.why}" + (
        f" ({stopped.stop_code})" if stopped.stop_code else "")
    if stopped.exit_code is not None:
        words += f"; {stopped.container} exit {stopped.exit_code}"
    return words


def _stopped_tasks(ctx: Context, service: Found) -> tuple[Hop, list[Found]]:
    """Stopped tasks of the current (PRIMARY) deployment fail the hop; an earlier, replaced
    deployment's are history. ECS sets a service's task's `startedBy` to its deployment's id
    (DescribeTasks: "If the task was started by an Amazon ECS service, the startedBy parameter
    contains the deployment ID of that service")."""
    try:
        cluster = service["clusterArn"]
        arns = ctx.aws.call("ecs", "list_tasks", cluster=cluster,
                            serviceName=ecs_service.service_name(ctx), desiredStatus="STOPPED",
                            maxResults=100)["taskArns"]
        tasks = (ctx.aws.call("ecs", "describe_tasks", cluster=cluster, tasks=arns)["tasks"]
                 if arns else [])
        running = ctx.aws.call("ecs", "list_tasks", cluster=cluster,
                               serviceName=ecs_service.service_name(ctx),
                               desiredStatus="RUNNING", maxResults=100)["taskArns"]
        live = (ctx.aws.call("ecs", "describe_tasks", cluster=cluster, tasks=running)["tasks"]
                if running else [])
    except AwsError as exc:
        return _refused("tasks", exc), []
    current = ecs_service.primary(service).get("id")
    stopped = sorted(tasks, key=lambda t: str(t.get("stoppedAt") or ""), reverse=True)
    failed = [t for t in stopped if t.get("startedBy") == current]
    history = [t for t in stopped if t.get("startedBy") != current]
    data = {"failed": [_task_words(t) for t in failed],
            "history": [_task_words(t) for t in history]}
    if failed:
        detail = (f"{len(failed)} task(s) of the current deployment stopped: "
                  + " | ".join(_why(t) for t in failed[:STOPPED_SHOWN]))
    else:
        detail = "no task of the current deployment stopped" + (
            f" ({len(history)} of earlier deployments: {_why(history[0])})" if history else "")
    return Hop("tasks", not failed, detail, data), [*live, *stopped]


def _logs(ctx: Context, tasks: list[Found]) -> Hop:
    """The newest task's last lines (its awslogs stream app/<container>/<task id>)."""
    if not tasks:
        return Hop("logs", True, "no task to read the logs of")
    newest = max(tasks, key=lambda t: str(t.get("startedAt") or t.get("createdAt") or ""))
    task_id = str(newest["taskArn"]).rsplit("/", 1)[-1]
    stream = f"{LOG_PREFIX}/{ctx.config.container_name}/{task_id}"
    group = log_group(ctx)
    try:
        found = ctx.aws.find("logs", "get_log_events", logGroupName=group, logStreamName=stream,
                             limit=LOG_LINES, startFromHead=False)
    except AwsError as exc:
        return _refused("logs", exc)
    lines = [str(e["message"]).rstrip() for e in (found or {}).get("events", [])]
    data = {"log_group": group, "log_stream": stream, "lines": lines}
    if not lines:
        return Hop("logs", True, f"task {task_id[:8]}: no log lines yet ({group} {stream})", data)
    return Hop("logs", True, f"task {task_id[:8]}: " + " | ".join(lines), data)


# -- a test request (real AWS only) ----------------------------------------------------------
def public_route(ctx: Context) -> tuple[Route, str] | None:
    """The first route anyone may call (auth none), and the method to test it with."""
    route = next((r for r in ctx.config.routes if r.auth == "none"), None)
    if route is None:
        return None
    method = route.methods[0]
    return route, "GET" if method == "ANY" else method


def concrete_path(route: Route) -> str:
    """`/teams/{team}` -> `/teams/doctor`; `/{proxy+}` -> `/doctor`."""
    return "/" + "/".join(PLACEHOLDER if p.startswith("{") else p for p in route.parts)


def invoke(ctx: Context) -> Hop:
    """TestInvokeMethod on a public route: API Gateway calls the integration itself, without
    the stage's throttling or keys, and answers the backend's status and latency."""
    chosen = public_route(ctx)
    if chosen is None:
        return Hop("invoke", True, "skipped: no route with auth = \"none\" to test")
    route, method = chosen
    resource = api.resources_by_path(ctx).get(route.path)
    if resource is None:
        return Hop("invoke", False, f"{method} {route.path} is not in the API")
    path = concrete_path(route)
    try:
        answer = ctx.aws.call("apigateway", "test_invoke_method", restApiId=api.api_id(ctx),
                              resourceId=resource["id"], httpMethod=method,
                              pathWithQueryString=path)
    except AwsError as exc:
        return _refused("invoke", exc)
    status = int(answer.get("status", 0))
    data = {"method": method, "path": path, "status": status, "latency_ms": answer.get("latency")}
    # 5xx from TestInvokeMethod: the integration failed (502 bad gateway, 504 timeout); any
    # other status is the container's own answer.
    return Hop("invoke", status < 500,
               f"{method} {path}: HTTP {status} in {answer.get('latency', '?')} ms", data)


def lines(hops: list[Hop]) -> list[str]:
    """`ok    <hop>  <detail>`, hop names aligned."""
    width = max((len(h.hop) for h in hops), default=0)
    return [f"{'ok' if h.ok else 'fail':<4}  {h.hop:<{width}}  {h.detail}" for h in hops]

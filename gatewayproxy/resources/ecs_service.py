"""The ECS service: Fargate tasks of the task definition in the private subnets, behind the
target group; rolled onto each new task-definition revision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import NotOurs
from gatewayproxy.resources import deployment_watch as watching
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.common import ignore_missing
from gatewayproxy.resources.ecs_cluster import SLR_NOT_READY

TIMEOUT = 20 * 60


def service_name(ctx: Context) -> str:
    return ctx.stack


def cluster_name(ctx: Context) -> str | None:
    name = ctx.outputs.get("cluster.name") or ctx.state.get("cluster", "cluster")
    return str(name) if name else None


def describe(ctx: Context) -> Found | None:
    """The service (ACTIVE or DRAINING), or None: no cluster, or none, or INACTIVE."""
    cluster = cluster_name(ctx)
    if not cluster:
        return None
    found = ctx.aws.find("ecs", "describe_services", cluster=cluster,
                         services=[service_name(ctx)], include=["TAGS"])
    services = [s for s in (found or {}).get("services", []) if s["status"] != "INACTIVE"]
    return dict(services[0]) if services else None


def primary(service: Found) -> Found:
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})


def stable(service: Found) -> bool:
    """One deployment left, running the desired count, its rollout (if reported) complete."""
    deployments = service.get("deployments", [])
    return (len(deployments) == 1 and service["runningCount"] == service["desiredCount"]
            and primary(service).get("rolloutState", "COMPLETED") == "COMPLETED")


def _rollout(service: Any) -> str:
    if service is None:
        return "missing"
    if primary(service).get("rolloutState") == "FAILED":
        return "FAILED"
    if stable(service):
        return "stable"
    return (f"{service['runningCount']}/{service['desiredCount']} tasks running, "
            f"{service['pendingCount']} pending")


def _failure(service: Any) -> str:
    events = "; ".join(e["message"] for e in service.get("events", [])[:3])
    return f"{primary(service).get('rolloutStateReason', '')} {events}".strip()


def _revision(arn: Any) -> Any:
    return arn.rsplit(":", 1)[-1] if isinstance(arn, str) else arn


def balancers(ctx: Context, group_arn: Any) -> list[dict[str, Any]]:
    return [{"targetGroupArn": group_arn, "containerName": ctx.config.container_name,
             "containerPort": ctx.config.port}]


def _balancer(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("targetGroupArn", "containerName", "containerPort")}


def _watched(ctx: Context, found: Found) -> Any:
    """The ready wait's read: the service, with its deployment watched (tasks, events, target
    health; stops early on the failure budget: gatewayproxy/resources/deployment_watch.py)."""
    service = describe(ctx)
    cluster = cluster_name(ctx)
    if service is None or cluster is None:
        return service
    key = f"deployment_watch:{service['serviceArn']}"
    with ctx.reads_lock:
        watch = ctx.reads.get(key)
        if watch is None:
            watch = ctx.reads[key] = watching.Watch(
                ctx, "service", cluster, service_name(ctx), budget=watching.budget(ctx),
                settle=lambda: _settle(ctx))
    watch.observe(service)
    return service


def _settle(ctx: Context) -> None:
    """Wait until the rolled-back service is stable again."""
    ctx.aws.wait_for(f"ECS service {service_name(ctx)} rollback", lambda: describe(ctx), _rollout,
                     frozenset({"stable"}), frozenset({"FAILED", "missing"}), timeout=TIMEOUT,
                     reason=_failure, report=lambda m: ctx.report("service", m))


@dataclass
class EcsService(Resource):
    """A service left DRAINING by an earlier `down` is replaced: waited INACTIVE, made anew."""

    kind: ClassVar[str] = "ECS service"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"status"})
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=_watched, status=_rollout, done=frozenset({"stable"}),
        failed=frozenset({"FAILED", "missing"}), timeout=TIMEOUT, reason=_failure)
    gone: ClassVar[WaitFor | None] = WaitFor(
        read=lambda ctx, found: describe(ctx),
        status=lambda found: "INACTIVE" if found is None else str(found["status"]),
        done=frozenset({"INACTIVE"}), timeout=TIMEOUT)

    def name(self, ctx: Context) -> str:
        return service_name(ctx)

    def identity(self, found: Found) -> Any:
        return found["serviceArn"]

    def find(self, ctx: Context) -> Found | None:
        service = describe(ctx)
        if service is not None and not ctx.owns(service.get("tags", [])):
            raise NotOurs(f"ECS service {service_name(ctx)} is not stack {ctx.stack}'s")
        return service

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        if found["status"] == "DRAINING":
            return [FieldChange("status", "DRAINING", "ACTIVE")]
        changes = []
        definition = ctx.outputs.need("task_definition.arn")
        if found["taskDefinition"] != definition:
            changes.append(FieldChange("task definition revision", _revision(found["taskDefinition"]),
                                       UNKNOWN if definition is None else _revision(definition)))
        # With autoscaling on, the desired count is its to move; desired_count only starts it.
        if ctx.config.autoscaling is None and found["desiredCount"] != ctx.config.desired_count:
            changes.append(FieldChange("desired_count", found["desiredCount"],
                                       ctx.config.desired_count))
        current = [_balancer(b) for b in found.get("loadBalancers", [])]
        if current != balancers(ctx, ctx.outputs.need(f"{self.step}.target_group_arn")):
            old = current[0]["containerPort"] if current else None
            changes.append(FieldChange("port", old, ctx.config.port))
        return changes

    def create(self, ctx: Context) -> Found:
        definition = ctx.outputs.need("task_definition.arn")
        group_arn = ctx.outputs.need(f"{self.step}.target_group_arn")
        # One token per (stack, revision, group): a retried create after a crash is the same
        # request, not a second service (CreateService clientToken).
        token = uuid.uuid5(uuid.NAMESPACE_URL, f"gatewayproxy:{ctx.stack}:{definition}:"
                                               f"{group_arn}")
        tags = [{"key": k, "value": v} for k, v in ctx.tags(self.step, "service").items()]
        network = {"awsvpcConfiguration": {
            "subnets": ctx.outputs.need("private_subnet.subnets"),
            "securityGroups": [ctx.outputs.need(f"{self.step}.security_group")["GroupId"]],
            "assignPublicIp": "DISABLED"}}
        service = dict(ctx.aws.call(
            "ecs", "create_service", cluster=ctx.outputs.need("cluster.name"),
            serviceName=service_name(ctx), taskDefinition=definition,
            desiredCount=ctx.config.desired_count, launchType="FARGATE",
            networkConfiguration=network, loadBalancers=balancers(ctx, group_arn),
            healthCheckGracePeriodSeconds=60, propagateTags="SERVICE",
            enableECSManagedTags=True, clientToken=str(token), tags=tags,
            # Without the circuit breaker a crash-looping container never reports FAILED; with
            # rollback on, a failed update goes back to the last completed deployment (a first
            # deploy has none: it just ends FAILED).
            deploymentConfiguration=watching.DEPLOYMENT_CONFIGURATION,
            retry=(SLR_NOT_READY,),
        )["service"])
        self.record(ctx, service)
        return service

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        fields = {c.field for c in changes}
        params: dict[str, Any] = {}
        if "task definition revision" in fields:
            params["taskDefinition"] = ctx.outputs.need("task_definition.arn")
        if "desired_count" in fields:
            params["desiredCount"] = ctx.config.desired_count
        if "port" in fields:
            params["loadBalancers"] = balancers(ctx, ctx.outputs.need(
                f"{self.step}.target_group_arn"))
        if stable(found):  # what to go back to if this update fails (older states lack it)
            watching.remember_healthy(ctx, self.step, found)
        if fields & {"task definition revision", "port"}:
            # A new deployment: rollback on (services made before it had it off).
            params["deploymentConfiguration"] = watching.DEPLOYMENT_CONFIGURATION
        ctx.report(self.step, "; ".join(f"{c.field}: {c.old} -> {c.new}" for c in changes))
        return dict(ctx.aws.call("ecs", "update_service", cluster=ctx.outputs.need("cluster.name"),
                                 service=service_name(ctx), **params)["service"])

    def delete(self, ctx: Context, found: Found) -> None:
        """Forced: the desired count need not be 0 first. A DRAINING one is on its way."""
        if found["status"] == "ACTIVE":
            ignore_missing(("ServiceNotFoundException", "ServiceNotActiveException"),
                           lambda: ctx.aws.call("ecs", "delete_service", cluster=found["clusterArn"],
                                                service=service_name(ctx), force=True))

    def publish(self, ctx: Context, found: Found) -> None:
        """A service found stable (also by `import`) runs a healthy revision: remember it."""
        if found.get("status") == "ACTIVE" and stable(found):
            watching.remember_healthy(ctx, self.step, found)

    def on_ready(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.stable", True)
        watching.remember_healthy(ctx, self.step, found)

    def health(self, ctx: Context, found: Found) -> Health:
        summary = (f"{found['runningCount']}/{found['desiredCount']} running, "
                   f"{found['pendingCount']} pending")
        summary += watching.rolled_back_note(ctx, self.step, found)
        events = [e["message"] for e in found.get("events", [])[:3]]
        return Health(stable(found), summary,
                      {"running": found["runningCount"], "desired": found["desiredCount"],
                       "pending": found["pendingCount"], "events": events,
                       "task_definition": found["taskDefinition"],
                       "rolled_back_from": ctx.state.get(self.step, watching.ROLLED_BACK_FROM)})

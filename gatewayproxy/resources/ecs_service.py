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
# [container.health_check] grace_period: healthCheckGracePeriodSeconds (CreateService,
# UpdateService: 0 to 2147483647), how long ECS ignores failing ELB health checks of a new task.
GRACE = "health_check.grace_period"


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


def _capacity(chosen: list[dict[str, Any]] | None) -> dict[str, Any]:
    """CreateService takes a launch type or a strategy, never both."""
    return {"launchType": "FARGATE"} if chosen is None else {"capacityProviderStrategy": chosen}


def balancers(ctx: Context, group_arn: Any) -> list[dict[str, Any]]:
    return [{"targetGroupArn": group_arn, "containerName": ctx.config.container_name,
             "containerPort": ctx.config.port}]


# container.capacity as a capacity provider strategy. mixed is "1 on-demand, rest Spot": the
# base puts the first task on FARGATE; weight 0 there and 1 on FARGATE_SPOT put every task
# above the base on Spot ("Capacity provider strategies": only one provider may have a base; a
# strategy needs one weight above 0).
STRATEGIES: dict[str, list[dict[str, Any]]] = {
    "on_demand": [{"capacityProvider": "FARGATE", "weight": 1}],
    "spot": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    "mixed": [{"capacityProvider": "FARGATE", "base": 1, "weight": 0},
              {"capacityProvider": "FARGATE_SPOT", "weight": 1}],
}


def _normal(strategy: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return sorted((s["capacityProvider"], s.get("base") or 0, s.get("weight") or 0)
                  for s in strategy)


def capacity_of(service: Found) -> str:
    """The service's capacity in the config's words: the FARGATE launch type (no strategy) is
    on_demand; a strategy that is none of ours is shown as its providers."""
    strategy = service.get("capacityProviderStrategy") or []
    if not strategy:
        return "on_demand"
    for name, ours in STRATEGIES.items():
        if _normal(strategy) == _normal(ours):
            return name
    return "+".join(f"{p}:{b}/{w}" for p, b, w in _normal(strategy))


def strategy(ctx: Context, found: Found | None) -> list[dict[str, Any]] | None:
    """None: the FARGATE launch type (on_demand for a new service, or one already on it, as
    every stack made before this option). A service that has a strategy keeps one: on_demand is
    then FARGATE weight 1, a move between Fargate capacity providers that UpdateService allows.
    (UpdateService now also documents going back to the launch type with an empty list; FARGATE
    weight 1 runs the same tasks on the same on-demand Fargate, with no second switch.)"""
    capacity = ctx.config.capacity
    if capacity == "on_demand" and not (found or {}).get("capacityProviderStrategy"):
        return None
    return STRATEGIES[capacity]


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
        if capacity_of(found) != ctx.config.capacity:
            changes.append(FieldChange("capacity", capacity_of(found), ctx.config.capacity))
        current = [_balancer(b) for b in found.get("loadBalancers", [])]
        if current != balancers(ctx, ctx.outputs.need(f"{self.step}.target_group_arn")):
            old = current[0]["containerPort"] if current else None
            changes.append(FieldChange("port", old, ctx.config.port))
        grace = ctx.config.health_check.grace_period
        if found.get("healthCheckGracePeriodSeconds", grace) != grace:
            changes.append(FieldChange(GRACE, found.get("healthCheckGracePeriodSeconds"), grace))
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
            desiredCount=ctx.config.desired_count, **_capacity(strategy(ctx, None)),
            networkConfiguration=network, loadBalancers=balancers(ctx, group_arn),
            healthCheckGracePeriodSeconds=ctx.config.health_check.grace_period,
            propagateTags="SERVICE",
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
        if GRACE in fields:
            params["healthCheckGracePeriodSeconds"] = ctx.config.health_check.grace_period
        if "capacity" in fields:
            # A new strategy does not start a deployment by itself (UpdateService,
            # capacityProviderStrategy): the tasks move onto it with a forced one.
            params["capacityProviderStrategy"] = strategy(ctx, found)
            params["forceNewDeployment"] = True
        if stable(found):  # what to go back to if this update fails (older states lack it)
            watching.remember_healthy(ctx, self.step, found)
        if fields & {"task definition revision", "port", "capacity"}:
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
                       "capacity": capacity_of(found),
                       "task_definition": found["taskDefinition"],
                       "rolled_back_from": ctx.state.get(self.step, watching.ROLLED_BACK_FROM)})

"""The IP target group for the container port (a new port needs a new group: an old port's
group is a stale leftover, deleted once the service moved off it), and the targets' health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.config import HealthCheck
from gatewayproxy.context import Context
from gatewayproxy.errors import GatewayProxyError, NotOurs
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor

DEREGISTRATION = "deregistration_delay.timeout_seconds"
DRAIN_SECONDS = "30"  # instead of 300, so `down` and port changes do not wait five minutes
HEALTH_TIMEOUT = 15 * 60


def group_name(ctx: Context, port: int | None = None) -> str:
    return f"{ctx.stack}-tg-{port or ctx.config.port}"


def find_group(ctx: Context) -> Found | None:
    """The group of this port's name, checked against the stack's tag (names are per account)."""
    name = group_name(ctx)
    found = ctx.aws.find("elbv2", "describe_target_groups", Names=[name])
    groups = (found or {}).get("TargetGroups") or []
    if not groups:
        return None
    arn = groups[0]["TargetGroupArn"]
    tags = ctx.aws.call("elbv2", "describe_tags", ResourceArns=[arn])["TagDescriptions"]
    if not ctx.owns(tags[0]["Tags"]):
        raise NotOurs(f"a target group named {name} exists but is not stack "
                                f"{ctx.stack}'s")
    return dict(groups[0])


def our_groups(ctx: Context) -> list[Found]:
    """Every target group of this stack: named `<stack>-tg-*` and tagged ours."""
    prefix = f"{ctx.stack}-tg-"
    candidates = [g for g in ctx.aws.pages("elbv2", "describe_target_groups", items="TargetGroups",
                                           token="NextMarker", send_as="Marker")
                  if g["TargetGroupName"].startswith(prefix)]
    ours: set[str] = set()
    for start in range(0, len(candidates), 20):  # DescribeTags takes at most 20 ARNs
        described = ctx.aws.call("elbv2", "describe_tags", ResourceArns=[
            g["TargetGroupArn"] for g in candidates[start:start + 20]])["TagDescriptions"]
        ours |= {d["ResourceArn"] for d in described if ctx.owns(d["Tags"])}
    return [dict(g) for g in candidates if g["TargetGroupArn"] in ours]


def delete_group(ctx: Context, arn: str) -> None:
    # A group is "in use" until the listener and the service no longer name it.
    ctx.aws.find("elbv2", "delete_target_group", TargetGroupArn=arn, retry=("ResourceInUse",),
                 retry_for=300)


@dataclass
class TargetGroup(Resource):
    """TCP, IP targets (Fargate's awsvpc), health checks on the traffic port: TCP every 10 s
    unless [container.health_check] says otherwise (a path: HTTP)."""

    kind: ClassVar[str] = "target group"

    def name(self, ctx: Context) -> str:
        return group_name(ctx)

    def identity(self, found: Found) -> Any:
        return found["TargetGroupArn"]

    def find(self, ctx: Context) -> Found | None:
        return find_group(ctx)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        attributes = ctx.aws.call("elbv2", "describe_target_group_attributes",
                                  TargetGroupArn=found["TargetGroupArn"])["Attributes"]
        current = {a["Key"]: a["Value"] for a in attributes}.get(DEREGISTRATION)
        drain = ([] if current == DRAIN_SECONDS
                 else [FieldChange("deregistration_delay", current, DRAIN_SECONDS)])
        return health_check_changes(ctx, found) + drain

    def create(self, ctx: Context) -> Found:
        group = dict(ctx.aws.call(
            "elbv2", "create_target_group", Name=group_name(ctx), Protocol="TCP",
            Port=ctx.config.port, VpcId=ctx.outputs.need("cluster.vpc_id"), TargetType="ip",
            HealthCheckEnabled=True, HealthCheckPort="traffic-port",
            **health_check_params(ctx.config.health_check),
            Tags=ctx.tag_list("target_group", f"target-group-{ctx.config.port}"),
        )["TargetGroups"][0])
        self.record(ctx, group)
        return self.update(ctx, group, [])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        """Health checks in place: "You can update the health check settings for your target
        group at any time" (ELB guide, "Update the health check settings of a Network Load
        Balancer target group"), TCP to HTTP and back included. `changes` empty: just made."""
        fields = {c.field for c in changes}
        if fields & set(HEALTH_FIELDS.values()):
            found = dict(ctx.aws.call("elbv2", "modify_target_group",
                                      TargetGroupArn=found["TargetGroupArn"],
                                      **health_check_params(ctx.config.health_check)
                                      )["TargetGroups"][0])
        if not changes or "deregistration_delay" in fields:
            ctx.aws.call("elbv2", "modify_target_group_attributes",
                         TargetGroupArn=found["TargetGroupArn"],
                         Attributes=[{"Key": DEREGISTRATION, "Value": DRAIN_SECONDS}])
        return found

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.target_group_arn", found["TargetGroupArn"])

    def delete(self, ctx: Context, found: Found) -> None:
        delete_group(ctx, found["TargetGroupArn"])

    def stale(self, ctx: Context) -> list[Found]:
        """`down`: every other group of the stack too (an old port's, after a port change cut
        short, or after the port was edited in the config). In `up` the old port's group goes
        only once the service moved off it: TargetHealth's leftovers."""
        if ctx.command != "down":
            return []
        found = find_group(ctx)  # this port's: deleted as the resource itself
        keep = found["TargetGroupArn"] if found else None
        return [g for g in our_groups(ctx) if g["TargetGroupArn"] != keep]

    def stale_name(self, ctx: Context, found: Found) -> str:
        return str(found["TargetGroupName"])


# What the config's [container.health_check] names each setting, and its ELBv2 name.
HEALTH_FIELDS = {"HealthCheckPath": "health_check.path", "Matcher": "health_check.matcher",
                 "HealthCheckIntervalSeconds": "health_check.interval",
                 "HealthyThresholdCount": "health_check.healthy_threshold",
                 "UnhealthyThresholdCount": "health_check.unhealthy_threshold"}
TCP_WORDS = "(TCP)"  # how plan shows "no path": TCP checks


def health_check_params(check: HealthCheck) -> dict[str, Any]:
    """CreateTargetGroup / ModifyTargetGroup's health check: HTTP with a path and a matcher,
    else TCP (which takes neither). The timeout is AWS's default (TCP 10 s, HTTP 6 s) but
    never above the interval."""
    params: dict[str, Any] = {
        "HealthCheckProtocol": check.protocol, "HealthCheckIntervalSeconds": check.interval,
        "HealthCheckTimeoutSeconds": min(check.interval, 6 if check.path else 10),
        "HealthyThresholdCount": check.healthy_threshold,
        "UnhealthyThresholdCount": check.unhealthy_threshold}
    if check.path:
        params |= {"HealthCheckPath": check.path, "Matcher": {"HttpCode": check.matcher}}
    return params


def _health_check_words(values: dict[str, Any]) -> dict[str, Any]:
    """{config field: value} of a group (DescribeTargetGroups) or of health_check_params."""
    http = values.get("HealthCheckProtocol") == "HTTP"
    words = {HEALTH_FIELDS[key]: values.get(key) for key in
             ("HealthCheckIntervalSeconds", "HealthyThresholdCount", "UnhealthyThresholdCount")}
    words["health_check.path"] = values.get("HealthCheckPath") if http else TCP_WORDS
    words["health_check.matcher"] = (values.get("Matcher") or {}).get("HttpCode") if http else None
    return {k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in words.items()}


def health_check_changes(ctx: Context, found: Found) -> list[FieldChange]:
    """The health check settings AWS has otherwise than [container.health_check] says."""
    have = _health_check_words(found)
    want = _health_check_words(health_check_params(ctx.config.health_check))
    return [FieldChange(field, have[field], want[field]) for field in HEALTH_FIELDS.values()
            if have[field] != want[field]]


def targets(ctx: Context, arn: str) -> list[dict[str, Any]]:
    """Each registered target: id, port, state, and AWS's reason and description when it is
    not healthy (DescribeTargetHealth)."""
    found = ctx.aws.call("elbv2", "describe_target_health",
                         TargetGroupArn=arn)["TargetHealthDescriptions"]
    return [{"id": t.get("Target", {}).get("Id"), "port": t.get("Target", {}).get("Port"),
             "state": t["TargetHealth"].get("State"), "reason": t["TargetHealth"].get("Reason"),
             "description": t["TargetHealth"].get("Description")} for t in found]


def target_health(ctx: Context, arn: str) -> tuple[int, int, list[str]]:
    """(healthy, registered, reasons of the unhealthy ones)."""
    found = targets(ctx, arn)
    healthy = sum(1 for t in found if t["state"] == "healthy")
    reasons = sorted({t["description"] or t["reason"] or t["state"] or "?"
                      for t in found if t["state"] != "healthy"})
    return healthy, len(found), reasons


def _read_health(ctx: Context, found: Found) -> Found:
    healthy, registered, reasons = target_health(ctx, found["TargetGroupArn"])
    return {**found, "healthy": healthy, "registered": registered, "reasons": reasons}


def _healthy(found: Any) -> str:
    if found is None:
        return "deleted"
    if found.get("healthy") is None:
        return "unknown"
    return "healthy" if found["healthy"] >= found["want"] else (
        f"{found['healthy']}/{found['want']} targets healthy"
        + (f" ({'; '.join(found['reasons'])})" if found["reasons"] else ""))


@dataclass
class TargetHealth(Resource):
    """The service's targets in its group: ready when the desired count is healthy. The group
    itself is the service step's (AWS refuses a service whose group has no listener, so group
    and listener come first); this description reads it by the service step's state key, and
    deletes an old port's group once the service (which it reads) has moved to the new one."""

    group_step: str = "service"
    kind: ClassVar[str] = "target group"
    OWNS_NOTHING: ClassVar[bool] = True  # the group is the service step's row in a plan
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=lambda ctx, found: {**_read_health(ctx, found), "want": found["want"]},
        status=_healthy, done=frozenset({"healthy"}), failed=frozenset({"deleted"}),
        timeout=HEALTH_TIMEOUT)

    def name(self, ctx: Context) -> str:
        return group_name(ctx)

    def identity(self, found: Found) -> Any:
        return found["TargetGroupArn"]

    def recorded(self, ctx: Context) -> Any:
        return ctx.state.get(self.group_step, self.key)

    def record(self, ctx: Context, found: Found) -> None:
        """Nothing: the group's own description records it. But `import` (which reads only)
        marks the step done once the group is found: this step records nothing of its own."""
        if ctx.outputs.planning and found.get("TargetGroupArn"):
            ctx.state.mark_done(self.step)

    def forget(self, ctx: Context) -> None:
        """Nothing: the group's own description forgets it."""

    def find(self, ctx: Context) -> Found | None:
        """The group its description published (`up`; in a plan, one still to be made counts
        as there: it is the service step's to make). None otherwise (`down`: the group is not
        this description's to delete; `status` reads the state: see steps.target_group)."""
        arn = ctx.outputs.get(f"{self.group_step}.target_group_arn")
        if not arn and not ctx.outputs.planning:
            return None
        return {"TargetGroupArn": arn, "want": ctx.config.desired_count if arn else 0,
                "healthy": None}

    def create(self, ctx: Context) -> Found:
        raise GatewayProxyError(f"target group {group_name(ctx)} was not made")

    def stale(self, ctx: Context) -> list[Found]:
        if ctx.command == "down":
            return []  # the groups' own description deletes them all, after the listener
        # The group in use is the one handed on (in a plan of a port change: none yet, so the
        # recorded old one is stale too); the recorded one only when nothing was handed on.
        current = ctx.outputs.get(f"{self.group_step}.target_group_arn")
        if current is None and not ctx.outputs.planning:
            current = self.recorded(ctx)
        return [{**g, "stale": True} for g in our_groups(ctx)
                if g["TargetGroupName"] != group_name(ctx) and g["TargetGroupArn"] != current]

    def stale_name(self, ctx: Context, found: Found) -> str:
        return str(found["TargetGroupName"])

    def delete(self, ctx: Context, found: Found) -> None:
        if found.get("stale"):
            delete_group(ctx, found["TargetGroupArn"])

    def health(self, ctx: Context, found: Found) -> Health:
        healthy, registered, reasons = target_health(ctx, found["TargetGroupArn"])
        want = ctx.config.desired_count
        summary = f"{healthy}/{registered} targets healthy" + (
            f": {'; '.join(reasons)}" if reasons else "")
        return Health(healthy >= want, summary,
                      {"healthy": healthy, "registered": registered, "reasons": reasons})

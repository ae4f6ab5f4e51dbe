"""Step 7: the NLB listener forwards to the service's target group, stale groups go, targets are healthy.

Target groups and the listener are created here too (the service step calls `ensure_group` and
`ensure_listener`), because AWS refuses a service whose target group has no listener.
"""

from __future__ import annotations

from typing import Any

from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing

NAME = "target_group"
NEEDS = ("load_balancer.arn", "service.target_group_arn", "service.stable")
TIMEOUT = 15 * 60
LISTENER_PORT = 80


def group_name(ctx: Context, port: int | None = None) -> str:
    return f"{ctx.stack}-tg-{port or ctx.config.port}"


def ensure_group(ctx: Context, vpc_id: str) -> str:
    """The IP target group for the container port (a new port needs a new group)."""
    name = group_name(ctx)
    try:
        found = ctx.aws.call("elbv2", "describe_target_groups", Names=[name])["TargetGroups"]
    except AwsError as exc:
        if exc.code != "TargetGroupNotFound":
            raise
        found = []
    if found:
        arn = str(found[0]["TargetGroupArn"])
        tags = ctx.aws.call("elbv2", "describe_tags", ResourceArns=[arn])["TagDescriptions"]
        if not ctx.owns(tags[0]["Tags"]):
            raise GatewayProxyError(f"a target group named {name} exists but is not stack "
                                    f"{ctx.stack}'s")
    else:
        arn = ctx.aws.call(
            "elbv2", "create_target_group", Name=name, Protocol="TCP", Port=ctx.config.port,
            VpcId=vpc_id, TargetType="ip", HealthCheckEnabled=True, HealthCheckProtocol="TCP",
            HealthCheckPort="traffic-port", HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=2, UnhealthyThresholdCount=2,
            Tags=ctx.tag_list(NAME, f"target-group-{ctx.config.port}"),
        )["TargetGroups"][0]["TargetGroupArn"]
    ctx.state.record("service", "target_group_arn", arn)
    _ensure_short_deregistration(ctx, arn)
    return arn


def _ensure_short_deregistration(ctx: Context, arn: str) -> None:
    """Drain in 30 s instead of 300 s, so `down` and port changes do not wait five minutes."""
    attributes = ctx.aws.call("elbv2", "describe_target_group_attributes", TargetGroupArn=arn)
    current = {a["Key"]: a["Value"] for a in attributes["Attributes"]}
    if current.get("deregistration_delay.timeout_seconds") != "30":
        ctx.aws.call("elbv2", "modify_target_group_attributes", TargetGroupArn=arn,
                     Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])


def find_listener(ctx: Context, nlb_arn: str) -> dict[str, Any] | None:
    try:
        listeners = ctx.aws.call("elbv2", "describe_listeners",
                                 LoadBalancerArn=nlb_arn)["Listeners"]
    except AwsError as exc:
        if exc.code == "LoadBalancerNotFound":
            return None
        raise
    return next((entry for entry in listeners if entry["Port"] == LISTENER_PORT), None)


def ensure_listener(ctx: Context, nlb_arn: str, group_arn: str) -> str:
    """A TCP listener that forwards to `group_arn` (created, or swapped over to it)."""
    listener = find_listener(ctx, nlb_arn)
    forward = [{"Type": "forward", "TargetGroupArn": group_arn}]
    if listener is None:
        arn = ctx.aws.call("elbv2", "create_listener", LoadBalancerArn=nlb_arn, Protocol="TCP",
                           Port=LISTENER_PORT, DefaultActions=forward,
                           Tags=ctx.tag_list(NAME, "listener"))["Listeners"][0]["ListenerArn"]
    else:
        arn = listener["ListenerArn"]
        if _forwards_to(listener) != group_arn:
            ctx.aws.call("elbv2", "modify_listener", ListenerArn=arn, DefaultActions=forward)
    ctx.state.record("service", "listener_arn", arn)
    return str(arn)


def _forwards_to(listener: dict[str, Any]) -> str | None:
    for action in listener.get("DefaultActions", []):
        if action.get("Type") == "forward":
            if action.get("TargetGroupArn"):
                return str(action["TargetGroupArn"])
            groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
            if len(groups) == 1:
                return str(groups[0]["TargetGroupArn"])
    return None


def apply(ctx: Context) -> None:
    nlb_arn = ctx.outputs.need("load_balancer.arn")
    group_arn = ctx.outputs.need("service.target_group_arn")
    ensure_listener(ctx, nlb_arn, group_arn)
    ctx.outputs.need("service.stable")
    # Old groups (a port change) go once the service has moved to the new one.
    delete_groups(ctx, keep=group_arn)
    wait_healthy(ctx, group_arn)
    ctx.outputs.publish("target_group.healthy", True)
    ctx.state.mark_done(NAME)


def health(ctx: Context, group_arn: str) -> tuple[int, int, list[str]]:
    """(healthy, registered, reasons of the unhealthy ones)."""
    found = ctx.aws.call("elbv2", "describe_target_health",
                         TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    states = [t["TargetHealth"] for t in found]
    healthy = sum(1 for s in states if s.get("State") == "healthy")
    reasons = sorted({s.get("Description") or s.get("Reason") or s.get("State", "?")
                      for s in states if s.get("State") != "healthy"})
    return healthy, len(states), reasons


def wait_healthy(ctx: Context, group_arn: str) -> None:
    want = ctx.config.desired_count

    def check() -> tuple[bool, str]:
        healthy, registered, reasons = health(ctx, group_arn)
        detail = f"{healthy}/{want} targets healthy" + (f" ({'; '.join(reasons)})" if reasons else "")
        return healthy >= want, detail

    if want > 0:
        ctx.aws.wait(f"targets of {group_name(ctx)}", check, TIMEOUT, lambda m: ctx.report(NAME, m))


def _our_groups(ctx: Context) -> list[str]:
    """Every target group of this stack: recorded, or named `<stack>-tg-*` and tagged ours."""
    prefix = f"{ctx.stack}-tg-"
    candidates = [g["TargetGroupArn"] for g in ctx.aws.pages(
        "elbv2", "describe_target_groups", items="TargetGroups", token="NextMarker",
        send_as="Marker") if g["TargetGroupName"].startswith(prefix)]
    ours: list[str] = []
    for start in range(0, len(candidates), 20):
        described = ctx.aws.call("elbv2", "describe_tags",
                                 ResourceArns=candidates[start:start + 20])["TagDescriptions"]
        ours.extend(d["ResourceArn"] for d in described if ctx.owns(d["Tags"]))
    return ours


def delete_groups(ctx: Context, keep: str | None) -> None:
    """Delete this stack's target groups other than `keep` (stale ones after a port change)."""
    for arn in _our_groups(ctx):
        if arn == keep:
            continue
        ignore_missing(("TargetGroupNotFound",), ctx.aws.call, "elbv2", "delete_target_group",
                       TargetGroupArn=arn, retry=("ResourceInUse",), retry_for=300)
    if keep is None:
        ctx.state.forget("service", "target_group_arn")


def delete_listener(ctx: Context) -> None:
    arn = ctx.state.get("service", "listener_arn")
    if arn is None:
        nlb_arn = ctx.state.get("load_balancer", "load_balancer_arn")
        if nlb_arn is None:
            from gatewayproxy.steps import load_balancer
            nlb = load_balancer.find(ctx)
            nlb_arn = nlb["LoadBalancerArn"] if nlb else None
        listener = find_listener(ctx, nlb_arn) if nlb_arn else None
        arn = listener["ListenerArn"] if listener else None
    if arn:
        ignore_missing(("ListenerNotFound",), lambda: ctx.aws.call(
            "elbv2", "delete_listener", ListenerArn=arn))
    ctx.state.forget("service", "listener_arn")


def destroy(ctx: Context) -> None:
    """Nothing of its own: the listener and groups go with the service they serve."""


def status(ctx: Context) -> StepStatus:
    group_arn = ctx.state.get("service", "target_group_arn")
    if not group_arn:
        return StepStatus(NAME, False, None, "no target group")
    try:
        healthy, registered, reasons = health(ctx, group_arn)
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, "target group missing (drift)",
                              {"target_group_arn": group_arn})
    want = ctx.config.desired_count
    ok = healthy >= want
    summary = f"{healthy}/{registered} targets healthy" + (f": {'; '.join(reasons)}" if reasons else "")
    return StepStatus(NAME, ctx.state.is_done(NAME), ok, summary,
                      {"target_group_arn": group_arn},
                      {"healthy": healthy, "registered": registered, "reasons": reasons})

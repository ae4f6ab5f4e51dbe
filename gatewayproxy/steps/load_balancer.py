"""Step 4: the internal Network Load Balancer across the private subnets."""

from __future__ import annotations

from typing import Any

from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing

NAME = "load_balancer"
NEEDS = ("private_subnet.subnets",)
TIMEOUT = 15 * 60


def nlb_name(ctx: Context) -> str:
    return f"{ctx.stack}-nlb"


def find(ctx: Context) -> dict[str, Any] | None:
    """Our NLB: by the ARN in the state, else by its (account-unique) name checked against its tag."""
    arn = ctx.state.get(NAME, "load_balancer_arn")
    if arn:
        nlb = _describe(ctx, LoadBalancerArns=[arn])
        if nlb is not None:
            return nlb
    nlb = _describe(ctx, Names=[nlb_name(ctx)])
    if nlb is None:
        return None
    tags = ctx.aws.call("elbv2", "describe_tags", ResourceArns=[nlb["LoadBalancerArn"]])
    if not ctx.owns(tags["TagDescriptions"][0]["Tags"]):
        raise GatewayProxyError(f"a load balancer named {nlb_name(ctx)} exists but is not "
                                f"stack {ctx.stack}'s; rename the stack or delete it")
    return nlb


def _describe(ctx: Context, **query: Any) -> dict[str, Any] | None:
    try:
        found = ctx.aws.call("elbv2", "describe_load_balancers", **query)["LoadBalancers"]
    except AwsError as exc:
        if exc.code == "LoadBalancerNotFound":
            return None
        raise
    return found[0] if found else None


def apply(ctx: Context) -> None:
    subnets = ctx.outputs.need("private_subnet.subnets")
    nlb = find(ctx)
    if nlb is None:
        nlb = ctx.aws.call(
            "elbv2", "create_load_balancer", Name=nlb_name(ctx), Subnets=subnets,
            Scheme="internal", Type="network", IpAddressType="ipv4",
            Tags=ctx.tag_list(NAME, "load-balancer"),
        )["LoadBalancers"][0]
    arn = nlb["LoadBalancerArn"]
    ctx.state.record(NAME, "load_balancer_arn", arn)
    _ensure_cross_zone(ctx, arn)
    ctx.outputs.publish("load_balancer.arn", arn)
    ctx.outputs.publish("load_balancer.dns", nlb["DNSName"])
    wait_active(ctx, nlb)
    ctx.outputs.publish("load_balancer.active", True)
    ctx.state.mark_done(NAME)


def _ensure_cross_zone(ctx: Context, arn: str) -> None:
    """Off by default on an NLB: a node in a zone without a healthy task would drop requests."""
    attributes = ctx.aws.call("elbv2", "describe_load_balancer_attributes", LoadBalancerArn=arn,
                              retry=("LoadBalancerNotFound",))["Attributes"]
    if {a["Key"]: a["Value"] for a in attributes}.get("load_balancing.cross_zone.enabled") != "true":
        ctx.aws.call("elbv2", "modify_load_balancer_attributes", LoadBalancerArn=arn,
                     Attributes=[{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])


def wait_active(ctx: Context, nlb: dict[str, Any]) -> None:
    arn = nlb["LoadBalancerArn"]
    if nlb.get("State", {}).get("Code") == "active":
        return

    def check() -> tuple[bool, str]:
        found = ctx.aws.call("elbv2", "describe_load_balancers", LoadBalancerArns=[arn],
                             retry=("LoadBalancerNotFound",))
        state = found["LoadBalancers"][0].get("State", {})
        if state.get("Code") == "failed":
            raise GatewayProxyError(f"load balancer {nlb_name(ctx)} failed: {state.get('Reason')}")
        return state.get("Code") == "active", str(state.get("Code"))

    ctx.aws.wait(f"NLB {nlb_name(ctx)}", check, TIMEOUT, lambda m: ctx.report(NAME, m))


def destroy(ctx: Context) -> None:
    nlb = find(ctx)
    if nlb is not None:
        arn = nlb["LoadBalancerArn"]
        # Just after its VPC link is deleted, AWS may still call the NLB "in use".
        ignore_missing(("LoadBalancerNotFound",), ctx.aws.call, "elbv2", "delete_load_balancer",
                       LoadBalancerArn=arn, retry=("ResourceInUse",), retry_for=600)

        def gone() -> tuple[bool, str]:
            try:
                found = ctx.aws.call("elbv2", "describe_load_balancers", LoadBalancerArns=[arn])
            except AwsError as exc:
                if exc.code == "LoadBalancerNotFound":
                    return True, "deleted"
                raise
            return not found["LoadBalancers"], "deleting"

        ctx.aws.wait(f"NLB {nlb_name(ctx)} deletion", gone, TIMEOUT, lambda m: ctx.report(NAME, m))
    ctx.state.forget(NAME, "load_balancer_arn")


def status(ctx: Context) -> StepStatus:
    arn = ctx.state.get(NAME, "load_balancer_arn")
    if not arn:
        return StepStatus(NAME, False, None, "not created")
    try:
        nlb = ctx.aws.call("elbv2", "describe_load_balancers",
                           LoadBalancerArns=[arn])["LoadBalancers"][0]
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, "NLB missing (drift)")
    state = nlb.get("State", {}).get("Code", "?")
    return StepStatus(NAME, ctx.state.is_done(NAME), state == "active",
                      f"NLB {nlb['LoadBalancerName']} {state} ({nlb['Scheme']})",
                      ctx.state.resources(NAME), {"state": state, "dns": nlb["DNSName"]})

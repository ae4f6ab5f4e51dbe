"""The internal Network Load Balancer across the private subnets (ELBv2, type network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import NotOurs
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor

CROSS_ZONE = "load_balancing.cross_zone.enabled"


def nlb_name(ctx: Context) -> str:
    return f"{ctx.stack}-nlb"


def describe(ctx: Context, **query: Any) -> Found | None:
    """One load balancer, or None (LoadBalancerNotFound, or an empty answer)."""
    found = ctx.aws.find("elbv2", "describe_load_balancers", **query)
    balancers = (found or {}).get("LoadBalancers") or []
    return dict(balancers[0]) if balancers else None


def find(ctx: Context, arn: str | None) -> Found | None:
    """By the ARN in the state, else by its (account-unique) name checked against its tag."""
    if arn:
        nlb = describe(ctx, LoadBalancerArns=[arn])
        if nlb is not None:
            return nlb
    nlb = describe(ctx, Names=[nlb_name(ctx)])
    if nlb is None:
        return None
    tags = ctx.aws.call("elbv2", "describe_tags", ResourceArns=[nlb["LoadBalancerArn"]])
    if not ctx.owns(tags["TagDescriptions"][0]["Tags"]):
        raise NotOurs(f"a load balancer named {nlb_name(ctx)} exists but is not "
                                f"stack {ctx.stack}'s; rename the stack or delete it")
    return nlb


def _state(found: Any) -> str:
    return str((found or {}).get("State", {}).get("Code") or ("deleted" if found is None else "?"))


@dataclass
class Nlb(Resource):
    """Internal, in the private subnets, cross-zone on: off by default on an NLB, where a node
    in a zone without a healthy task would drop requests."""

    subnets_output: str = "private_subnet.subnets"
    kind: ClassVar[str] = "NLB"
    # Right after the create, DescribeLoadBalancers may not know it yet: "not yet", not gone
    # (terraform-provider-aws #15214: ALB/NLB creation occasionally fails on eventual
    # consistency).
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=lambda ctx, found: ctx.aws.call(
            "elbv2", "describe_load_balancers", LoadBalancerArns=[found["LoadBalancerArn"]],
            retry=("LoadBalancerNotFound",))["LoadBalancers"][0],
        status=_state, done=frozenset({"active"}), failed=frozenset({"failed", "deleted"}),
        reason=lambda found: str((found or {}).get("State", {}).get("Reason") or ""))
    gone: ClassVar[WaitFor | None] = WaitFor(
        read=lambda ctx, found: describe(ctx, LoadBalancerArns=[found["LoadBalancerArn"]]),
        status=_state, done=frozenset({"deleted"}))

    def name(self, ctx: Context) -> str:
        return nlb_name(ctx)

    def identity(self, found: Found) -> Any:
        return found["LoadBalancerArn"]

    def find(self, ctx: Context) -> Found | None:
        return find(ctx, self.recorded(ctx))

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        attributes = ctx.aws.call("elbv2", "describe_load_balancer_attributes",
                                  LoadBalancerArn=found["LoadBalancerArn"],
                                  retry=("LoadBalancerNotFound",))["Attributes"]
        current = {a["Key"]: a["Value"] for a in attributes}.get(CROSS_ZONE)
        return [] if current == "true" else [FieldChange("cross_zone", current == "true", True)]

    def create(self, ctx: Context) -> Found:
        nlb = ctx.aws.call("elbv2", "create_load_balancer", Name=nlb_name(ctx),
                           Subnets=ctx.outputs.need(self.subnets_output), Scheme="internal",
                           Type="network", IpAddressType="ipv4",
                           Tags=ctx.tag_list(self.step, "load-balancer"))["LoadBalancers"][0]
        self.record(ctx, nlb)
        self._cross_zone(ctx, nlb)
        return dict(nlb)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        self._cross_zone(ctx, found)
        return found

    def _cross_zone(self, ctx: Context, nlb: Found) -> None:
        ctx.aws.call("elbv2", "modify_load_balancer_attributes",
                     LoadBalancerArn=nlb["LoadBalancerArn"],
                     Attributes=[{"Key": CROSS_ZONE, "Value": "true"}],
                     retry=("LoadBalancerNotFound",))

    def delete(self, ctx: Context, found: Found) -> None:
        # Just after its VPC link is deleted, AWS may still call the NLB "in use".
        ctx.aws.find("elbv2", "delete_load_balancer", LoadBalancerArn=found["LoadBalancerArn"],
                     retry=("ResourceInUse",), retry_for=600)

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.arn", found["LoadBalancerArn"])
        ctx.outputs.publish(f"{self.step}.dns", found["DNSName"])

    def on_ready(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.active", True)

    def health(self, ctx: Context, found: Found) -> Health:
        state = _state(found)
        return Health(state == "active", f"NLB {found['LoadBalancerName']} {state} "
                                         f"({found.get('Scheme')})",
                      {"state": state, "dns": found.get("DNSName")})

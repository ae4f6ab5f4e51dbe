"""The NLB's TCP listener on port 80, forwarding to the service's target group (swapped over to
a new port's group in place: ModifyListener)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import nlb
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Resource

LISTENER_PORT = 80


def find_listener(ctx: Context, nlb_arn: str | None) -> Found | None:
    if not nlb_arn:
        return None
    found = ctx.aws.find("elbv2", "describe_listeners", LoadBalancerArn=nlb_arn)
    listeners = (found or {}).get("Listeners") or []
    return next((dict(e) for e in listeners if e["Port"] == LISTENER_PORT), None)


def forwards_to(listener: Found) -> str | None:
    for action in listener.get("DefaultActions", []):
        if action.get("Type") == "forward":
            if action.get("TargetGroupArn"):
                return str(action["TargetGroupArn"])
            groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
            if len(groups) == 1:
                return str(groups[0]["TargetGroupArn"])
    return None


def _name_of(arn: str | None) -> Any:
    """`quizapi-tg-8080` from a target group ARN (…:targetgroup/<name>/<id>)."""
    return arn.split(":targetgroup/")[-1].split("/")[0] if arn else None


@dataclass
class Listener(Resource):
    """Reads the NLB's ARN (`nlb_output`) and the group's (`group_output`)."""

    nlb_output: str = "load_balancer.arn"
    group_output: str = "service.target_group_arn"
    kind: ClassVar[str] = "listener"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-nlb:{LISTENER_PORT}"

    def identity(self, found: Found) -> Any:
        return found["ListenerArn"]

    def _nlb(self, ctx: Context) -> str | None:
        """The NLB's ARN: handed on, recorded, or (a lost state) found by its name and tag."""
        arn = ctx.outputs.get(self.nlb_output) or ctx.state.get("load_balancer",
                                                                "load_balancer_arn")
        if not arn and not ctx.outputs.planning:
            found = nlb.find(ctx, None)
            arn = found["LoadBalancerArn"] if found else None
        return str(arn) if arn else None

    def find(self, ctx: Context) -> Found | None:
        return find_listener(ctx, self._nlb(ctx))

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        want = ctx.outputs.need(self.group_output)
        have = forwards_to(found)
        if want is None:
            return [FieldChange("target group", _name_of(have), UNKNOWN)]
        return [] if have == want else [FieldChange("target group", _name_of(have),
                                                    _name_of(want))]

    def _forward(self, ctx: Context) -> list[dict[str, Any]]:
        return [{"Type": "forward", "TargetGroupArn": ctx.outputs.need(self.group_output)}]

    def create(self, ctx: Context) -> Found:
        listener = dict(ctx.aws.call(
            "elbv2", "create_listener", LoadBalancerArn=ctx.outputs.need(self.nlb_output),
            Protocol="TCP", Port=LISTENER_PORT, DefaultActions=self._forward(ctx),
            Tags=ctx.tag_list("target_group", "listener"))["Listeners"][0])
        self.record(ctx, listener)
        return listener

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        forward = self._forward(ctx)
        ctx.aws.call("elbv2", "modify_listener", ListenerArn=found["ListenerArn"],
                     DefaultActions=forward)
        return {**found, "DefaultActions": forward}

    def delete(self, ctx: Context, found: Found) -> None:
        ctx.aws.find("elbv2", "delete_listener", ListenerArn=found["ListenerArn"])

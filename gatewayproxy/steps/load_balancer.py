"""Step 4: the internal Network Load Balancer across the private subnets."""

from __future__ import annotations

from typing import Any

from gatewayproxy.context import Context
from gatewayproxy.resources import nlb
from gatewayproxy.resources.base import Resource
from gatewayproxy.steps import private_subnet

NAME = "load_balancer"


def nlb_name(ctx: Context) -> str:
    return nlb.nlb_name(ctx)


def resources(ctx: Context) -> list[Resource]:
    return [nlb.Nlb(NAME, "load_balancer_arn", needs=private_subnet.subnets(ctx))]


def find(ctx: Context) -> dict[str, Any] | None:
    """Our NLB (for the steps that read it before they are described as resources)."""
    return nlb.find(ctx, ctx.state.get(NAME, "load_balancer_arn"))

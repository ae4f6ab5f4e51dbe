"""The internet gateway and its attachment to the stack's VPC (the public subnets' way out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource
from gatewayproxy.resources.common import ignore_missing

TAG = "internet-gateway"


def attached(found: Found) -> list[str]:
    return [a["VpcId"] for a in found.get("Attachments", []) if a.get("VpcId")]


@dataclass
class InternetGateway(Resource):
    family: ec2.Family = field(default_factory=lambda: ec2.Family(ec2.IGW))
    kind: ClassVar[str] = "internet gateway"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{TAG}"

    def identity(self, found: Found) -> Any:
        return found["InternetGatewayId"]

    def find(self, ctx: Context) -> Found | None:
        return self.family.find(ctx, TAG, self.recorded(ctx))

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        vpc_id = ctx.outputs.need(f"{self.step}.vpc_id")
        now = attached(found)
        return [] if vpc_id in now else [FieldChange("vpc", now[0] if now else None,
                                                     vpc_id or "(known after apply)")]

    def create(self, ctx: Context) -> Found:
        igw = ctx.aws.call("ec2", "create_internet_gateway", TagSpecifications=ctx.tag_specs(
            ec2.IGW.tag_type, self.step, TAG))["InternetGateway"]
        self.record(ctx, igw)
        return self.update(ctx, dict(igw), [])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        vpc_id = ctx.outputs.need(f"{self.step}.vpc_id")
        ctx.aws.call("ec2", "attach_internet_gateway", InternetGatewayId=found["InternetGatewayId"],
                     VpcId=vpc_id, retry=ec2.JUST_CREATED)
        return {**found, "Attachments": [{"VpcId": vpc_id, "State": "available"}]}

    def delete(self, ctx: Context, found: Found) -> None:
        """Detached first: EC2 refuses to delete an attached gateway (DeleteInternetGateway,
        "You must detach the internet gateway from the VPC before you can delete it")."""
        for igw in [found["InternetGatewayId"], *self.family.duplicates(ctx, TAG, found)]:
            for vpc_id in attached(self._current(ctx, found, igw)):
                ignore_missing(("Gateway.NotAttached",), ec2.patiently, ctx, ctx.aws.call, "ec2",
                               "detach_internet_gateway", InternetGatewayId=igw, VpcId=vpc_id)
            ignore_missing((), ec2.patiently, ctx, ctx.aws.call, "ec2", "delete_internet_gateway",
                           InternetGatewayId=igw)

    def _current(self, ctx: Context, found: Found, igw: str) -> Found:
        if igw == found["InternetGatewayId"]:
            return found
        return self.family.by_id(ctx, igw) or {}

    def health(self, ctx: Context, found: Found) -> Health:
        vpcs = attached(found)
        return Health(bool(vpcs), f"internet gateway {found['InternetGatewayId']} "
                                  + (f"attached to {vpcs[0]}" if vpcs else "detached"))

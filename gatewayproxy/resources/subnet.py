"""A subnet in one of the stack's zones: public (the NAT gateway's) or private (the tasks',
the NLB's and the VPC link's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.config import subnet_cidrs
from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import Found, Health, Resource


@dataclass
class Subnet(Resource):
    """Subnet `index` of its family (`tag`: "public-subnet" or "private-subnet"); `siblings`:
    the state keys of the whole family, whose ids are handed on as one list (`output`) once
    every one of them exists."""

    index: int = 0
    siblings: tuple[str, ...] = ()
    output: str = ""
    family: ec2.Family = field(default_factory=lambda: ec2.Family(ec2.SUBNET))
    kind: ClassVar[str] = "subnet"
    public: ClassVar[bool] = False

    @property
    def tag(self) -> str:
        return f"{'public' if self.public else 'private'}-subnet-{self.index}"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{self.tag}"

    def identity(self, found: Found) -> Any:
        return found["SubnetId"]

    def find(self, ctx: Context) -> Found | None:
        if ctx.outputs.planning and ctx.outputs.need("cluster.vpc_id") is None:
            return None  # no VPC yet (plan), so no subnet in it
        return self.family.find(ctx, self.tag, self.recorded(ctx))

    def create(self, ctx: Context) -> Found:
        zones = ctx.outputs.need("cluster.zones")
        public, private = subnet_cidrs(ctx.config.vpc_cidr, len(zones))
        cidr = (public if self.public else private)[self.index]
        subnet = ec2.subnet_creator(ctx, ctx.outputs.need("cluster.vpc_id"), zones[self.index],
                                    cidr)(ctx.tag_specs(ec2.SUBNET.tag_type, self.step, self.tag))
        self.record(ctx, subnet)
        return subnet

    def delete(self, ctx: Context, found: Found) -> None:
        ec2.delete_all(ctx, self.family, self.tag, found,
                       lambda s: ctx.aws.call("ec2", "delete_subnet", SubnetId=s))

    def publish(self, ctx: Context, found: Found) -> None:
        ids = [found["SubnetId"] if key == self.key else ctx.state.get(self.step, key)
               for key in self.siblings]
        if all(ids):
            ctx.outputs.publish(self.output, ids)

    def health(self, ctx: Context, found: Found) -> Health:
        if not self.public and found.get("MapPublicIpOnLaunch"):
            return Health(False, f"private subnet {found['SubnetId']} maps public IPs!")
        return Health(True, f"{self.kind} {found['SubnetId']} {found.get('State', '?')}")


@dataclass
class PublicSubnet(Subnet):
    kind: ClassVar[str] = "public subnet"
    public: ClassVar[bool] = True


@dataclass
class PrivateSubnet(Subnet):
    kind: ClassVar[str] = "private subnet"

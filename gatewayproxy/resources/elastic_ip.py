"""The Elastic IP a NAT gateway sends from: zone 0's (`elastic-ip`), and with
`network.nat = "per_zone"` one per further zone (`elastic-ip-<i>`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import Found, Health, Resource

TAG = "elastic-ip"


@dataclass
class ElasticIp(Resource):
    family: ec2.Family = field(default_factory=lambda: ec2.Family(ec2.ADDRESS))
    zone: int = 0
    kind: ClassVar[str] = "Elastic IP"

    @property
    def tag(self) -> str:
        return TAG if self.zone == 0 else f"{TAG}-{self.zone}"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{self.tag}"

    def wanted(self, ctx: Context) -> bool:
        """As its NAT gateway: zone 0's unless nat = "none", the others' only per zone."""
        return ctx.config.nat == "per_zone" if self.zone else ctx.config.nat != "none"

    def identity(self, found: Found) -> Any:
        return found["AllocationId"]

    def find(self, ctx: Context) -> Found | None:
        return self.family.find(ctx, self.tag, self.recorded(ctx))

    def create(self, ctx: Context) -> Found:
        address = ctx.aws.call("ec2", "allocate_address", Domain="vpc", TagSpecifications=ctx.tag_specs(
            ec2.ADDRESS.tag_type, self.step, self.tag))
        self.record(ctx, address)
        return dict(address)

    def delete(self, ctx: Context, found: Found) -> None:
        """Released only once the NAT gateway is deleted (it reads this address, so `down`
        deletes it first and waits until it is gone); AuthFailure is what EC2 answers while the
        NAT gateway's hold on the address lingers."""
        ec2.delete_all(ctx, self.family, self.tag, found,
                       lambda a: ctx.aws.call("ec2", "release_address", AllocationId=a,
                                              retry=("AuthFailure",), retry_for=300))

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"Elastic IP {found.get('PublicIp', found['AllocationId'])}")

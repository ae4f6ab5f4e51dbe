"""A route table and its subnet associations: the public one (default route to the internet
gateway) or one private table per zone (default route to the NAT gateway, never the IGW)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Health, Resource


def associated(found: Found) -> list[str]:
    return [a["SubnetId"] for a in found.get("Associations", []) if a.get("SubnetId")]


@dataclass
class RouteTable(Resource):
    """`tag`: its logical name; `subnets`: the state keys (in `subnet_step`) of the subnets it
    serves; `siblings` and `output`: as for subnets, the family's ids handed on as one list."""

    tag: str = ""
    subnet_step: str = ""
    subnets: tuple[str, ...] = ()
    siblings: tuple[str, ...] = ()
    output: str = ""
    family: ec2.Family = field(default_factory=lambda: ec2.Family(ec2.ROUTE_TABLE))
    kind: ClassVar[str] = "route table"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{self.tag}"

    def identity(self, found: Found) -> Any:
        return found["RouteTableId"]

    def record(self, ctx: Context, found: Found) -> None:
        super().record(ctx, found)
        ec2.settle_token(ctx, self.step, self.key)

    def find(self, ctx: Context) -> Found | None:
        if ctx.outputs.planning and ctx.outputs.need("cluster.vpc_id") is None:
            return None  # no VPC yet (plan), so no route table in it
        return self.family.find(ctx, self.tag, self.recorded(ctx))

    def _wanted_subnets(self, ctx: Context) -> list[str | None]:
        return [ctx.state.get(self.subnet_step, key) for key in self.subnets]

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        now = associated(found)
        wanted = self._wanted_subnets(ctx)
        if all(s in now for s in wanted):
            return []
        return [FieldChange("subnets", now, [s or UNKNOWN for s in wanted])]

    def create(self, ctx: Context) -> Found:
        table = ec2.create_route_table(ctx, self.step, self.key,
                                       ctx.outputs.need("cluster.vpc_id"), self.tag)
        self.record(ctx, table)
        return self.update(ctx, table, [])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        for subnet_id in self._wanted_subnets(ctx):
            assert subnet_id is not None  # its subnet is ready before the table converges
            ec2.associate(ctx, found, subnet_id)
        return found

    def delete(self, ctx: Context, found: Found) -> None:
        """Disassociated first: EC2 refuses to delete a table still associated with a subnet
        (DeleteRouteTable: "You must disassociate the route table from any subnets")."""
        for table_id in [found["RouteTableId"], *self.family.duplicates(ctx, self.tag, found)]:
            table = found if table_id == found["RouteTableId"] else self.family.by_id(ctx, table_id)
            ec2.delete_route_table(ctx, table_id, {table_id: table} if table else None)

    def publish(self, ctx: Context, found: Found) -> None:
        if not self.output:
            return
        ids = [found["RouteTableId"] if key == self.key else ctx.state.get(self.step, key)
               for key in self.siblings]
        if all(ids):
            ctx.outputs.publish(self.output, ids)

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"{self.kind} {found['RouteTableId']}")


@dataclass
class PublicRouteTable(RouteTable):
    kind: ClassVar[str] = "public route table"


@dataclass
class PrivateRouteTable(RouteTable):
    kind: ClassVar[str] = "private route table"

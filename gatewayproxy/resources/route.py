"""A route table's default route (0.0.0.0/0): to the internet gateway in the public table, to
the NAT gateway in each private one. A route has no id of its own: it is found in its table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Health, Resource
from gatewayproxy.resources.common import ignore_missing

DEFAULT = "0.0.0.0/0"


@dataclass
class DefaultRoute(Resource):
    """In the table recorded as `table_key` of `table_step` (logical name `table_tag`), to the
    target recorded as `target_key` of `target_step`, sent as `target_field` (GatewayId or
    NatGatewayId)."""

    table_step: str = ""
    table_key: str = ""
    table_tag: str = ""
    target_step: str = ""
    target_key: str = ""
    target_field: str = "GatewayId"
    family: ec2.Family = field(default_factory=lambda: ec2.Family(ec2.ROUTE_TABLE))
    kind: ClassVar[str] = "route"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{self.table_tag} {DEFAULT}"

    # Nothing of its own in the state: it lives and dies with its table.
    def identity(self, found: Found) -> Any:
        return found["RouteTableId"]

    def record(self, ctx: Context, found: Found) -> None:
        pass

    def forget(self, ctx: Context) -> None:
        pass

    def recorded(self, ctx: Context) -> Any:
        return ctx.state.get(self.table_step, self.table_key)

    def _target(self, ctx: Context) -> str | None:
        return ctx.state.get(self.target_step, self.target_key)

    def _table(self, ctx: Context) -> Found | None:
        table_id = self.recorded(ctx)
        if table_id is None:
            return None  # no table yet, so no route in it
        return self.family.by_id(ctx, table_id)

    def find(self, ctx: Context) -> Found | None:
        table = self._table(ctx)
        route = next((r for r in (table or {}).get("Routes", [])
                      if r.get("DestinationCidrBlock") == DEFAULT), None)
        if table is None or route is None:
            return None
        return {"RouteTableId": table["RouteTableId"], **route}

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        target = self._target(ctx)
        current = found.get(self.target_field) or found.get("GatewayId") \
            or found.get("NatGatewayId")
        if current == target and found.get("State") != "blackhole":
            return []
        return [FieldChange("target", f"{current} ({found.get('State')})"
                            if found.get("State") == "blackhole" else current, target or UNKNOWN)]

    def _route(self, ctx: Context, table_id: str) -> dict[str, Any]:
        return {"RouteTableId": table_id, "DestinationCidrBlock": DEFAULT,
                self.target_field: self._target(ctx)}

    def create(self, ctx: Context) -> Found:
        table_id = self.recorded(ctx)
        ctx.aws.call("ec2", "create_route", retry=ec2.JUST_CREATED, **self._route(ctx, table_id))
        return self._route(ctx, table_id)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        route = self._route(ctx, found["RouteTableId"])
        ctx.aws.call("ec2", "replace_route", retry=ec2.JUST_CREATED, **route)
        return route

    def delete(self, ctx: Context, found: Found) -> None:
        ignore_missing(("InvalidRoute.NotFound",), ctx.aws.call, "ec2", "delete_route",
                       RouteTableId=found["RouteTableId"], DestinationCidrBlock=DEFAULT)

    def health(self, ctx: Context, found: Found) -> Health:
        state = found.get("State", "active")
        target = found.get(self.target_field) or found.get("GatewayId") or found.get("NatGatewayId")
        return Health(state != "blackhole", f"route {DEFAULT} -> {target} {state}")

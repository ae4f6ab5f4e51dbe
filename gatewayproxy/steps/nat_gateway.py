"""Step 5: the private subnets' way out (`network.nat`): an Elastic IP and a NAT gateway in the
first public subnet ("single", the default) or in each zone's ("per_zone"), and the private
route tables' default routes to them; or, with "none", VPC endpoints instead (see
gatewayproxy/resources/way_out.py for how a switch keeps the tasks connected)."""

from __future__ import annotations

from typing import Any

from gatewayproxy.resources import nat_gateway, way_out
from gatewayproxy.resources.base import Resource
from gatewayproxy.resources.elastic_ip import ElasticIp
from gatewayproxy.resources.nat_gateway import NatGateway
from gatewayproxy.steps import cluster
from gatewayproxy.steps.base import Context

NAME = "nat_gateway"
TIMEOUT = nat_gateway.TIMEOUT
LIVE = nat_gateway.LIVE
status_of = way_out.status_of
check = way_out.check


def find(ctx: Context) -> dict[str, Any] | None:
    """Our live NAT gateway (for readers not yet described as resources)."""
    return nat_gateway.find(ctx)


def exits(ctx: Context) -> tuple[str, ...]:
    """What the service's tasks need to get out (the node ids the service step reads)."""
    return way_out.way_out(ctx, NAME, cluster.zone_count(ctx))


def resources(ctx: Context) -> list[Resource]:
    zones = cluster.zone_count(ctx)
    made: list[Resource] = []
    for i in range(zones):
        suffix = f"_{i}" if i else ""
        made += [
            ElasticIp(NAME, f"elastic_ip{suffix}", zone=i),
            # In the zone's public subnet, once it routes to the internet gateway.
            NatGateway(NAME, f"nat_gateway{suffix}", zone=i, needs=(
                f"{NAME}.elastic_ip{suffix}", f"cluster.public_subnet_{i}", "cluster.public_route")),
        ]
    return [*made, *way_out.declare(ctx, NAME, zones)]

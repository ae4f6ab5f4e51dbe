"""Step 5: an Elastic IP and a NAT gateway in a public subnet; private subnets route out through it."""

from __future__ import annotations

from typing import Any

from gatewayproxy.resources import ec2, nat_gateway
from gatewayproxy.resources.base import Resource
from gatewayproxy.resources.elastic_ip import ElasticIp
from gatewayproxy.resources.nat_gateway import NatGateway
from gatewayproxy.resources.route import DefaultRoute
from gatewayproxy.steps import cluster
from gatewayproxy.steps.base import Context

NAME = "nat_gateway"
TIMEOUT = nat_gateway.TIMEOUT
LIVE = nat_gateway.LIVE
status_of = ec2.network_status


def find(ctx: Context) -> dict[str, Any] | None:
    """Our live NAT gateway (for readers not yet described as resources)."""
    return nat_gateway.find(ctx)


def resources(ctx: Context) -> list[Resource]:
    tables = ec2.Family(ec2.ROUTE_TABLE)
    nat = f"{NAME}.nat_gateway"
    return [
        ElasticIp(NAME, "elastic_ip"),
        # In the first public subnet, once it routes to the internet gateway.
        NatGateway(NAME, "nat_gateway", needs=(f"{NAME}.elastic_ip", "cluster.public_subnet_0",
                                               "cluster.public_route")),
        *(DefaultRoute(NAME, f"private_route_{i}",
                       needs=(nat, f"private_subnet.private_route_table_{i}"),
                       table_step="private_subnet", table_key=f"private_route_table_{i}",
                       table_tag=f"private-route-table-{i}", target_step=NAME,
                       target_key="nat_gateway", target_field="NatGatewayId", family=tables)
          for i in range(cluster.zone_count(ctx))),
    ]

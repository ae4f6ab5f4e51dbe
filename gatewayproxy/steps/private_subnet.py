"""Step 3: one private subnet per zone, each with a route table that never reaches the IGW."""

from __future__ import annotations

from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import Resource
from gatewayproxy.resources.route_table import PrivateRouteTable
from gatewayproxy.resources.subnet import PrivateSubnet
from gatewayproxy.steps import cluster
from gatewayproxy.steps.base import Context

NAME = "private_subnet"
status_of = ec2.network_status


def subnets(ctx: Context) -> tuple[str, ...]:
    """The private subnets' node ids: what the NLB and a v2 VPC link are placed in."""
    return tuple(f"{NAME}.private_subnet_{i}" for i in range(cluster.zone_count(ctx)))


def resources(ctx: Context) -> list[Resource]:
    n = cluster.zone_count(ctx)
    subnet_keys = tuple(f"private_subnet_{i}" for i in range(n))
    table_keys = tuple(f"private_route_table_{i}" for i in range(n))
    subnets = ec2.Family(ec2.SUBNET)
    tables = ec2.Family(ec2.ROUTE_TABLE)
    made: list[Resource] = []
    for i in range(n):
        made.append(PrivateSubnet(NAME, subnet_keys[i], needs=(cluster.VPC,), index=i,
                                  siblings=subnet_keys, output=f"{NAME}.subnets",
                                  family=subnets))
        made.append(PrivateRouteTable(NAME, table_keys[i],
                                      needs=(cluster.VPC, f"{NAME}.{subnet_keys[i]}"),
                                      tag=f"private-route-table-{i}", subnet_step=NAME,
                                      subnets=(subnet_keys[i],), siblings=table_keys,
                                      output=f"{NAME}.route_tables", family=tables))
    return made

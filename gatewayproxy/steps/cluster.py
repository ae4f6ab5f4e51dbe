"""Step 2: the ECS cluster and the network around it: VPC, internet gateway, public subnets,
the public route table and its default route to the internet gateway."""

from __future__ import annotations

from typing import Any

from gatewayproxy.resources import ec2, ecs_cluster, vpc
from gatewayproxy.resources.base import Resource
from gatewayproxy.resources.ecs_cluster import SLR_NOT_READY, EcsCluster, ensure_service_linked_role
from gatewayproxy.resources.internet_gateway import InternetGateway
from gatewayproxy.resources.route import DefaultRoute
from gatewayproxy.resources.route_table import PublicRouteTable
from gatewayproxy.resources.subnet import PublicSubnet
from gatewayproxy.steps.base import Context

NAME = "cluster"

__all__ = ["NAME", "SLR_NOT_READY", "check", "cluster_name",
           "ensure_service_linked_role", "resources", "status_of", "zone_count"]

FOUND_VPC = vpc.FOUND_VPC
VPC = f"{NAME}.vpc_id"
status_of = ec2.network_status


def check(ctx: Context) -> None:
    """Before any write: the region must have the zones the config asks for, and the network
    must not have to change."""
    ec2.zones(ctx)
    found = ec2.find(ctx, ec2.VPC, vpc.TAG)
    ctx.outputs.publish(FOUND_VPC, {"vpc": found} if found is not None else {})
    if found is not None:
        _check_cidr(ctx, found)


def _check_cidr(ctx: Context, found: dict[str, Any]) -> None:
    if found["CidrBlock"] != ctx.config.vpc_cidr:
        raise ec2.NetworkChange("network.vpc_cidr", found["CidrBlock"], ctx.config.vpc_cidr)


def cluster_name(ctx: Context) -> str:
    return ecs_cluster.cluster_name(ctx)


def zone_count(ctx: Context) -> int:
    """How many zones the stack has resources in: as recorded (so `down` finds them all even
    after the config asked for another count), else as configured."""
    recorded = ctx.state.get(NAME, "availability_zones")
    return max(len(recorded or []), ctx.config.availability_zones)


def resources(ctx: Context) -> list[Resource]:
    n = zone_count(ctx)
    subnet_keys = tuple(f"public_subnet_{i}" for i in range(n))
    subnets = ec2.Family(ec2.SUBNET)
    tables = ec2.Family(ec2.ROUTE_TABLE)
    return [
        vpc.Vpc(NAME, "vpc_id"),
        InternetGateway(NAME, "internet_gateway", needs=(VPC,)),
        *(PublicSubnet(NAME, key, needs=(VPC,), index=i, siblings=subnet_keys,
                       output=f"{NAME}.public_subnets", family=subnets)
          for i, key in enumerate(subnet_keys)),
        PublicRouteTable(NAME, "public_route_table",
                         needs=(VPC, *(f"{NAME}.{k}" for k in subnet_keys)),
                         tag="public-route-table", subnet_step=NAME, subnets=subnet_keys,
                         family=tables),
        DefaultRoute(NAME, "public_route", needs=(f"{NAME}.public_route_table",
                                                  f"{NAME}.internet_gateway"),
                     table_step=NAME, table_key="public_route_table",
                     table_tag="public-route-table", target_step=NAME,
                     target_key="internet_gateway", target_field="GatewayId", family=tables),
        EcsCluster(NAME, "cluster"),
    ]

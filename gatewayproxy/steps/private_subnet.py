"""Step 3: one private subnet per zone, each with a route table that never reaches the IGW."""

from __future__ import annotations

from gatewayproxy.config import subnet_cidrs
from gatewayproxy.errors import AwsError
from gatewayproxy.steps import ec2
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error

NAME = "private_subnet"
NEEDS = ("cluster.vpc_id", "cluster.zones")


def apply(ctx: Context) -> None:
    vpc_id = ctx.outputs.need("cluster.vpc_id")
    zones = ctx.outputs.need("cluster.zones")
    _, cidrs = subnet_cidrs(ctx.config.vpc_cidr, len(zones))
    subnets: list[str] = []
    tables: list[str] = []
    existing_subnets = ec2.index(ctx, ec2.SUBNET)
    existing_tables = ec2.index(ctx, ec2.ROUTE_TABLE)
    for i, (zone, cidr) in enumerate(zip(zones, cidrs, strict=True)):
        subnet = ec2.ensure(ctx, NAME, f"private_subnet_{i}", ec2.SUBNET, f"private-subnet-{i}",
                            ec2.subnet_creator(ctx, vpc_id, zone, cidr), existing_subnets)
        table = ec2.ensure_route_table(ctx, NAME, f"private_route_table_{i}", vpc_id,
                                       f"private-route-table-{i}", existing_tables)
        ec2.associate(ctx, table, subnet["SubnetId"])
        subnets.append(subnet["SubnetId"])
        tables.append(table["RouteTableId"])
    ctx.outputs.publish("private_subnet.subnets", subnets)
    ctx.outputs.publish("private_subnet.route_tables", tables)
    ctx.state.mark_done(NAME)


def destroy(ctx: Context) -> None:
    ec2.delete_numbered(ctx, NAME, "private_subnet_", ec2.SUBNET, "private-subnet-",
                        lambda s: ec2.delete_subnet(ctx, s))
    tables = ec2.find_all(ctx, ec2.ROUTE_TABLE)
    described = {t["RouteTableId"]: t for t in tables}
    ec2.delete_numbered(ctx, NAME, "private_route_table_", ec2.ROUTE_TABLE, "private-route-table-",
                        lambda t: ec2.delete_route_table(ctx, t, described), tables)


def status(ctx: Context) -> StepStatus:
    res = ctx.state.resources(NAME)
    ids = [v for k, v in sorted(res.items()) if k.startswith("private_subnet_")]
    if not ids:
        return StepStatus(NAME, False, None, "not created")
    try:
        found = ctx.aws.call("ec2", "describe_subnets", SubnetIds=ids)["Subnets"]
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, f"subnet missing (drift): {exc}", res)
    public = [s["SubnetId"] for s in found if s.get("MapPublicIpOnLaunch")]
    summary = f"{len(found)} private subnets" + (f", {public} map public IPs!" if public else "")
    return StepStatus(NAME, ctx.state.is_done(NAME), not public and len(found) == len(ids),
                      summary, res)

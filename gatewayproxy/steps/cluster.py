"""Step 2: the ECS cluster and the network around it: VPC, internet gateway, public subnets."""

from __future__ import annotations

from typing import Any

from gatewayproxy import arns
from gatewayproxy.config import subnet_cidrs
from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps import ec2
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing

NAME = "cluster"
NEEDS: tuple[str, ...] = ()


# ECS answers this while a brand-new service-linked role propagates.
SLR_NOT_READY = "InvalidParameterException:service linked role"


# What `check` found of the VPC ({"vpc": item}, or {} for none), so `apply` does not look again.
FOUND_VPC = f"{NAME}.found_vpc"


def check(ctx: Context) -> None:
    """Before any write: the region must have the zones the config asks for, and the network
    must not have to change."""
    ec2.zones(ctx)
    vpc = ec2.find(ctx, ec2.VPC, "vpc")
    ctx.outputs.publish(FOUND_VPC, {"vpc": vpc} if vpc is not None else {})
    if vpc is not None:
        _check_cidr(ctx, vpc)


def _check_cidr(ctx: Context, vpc: dict[str, Any]) -> None:
    if vpc["CidrBlock"] != ctx.config.vpc_cidr:
        raise ec2.NetworkChange("network.vpc_cidr", vpc["CidrBlock"], ctx.config.vpc_cidr)


def ensure_service_linked_role(ctx: Context) -> None:
    """ECS needs its service-linked role (once per account) for clusters and awsvpc services."""
    if ctx.aws.find("iam", "get_role", RoleName="AWSServiceRoleForECS") is None:
        try:
            ctx.aws.call("iam", "create_service_linked_role", AWSServiceName=arns.service_principal("ecs"))
        except AwsError as err:
            # AWS: InvalidInput "...has been taken in this account"; emulators: EntityAlreadyExists.
            taken = err.code == "InvalidInput" and "taken" in err.aws_message
            if not taken and err.code != "EntityAlreadyExists":
                raise


def cluster_name(ctx: Context) -> str:
    return ctx.name("cluster")


def apply(ctx: Context) -> None:
    azs = ec2.zones(ctx)  # first: too few zones in the region must stop us before the VPC exists
    vpc = _ensure_vpc(ctx)
    # The private subnets (and the NLB after them, the longest chain) need only these two.
    ctx.outputs.publish("cluster.vpc_id", vpc["VpcId"])
    ctx.outputs.publish("cluster.zones", azs)
    igw = _ensure_internet_gateway(ctx, vpc["VpcId"])
    public_cidrs, _ = subnet_cidrs(ctx.config.vpc_cidr, len(azs))
    subnets = []
    existing = ec2.index(ctx, ec2.SUBNET)
    for i, (zone, cidr) in enumerate(zip(azs, public_cidrs, strict=True)):
        subnet = ec2.ensure(ctx, NAME, f"public_subnet_{i}", ec2.SUBNET, f"public-subnet-{i}",
                            ec2.subnet_creator(ctx, vpc["VpcId"], zone, cidr), existing)
        subnets.append(subnet["SubnetId"])
    table = ec2.ensure_route_table(ctx, NAME, "public_route_table", vpc["VpcId"],
                                   "public-route-table")
    ec2.ensure_default_route(ctx, table, GatewayId=igw)
    for subnet_id in subnets:
        ec2.associate(ctx, table, subnet_id)
    ctx.outputs.publish("cluster.public_subnets", subnets)
    _ensure_cluster(ctx)
    ctx.outputs.publish("cluster.name", cluster_name(ctx))
    ctx.state.mark_done(NAME)


def _ensure_cluster(ctx: Context) -> None:
    name = cluster_name(ctx)
    found = ctx.aws.call("ecs", "describe_clusters", clusters=[name], include=["TAGS"])
    active = [c for c in found["clusters"] if c["status"] == "ACTIVE"]
    if active and not ctx.owns(active[0].get("tags", [])):
        raise GatewayProxyError(f"ECS cluster {name} exists but is not stack {ctx.stack}'s")
    if not active:
        ensure_service_linked_role(ctx)
        tags = [{"key": k, "value": v} for k, v in ctx.tags(NAME, "cluster").items()]
        ctx.aws.call("ecs", "create_cluster", clusterName=name, tags=tags,
                     retry=(SLR_NOT_READY,))
    ctx.state.record(NAME, "cluster", name)


def _ensure_vpc(ctx: Context) -> dict[str, Any]:
    vpc = ec2.ensure(ctx, NAME, "vpc_id", ec2.VPC, "vpc", lambda specs: ctx.aws.call(
        "ec2", "create_vpc", CidrBlock=ctx.config.vpc_cidr, TagSpecifications=specs)["Vpc"],
        ctx.outputs.get(FOUND_VPC))
    _check_cidr(ctx, vpc)
    if not ctx.state.is_done(NAME):
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            current = ctx.aws.call("ec2", "describe_vpc_attribute", VpcId=vpc["VpcId"],
                                   Attribute=attribute, retry=ec2.JUST_CREATED)
            key = attribute[0].upper() + attribute[1:]
            if not current[key]["Value"]:
                change: dict[str, Any] = {key: {"Value": True}}
                ctx.aws.call("ec2", "modify_vpc_attribute", VpcId=vpc["VpcId"], **change)
    return vpc


def _ensure_internet_gateway(ctx: Context, vpc_id: str) -> str:
    igw = ec2.ensure(ctx, NAME, "internet_gateway", ec2.IGW, "internet-gateway",
                     lambda specs: ctx.aws.call("ec2", "create_internet_gateway",
                                                TagSpecifications=specs)["InternetGateway"])
    if not any(a.get("VpcId") == vpc_id for a in igw.get("Attachments", [])):
        ctx.aws.call("ec2", "attach_internet_gateway", InternetGatewayId=igw["InternetGatewayId"],
                     VpcId=vpc_id, retry=ec2.JUST_CREATED)
    return str(igw["InternetGatewayId"])


def destroy(ctx: Context) -> None:
    vpc_id = ctx.state.get(NAME, "vpc_id")
    if vpc_id is None:
        found = ec2.find(ctx, ec2.VPC, "vpc")
        vpc_id = found["VpcId"] if found else None
    igw_id = ctx.state.get(NAME, "internet_gateway")
    if igw_id is None:
        found = ec2.find(ctx, ec2.IGW, "internet-gateway")
        igw_id = found["InternetGatewayId"] if found else None
    if igw_id and vpc_id:
        ignore_missing(("Gateway.NotAttached",), ec2.patiently, ctx, ctx.aws.call, "ec2",
                       "detach_internet_gateway", InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.delete(ctx, NAME, "internet_gateway", ec2.IGW, "internet-gateway",
               lambda i: ctx.aws.call("ec2", "delete_internet_gateway", InternetGatewayId=i))
    ec2.delete_numbered(ctx, NAME, "public_subnet_", ec2.SUBNET, "public-subnet-",
                        lambda s: ec2.delete_subnet(ctx, s))
    ec2.delete(ctx, NAME, "public_route_table", ec2.ROUTE_TABLE, "public-route-table",
               lambda t: ec2.delete_route_table(ctx, t))
    ec2.delete(ctx, NAME, "vpc_id", ec2.VPC, "vpc",
               lambda v: ctx.aws.call("ec2", "delete_vpc", VpcId=v))
    name = cluster_name(ctx)
    found = ctx.aws.call("ecs", "describe_clusters", clusters=[name], include=["TAGS"])
    if any(c["status"] == "ACTIVE" and ctx.owns(c.get("tags", [])) for c in found["clusters"]):
        ignore_missing(("ClusterNotFoundException",), ctx.aws.call, "ecs", "delete_cluster",
                       cluster=name, retry=("ClusterContainsTasksException",
                                            "ClusterContainsServicesException"), retry_for=300)
    ctx.state.forget(NAME, "cluster")
    ctx.state.forget(NAME, "availability_zones")


def status(ctx: Context) -> StepStatus:
    res = ctx.state.resources(NAME)
    vpc_id = res.get("vpc_id")
    if not vpc_id:
        return StepStatus(NAME, False, None, "not created")
    try:
        vpc = ctx.aws.call("ec2", "describe_vpcs", VpcIds=[vpc_id])["Vpcs"][0]
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, f"VPC {vpc_id} missing (drift)", res)
    try:
        # A missing cluster is not an error here: it is listed under failures (reason MISSING).
        clusters = ctx.aws.call("ecs", "describe_clusters", clusters=[cluster_name(ctx)])
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, "cluster missing (drift)", res)
    active = any(c["status"] == "ACTIVE" for c in clusters["clusters"])
    summary = f"cluster {'ACTIVE' if active else 'missing (drift)'}, VPC {vpc_id} {vpc['State']}"
    return StepStatus(NAME, ctx.state.is_done(NAME), active and vpc["State"] == "available",
                      summary, res)


"""`network.nat`: how the tasks in the private subnets get out, and how a switch between the
modes keeps them connected.

- "single" (the default): one NAT gateway and Elastic IP in zone 0's public subnet; every
  private route table's default route goes to it (today's resources and state keys).
- "per_zone": a NAT gateway and Elastic IP in each zone's public subnet; each zone's private
  route table (there is one per private subnet) routes to its own zone's NAT gateway.
- "none": no NAT gateway, no Elastic IP, no default route: interface endpoints (ecr.api,
  ecr.dkr, logs, and secretsmanager / ssm for the secrets) and the S3 gateway endpoint.

Switching never leaves the tasks without a way out: what the new mode needs converges first,
and what the old one had goes after it (`retire_after`). A route that moves from one NAT
gateway to another is replaced in place (ReplaceRoute) once the new one is available; the
default routes go only once every endpoint is available; the endpoints go only once the
default routes exist again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, ConfigError
from gatewayproxy.resources import ec2
from gatewayproxy.resources import vpc_endpoint as endpoints
from gatewayproxy.resources.base import Health, Resource
from gatewayproxy.resources.common import StepStatus
from gatewayproxy.resources.route import DefaultRoute

# A private ECR image: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG|@DIGEST].
ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/\S+$")


def endpoint_keys(ctx: Context) -> list[str]:
    """The state keys of every endpoint kind the step declares (wanted or not)."""
    services = [*endpoints.INTERFACE_SERVICES, *endpoints.SECRET_SERVICES]
    return [f"endpoint_{s.replace('.', '_')}" for s in services] + ["endpoint_s3"]


def nat_key(ctx: Context, zone: int) -> str:
    """The NAT gateway a zone's private route table routes to."""
    return f"nat_gateway_{zone}" if zone and ctx.config.nat == "per_zone" else "nat_gateway"


@dataclass
class PrivateRoute(DefaultRoute):
    """A private route table's default route: wanted unless nat = "none"."""

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.nat != "none"

    def recorded(self, ctx: Context) -> Any:
        """Its table, while it is wanted: with nat = "none" `status` does not list it (its
        table's id is all a route records, and the table stays)."""
        return super().recorded(ctx) if self.wanted(ctx) else None

    def _table(self, ctx: Context) -> Any:
        table_id = ctx.state.get(self.table_step, self.table_key)
        return None if table_id is None else self.family.by_id(ctx, table_id)


def declare(ctx: Context, step: str, zones: int) -> list[Resource]:
    """The endpoints, their security group and the default routes of the private tables."""
    tables = ec2.Family(ec2.ROUTE_TABLE)
    route_ids = tuple(f"{step}.private_route_{i}" for i in range(zones))
    # Only the endpoints this config wants: one not wanted either must not wait for the route
    # that waits for it.
    endpoint_ids = tuple(f"{step}.{key}" for key in endpoint_keys(ctx)
                         if _service(key) in endpoints.wanted_services(ctx))
    subnets = tuple(f"private_subnet.private_subnet_{i}" for i in range(zones))
    route_tables = tuple(f"private_subnet.private_route_table_{i}" for i in range(zones))
    group = f"{step}.endpoint_security_group"
    made: list[Resource] = [
        endpoints.EndpointSecurityGroup(step, "endpoint_security_group", needs=("cluster.vpc_id",)),
        *(endpoints.VpcEndpoint(step, f"endpoint_{service.replace('.', '_')}",
                                needs=("cluster.vpc_id", *subnets, group),
                                retire_after=route_ids, service=service)
          for service in (*endpoints.INTERFACE_SERVICES, *endpoints.SECRET_SERVICES)),
        endpoints.GatewayEndpoint(step, "endpoint_s3", needs=("cluster.vpc_id", *route_tables),
                                  retire_after=route_ids),
    ]
    for i in range(zones):
        # Needs every NAT gateway it may route to: a wanted one is waited for (the route moves
        # to it once it is available), one no longer wanted goes after the route left it.
        nats = (f"{step}.nat_gateway", *((f"{step}.nat_gateway_{i}",) if i else ()))
        made.append(PrivateRoute(
            step, f"private_route_{i}", needs=(*nats, route_tables[i]),
            # With nat = "none" it goes only once every endpoint is available.
            retire_after=endpoint_ids, table_step="private_subnet",
            table_key=f"private_route_table_{i}", table_tag=f"private-route-table-{i}",
            target_step=step, target_key=nat_key(ctx, i), target_field="NatGatewayId",
            family=tables))
    return made


def way_out(ctx: Context, step: str, zones: int) -> tuple[str, ...]:
    """What the service's tasks need before they start: the default routes, or with
    nat = "none" the endpoints and their group."""
    if ctx.config.nat != "none":
        return tuple(f"{step}.private_route_{i}" for i in range(zones))
    keys = [k for k in endpoint_keys(ctx) if _service(k) in endpoints.wanted_services(ctx)]
    return (f"{step}.endpoint_security_group", *(f"{step}.{k}" for k in keys))


def _service(key: str) -> str:
    return key.removeprefix("endpoint_").replace("_", ".")


# -- before any write ----------------------------------------------------------------------------
def check(ctx: Context) -> None:
    """With nat = "none", refuse what cannot work before anything is made: an image outside
    this region's private ECR, registry credentials, an endpoint service the region or the
    stack's zones do not offer."""
    if ctx.config.nat != "none":
        return
    region, account = ctx.aws.region, ctx.aws.account_id
    image = ECR_IMAGE.match(ctx.config.image)
    if image is None or image.group(2) != region:
        raise ConfigError(
            f"container.image {ctx.config.image!r}: with network.nat = \"none\" tasks have no "
            "way out, so the image must be in this region's private ECR "
            f"({account}.dkr.ecr.{region}.amazonaws.com/…)")
    if ctx.config.registry_credentials:
        raise ConfigError(
            "container.registry_credentials: with network.nat = \"none\" tasks have no way out, "
            "so they cannot reach a registry outside ECR (private ECR needs no credentials)")
    offered = _offered_zones(ctx)
    ctx.outputs.publish(endpoints.ZONES_OUTPUT, offered)


def _offered_zones(ctx: Context) -> dict[str, list[int]]:
    """Per endpoint service, the indexes of the stack's zones that offer it.

    DescribeVpcEndpointServices confirms each service name in this region (it answers
    InvalidServiceName for one it does not know) and lists the zones it is offered in; an
    interface endpoint's subnets must be in those zones, so a zone without it is left out
    (its tasks reach the endpoint in another zone: private DNS answers every zone's
    addresses), and a service no zone of the stack offers is refused."""
    wanted = endpoints.wanted_services(ctx)
    names = {endpoints.service_name(ctx, s): s for s in wanted}
    try:
        answer = ctx.aws.call("ec2", "describe_vpc_endpoint_services", ServiceNames=list(names))
    except AwsError as exc:
        if exc.code != "InvalidServiceName":
            raise
        raise ConfigError(f"network.nat = \"none\": {ctx.aws.region} does not offer every VPC "
                          f"endpoint service it needs ({exc.aws_message})") from None
    details = {d["ServiceName"]: d for d in answer.get("ServiceDetails") or []}
    missing = [n for n in names if n not in details]
    if missing:
        raise ConfigError(f"network.nat = \"none\": {ctx.aws.region} offers no VPC endpoint "
                          f"service {missing[0]}")
    zones = ec2.zones(ctx)
    aliases = _zone_aliases(ctx, zones, details.values())
    offered: dict[str, list[int]] = {}
    for name, service in names.items():
        detail = details[name]
        if service == endpoints.GATEWAY_SERVICE:
            continue  # a gateway endpoint lives in the route tables, not in zones
        where = set(detail.get("AvailabilityZoneIds") or []) | set(
            detail.get("AvailabilityZones") or [])
        offered[service] = [i for i, z in enumerate(zones) if {z, aliases.get(z)} & where]
        if not offered[service]:
            raise ConfigError(f"network.nat = \"none\": {name} is not offered in any of the "
                              f"stack's zones ({', '.join(zones)})")
        for i, zone in enumerate(zones):
            if i not in offered[service]:
                ctx.report("nat_gateway", f"{name} is not offered in {zone}: its tasks use the "
                                          "endpoint in the other zones")
    return offered


def _zone_aliases(ctx: Context, zones: list[str], details: Any) -> dict[str, str]:
    """Zone id <-> name, when a service lists zones by name only (one call, only then)."""
    if all(d.get("AvailabilityZoneIds") for d in details):
        return {}
    found = ctx.aws.call("ec2", "describe_availability_zones")["AvailabilityZones"]
    aliases = {z["ZoneId"]: z["ZoneName"] for z in found}
    return {**aliases, **{name: zid for zid, name in aliases.items()}}


# -- status --------------------------------------------------------------------------------------
def status_of(ctx: Context, step: str, healths: list[tuple[Resource, Health]]) -> StepStatus:
    """The network step's line, led by the mode, with each NAT gateway and endpoint and its
    state in the details."""
    found = ec2.network_status(ctx, step, healths)
    if found.healthy is None or "error" in found.details:
        return found  # nothing made yet, or a read failed: that alone is the step's line
    mode = ctx.config.nat
    nats = [d for _, h in healths for d in h.details.get("nat_gateways", [])]
    points = [d for _, h in healths for d in h.details.get("vpc_endpoints", [])]
    details = {k: v for k, v in found.details.items() if k not in ("nat_gateways", "vpc_endpoints")}
    details.update({"nat": mode, "nat_gateways": nats, "vpc_endpoints": points})
    return StepStatus(found.name, found.done, found.healthy, f"nat = {mode}: {found.summary}",
                      found.resources, details)

"""Step 5: an Elastic IP and a NAT gateway in a public subnet; private subnets route out through it."""

from __future__ import annotations

import uuid
from typing import Any

from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps import ec2
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ec2_tag_filters, ignore_missing

NAME = "nat_gateway"
NEEDS = ("cluster.public_subnets", "private_subnet.route_tables")
TIMEOUT = 15 * 60
LIVE = ["pending", "available"]


def find(ctx: Context) -> dict[str, Any] | None:
    """Our NAT gateway that is pending or available (failed and deleted ones do not count).

    Tagged ours and in our VPC: the VPC filter alone already keeps another stack's NAT gateway
    out, even where tag filters are not applied (moto ignores them on DescribeNatGateways).
    """
    vpc_id = _vpc_id(ctx)
    if vpc_id is None:
        return None  # no VPC of ours, so no NAT gateway of ours
    filters = [*ec2_tag_filters(ctx, "nat-gateway"), {"Name": "state", "Values": LIVE},
               {"Name": "vpc-id", "Values": [vpc_id]}]
    found = ctx.aws.call("ec2", "describe_nat_gateways", Filter=filters)["NatGateways"]
    return found[0] if found else None


def _vpc_id(ctx: Context) -> str | None:
    """The stack's VPC: as the cluster step recorded it, else found by its tag."""
    recorded = ctx.state.get("cluster", "vpc_id")
    if recorded:
        return str(recorded)
    vpc = ec2.find(ctx, ec2.VPC, "vpc")
    return str(vpc["VpcId"]) if vpc else None


def apply(ctx: Context) -> None:
    public_subnets = ctx.outputs.need("cluster.public_subnets")
    address = ec2.ensure(ctx, NAME, "elastic_ip", ec2.ADDRESS, "elastic-ip",
                         lambda specs: ctx.aws.call("ec2", "allocate_address", Domain="vpc",
                                                    TagSpecifications=specs))
    nat = find(ctx)
    if nat is None:
        # A token kept in the state makes a retried create return the same NAT gateway; a new
        # one is drawn after a NAT gateway failed, or AWS would hand back the failed one.
        token = ctx.state.get(NAME, "client_token") or uuid.uuid4().hex
        ctx.state.record(NAME, "client_token", token)
        nat = ctx.aws.call(
            "ec2", "create_nat_gateway", SubnetId=public_subnets[0],
            AllocationId=address["AllocationId"], ConnectivityType="public", ClientToken=token,
            TagSpecifications=ctx.tag_specs("natgateway", NAME, "nat-gateway"),
            retry=ec2.JUST_CREATED,
        )["NatGateway"]
    nat_id = nat["NatGatewayId"]
    ctx.state.record(NAME, "nat_gateway", nat_id)
    ctx.state.forget(NAME, "client_token")
    wait_available(ctx, nat)
    tables = ctx.outputs.need("private_subnet.route_tables")
    described = ctx.aws.call("ec2", "describe_route_tables", RouteTableIds=tables)["RouteTables"]
    for table in described:
        ec2.ensure_default_route(ctx, table, NatGatewayId=nat_id)
    ctx.outputs.publish("nat_gateway.ready", nat_id)
    ctx.state.mark_done(NAME)


def wait_available(ctx: Context, nat: dict[str, Any]) -> None:
    nat_id = nat["NatGatewayId"]
    if nat.get("State") == "available":
        return

    def check() -> tuple[bool, str]:
        found = ctx.aws.call("ec2", "describe_nat_gateways", NatGatewayIds=[nat_id],
                             retry=ec2.JUST_CREATED)["NatGateways"]
        state = found[0]["State"] if found else "missing"
        if state in ("failed", "deleting", "deleted", "missing"):
            reason = (found[0].get("FailureMessage") or found[0].get("FailureCode")) if found else ""
            raise GatewayProxyError(f"NAT gateway {nat_id} is {state}: {reason or 'no reason given'}"
                                    "; run `gatewayproxy up` again to replace it")
        return state == "available", state

    ctx.aws.wait(f"NAT gateway {nat_id}", check, TIMEOUT, lambda m: ctx.report(NAME, m))


def destroy(ctx: Context) -> None:
    for table in ec2.find_all(ctx, ec2.ROUTE_TABLE):
        if any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("NatGatewayId")
               for r in table.get("Routes", [])):
            ignore_missing(("InvalidRoute.NotFound",), ctx.aws.call, "ec2", "delete_route",
                           RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0")
    nat_ids = {ctx.state.get(NAME, "nat_gateway")} - {None}
    found = find(ctx)
    if found:
        nat_ids.add(found["NatGatewayId"])
    for nat_id in nat_ids:
        ignore_missing(("NatGatewayNotFound",), ctx.aws.call, "ec2", "delete_nat_gateway",
                       NatGatewayId=nat_id)

        def gone(n: str = nat_id) -> tuple[bool, str]:
            nats = ctx.aws.call("ec2", "describe_nat_gateways", NatGatewayIds=[n])["NatGateways"]
            state = nats[0]["State"] if nats else "deleted"
            return state == "deleted", state

        try:
            ctx.aws.wait(f"NAT gateway {nat_id} deletion", gone, TIMEOUT,
                         lambda m: ctx.report(NAME, m))
        except AwsError as exc:
            if not exc.code.endswith("NotFound"):
                raise
    ctx.state.forget(NAME, "nat_gateway")
    ctx.state.forget(NAME, "client_token")
    # The Elastic IP can be released only once the NAT gateway is fully deleted.
    ec2.delete(ctx, NAME, "elastic_ip", ec2.ADDRESS, "elastic-ip",
               lambda a: ctx.aws.call("ec2", "release_address", AllocationId=a,
                                      retry=("AuthFailure",), retry_for=300))


def status(ctx: Context) -> StepStatus:
    nat_id = ctx.state.get(NAME, "nat_gateway")
    if not nat_id:
        return StepStatus(NAME, False, None, "not created")
    try:
        nats = ctx.aws.call("ec2", "describe_nat_gateways", NatGatewayIds=[nat_id])["NatGateways"]
    except AwsError as exc:  # AWS: NatGatewayNotFound (moto answers an empty list)
        return drift_or_error(ctx, NAME, exc, f"NAT gateway {nat_id} missing (drift)")
    state = nats[0]["State"] if nats else "missing (drift)"
    return StepStatus(NAME, ctx.state.is_done(NAME), state == "available",
                      f"NAT gateway {nat_id} {state}", ctx.state.resources(NAME), {"state": state})

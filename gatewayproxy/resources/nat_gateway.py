"""The NAT gateway in the first public subnet: the private subnets' way out (image pulls, logs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.common import ec2_tag_filters, ignore_missing

TAG = "nat-gateway"
LIVE = ["pending", "available"]
TIMEOUT = 15 * 60
TOKEN = "client_token"


def vpc_id(ctx: Context) -> str | None:
    """The stack's VPC: as the cluster step recorded it, else found by its tag."""
    recorded = ctx.state.get("cluster", "vpc_id")
    if recorded:
        return str(recorded)
    vpc = ec2.find(ctx, ec2.VPC, "vpc")
    return str(vpc["VpcId"]) if vpc else None


def find(ctx: Context) -> dict[str, Any] | None:
    """Our NAT gateway that is pending or available (failed and deleted ones do not count).

    Tagged ours and in our VPC: the VPC filter alone already keeps another stack's NAT gateway
    out, even where tag filters are not applied (moto ignores them on DescribeNatGateways).
    """
    vpc = vpc_id(ctx)
    if vpc is None:
        return None  # no VPC of ours, so no NAT gateway of ours
    filters = [*ec2_tag_filters(ctx, TAG), {"Name": "state", "Values": LIVE},
               {"Name": "vpc-id", "Values": [vpc]}]
    found = ctx.aws.call("ec2", "describe_nat_gateways", Filter=filters)["NatGateways"]
    return dict(found[0]) if found else None


def describe(ctx: Context, found: Found) -> Found | None:
    """The NAT gateway again, by id; None once AWS no longer knows it."""
    answer = ctx.aws.find("ec2", "describe_nat_gateways", NatGatewayIds=[found["NatGatewayId"]],
                          retry=ec2.JUST_CREATED)
    nats = (answer or {}).get("NatGateways") or []
    return dict(nats[0]) if nats else None


def _state(found: Any) -> str:
    return str(found["State"]) if found else "deleted"


def _reason(found: Any) -> str:
    why = (found or {}).get("FailureMessage") or (found or {}).get("FailureCode") \
        or "no reason given"
    return f"{why}; run `gatewayproxy up` again to replace it"


@dataclass
class NatGateway(Resource):
    """A NAT gateway that failed is replaced by the next `up` (plan: -/+), with a new client
    token: the old token would hand back the failed one. The Elastic IP is kept: "Deleting a
    public NAT gateway disassociates its Elastic IP address, but does not release the address"
    (DeleteNatGateway, EC2 API reference), so the new one takes it once the old is deleted."""

    kind: ClassVar[str] = "NAT gateway"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"state"})
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=describe, status=_state, done=frozenset({"available"}),
        failed=frozenset({"failed", "deleting", "deleted"}), timeout=TIMEOUT, reason=_reason)
    gone: ClassVar[WaitFor | None] = WaitFor(
        read=describe, status=_state, done=frozenset({"deleted"}), timeout=TIMEOUT)

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-nat"

    def identity(self, found: Found) -> Any:
        return found["NatGatewayId"]

    def record(self, ctx: Context, found: Found) -> None:
        super().record(ctx, found)
        ctx.state.forget(self.step, TOKEN)

    def find(self, ctx: Context) -> Found | None:
        """A live one of ours, else the recorded one if it failed (deleted ones are gone)."""
        live = find(ctx)
        recorded = self.recorded(ctx)
        if live is not None or not recorded:
            return live
        found = describe(ctx, {"NatGatewayId": recorded})
        # `down` cut short after the delete: wait for it again, or the Elastic IP it still
        # holds cannot be released ("Deleting a public NAT gateway disassociates its Elastic IP
        # address, but does not release the address": DeleteNatGateway).
        dead = {"failed", "deleting"} if ctx.command == "down" else {"failed"}
        return found if found is not None and found["State"] in dead else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        if found["State"] == "failed":
            return [FieldChange("state", "failed", "available")]
        return []

    def create(self, ctx: Context) -> Found:
        # A token kept in the state makes a retried create return the same NAT gateway; a new
        # one is drawn after a NAT gateway failed, or AWS would hand back the failed one.
        token = ctx.state.get(self.step, TOKEN) or uuid.uuid4().hex
        ctx.state.record(self.step, TOKEN, token)
        nat = ctx.aws.call(
            "ec2", "create_nat_gateway", SubnetId=ctx.state.get("cluster", "public_subnet_0"),
            AllocationId=ctx.state.get(self.step, "elastic_ip"), ConnectivityType="public",
            ClientToken=token, TagSpecifications=ctx.tag_specs("natgateway", self.step, TAG),
            retry=ec2.JUST_CREATED,
        )["NatGateway"]
        self.record(ctx, nat)
        return dict(nat)

    def delete(self, ctx: Context, found: Found) -> None:
        ignore_missing(("NatGatewayNotFound",), ctx.aws.call, "ec2", "delete_nat_gateway",
                       NatGatewayId=found["NatGatewayId"])

    def on_ready(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.ready", found["NatGatewayId"])

    def health(self, ctx: Context, found: Found) -> Health:
        state = _state(found)
        return Health(state == "available", f"NAT gateway {found['NatGatewayId']} {state}",
                      {"state": state})

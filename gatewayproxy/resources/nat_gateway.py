"""The NAT gateway in the first public subnet: the private subnets' way out (image pulls, logs).

With `network.nat = "per_zone"` each further zone's public subnet has one too (`zone` > 0:
state keys `nat_gateway_<i>`, logical names `nat-gateway-<i>`), so a zone's outage cuts only
its own tasks off; zone 0 keeps the keys and names of the single NAT gateway, so going from
"single" to "per_zone" adds only the other zones'. `"none"` wants none of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import RESOURCE_TAG, Context, tag_value
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.common import ec2_tag_filters, ignore_missing

TAG = "nat-gateway"
LIVE = ["pending", "available"]
TIMEOUT = 15 * 60
TOKEN = "client_token"
# Client tokens of the other zones' NAT gateways (and of the VPC endpoints), by state key.
TOKENS = "client_tokens"


def vpc_id(ctx: Context) -> str | None:
    """The stack's VPC: as the cluster step recorded it, else found by its tag."""
    recorded = ctx.state.get("cluster", "vpc_id")
    if recorded:
        return str(recorded)
    vpc = ec2.find(ctx, ec2.VPC, "vpc")
    return str(vpc["VpcId"]) if vpc else None


def find(ctx: Context, tag: str = TAG) -> dict[str, Any] | None:
    """Our NAT gateway of this logical name that is pending or available (failed and deleted
    ones do not count)."""
    found = [n for n in live(ctx) if tag_value(n.get("Tags"), RESOURCE_TAG) == tag]
    return dict(found[0]) if found else None


def live(ctx: Context) -> list[dict[str, Any]]:
    """The stack's pending or available NAT gateways, described once per command for every
    zone's (one DescribeNatGateways however many zones have one).

    Tagged ours and in our VPC: the VPC filter alone already keeps another stack's NAT gateway
    out, even where tag filters are not applied (moto ignores them on DescribeNatGateways).
    """
    def read() -> list[dict[str, Any]]:
        vpc = vpc_id(ctx)
        if vpc is None:
            return []  # no VPC of ours, so no NAT gateway of ours
        filters = [*ec2_tag_filters(ctx), {"Name": "state", "Values": LIVE},
                   {"Name": "vpc-id", "Values": [vpc]}]
        return list(ctx.aws.call("ec2", "describe_nat_gateways", Filter=filters)["NatGateways"])

    return ec2.read_once(ctx, READ, read)  # zones' NAT gateways looked up at once share it


READ = "ec2.describe_nat_gateways"


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

    zone: int = 0
    kind: ClassVar[str] = "NAT gateway"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"state"})
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=describe, status=_state, done=frozenset({"available"}),
        failed=frozenset({"failed", "deleting", "deleted"}), timeout=TIMEOUT, reason=_reason)
    gone: ClassVar[WaitFor | None] = WaitFor(
        read=describe, status=_state, done=frozenset({"deleted"}), timeout=TIMEOUT)

    @property
    def tag(self) -> str:
        return TAG if self.zone == 0 else f"{TAG}-{self.zone}"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-nat" + (f"-{self.zone}" if self.zone else "")

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.nat == "per_zone" if self.zone else ctx.config.nat != "none"

    def identity(self, found: Found) -> Any:
        return found["NatGatewayId"]

    def record(self, ctx: Context, found: Found) -> None:
        super().record(ctx, found)
        if self.zone == 0:
            ctx.state.forget(self.step, TOKEN)
        else:
            ec2._settle_token(ctx, self.step, self.key, TOKENS)

    def find(self, ctx: Context) -> Found | None:
        """A live one of ours, else the recorded one if it failed (deleted ones are gone)."""
        live = find(ctx, self.tag)
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
        nat = ctx.aws.call(
            "ec2", "create_nat_gateway",
            SubnetId=ctx.state.get("cluster", f"public_subnet_{self.zone}"),
            AllocationId=ctx.state.get(self.step, self.address_key), ConnectivityType="public",
            ClientToken=self._token(ctx),
            TagSpecifications=ctx.tag_specs("natgateway", self.step, self.tag),
            retry=ec2.JUST_CREATED,
        )["NatGateway"]
        self.record(ctx, nat)
        return dict(nat)

    @property
    def address_key(self) -> str:
        """The state key of its Elastic IP."""
        return "elastic_ip" if self.zone == 0 else f"elastic_ip_{self.zone}"

    def _token(self, ctx: Context) -> str:
        if self.zone:
            return ec2._pending_token(ctx, self.step, self.key, TOKENS)
        token = str(ctx.state.get(self.step, TOKEN) or uuid.uuid4().hex)
        ctx.state.record(self.step, TOKEN, token)
        return token

    def delete(self, ctx: Context, found: Found) -> None:
        ignore_missing(("NatGatewayNotFound",), ctx.aws.call, "ec2", "delete_nat_gateway",
                       NatGatewayId=found["NatGatewayId"])

    def on_ready(self, ctx: Context, found: Found) -> None:
        if self.zone == 0:
            ctx.outputs.publish(f"{self.step}.ready", found["NatGatewayId"])

    def health(self, ctx: Context, found: Found) -> Health:
        state = _state(found)
        return Health(state == "available", f"NAT gateway {found['NatGatewayId']} {state}",
                      {"state": state, "nat_gateways": [{"name": self.name(ctx), "zone": self.zone,
                                                         "id": found["NatGatewayId"],
                                                         "state": state}]})

"""EC2 lookups and deletes the network steps share: find ours by tag, create once, delete patiently."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gatewayproxy.context import DRAIN_SECONDS, RESOURCE_TAG, Context, tag_value
from gatewayproxy.errors import AwsError, ConfigError, GatewayProxyError, WaitTimeout
from gatewayproxy.resources.common import StepStatus, ec2_tag_filters, ignore_missing

# "Still in use" answers while network interfaces drain after a service or NLB is deleted.
IN_USE = ("DependencyViolation", "InvalidIPAddress.InUse")
# A resource created a moment ago may be briefly unknown to the next call that names it.
JUST_CREATED = ("InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidRouteTableID.NotFound",
                "InvalidInternetGatewayID.NotFound", "InvalidGatewayID.NotFound",
                "InvalidNatGatewayID.NotFound", "NatGatewayNotFound", "InvalidGroup.NotFound",
                "InvalidAllocationID.NotFound")


@dataclass(frozen=True)
class Kind:
    """How EC2 describes one kind of resource."""

    describe: str
    items: str
    id_key: str
    tag_type: str


VPC = Kind("describe_vpcs", "Vpcs", "VpcId", "vpc")
SUBNET = Kind("describe_subnets", "Subnets", "SubnetId", "subnet")
IGW = Kind("describe_internet_gateways", "InternetGateways", "InternetGatewayId",
           "internet-gateway")
ROUTE_TABLE = Kind("describe_route_tables", "RouteTables", "RouteTableId", "route-table")
SECURITY_GROUP = Kind("describe_security_groups", "SecurityGroups", "GroupId", "security-group")
ADDRESS = Kind("describe_addresses", "Addresses", "AllocationId", "elastic-ip")


def read_once(ctx: Context, key: str, read: Callable[[], list[dict[str, Any]]]
              ) -> list[dict[str, Any]]:
    """`read()`'s answer, asked once per command: a second reader (another zone's resource
    looking at the same moment) waits for the first's answer instead of asking AWS again."""
    with ctx.reads_lock:
        lock = ctx.reads.setdefault(f"{key}:lock", threading.Lock())
    with lock:
        with ctx.reads_lock:
            known = ctx.reads.get(key)
        if known is not None:
            return list(known)
        found = read()
        with ctx.reads_lock:
            return list(ctx.reads.setdefault(key, found))


def find(ctx: Context, kind: Kind, resource: str) -> dict[str, Any] | None:
    """Our resource of this kind and logical name, found by the stack's tag (never by name)."""
    items = ctx.aws.call("ec2", kind.describe, Filters=ec2_tag_filters(ctx, resource))[kind.items]
    return items[0] if items else None


def find_all(ctx: Context, kind: Kind) -> list[dict[str, Any]]:
    return list(ctx.aws.call("ec2", kind.describe, Filters=ec2_tag_filters(ctx))[kind.items])


def patiently(ctx: Context, action: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run a delete, retrying while AWS says the resource is still in use (ENIs draining);
    past the time allowed, say which network interfaces still hold it."""
    try:
        return action(*args, **kwargs)
    except AwsError as exc:
        if exc.code not in IN_USE:
            raise

    def attempt() -> tuple[bool, str]:
        try:
            action(*args, **kwargs)
        except AwsError as exc:
            if exc.code not in IN_USE:
                raise
            return False, exc.code
        return True, "deleted"

    resource = next((str(v) for v in [*args, *kwargs.values()]
                     if isinstance(v, str) and v.split("-")[0] in HOLDER_FILTERS), "resource")
    try:
        # A deletion's retry: polled like a deletion's wait (what it holds goes next).
        ctx.aws.wait(f"{resource} (in use)", attempt, DRAIN_SECONDS,
                     longest=ctx.aws.deletion_poll)
    except WaitTimeout as exc:
        raise GatewayProxyError(f"{exc}; {holders(ctx, resource)}; run the same command again "
                                "once they are gone") from None
    return None


# Which network interfaces can hold a resource of this id prefix.
HOLDER_FILTERS = {"subnet": "subnet-id", "sg": "group-id", "vpc": "vpc-id"}


def holders(ctx: Context, resource: str) -> str:
    """The network interfaces that keep `resource` in use, in words."""
    field = HOLDER_FILTERS.get(resource.split("-")[0])
    if field is None:
        return "nothing else known holds it"
    found = ctx.aws.call("ec2", "describe_network_interfaces",
                         Filters=[{"Name": field, "Values": [resource]}])["NetworkInterfaces"]
    if not found:
        return "no network interface holds it any more"
    held = ", ".join(f"{n['NetworkInterfaceId']} ({n.get('Description') or n.get('InterfaceType')})"
                     for n in found[:5])
    return f"still held by {held}"


def delete_route_table(ctx: Context, table_id: str,
                       known: dict[str, dict[str, Any]] | None = None) -> None:
    """Disassociate a route table from its subnets, then delete it. `known`: tables by id,
    already described."""
    if known is not None and table_id in known:
        tables = [known[table_id]]
    else:
        try:
            tables = ctx.aws.call("ec2", "describe_route_tables",
                                  RouteTableIds=[table_id])["RouteTables"]
        except AwsError as exc:
            if exc.code.endswith("NotFound"):
                return
            raise
    for table in tables:
        for assoc in table.get("Associations", []):
            if not assoc.get("Main") and assoc.get("RouteTableAssociationId"):
                ignore_missing((), ctx.aws.call, "ec2", "disassociate_route_table",
                               AssociationId=assoc["RouteTableAssociationId"])
    patiently(ctx, ctx.aws.call, "ec2", "delete_route_table", RouteTableId=table_id)


# Pending creates' client tokens, by the state key the id will be recorded under (a key the
# state does not count as a resource).
CLIENT_TOKENS = "client_token"


def route_table_creator(ctx: Context, step: str, key: str, vpc_id: str
                        ) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    def create(specs: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(ctx.aws.call("ec2", "create_route_table", VpcId=vpc_id,
                                 ClientToken=_pending_token(ctx, step, key),
                                 TagSpecifications=specs, retry=JUST_CREATED)["RouteTable"])

    return create


_TOKENS_LOCK = threading.Lock()


def _pending_token(ctx: Context, step: str, key: str, store: str = CLIENT_TOKENS) -> str:
    """A ClientToken unique to this create, kept in the state until its id is recorded: a
    retried create (after a crash) sends the same one and gets the same table back, a later
    create (after `down`) a new one. EC2: a reused token with other parameters is refused
    (IdempotentParameterMismatch); with the same ones it returns the first result, even a
    deleted one ("Ensuring idempotency in Amazon EC2 API requests"; ClientToken: up to 64 ASCII)."""
    with _TOKENS_LOCK:  # the step's route tables are made in parallel: one dict, one writer
        tokens = _tokens(ctx, step, store)
        if key not in tokens:
            tokens[key] = uuid.uuid4().hex
            ctx.state.record(step, store, tokens)
        return tokens[key]


def _settle_token(ctx: Context, step: str, key: str, store: str = CLIENT_TOKENS) -> None:
    """The id is recorded: the token has done its work."""
    with _TOKENS_LOCK:
        tokens = _tokens(ctx, step, store)
        if tokens.pop(key, None) is None:
            return
        if tokens:
            ctx.state.record(step, store, tokens)
        else:
            ctx.state.forget(step, store)


def _tokens(ctx: Context, step: str, store: str = CLIENT_TOKENS) -> dict[str, str]:
    recorded = ctx.state.get(step, store)
    return dict(recorded) if isinstance(recorded, dict) else {}


def subnet_creator(ctx: Context, vpc_id: str, zone: str, cidr: str
                   ) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    def create(specs: list[dict[str, Any]]) -> dict[str, Any]:
        params: dict[str, Any] = {"VpcId": vpc_id, "CidrBlock": cidr, zone_parameter(zone): zone,
                                  "TagSpecifications": specs}
        return dict(ctx.aws.call("ec2", "create_subnet", retry=JUST_CREATED, **params)["Subnet"])

    return create


def zone_parameter(zone: str) -> str:
    """CreateSubnet takes a zone id (`AvailabilityZoneId`) or a name (`AvailabilityZone`, in
    state files written before zones were chosen by id)."""
    return "AvailabilityZoneId" if ZONE_ID.fullmatch(zone) else "AvailabilityZone"


def associate(ctx: Context, table: dict[str, Any], subnet_id: str) -> None:
    """Associate a subnet with a route table unless it already is."""
    if any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
        return
    ctx.aws.call("ec2", "associate_route_table", RouteTableId=table["RouteTableId"],
                 SubnetId=subnet_id, retry=JUST_CREATED)


# A zone id (use1-az1, apne1-az4), as opposed to a zone name (us-east-1a).
ZONE_ID = re.compile(r"[a-z]+[0-9]+-az[0-9]+")

# Zone ids where AWS documents that Fargate or VPC links v2 are not offered. The network cannot
# move later, so zones that serve both link generations are chosen whichever one is configured.
# Sources: "Supported Regions for Amazon ECS on AWS Fargate" (https://docs.aws.amazon.com/
# AmazonECS/latest/developerguide/AWS_Fargate-Regions.html: us-west-1 usw1-az1 & usw1-az3 only,
# ap-northeast-1 apne1-az1, -az2 & -az4 only) and "Set up VPC links V2 in API Gateway", its
# availability by Region (https://docs.aws.amazon.com/apigateway/latest/developerguide/
# apigateway-vpc-links-v2.html: us-east-1 use1-az1, -az2, -az4, -az5, -az6; us-west-1 usw1-az1,
# -az3; ap-east-1 ape1-az2, -az3; ap-northeast-2 apne2-az1 to -az3).
UNSUPPORTED_ZONE_IDS = {
    "use1-az3": "VPC links v2",
    "usw1-az2": "Fargate and VPC links v2",
    "apne1-az3": "Fargate",
    "ape1-az1": "VPC links v2",
    "apne2-az4": "VPC links v2",
}

NETWORK_ADVICE = "the network cannot change in place: run `gatewayproxy down`, then `up`"


class NetworkChange(ConfigError):
    """A config change the network cannot take in place: `up` refuses it before any write,
    `plan` shows it as a replacement of the steps that hold the network."""

    steps = ("cluster", "private_subnet")

    def __init__(self, field: str, old: object, new: object) -> None:
        self.field, self.old, self.new = field, old, new
        super().__init__(f"{field} changed from {old} to {new}; {NETWORK_ADVICE}")

    @property
    def details(self) -> list[str]:
        """The plan's words for it."""
        return [f"{self.field}: {self.old} -> {self.new}", NETWORK_ADVICE]


def zones(ctx: Context) -> list[str]:
    """The N zones the stack uses, fixed once in the state: zone ids (names in state files
    written before), because a zone name means another zone in each account."""
    recorded = ctx.state.get("cluster", "availability_zones")
    want = ctx.config.availability_zones
    if recorded:
        if len(recorded) != want:
            raise NetworkChange("network.availability_zones", len(recorded), want)
        return list(recorded)
    found = ctx.aws.call("ec2", "describe_availability_zones",
                         Filters=[{"Name": "state", "Values": ["available"]},
                                  {"Name": "zone-type", "Values": ["availability-zone"]}])
    ids = sorted(z["ZoneId"] for z in found["AvailabilityZones"])
    usable = [z for z in ids if z not in UNSUPPORTED_ZONE_IDS]
    if len(usable) < want:
        left_out = "".join(f"; {z} left out: no {UNSUPPORTED_ZONE_IDS[z]} there"
                           for z in ids if z in UNSUPPORTED_ZONE_IDS)
        raise ConfigError(f"network.availability_zones = {want}, but {ctx.aws.region} has "
                          f"{len(usable)} available{left_out}")
    chosen = usable[:want]
    ctx.state.record("cluster", "availability_zones", chosen)
    return chosen


class Family:
    """The stack's tagged resources of one EC2 kind, described once per command (by the first
    resource of the family that looks) and shared by every resource of that family: a no-op
    `up` or `status` asks EC2 once for all subnets, not once per subnet.

    Only what existed when it was read is in it; a resource created later is found by its id
    (`by_id`), and a resource changes only its own entry, so the cached answer stays right for
    the others."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._items: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def items(self, ctx: Context) -> list[dict[str, Any]]:
        """Read once per command for every step (kept on the Context)."""
        with self._lock:
            if self._items is None:
                key = f"ec2.{self.kind.describe}"
                with ctx.reads_lock:  # one reader per kind: two families asking at once
                    reading = ctx.reads.setdefault(f"{key}:lock", threading.Lock())  # share it
                with reading:
                    with ctx.reads_lock:
                        known = ctx.reads.get(key)
                    if known is None:
                        known = find_all(ctx, self.kind)
                        with ctx.reads_lock:
                            known = ctx.reads.setdefault(key, known)
                self._items = known
            return self._items

    def named(self, ctx: Context, resource: str) -> list[dict[str, Any]]:
        """Every item tagged with this logical name (more than one only after a crash)."""
        return [i for i in self.items(ctx) if tag_value(i.get("Tags"), RESOURCE_TAG) == resource]

    def find(self, ctx: Context, resource: str, recorded: str | None) -> dict[str, Any] | None:
        """Ours: the recorded one among those tagged with the name, else the first of them."""
        named = self.named(ctx, resource)
        return next((i for i in named if i[self.kind.id_key] == recorded),
                    named[0] if named else None)

    def by_id(self, ctx: Context, rid: str) -> dict[str, Any] | None:
        """One item by its id: from the family when it was there, else described on its own."""
        known = next((i for i in self.items(ctx) if i[self.kind.id_key] == rid), None)
        if known is not None:
            return known
        ids = {"describe_vpcs": "VpcIds", "describe_subnets": "SubnetIds",
               "describe_route_tables": "RouteTableIds",
               "describe_internet_gateways": "InternetGatewayIds",
               "describe_addresses": "AllocationIds",
               "describe_security_groups": "GroupIds"}[self.kind.describe]
        found = ctx.aws.find("ec2", self.kind.describe, **{ids: [rid]})
        items = (found or {}).get(self.kind.items) or []
        return dict(items[0]) if items else None

    def duplicates(self, ctx: Context, resource: str, found: dict[str, Any]) -> list[str]:
        """Ids of other items tagged with the same name (a create retried after a crash)."""
        return [i[self.kind.id_key] for i in self.named(ctx, resource)
                if i[self.kind.id_key] != found[self.kind.id_key]]


def delete_all(ctx: Context, family: Family, resource: str, found: dict[str, Any],
               remove: Callable[[str], Any]) -> None:
    """Delete one resource and any duplicate of it, retrying while it is still in use."""
    for rid in [found[family.kind.id_key], *family.duplicates(ctx, resource, found)]:
        ignore_missing((), patiently, ctx, remove, rid)


def settle_token(ctx: Context, step: str, key: str) -> None:
    """The route table's id is recorded: its client token has done its work."""
    _settle_token(ctx, step, key)


def create_route_table(ctx: Context, step: str, key: str, vpc_id: str, resource: str
                       ) -> dict[str, Any]:
    """Create a tagged route table with the client token kept in the state for this key."""
    return route_table_creator(ctx, step, key, vpc_id)(
        ctx.tag_specs(ROUTE_TABLE.tag_type, step, resource))


def network_status(ctx: Context, step: str, healths: list[tuple[Any, Any]]) -> StepStatus:
    """The step's line in `status`: a read AWS refused is the step's error (its summary and
    details alone, as one read that fails says nothing of the others); else every resource's."""
    from gatewayproxy.engine import step_status

    failed = next((h for _, h in healths if "error" in h.details), None)
    if failed is not None:
        return StepStatus(step, ctx.state.is_done(step), False, failed.summary,
                          ctx.state.resources(step), {"error": failed.details["error"]})
    return step_status(ctx, step, healths)

"""The private subnets' way out with `network.nat = "none"`: VPC endpoints, and the security
group of the interface endpoints.

Fargate pulls a private ECR image through `ecr.api` (the registry's API and its auth token),
`ecr.dkr` (the Docker registry) and S3 (where ECR keeps the layers), and ships its logs to
`logs`; with secrets, ECS reads them through `secretsmanager` or `ssm` ("Amazon ECR interface
VPC endpoints (AWS PrivateLink)", https://docs.aws.amazon.com/AmazonECR/latest/userguide/
vpc-endpoints.html: interface endpoints for ecr.api and ecr.dkr, a gateway endpoint for S3,
and logs for the awslogs driver). Interface endpoints put network interfaces in the private
subnets (one per zone that offers the service) and, with private DNS, answer the services'
usual names there; the S3 gateway endpoint adds a route to the private route tables.

Every endpoint is found by the stack's tag in one DescribeVpcEndpoints per command (the family
of them); one that is not wanted and has left no trace in the state (no id, no pending client
token) is not looked for at all, so the default mode asks AWS nothing more than before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.config import Config, subnet_cidrs
from gatewayproxy.context import RESOURCE_TAG, Context, tag_value
from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.resources import ec2, security_group
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.common import ec2_tag_filters, ignore_missing
from gatewayproxy.resources.nat_gateway import TOKENS, vpc_id

# "Interface endpoints are typically available within a few minutes"; Terraform's default
# create timeout for aws_vpc_endpoint is 10 minutes.
TIMEOUT = 10 * 60
READ = "ec2.describe_vpc_endpoints"
# What the tasks always need (in this order), and the endpoint a secret's ARN service needs.
INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs")
SECRET_SERVICES = ("secretsmanager", "ssm")
GATEWAY_SERVICE = "s3"
# What `check` found each service offered in, by service: the stack's zone indexes.
ZONES_OUTPUT = "nat_gateway.endpoint_zones"
SECURITY_GROUP_TAG = "endpoint-security-group"
HTTPS = 443


def secret_services(ctx: Context) -> list[str]:
    return secret_services_of(ctx.config)


def secret_services_of(config: Config) -> list[str]:
    """The endpoints the configured secrets are read through, split by the ARN's service: a
    Secrets Manager ARN needs `secretsmanager`, an SSM parameter (ARN or name) `ssm`."""
    wanted = {"secretsmanager" if str(v).split(":")[2:3] == ["secretsmanager"] else "ssm"
              for v in config.secrets.values()}
    return [s for s in SECRET_SERVICES if s in wanted]


def wanted_services(ctx: Context) -> list[str]:
    """Every endpoint service the config wants (none unless nat = "none")."""
    if ctx.config.nat != "none":
        return []
    return [*INTERFACE_SERVICES, *secret_services(ctx), GATEWAY_SERVICE]


def service_name(ctx: Context, service: str) -> str:
    """AWS services' endpoint names in the standard partition (the only one supported: see
    gatewayproxy/arns.py); `check` confirms each with DescribeVpcEndpointServices."""
    return f"com.amazonaws.{ctx.aws.region}.{service}"


def ours(ctx: Context) -> list[dict[str, Any]]:
    """The stack's endpoints in its VPC (deleted ones left out), described once per command."""
    def read() -> list[dict[str, Any]]:
        vpc = vpc_id(ctx)
        if vpc is None:
            return []
        return [dict(e) for e in ctx.aws.call(
            "ec2", "describe_vpc_endpoints",
            Filters=[*ec2_tag_filters(ctx), {"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
            if _state(e) != "deleted"]

    return ec2.read_once(ctx, READ, read)


def describe(ctx: Context, found: Found) -> Found | None:
    """The endpoint again, by id; None once AWS no longer knows it."""
    answer = ctx.aws.find("ec2", "describe_vpc_endpoints",
                          VpcEndpointIds=[found["VpcEndpointId"]])
    items = (answer or {}).get("VpcEndpoints") or []
    return dict(items[0]) if items else None


def _state(found: Any) -> str:
    # The API answers lowercase states (pendingAcceptance, pending, available, deleting,
    # deleted, rejected, failed, expired, partial); lowered in case a client says Available.
    return str(found["State"]).lower() if found else "deleted"


def _reason(found: Any) -> str:
    error = (found or {}).get("LastError") or {}
    why = error.get("Message") or error.get("Code") or "no reason given"
    return f"{why}; run `gatewayproxy up` again to replace it"


def traced(ctx: Context, step: str, key: str) -> bool:
    """True when the state holds its id or a client token of a create that may have
    happened (a crash before the id was recorded)."""
    tokens = ctx.state.get(step, TOKENS)
    return bool(ctx.state.get(step, key)) or (isinstance(tokens, dict) and key in tokens)


@dataclass
class VpcEndpoint(Resource):
    """An interface endpoint for `service` (e.g. "ecr.api"), in the private subnets of the
    zones that offer it, behind the endpoint security group, with private DNS on."""

    service: str = ""
    kind: ClassVar[str] = "VPC endpoint"
    # A failed endpoint does not recover: up replaces it (with a new client token).
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"state"})
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=describe, status=_state, done=frozenset({"available"}),
        failed=frozenset({"failed", "rejected", "expired", "deleting", "deleted"}),
        timeout=TIMEOUT, reason=_reason)
    gone: ClassVar[WaitFor | None] = WaitFor(read=describe, status=_state,
                                             done=frozenset({"deleted"}), timeout=TIMEOUT)

    @property
    def tag(self) -> str:
        return f"vpc-endpoint-{self.service.replace('.', '-')}"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{self.service.replace('.', '-')}"

    def wanted(self, ctx: Context) -> bool:
        return self.service in wanted_services(ctx)

    def identity(self, found: Found) -> Any:
        return found["VpcEndpointId"]

    def record(self, ctx: Context, found: Found) -> None:
        super().record(ctx, found)
        ec2._settle_token(ctx, self.step, self.key, TOKENS)

    def find(self, ctx: Context) -> Found | None:
        if not self.wanted(ctx) and not traced(ctx, self.step, self.key):
            return None  # never made by this state: nothing to look for
        recorded = self.recorded(ctx)
        named = [e for e in ours(ctx) if tag_value(e.get("Tags"), RESOURCE_TAG) == self.tag
                 and (ctx.command == "down" or _state(e) != "deleting")]
        return next((e for e in named if e["VpcEndpointId"] == recorded),
                    named[0] if named else None)

    # -- what the config wants -----------------------------------------------------------------
    def wanted_subnets(self, ctx: Context) -> list[str] | None:
        """The private subnets of the zones that offer the service (all zones unless `check`
        said otherwise); None while the subnets do not exist (plan)."""
        subnets = ctx.outputs.need("private_subnet.subnets")
        if subnets is None:
            return None
        offered = (ctx.outputs.get(ZONES_OUTPUT) or {}).get(self.service)
        return [s for i, s in enumerate(subnets) if offered is None or i in offered]

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        if _state(found) == "failed":
            return [FieldChange("state", "failed", "available")]
        changes = []
        subnets = self.wanted_subnets(ctx)
        if subnets is not None and sorted(found.get("SubnetIds") or []) != sorted(subnets):
            changes.append(FieldChange("subnets", sorted(found.get("SubnetIds") or []),
                                       sorted(subnets)))
        group = ctx.state.get(self.step, "endpoint_security_group")
        groups = sorted(g["GroupId"] for g in found.get("Groups") or [])
        if group and groups != [group]:
            changes.append(FieldChange("security_groups", groups, [group]))
        if not found.get("PrivateDnsEnabled"):
            changes.append(FieldChange("private_dns", False, True))
        return changes

    def create(self, ctx: Context) -> Found:
        # CreateVpcEndpoint (EC2 API reference): ClientToken makes the create idempotent;
        # PrivateDnsEnabled needs the VPC's enableDnsSupport and enableDnsHostnames (the VPC
        # resource turns both on); the endpoint's zones must be ones the service offers.
        endpoint = ctx.aws.call(
            "ec2", "create_vpc_endpoint", VpcEndpointType="Interface",
            VpcId=ctx.outputs.need("cluster.vpc_id"), ServiceName=service_name(ctx, self.service),
            SubnetIds=self.wanted_subnets(ctx),
            SecurityGroupIds=[ctx.state.get(self.step, "endpoint_security_group")],
            PrivateDnsEnabled=True, ClientToken=ec2._pending_token(ctx, self.step, self.key, TOKENS),
            TagSpecifications=ctx.tag_specs("vpc-endpoint", self.step, self.tag),
            retry=ec2.JUST_CREATED)["VpcEndpoint"]
        self.record(ctx, endpoint)
        return dict(endpoint)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        params: dict[str, Any] = {}
        for change in changes:
            if change.field == "subnets":
                params["AddSubnetIds"] = sorted(set(change.new) - set(change.old))
                params["RemoveSubnetIds"] = sorted(set(change.old) - set(change.new))
            elif change.field == "security_groups":
                params["AddSecurityGroupIds"] = sorted(set(change.new) - set(change.old))
                params["RemoveSecurityGroupIds"] = sorted(set(change.old) - set(change.new))
            elif change.field == "private_dns":
                params["PrivateDnsEnabled"] = True
        params = {k: v for k, v in params.items() if v != []}
        if params:
            ctx.aws.call("ec2", "modify_vpc_endpoint", VpcEndpointId=found["VpcEndpointId"],
                         **params)
        return found

    def delete(self, ctx: Context, found: Found) -> None:
        delete_endpoint(ctx, found["VpcEndpointId"])

    def health(self, ctx: Context, found: Found) -> Health:
        state = _state(found)
        wanted = "" if self.wanted(ctx) else f" (config says nat = {ctx.config.nat}: run up)"
        return Health(state == "available",
                      f"VPC endpoint {self.service} {found['VpcEndpointId']} {state}{wanted}",
                      {"vpc_endpoints": [{"name": self.name(ctx), "service": self.service,
                                          "id": found["VpcEndpointId"], "state": state}]})


def delete_endpoint(ctx: Context, endpoint_id: str) -> None:
    """DeleteVpcEndpoints answers per endpoint in `Unsuccessful` instead of failing the call
    (EC2 API reference): "not found" there means done, anything else is an error."""
    try:
        answer = ctx.aws.call("ec2", "delete_vpc_endpoints", VpcEndpointIds=[endpoint_id])
    except AwsError as exc:
        if exc.code.endswith("NotFound"):
            return
        raise
    for item in answer.get("Unsuccessful") or []:
        error = item.get("Error") or {}
        if not str(error.get("Code", "")).endswith("NotFound"):
            raise GatewayProxyError(f"DeleteVpcEndpoints {endpoint_id}: {error.get('Code')}: "
                                    f"{error.get('Message')}")


@dataclass
class GatewayEndpoint(VpcEndpoint):
    """The S3 gateway endpoint on the private route tables: no network interfaces, no
    security group, no charge ("Gateway endpoints", AWS PrivateLink guide)."""

    service: str = GATEWAY_SERVICE

    def wanted_tables(self, ctx: Context) -> list[str] | None:
        tables = ctx.outputs.need("private_subnet.route_tables")
        return None if tables is None else list(tables)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        if _state(found) == "failed":
            return [FieldChange("state", "failed", "available")]
        tables = self.wanted_tables(ctx)
        have = sorted(found.get("RouteTableIds") or [])
        if tables is None or have == sorted(tables):
            return []
        return [FieldChange("route_tables", have, sorted(tables) or UNKNOWN)]

    def create(self, ctx: Context) -> Found:
        endpoint = ctx.aws.call(
            "ec2", "create_vpc_endpoint", VpcEndpointType="Gateway",
            VpcId=ctx.outputs.need("cluster.vpc_id"), ServiceName=service_name(ctx, self.service),
            RouteTableIds=self.wanted_tables(ctx),
            ClientToken=ec2._pending_token(ctx, self.step, self.key, TOKENS),
            TagSpecifications=ctx.tag_specs("vpc-endpoint", self.step, self.tag),
            retry=ec2.JUST_CREATED)["VpcEndpoint"]
        self.record(ctx, endpoint)
        return dict(endpoint)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        [change] = changes
        add = sorted(set(change.new) - set(change.old))
        remove = sorted(set(change.old) - set(change.new))
        params: dict[str, Any] = {k: v for k, v in (("AddRouteTableIds", add),
                                                    ("RemoveRouteTableIds", remove)) if v}
        ctx.aws.call("ec2", "modify_vpc_endpoint", VpcEndpointId=found["VpcEndpointId"], **params)
        return found


def wanted_ingress(ctx: Context) -> dict[str, Any]:
    """HTTPS from the private subnets only (the tasks'): "The security group attached to the
    VPC endpoint must allow incoming connections on port 443 from the private subnet of the
    VPC" (Amazon ECR interface VPC endpoints, considerations)."""
    _, private = subnet_cidrs(ctx.config.vpc_cidr, ctx.config.availability_zones)
    return {"IpProtocol": "tcp", "FromPort": HTTPS, "ToPort": HTTPS,
            "IpRanges": [{"CidrIp": cidr, "Description": "tasks to the VPC endpoints"}
                         for cidr in private]}


def _same(have: dict[str, Any], want: dict[str, Any]) -> bool:
    return (have.get("IpProtocol") == want["IpProtocol"] and have.get("FromPort") == want["FromPort"]
            and have.get("ToPort") == want["ToPort"]
            and sorted(r.get("CidrIp") for r in have.get("IpRanges", []))
            == sorted(r["CidrIp"] for r in want["IpRanges"])
            and not have.get("UserIdGroupPairs") and not have.get("Ipv6Ranges")
            and not have.get("PrefixListIds"))


# The rule every new security group starts with ("Security group rules": a new group allows
# all outbound traffic); the endpoints never open connections, and security groups are
# stateful (answers to allowed inbound traffic go out whatever the outbound rules), so it goes.
DEFAULT_EGRESS = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


@dataclass
class EndpointSecurityGroup(Resource):
    """The interface endpoints' group: TCP 443 in from the private subnets' CIDRs, nothing
    else in, nothing out."""

    kind: ClassVar[str] = "security group"

    def name(self, ctx: Context) -> str:
        return ctx.name("endpoints")

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.nat == "none"

    def identity(self, found: Found) -> Any:
        return found["GroupId"]

    def record(self, ctx: Context, found: Found) -> None:
        super().record(ctx, found)
        ec2._settle_token(ctx, self.step, self.key, TOKENS)

    def find(self, ctx: Context) -> Found | None:
        if not self.wanted(ctx) and not traced(ctx, self.step, self.key):
            return None
        if ctx.outputs.planning and ctx.outputs.need("cluster.vpc_id") is None:
            return None
        return ec2.find(ctx, ec2.SECURITY_GROUP, SECURITY_GROUP_TAG)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        want = wanted_ingress(ctx)
        ingress = found.get("IpPermissions") or []
        changes = []
        if len(ingress) != 1 or not _same(ingress[0], want):
            changes.append(FieldChange("ingress", sorted(
                f"{p.get('IpProtocol')} {p.get('FromPort')}" for p in ingress), f"tcp {HTTPS}"))
        if found.get("IpPermissionsEgress"):
            changes.append(FieldChange("egress", len(found["IpPermissionsEgress"]), 0))
        return changes

    def create(self, ctx: Context) -> Found:
        # CreateSecurityGroup takes no client token: a pending one marks the create in the
        # state all the same, so a crash before the id is recorded still leaves a trace.
        ec2._pending_token(ctx, self.step, self.key, TOKENS)
        group = ctx.aws.call(
            "ec2", "create_security_group", GroupName=self.name(ctx),
            Description=f"gatewayproxy {ctx.stack}: HTTPS from the private subnets to the "
                        "VPC endpoints",
            VpcId=ctx.outputs.need("cluster.vpc_id"),
            TagSpecifications=ctx.tag_specs(ec2.SECURITY_GROUP.tag_type, self.step,
                                            SECURITY_GROUP_TAG),
            retry=ec2.JUST_CREATED)
        found = {"GroupId": group["GroupId"], "IpPermissions": [],
                 "IpPermissionsEgress": [DEFAULT_EGRESS]}
        self.record(ctx, found)
        return self.update(ctx, found, self.diff(ctx, found))

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        want = wanted_ingress(ctx)
        security_group.converge_ingress(ctx, found["GroupId"], found.get("IpPermissions") or [],
                                        want, _same)
        if found.get("IpPermissionsEgress"):
            ignore_missing(("InvalidPermission.NotFound",), ctx.aws.call, "ec2",
                           "revoke_security_group_egress", GroupId=found["GroupId"],
                           IpPermissions=[_rule(p) for p in found["IpPermissionsEgress"]],
                           retry=ec2.JUST_CREATED)
        return {"GroupId": found["GroupId"], "IpPermissions": [want], "IpPermissionsEgress": []}

    def delete(self, ctx: Context, found: Found) -> None:
        # The endpoints' network interfaces leave slowly after DeleteVpcEndpoints.
        ignore_missing((), ec2.patiently, ctx, ctx.aws.call, "ec2", "delete_security_group",
                       GroupId=found["GroupId"])

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"security group {found['GroupId']} (VPC endpoints)")


def _rule(permission: dict[str, Any]) -> dict[str, Any]:
    """A described rule as Revoke* takes it (empty lists left out)."""
    return {k: v for k, v in permission.items() if v not in ([], None)}

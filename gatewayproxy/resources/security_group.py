"""The tasks' security group and its one ingress rule: the container port, from the private
subnets only (the NLB's nodes, and so its health checks and traffic, live there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.config import subnet_cidrs
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import FieldChange, Found, Resource
from gatewayproxy.resources.common import ignore_missing

TAG = "task-security-group"


@dataclass
class SecurityGroup(Resource):
    """Found by the stack's tag (EC2 names are not unique); publishes what it found, rules
    included, for its ingress rule (no second describe)."""

    kind: ClassVar[str] = "security group"

    def name(self, ctx: Context) -> str:
        return ctx.name("tasks")

    def identity(self, found: Found) -> Any:
        return found["GroupId"]

    def find(self, ctx: Context) -> Found | None:
        # One describe of the stack's security groups serves this one and the VPC link's.
        return ec2.Family(ec2.SECURITY_GROUP).find(ctx, TAG, self.recorded(ctx))

    def create(self, ctx: Context) -> Found:
        group = ctx.aws.call(
            "ec2", "create_security_group", GroupName=self.name(ctx),
            Description=f"gatewayproxy {ctx.stack}: container port from the NLB only",
            VpcId=ctx.outputs.need("cluster.vpc_id"),
            TagSpecifications=ctx.tag_specs(ec2.SECURITY_GROUP.tag_type, self.step, TAG),
            retry=ec2.JUST_CREATED)
        found = {"GroupId": group["GroupId"], "IpPermissions": []}
        self.record(ctx, found)
        return found

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.security_group", dict(found))

    def delete(self, ctx: Context, found: Found) -> None:
        # Just after the service's tasks stop, their network interfaces may still hold it.
        ignore_missing((), ec2.patiently, ctx, lambda g: ctx.aws.call(
            "ec2", "delete_security_group", GroupId=g), found["GroupId"])


def wanted_rule(ctx: Context) -> dict[str, Any]:
    _, private = subnet_cidrs(ctx.config.vpc_cidr, ctx.config.availability_zones)
    return {"IpProtocol": "tcp", "FromPort": ctx.config.port, "ToPort": ctx.config.port,
            "IpRanges": [{"CidrIp": cidr, "Description": "NLB to the container"}
                         for cidr in private]}


def same_rule(have: dict[str, Any], want: dict[str, Any]) -> bool:
    return (have.get("IpProtocol") == want["IpProtocol"]
            and have.get("FromPort") == want["FromPort"] and have.get("ToPort") == want["ToPort"]
            and sorted(r.get("CidrIp") for r in have.get("IpRanges", []))
            == sorted(r["CidrIp"] for r in want["IpRanges"])
            and not have.get("UserIdGroupPairs") and not have.get("Ipv6Ranges")
            and not have.get("PrefixListIds"))


@dataclass
class IngressRule(Resource):
    """The group's only rule; any other rule found on it (an old port's) is revoked."""

    group_output: str = "service.security_group"
    kind: ClassVar[str] = "ingress rule"

    def name(self, ctx: Context) -> str:
        return f"{ctx.name('tasks')} tcp {ctx.config.port}"

    def identity(self, found: Found) -> Any:
        return f"{found['GroupId']}:tcp:{ctx_port(found)}"

    def find(self, ctx: Context) -> Found | None:
        """From what its group published (`up`, `plan`); None otherwise (`down`: the rule
        goes with its group)."""
        group = ctx.outputs.get(self.group_output)
        if not group or not group.get("IpPermissions"):
            return None
        return {"GroupId": group["GroupId"], "IpPermissions": group["IpPermissions"]}

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        want = wanted_rule(ctx)
        have = found["IpPermissions"]
        if len(have) == 1 and same_rule(have[0], want):
            return []
        return [FieldChange("port", sorted({p.get("FromPort") for p in have}), want["FromPort"])]

    def create(self, ctx: Context) -> Found:
        group = ctx.outputs.need(self.group_output)
        found = {"GroupId": group["GroupId"], "IpPermissions": []}
        return self.update(ctx, found, [])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        want = wanted_rule(ctx)
        converge_ingress(ctx, found["GroupId"], found["IpPermissions"], want, same_rule)
        updated = {"GroupId": found["GroupId"], "IpPermissions": [want]}
        self.record(ctx, updated)
        return updated

    def delete(self, ctx: Context, found: Found) -> None:
        """Nothing: deleting the security group takes its rules with it."""


def ctx_port(found: Found) -> Any:
    permissions = found.get("IpPermissions") or [{}]
    return permissions[0].get("FromPort")


def converge_ingress(ctx: Context, group_id: str, current: list[dict[str, Any]],
                     want: dict[str, Any], same: Callable[[dict[str, Any], dict[str, Any]], bool]
                     ) -> None:
    """Make `want` the group's only ingress rule: revoke the others, authorize it unless it is
    there (a rule already there answers InvalidPermission.Duplicate: done)."""
    stale = [p for p in current if not same(p, want)]
    if stale:
        ctx.aws.call("ec2", "revoke_security_group_ingress", GroupId=group_id,
                     IpPermissions=stale)
    if not any(same(p, want) for p in current):
        try:
            ctx.aws.call("ec2", "authorize_security_group_ingress", GroupId=group_id,
                         IpPermissions=[want], retry=ec2.JUST_CREATED)
        except AwsError as exc:
            if exc.code != "InvalidPermission.Duplicate":
                raise

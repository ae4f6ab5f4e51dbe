"""The stack's VPC, with DNS support and DNS hostnames on (the VPC link and the interface
endpoints the tasks may use resolve names through it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource

TAG = "vpc"
# What `check` found of the VPC ({"vpc": item}, or {} for none), so `up` does not look again.
FOUND_VPC = "cluster.found_vpc"
# A non-default VPC starts with DNS support on and DNS hostnames off ("DNS attributes for your
# VPC", https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html).
DNS_ATTRIBUTES = {"enableDnsSupport": "dns_support", "enableDnsHostnames": "dns_hostnames"}


@dataclass
class Vpc(Resource):
    family: ec2.Family = field(default_factory=lambda: ec2.Family(ec2.VPC))
    kind: ClassVar[str] = "VPC"

    def name(self, ctx: Context) -> str:
        return f"{ctx.stack}-{TAG}"

    def identity(self, found: Found) -> Any:
        return found["VpcId"]

    def find(self, ctx: Context) -> Found | None:
        """As `check` found it by its tag in this command, else by the tag now; else by the
        recorded id (so `down` still deletes it and `status` tells drift)."""
        checked = ctx.outputs.get(FOUND_VPC)
        if checked is not None:
            ctx.outputs.publish(FOUND_VPC, None)  # this command's answer: used once
            return checked.get("vpc")
        found = self.family.find(ctx, TAG, self.recorded(ctx))
        if found is None and self.recorded(ctx):
            return self.family.by_id(ctx, self.recorded(ctx))
        return found

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        """The DNS attributes, read only until the step is done once: a no-op `up` asks nothing
        (as before the port). With network.nat = "none" on every `up`: the endpoints' private
        DNS needs both ("To use a private hosted zone, you must set the following VPC attributes
        to true: enableDnsHostnames and enableDnsSupport", CreateVpcEndpoint)."""
        if ctx.state.is_done(self.step) and ctx.config.nat != "none":
            return []
        return dns_changes(ctx, found["VpcId"])

    def create(self, ctx: Context) -> Found:
        vpc = ctx.aws.call("ec2", "create_vpc", CidrBlock=ctx.config.vpc_cidr,
                           TagSpecifications=ctx.tag_specs(ec2.VPC.tag_type, self.step, TAG))["Vpc"]
        self.record(ctx, vpc)
        self.update(ctx, vpc, dns_changes(ctx, vpc["VpcId"]))
        return dict(vpc)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        for attribute, words in DNS_ATTRIBUTES.items():
            if any(c.field == words for c in changes):
                # ModifyVpcAttribute takes one attribute per call (EC2 API reference).
                change: dict[str, Any] = {attribute[0].upper() + attribute[1:]: {"Value": True}}
                ctx.aws.call("ec2", "modify_vpc_attribute", VpcId=found["VpcId"], **change)
        return found

    def delete(self, ctx: Context, found: Found) -> None:
        ec2.delete_all(ctx, self.family, TAG, found,
                       lambda v: ctx.aws.call("ec2", "delete_vpc", VpcId=v))

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.vpc_id", found["VpcId"])
        ctx.outputs.publish(f"{self.step}.zones", ec2.zones(ctx))

    def health(self, ctx: Context, found: Found) -> Health:
        state = found.get("State", "?")
        return Health(state == "available", f"VPC {found['VpcId']} {state}", {"vpc_state": state})


def dns_changes(ctx: Context, vpc_id: str) -> list[FieldChange]:
    """The DNS attributes that are off (DescribeVpcAttribute answers one attribute per call)."""
    changes = []
    for attribute, words in DNS_ATTRIBUTES.items():
        current = ctx.aws.call("ec2", "describe_vpc_attribute", VpcId=vpc_id,
                               Attribute=attribute, retry=ec2.JUST_CREATED)
        if not current[attribute[0].upper() + attribute[1:]]["Value"]:
            changes.append(FieldChange(words, False, True))
    return changes

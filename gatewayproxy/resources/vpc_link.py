"""The VPC link that lets API Gateway reach the internal NLB, in either generation, and the
security group of the v2 link.

v1 (the REST API's own link, AWS now calls it legacy) targets the NLB, which must be active.
v2 (apigatewayv2) puts network interfaces in the private subnets with a security group of its
own and never names the NLB: the REST integrations do (`integrationTarget`). Exactly one
generation is wanted (`generation(ctx)`: `api.vpc_link`, else the one the state records, else
v2); the other one's link goes only after the REST API's
stage was redeployed onto the new link (`retire_after`): AWS refuses to delete a link a stage's
deployment still uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import ec2
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.common import ignore_missing

TIMEOUT = 20 * 60
V2_SECURITY_GROUP = "vpc-link-security-group"


@dataclass(frozen=True)
class Generation:
    """How API Gateway names one generation of VPC link: the same life, different words."""

    generation: str
    label: str
    service: str
    id_param: str
    id_key: str
    status_key: str
    message_key: str
    state_key: str
    ready: tuple[str, ...]  # statuses in which integrations may use the link
    items_key: str  # how GetVpcLinks lists them, and names their tags and next page
    tags_key: str
    page_token: str


V1 = Generation("v1", "VPC link", "apigateway", "vpcLinkId", "id", "status", "statusMessage",
                "vpc_link_id", ("AVAILABLE",), "items", "tags", "position")
# A v2 link with no traffic for 60 days turns INACTIVE: AWS removes its network interfaces but
# keeps the link (it counts against the quota) and re-provisions it when API requests resume,
# which takes a few minutes ("Set up VPC links V2 in API Gateway", apigateway-vpc-links-v2).
# Nothing but traffic wakes it, so waiting for AVAILABLE would never end: it is reused as it is.
V2 = Generation("v2", "VPC link (v2)", "apigatewayv2", "VpcLinkId", "VpcLinkId", "VpcLinkStatus",
                "VpcLinkStatusMessage", "vpc_link_v2_id", ("AVAILABLE", "INACTIVE"), "Items", "Tags",
                "NextToken")
GENERATIONS = {gen.generation: gen for gen in (V1, V2)}
# What a new stack gets: AWS recommends v2 for REST APIs ("we recommend VPC links V2"), and a v2
# link builds from the private subnets beside the NLB instead of after it.
DEFAULT = "v2"
_IMPORTED = "vpc_link.imported_generation"  # ctx.reads: what import found in AWS


def generation(ctx: Context) -> str:
    """The generation wanted: the config's when it names one; else the one the state records
    (a stack made before v2 was the default keeps its v1 link: no surprise replacement); else,
    for `import`, the one AWS holds under the stack's tag; else the default. Every reader of
    `api.vpc_link` asks here."""
    if ctx.config.vpc_link is not None:
        return ctx.config.vpc_link
    recorded = recorded_generation(ctx)
    if recorded is not None:
        return recorded
    if ctx.command == "import":
        with ctx.reads_lock:
            if _IMPORTED not in ctx.reads:
                ctx.reads[_IMPORTED] = "v1" if find(ctx, V1) and not find(ctx, V2) else DEFAULT
            return str(ctx.reads[_IMPORTED])
    return DEFAULT


def recorded_generation(ctx: Context) -> str | None:
    """The state's link: v2 if it records one (a switch cut short holds both: the newer
    default wins), v1 if only that one, None for a stack without a link."""
    if ctx.state.get("vpc_link", V2.state_key):
        return "v2"
    if ctx.state.get("vpc_link", V1.state_key):
        return "v1"
    return None


def find(ctx: Context, gen: Generation = V1) -> Found | None:
    """Ours by the id in the state, else by the stack's tag (link names are not unique); one
    being deleted does not count (an INACTIVE v2 link does: see V2)."""
    link_id = ctx.state.get("vpc_link", gen.state_key)
    link = ctx.aws.find(gen.service, "get_vpc_link", **{gen.id_param: link_id}) if link_id else None
    if link is not None and link.get(gen.status_key) != "DELETING":
        return dict(link)
    page_size: dict[str, Any] = {"limit": 500} if gen is V1 else {}  # v2: AWS's default page size
    listed = ctx.aws.pages(gen.service, "get_vpc_links", items=gen.items_key, token=gen.page_token,
                           **page_size)
    return next((dict(item) for item in listed if ctx.owns(item.get(gen.tags_key, {}))
                 and item.get(gen.status_key) != "DELETING"), None)


def _reader(gen: Generation, retry: bool) -> Any:
    """GetVpcLink again, None once AWS no longer knows it (`retry`: a link created a moment
    ago may be briefly unknown, so NotFound is retried instead)."""
    def read(ctx: Context, found: Found) -> Found | None:
        ids = {gen.id_param: found[gen.id_key]}
        if retry:
            return dict(ctx.aws.call(gen.service, "get_vpc_link", retry=("NotFoundException",),
                                     **ids))
        link = ctx.aws.find(gen.service, "get_vpc_link", **ids)
        return None if link is None else dict(link)
    return read


def _ready(gen: Generation) -> WaitFor:
    """AVAILABLE (or INACTIVE, for v2); FAILED ends the wait with AWS's reason."""
    return WaitFor(read=_reader(gen, retry=True),
                   status=lambda link: str((link or {}).get(gen.status_key, "?")),
                   done=frozenset(gen.ready), failed=frozenset({"FAILED"}), timeout=TIMEOUT,
                   reason=lambda link: f"{link.get(gen.message_key) or 'no reason given'}; run "
                                       "`gatewayproxy up` again to replace it")


def _gone(gen: Generation) -> WaitFor:
    """Only NotFound means gone: an INACTIVE link still exists (and holds its quota), and the
    NLB is free only then. FAILED will not move on by itself (Terraform's waitVPCLinkDeleted
    fails there too)."""
    return WaitFor(read=_reader(gen, retry=False),
                   status=lambda link: "deleted" if link is None else str(link.get(gen.status_key)),
                   done=frozenset({"deleted"}), failed=frozenset({"FAILED"}), timeout=TIMEOUT,
                   reason=lambda link: f"{link.get(gen.message_key) or 'no reason given'}; run "
                                       "`gatewayproxy down` again once it is fixed")


@dataclass
class VpcLink(Resource):
    """The v1 link: bound to the NLB, which must be active before CreateVpcLink."""

    gen: ClassVar[Generation] = V1
    kind: ClassVar[str] = "VPC link"
    # A FAILED link does not recover: up replaces it.
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"status"})
    ready: ClassVar[WaitFor | None] = _ready(V1)
    gone: ClassVar[WaitFor | None] = _gone(V1)

    def name(self, ctx: Context) -> str:
        return ctx.name("link")

    def wanted(self, ctx: Context) -> bool:
        return generation(ctx) == self.gen.generation

    def identity(self, found: Found) -> Any:
        return str(found[self.gen.id_key])

    def find(self, ctx: Context) -> Found | None:
        return find(ctx, self.gen)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        status = found.get(self.gen.status_key)
        return [FieldChange("status", status, self.gen.ready[0])] if status == "FAILED" else []

    def create(self, ctx: Context) -> Found:
        # "Creates a VPC link ... in an asynchronous operation that typically takes 2-4
        # minutes" (APIGateway CreateVpcLink): `ready` waits for AVAILABLE.
        link = dict(ctx.aws.call("apigateway", "create_vpc_link", name=self.name(ctx),
                                 description=f"gatewayproxy {ctx.stack}: API Gateway to the NLB",
                                 targetArns=[ctx.outputs.need("load_balancer.arn")],
                                 tags=ctx.tags(self.step, "vpc-link")))
        self.record(ctx, link)
        return link

    def delete(self, ctx: Context, found: Found) -> None:
        ignore_missing(("NotFoundException",), ctx.aws.call, self.gen.service, "delete_vpc_link",
                       **{self.gen.id_param: found[self.gen.id_key]})

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish("vpc_link.id", self.identity(found))
        ctx.outputs.publish("vpc_link.generation", self.gen.generation)

    def on_ready(self, ctx: Context, found: Found) -> None:
        if found.get(self.gen.status_key) == "INACTIVE":
            ctx.report(self.step, f"{self.gen.label} {self.identity(found)} is INACTIVE (no "
                                  "traffic for 60 days): AWS re-provisions it on the first "
                                  "requests, which takes a few minutes")

    def health(self, ctx: Context, found: Found) -> Health:
        gen = self.gen
        state = str(found.get(gen.status_key, "?"))
        wanted = "" if self.wanted(ctx) else f" (config says {generation(ctx)}: run up)"
        return Health(state in gen.ready,
                      f"VPC link ({gen.generation}) {self.identity(found)} {state}{wanted}",
                      {"status": state, "generation": gen.generation})


@dataclass
class VpcLinkV2(VpcLink):
    """The v2 link: network interfaces in the private subnets, behind its own security group;
    it never names the NLB, so it does not wait for it."""

    security_group: str = "security_group"
    gen: ClassVar[Generation] = V2
    kind: ClassVar[str] = "VPC link (v2)"
    ready: ClassVar[WaitFor | None] = _ready(V2)
    gone: ClassVar[WaitFor | None] = _gone(V2)

    def create(self, ctx: Context) -> Found:
        # ApiGatewayV2 CreateVpcLink: SubnetIds required, SecurityGroupIds optional; PENDING
        # until its network interfaces are up ("Set up VPC links V2 in API Gateway").
        group = ctx.state.get(self.step, self.security_group)
        link = dict(ctx.aws.call("apigatewayv2", "create_vpc_link", Name=self.name(ctx),
                                 SubnetIds=list(ctx.outputs.need("private_subnet.subnets")),
                                 SecurityGroupIds=[group],
                                 Tags=ctx.tags(self.step, "vpc-link-v2")))
        self.record(ctx, link)
        return link


@dataclass
class LinkSecurityGroup(Resource):
    """The v2 link's own security group in the VPC (no rules of its own: the NLB has no
    security group, so nothing refers to it). Wanted only with v2."""

    kind: ClassVar[str] = "security group"

    def name(self, ctx: Context) -> str:
        return ctx.name("link")

    def wanted(self, ctx: Context) -> bool:
        return generation(ctx) == "v2"

    def identity(self, found: Found) -> Any:
        return found["GroupId"]

    def find(self, ctx: Context) -> Found | None:
        """Ours by the stack's tag, the recorded one first: one describe of the stack's
        security groups per command serves this one and the tasks' (ec2.Family)."""
        found = ec2.Family(ec2.SECURITY_GROUP).find(ctx, V2_SECURITY_GROUP, self.recorded(ctx))
        return None if found is None else dict(found)

    def create(self, ctx: Context) -> Found:
        group = dict(ctx.aws.call(
            "ec2", "create_security_group", GroupName=self.name(ctx),
            Description=f"gatewayproxy {ctx.stack}: API Gateway VPC link (v2) to the NLB",
            VpcId=ctx.outputs.need("cluster.vpc_id"),
            TagSpecifications=ctx.tag_specs("security-group", self.step, V2_SECURITY_GROUP),
            retry=ec2.JUST_CREATED))
        self.record(ctx, group)
        return group

    def delete(self, ctx: Context, found: Found) -> None:
        # The link's network interfaces leave slowly: patiently retries while it is in use.
        ignore_missing((), ec2.patiently, ctx, ctx.aws.call, "ec2", "delete_security_group",
                       GroupId=found["GroupId"])

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"security group {found['GroupId']}")

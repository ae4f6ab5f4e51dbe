"""Step 8: the VPC link that lets API Gateway reach the internal NLB.

`api.vpc_link = "v1"` (the default): the REST API's own link, bound to the NLB (AWS now calls it
legacy). `"v2"`: an API Gateway v2 link, network interfaces in the private subnets with a
security group of its own; the REST integrations then name the NLB (`integrationTarget`).
Switching creates the new link here; the rest_api step moves the integrations to it, then deletes
the old one (`delete_unused`), so there is never a second link of the same generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps import ec2
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing

NAME = "vpc_link"
NEEDS = ("load_balancer.arn", "load_balancer.active", "cluster.vpc_id", "private_subnet.subnets")
TIMEOUT = 20 * 60
V2_SECURITY_GROUP = "vpc-link-security-group"


def apply(ctx: Context) -> None:
    link_id = _apply_v2(ctx) if ctx.config.vpc_link == "v2" else _apply_v1(ctx)
    ctx.outputs.publish("vpc_link.id", link_id)
    ctx.outputs.publish("vpc_link.generation", ctx.config.vpc_link)
    ctx.state.mark_done(NAME)


def _apply_v1(ctx: Context) -> str:
    nlb_arn = ctx.outputs.need("load_balancer.arn")
    if find_v2(ctx) is not None:
        ctx.outputs.publish(f"{NAME}.changes", ["replace the v2 VPC link with a v1 link"])
    link = find(ctx)
    if link is not None and link.get("status") == "FAILED":
        _delete(ctx, link["id"])
        link = None
    if link is None:
        ctx.outputs.need("load_balancer.active")
        link = ctx.aws.call("apigateway", "create_vpc_link", name=ctx.name("link"),
                            description=f"gatewayproxy {ctx.stack}: API Gateway to the NLB",
                            targetArns=[nlb_arn], tags=ctx.tags(NAME, "vpc-link"))
    link_id = str(link["id"])
    ctx.state.record(NAME, "vpc_link_id", link_id)
    wait_available(ctx, link)
    return link_id


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


def find(ctx: Context, gen: Generation = V1) -> dict[str, Any] | None:
    """Ours by the id in the state, else by the stack's tag (link names are not unique); one
    being deleted does not count (an INACTIVE v2 link does: see V2)."""
    link_id = ctx.state.get(NAME, gen.state_key)
    link = ctx.aws.find(gen.service, "get_vpc_link", **{gen.id_param: link_id}) if link_id else None
    if link is not None and link.get(gen.status_key) != "DELETING":
        return dict(link)
    page_size: dict[str, Any] = {"limit": 500} if gen is V1 else {}  # v2: AWS's default page size
    listed = ctx.aws.pages(gen.service, "get_vpc_links", items=gen.items_key, token=gen.page_token,
                           **page_size)
    return next((dict(item) for item in listed if ctx.owns(item.get(gen.tags_key, {}))
                 and item.get(gen.status_key) != "DELETING"), None)


def find_v2(ctx: Context) -> dict[str, Any] | None:
    """Our v2 link (see find)."""
    return find(ctx, V2)


def wait_available(ctx: Context, link: dict[str, Any], gen: Generation = V1) -> None:
    """Wait for AVAILABLE (or INACTIVE, for v2); FAILED ends the wait with AWS's reason."""
    link_id = link[gen.id_key]

    def check(current: dict[str, Any] | None = None) -> tuple[bool, str]:
        current = current or ctx.aws.call(gen.service, "get_vpc_link", retry=("NotFoundException",),
                                          **{gen.id_param: link_id})
        status = current.get(gen.status_key, "?")
        if status == "FAILED":
            raise GatewayProxyError(f"{gen.label} {link_id} FAILED: "
                                    f"{current.get(gen.message_key)}; run `gatewayproxy up` again "
                                    "to replace it")
        return status in gen.ready, status

    ready, status = check(link)
    if status == "INACTIVE":
        ctx.report(NAME, f"{gen.label} {link_id} is INACTIVE (no traffic for 60 days): AWS "
                         "re-provisions it on the first requests, which takes a few minutes")
    if ready:
        return
    ctx.aws.wait(f"{gen.label} {link_id}", check, TIMEOUT, lambda m: ctx.report(NAME, m))


def _delete(ctx: Context, link_id: str, gen: Generation = V1) -> None:
    """Delete the link and wait until AWS no longer knows it (its NLB is free only then)."""
    ids: dict[str, Any] = {gen.id_param: link_id}
    if ignore_missing(("NotFoundException",), ctx.aws.call, gen.service, "delete_vpc_link", **ids):
        def gone() -> tuple[bool, str]:
            try:
                link = ctx.aws.call(gen.service, "get_vpc_link", **ids)
            except AwsError as exc:
                if exc.code == "NotFoundException":
                    return True, "deleted"
                raise
            # Only NotFound means gone: an INACTIVE link still exists (and holds its quota).
            # FAILED will not move on by itself (Terraform's waitVPCLinkDeleted fails there too).
            status = str(link.get(gen.status_key))
            if status == "FAILED":
                raise GatewayProxyError(f"{gen.label} {link_id} deletion FAILED: "
                                        f"{link.get(gen.message_key) or 'no reason given'}; run "
                                        "`gatewayproxy down` again once it is fixed")
            return False, status

        ctx.aws.wait(f"{gen.label} {link_id} deletion", gone, TIMEOUT,
                     lambda m: ctx.report(NAME, m))
    ctx.state.forget(NAME, gen.state_key)


def destroy(ctx: Context) -> None:
    delete_unused(ctx, keep=None)


def delete_unused(ctx: Context, keep: str | None) -> None:
    """Delete the links of every generation but `keep` (None: all), and the v2 security group."""
    was_done = ctx.state.is_done(NAME)
    if keep != "v1":
        link = find(ctx)
        if link is not None:
            _delete(ctx, link["id"])
        ctx.state.forget(NAME, "vpc_link_id")
    if keep != "v2":
        link = find_v2(ctx)
        if link is not None:
            _delete(ctx, link["VpcLinkId"], V2)
        ctx.state.forget(NAME, "vpc_link_v2_id")
        # Its network interfaces leave slowly: ec2.delete retries while the group is in use.
        ec2.delete(ctx, NAME, "security_group", ec2.SECURITY_GROUP, V2_SECURITY_GROUP,
                   lambda g: ctx.aws.call("ec2", "delete_security_group", GroupId=g))
    if keep is not None and was_done:
        ctx.state.mark_done(NAME)  # the link in use is still there: only the old one went


# -- v2 -----------------------------------------------------------------------------------------
def _apply_v2(ctx: Context) -> str:
    vpc_id = ctx.outputs.need("cluster.vpc_id")
    subnets = ctx.outputs.need("private_subnet.subnets")
    if find(ctx) is not None:
        ctx.outputs.publish(f"{NAME}.changes", ["replace the v1 VPC link with a v2 link"])
    group = ec2.ensure(ctx, NAME, "security_group", ec2.SECURITY_GROUP, V2_SECURITY_GROUP,
                       lambda specs: ctx.aws.call(
                           "ec2", "create_security_group", GroupName=ctx.name("link"),
                           Description=f"gatewayproxy {ctx.stack}: API Gateway VPC link (v2) to the NLB",
                           VpcId=vpc_id, TagSpecifications=specs, retry=ec2.JUST_CREATED))
    link = find_v2(ctx)
    if link is not None and link.get("VpcLinkStatus") == "FAILED":
        _delete(ctx, link["VpcLinkId"], V2)
        link = None
    if link is None:
        ctx.outputs.need("load_balancer.active")
        link = ctx.aws.call("apigatewayv2", "create_vpc_link", Name=ctx.name("link"),
                            SubnetIds=list(subnets), SecurityGroupIds=[group["GroupId"]],
                            Tags=ctx.tags(NAME, "vpc-link-v2"))
    link_id = str(link["VpcLinkId"])
    ctx.state.record(NAME, "vpc_link_v2_id", link_id)
    wait_available(ctx, link, V2)
    return link_id


def status(ctx: Context) -> StepStatus:
    v2_only = ctx.state.get(NAME, V2.state_key) and not ctx.state.get(NAME, V1.state_key)
    gen = V2 if v2_only else V1
    link_id = ctx.state.get(NAME, gen.state_key)
    if not link_id:
        return StepStatus(NAME, False, None, "not created")
    try:
        link = ctx.aws.call(gen.service, "get_vpc_link", **{gen.id_param: link_id})
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, f"{gen.label} missing (drift)")
    state = link.get(gen.status_key, "?")
    wanted = "" if ctx.config.vpc_link == gen.generation else \
        f" (config says {ctx.config.vpc_link}: run up)"
    return StepStatus(NAME, ctx.state.is_done(NAME), state in gen.ready,
                      f"VPC link ({gen.generation}) {link_id} {state}{wanted}",
                      ctx.state.resources(NAME), {"status": state, "generation": gen.generation})

"""Step 8: the REST (v1) VPC link that lets API Gateway reach the internal NLB."""

from __future__ import annotations

from typing import Any

from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps.base import Context, StepStatus, ignore_missing

NAME = "vpc_link"
NEEDS = ("load_balancer.arn", "load_balancer.active")
TIMEOUT = 20 * 60


def find(ctx: Context) -> dict[str, Any] | None:
    """Ours by the id in the state, else by the stack's tag (link names are not unique)."""
    link_id = ctx.state.get(NAME, "vpc_link_id")
    if link_id:
        try:
            link: dict[str, Any] = ctx.aws.call("apigateway", "get_vpc_link", vpcLinkId=link_id)
            if link.get("status") != "DELETING":
                return link
        except AwsError as exc:
            if exc.code != "NotFoundException":
                raise
    kwargs: dict[str, Any] = {"limit": 500}
    while True:
        page = ctx.aws.call("apigateway", "get_vpc_links", **kwargs)
        for item in page.get("items", []):
            if ctx.owns(item.get("tags", {})) and item.get("status") != "DELETING":
                return dict(item)
        if not page.get("position"):
            return None
        kwargs["position"] = page["position"]


def apply(ctx: Context) -> None:
    nlb_arn = ctx.outputs.need("load_balancer.arn")
    link = find(ctx)
    if link is not None and link.get("status") == "FAILED":
        _delete(ctx, link["id"])
        link = None
    if link is None:
        ctx.outputs.need("load_balancer.active")
        link = ctx.aws.call("apigateway", "create_vpc_link", name=ctx.name("link"),
                            description=f"gatewayproxy {ctx.stack}: API Gateway to the NLB",
                            targetArns=[nlb_arn], tags=ctx.tags(NAME, "vpc-link"))
    link_id = link["id"]
    ctx.state.record(NAME, "vpc_link_id", link_id)
    wait_available(ctx, link)
    ctx.outputs.publish("vpc_link.id", link_id)
    ctx.state.mark_done(NAME)


def wait_available(ctx: Context, link: dict[str, Any]) -> None:
    link_id = link["id"]

    def check(current: dict[str, Any] | None = None) -> tuple[bool, str]:
        current = current or ctx.aws.call("apigateway", "get_vpc_link", vpcLinkId=link_id,
                                          retry=("NotFoundException",))
        status = current.get("status", "?")
        if status == "FAILED":
            raise GatewayProxyError(f"VPC link {link_id} FAILED: {current.get('statusMessage')}; "
                                    "run `gatewayproxy up` again to replace it")
        return status == "AVAILABLE", status

    if check(link)[0]:
        return
    ctx.aws.wait(f"VPC link {link_id}", check, TIMEOUT, lambda m: ctx.report(NAME, m))


def _delete(ctx: Context, link_id: str) -> None:
    deleted = ignore_missing(("NotFoundException",), lambda: ctx.aws.call(
        "apigateway", "delete_vpc_link", vpcLinkId=link_id))
    if deleted:
        def gone() -> tuple[bool, str]:
            try:
                link = ctx.aws.call("apigateway", "get_vpc_link", vpcLinkId=link_id)
            except AwsError as exc:
                if exc.code == "NotFoundException":
                    return True, "deleted"
                raise
            return False, str(link.get("status"))

        ctx.aws.wait(f"VPC link {link_id} deletion", gone, TIMEOUT, lambda m: ctx.report(NAME, m))
    ctx.state.forget(NAME, "vpc_link_id")


def destroy(ctx: Context) -> None:
    link = find(ctx)
    if link is not None:
        _delete(ctx, link["id"])
    ctx.state.forget(NAME, "vpc_link_id")


def status(ctx: Context) -> StepStatus:
    link_id = ctx.state.get(NAME, "vpc_link_id")
    if not link_id:
        return StepStatus(NAME, False, None, "not created")
    try:
        link = ctx.aws.call("apigateway", "get_vpc_link", vpcLinkId=link_id)
    except AwsError:
        return StepStatus(NAME, ctx.state.is_done(NAME), False, "VPC link missing (drift)",
                          ctx.state.resources(NAME))
    state = link.get("status", "?")
    return StepStatus(NAME, ctx.state.is_done(NAME), state == "AVAILABLE",
                      f"VPC link (v1) {link_id} {state}", ctx.state.resources(NAME),
                      {"status": state, "generation": "v1"})

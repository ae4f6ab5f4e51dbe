"""CloudWatch log groups of the stack (the container's, the API's access log): one way to make
and delete them, found by name and checked against the stack's tag."""

from __future__ import annotations

from typing import Any

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, NotOurs
from gatewayproxy.resources.common import ignore_missing

RETENTION_DAYS = 30  # logs kept forever bill forever


def find(ctx: Context, name: str) -> dict[str, Any] | None:
    groups = ctx.aws.call("logs", "describe_log_groups", logGroupNamePrefix=name)["logGroups"]
    return next((g for g in groups if g["logGroupName"] == name), None)


def find_ours(ctx: Context, name: str) -> dict[str, Any] | None:
    """The group of that name, or None; one of that name without our tag stops the command."""
    found = find(ctx, name)
    if found is not None and not ctx.owns(
            ctx.aws.call("logs", "list_tags_log_group", logGroupName=name)["tags"]):
        raise NotOurs(f"log group {name} exists but is not stack {ctx.stack}'s")
    return found


def keep_for_retention(ctx: Context, name: str) -> None:
    ctx.aws.call("logs", "put_retention_policy", logGroupName=name,
                 retentionInDays=RETENTION_DAYS)


def ensure(ctx: Context, step: str, key: str, name: str, resource: str) -> None:
    """Create the group tagged (or check an existing one is ours), record it, set retention."""
    found = find(ctx, name)
    if found is None:
        try:
            ctx.aws.call("logs", "create_log_group", logGroupName=name,
                         tags=ctx.tags(step, resource))
        except AwsError as exc:
            if exc.code != "ResourceAlreadyExistsException":
                raise
        found = {}
    elif not ctx.owns(ctx.aws.call("logs", "list_tags_log_group", logGroupName=name)["tags"]):
        raise NotOurs(f"log group {name} exists but is not stack {ctx.stack}'s")
    ctx.state.record(step, key, name)
    if found.get("retentionInDays") != RETENTION_DAYS:
        keep_for_retention(ctx, name)


def delete(ctx: Context, step: str, key: str, name: str) -> None:
    """Delete the group if it is ours; a group of that name without our tag is left alone."""
    if find(ctx, name) is not None and ctx.owns(
            ctx.aws.call("logs", "list_tags_log_group", logGroupName=name)["tags"]):
        ignore_missing(("ResourceNotFoundException",), ctx.aws.call, "logs", "delete_log_group",
                       logGroupName=name)
    ctx.state.forget(step, key)

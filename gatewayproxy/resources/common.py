"""Helpers every resource kind and step shares: the stack's EC2 tag filters, deletes where
"not found" means done, and what `status` shows for one step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatewayproxy.aws import is_not_found
from gatewayproxy.context import RESOURCE_TAG, STACK_TAG, Context
from gatewayproxy.errors import AwsError


def ec2_tag_filters(ctx: Context, resource: str | None = None) -> list[dict[str, Any]]:
    filters = [{"Name": f"tag:{STACK_TAG}", "Values": [ctx.stack]}]
    if resource is not None:
        filters.append({"Name": f"tag:{RESOURCE_TAG}", "Values": [resource]})
    return filters


def ignore_missing(codes: tuple[str, ...], action: Callable[..., Any], /, *args: Any,
                   **kwargs: Any) -> bool:
    """Run a delete; "not found" means it is already done. True if something was deleted."""
    try:
        action(*args, **kwargs)
    except AwsError as exc:
        if exc.code in codes or exc.code.endswith(".NotFound") or exc.code.endswith("NotFound"):
            return False
        raise
    return True


@dataclass
class StepStatus:
    """What `status` shows for one step."""

    name: str
    done: bool
    healthy: bool | None
    summary: str
    resources: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def drift_or_error(ctx: Context, step: str, exc: AwsError, drift: str,
                   resources: dict[str, Any] | None = None) -> StepStatus:
    """A status read that failed: `drift` when AWS says the resource is gone; any other error
    (AccessDenied, throttling that outlasted the retries) is reported as itself, with
    details.error, because it says nothing about whether the resource exists."""
    resources = ctx.state.resources(step) if resources is None else resources
    done = ctx.state.is_done(step)
    if is_not_found(exc):
        return StepStatus(step, done, False, drift, resources)
    return StepStatus(step, done, False, f"error: {exc.operation} {exc.code}: {exc.aws_message}",
                      resources, {"error": {"operation": exc.operation, "code": exc.code,
                                            "message": exc.aws_message}})

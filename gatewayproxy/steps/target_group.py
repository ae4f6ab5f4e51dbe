"""Step 7: the service's targets are healthy in its target group; an old port's group goes.

The group and the listener themselves are the service step's (AWS refuses a service whose
target group has no listener); this step reads the group once the service runs.
"""

from __future__ import annotations

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources.base import Health, Resource, exists
from gatewayproxy.resources.listener import LISTENER_PORT
from gatewayproxy.resources.target_group import TargetHealth, group_name, target_health
from gatewayproxy.steps.base import StepStatus, drift_or_error

NAME = "target_group"

__all__ = ["LISTENER_PORT", "NAME", "group_name", "resources", "status_of"]


def resources(ctx: Context) -> list[Resource]:
    # After the service: its tasks are the targets, and an old port's group is deleted only
    # once the service (and the listener) moved to the new one.
    # Not the whole service step: an autoscaling target no longer wanted goes after its
    # readers, and this must not be one.
    # Once the service exists (its tasks are starting), not once it is stable: the targets'
    # health is polled beside the service's rollout, so the one seen late is not waited twice.
    return [TargetHealth(NAME, "target_group_arn",
                         needs=(exists("service.service"), "service.listener_arn"))]


def status_of(ctx: Context, step: str, healths: list[tuple[Resource, Health]]) -> StepStatus:
    """From the group the service step recorded (this step records nothing itself)."""
    group_arn = ctx.state.get("service", "target_group_arn")
    if not group_arn:
        return StepStatus(NAME, False, None, "no target group")
    try:
        healthy, registered, reasons = target_health(ctx, group_arn)
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, "target group missing (drift)",
                              {"target_group_arn": group_arn})
    ok = healthy >= ctx.config.desired_count
    summary = f"{healthy}/{registered} targets healthy" + (f": {'; '.join(reasons)}" if reasons else "")
    return StepStatus(NAME, ctx.state.is_done(NAME), ok, summary,
                      {"target_group_arn": group_arn},
                      {"healthy": healthy, "registered": registered, "reasons": reasons})

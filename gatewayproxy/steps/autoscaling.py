"""The service's optional autoscaling (`[container.autoscaling]`): an Application Auto Scaling
target on the ECS service's desired count (resources/scalable_target.py) and one
target-tracking policy on average CPU (resources/scaling_policy.py), both the service step's.
While autoscaling is on, `up` leaves the desired count to it.
"""

from __future__ import annotations

from gatewayproxy.context import Context
from gatewayproxy.resources.base import Resource
from gatewayproxy.resources.scalable_target import ScalableTarget, find_target
from gatewayproxy.resources.scaling_policy import ScalingPolicy, find_policy, policy_name

STEP = "service"

__all__ = ["describe", "policy_name", "resources"]


def resources(ctx: Context, service: str) -> list[Resource]:
    """Wanted only when configured: without the table `up` deregisters them. The policy reads
    the target only while both are wanted: an unwanted resource goes after its readers, and
    a policy that is not wanted need not wait (deregistering the target deletes it too)."""
    target = ScalableTarget(STEP, "scalable_target", needs=(service,))
    reads = f"{STEP}.scalable_target" if ctx.config.autoscaling is not None else service
    return [target, ScalingPolicy(STEP, "scaling_policy", needs=(reads,))]


def describe(ctx: Context) -> str | None:
    """`autoscaling 1-4 tasks, CPU 60%` for status, or None when it is off and absent."""
    target = find_target(ctx)
    if target is None:
        return None
    policy = find_policy(ctx)
    cpu = ((policy or {}).get("TargetTrackingScalingPolicyConfiguration") or {}).get("TargetValue")
    return (f"autoscaling {target['MinCapacity']}-{target['MaxCapacity']} tasks"
            + (f", CPU {cpu:g}%" if cpu is not None else ""))

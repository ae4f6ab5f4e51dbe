"""The service's optional autoscaling (`[container.autoscaling]`): an Application Auto Scaling
target on the ECS service's desired count and one target-tracking policy on average CPU.

Used by the service step. Both calls are upserts keyed by the service and the policy name, so a
re-run after a crash converges. While autoscaling is on, `up` leaves the desired count to it.
"""

from __future__ import annotations

from typing import Any

from gatewayproxy.errors import AwsError
from gatewayproxy.steps.base import Context

STEP = "service"
NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
METRIC = "ECSServiceAverageCPUUtilization"
# Scale out quickly, scale in slowly: a busy service is worse than a few idle minutes.
SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def policy_name(ctx: Context) -> str:
    return ctx.name("cpu")


def find_target(ctx: Context, rid: str) -> dict[str, Any] | None:
    found = ctx.aws.call("application-autoscaling", "describe_scalable_targets",
                         ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION)
    return next(iter(found.get("ScalableTargets", [])), None)


def ensure(ctx: Context, cluster: str, service: str) -> list[str]:
    """Register (or correct) the target and the policy; the changes, in words."""
    scaling = ctx.config.autoscaling
    assert scaling is not None
    rid = resource_id(cluster, service)
    words: list[str] = []
    target = find_target(ctx, rid)
    if target is None or (target["MinCapacity"], target["MaxCapacity"]) != (scaling.min, scaling.max):
        # Tags only on the first registration: AWS takes tags on create, not on update.
        extra: dict[str, Any] = {} if target else {"Tags": ctx.tags(STEP, "scalable-target")}
        ctx.aws.call("application-autoscaling", "register_scalable_target",
                     ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
                     MinCapacity=scaling.min, MaxCapacity=scaling.max, **extra)
        words.append(f"autoscaling: {scaling.min} to {scaling.max} tasks")
    ctx.state.record(STEP, "scalable_target", rid)
    wanted = {"TargetValue": float(scaling.cpu_target),
              "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
              "ScaleOutCooldown": SCALE_OUT_COOLDOWN, "ScaleInCooldown": SCALE_IN_COOLDOWN}
    policy = _find_policy(ctx, rid)
    have = (policy or {}).get("TargetTrackingScalingPolicyConfiguration") or {}
    if policy is None or any(have.get(k) != v for k, v in wanted.items()):
        ctx.aws.call("application-autoscaling", "put_scaling_policy", PolicyName=policy_name(ctx),
                     ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
                     PolicyType="TargetTrackingScaling",
                     TargetTrackingScalingPolicyConfiguration=wanted)
        words.append(f"autoscaling: keep CPU near {scaling.cpu_target:g}%")
    return words


def _find_policy(ctx: Context, rid: str) -> dict[str, Any] | None:
    found = ctx.aws.call("application-autoscaling", "describe_scaling_policies",
                         ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
                         PolicyNames=[policy_name(ctx)])
    return next((p for p in found.get("ScalingPolicies", [])
                 if p.get("PolicyName") == policy_name(ctx) and p.get("ResourceId") == rid), None)


def remove(ctx: Context, cluster: str, service: str) -> None:
    """Deregister the target (AWS deletes its policies with it); gone already is done."""
    rid = resource_id(cluster, service)
    if find_target(ctx, rid) is not None:
        try:
            ctx.aws.call("application-autoscaling", "deregister_scalable_target",
                         ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION)
        except AwsError as exc:
            if exc.code not in ("ObjectNotFoundException", "ValidationException"):
                raise
        policy = _find_policy(ctx, rid)  # moto keeps policies of a deregistered target
        if policy is not None:
            try:
                ctx.aws.call("application-autoscaling", "delete_scaling_policy",
                             PolicyName=policy_name(ctx), ServiceNamespace=NAMESPACE,
                             ResourceId=rid, ScalableDimension=DIMENSION)
            except AwsError as exc:
                if exc.code not in ("ObjectNotFoundException", "ValidationException"):
                    raise
    ctx.state.forget(STEP, "scalable_target")


def describe(ctx: Context, cluster: str, service: str) -> str | None:
    """`autoscaling 1-4 tasks, CPU 60%` for status, or None when it is off and absent."""
    target = find_target(ctx, resource_id(cluster, service))
    if target is None:
        return None
    policy = _find_policy(ctx, resource_id(cluster, service))
    cpu = ((policy or {}).get("TargetTrackingScalingPolicyConfiguration") or {}).get("TargetValue")
    return (f"autoscaling {target['MinCapacity']}-{target['MaxCapacity']} tasks"
            + (f", CPU {cpu:g}%" if cpu is not None else ""))

"""The target-tracking policy on the service's average CPU (PutScalingPolicy is an upsert keyed
by the policy name and the target)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources.base import FieldChange, Found, Resource
from gatewayproxy.resources.ecs_service import cluster_name
from gatewayproxy.resources.scalable_target import DIMENSION, NAMESPACE, ignore_gone, resource_id

METRIC = "ECSServiceAverageCPUUtilization"
# Scale out quickly, scale in slowly: a busy service is worse than a few idle minutes.
SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300


def policy_name(ctx: Context) -> str:
    return ctx.name("cpu")


def wanted_configuration(ctx: Context) -> dict[str, Any]:
    scaling = ctx.config.autoscaling
    assert scaling is not None
    return {"TargetValue": float(scaling.cpu_target),
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
            "ScaleOutCooldown": SCALE_OUT_COOLDOWN, "ScaleInCooldown": SCALE_IN_COOLDOWN}


def find_policy(ctx: Context) -> Found | None:
    rid = resource_id(ctx)
    found = ctx.aws.call("application-autoscaling", "describe_scaling_policies",
                         ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
                         PolicyNames=[policy_name(ctx)])
    return next((dict(p) for p in found.get("ScalingPolicies", [])
                 if p.get("PolicyName") == policy_name(ctx) and p.get("ResourceId") == rid), None)


@dataclass
class ScalingPolicy(Resource):
    kind: ClassVar[str] = "scaling policy"

    def name(self, ctx: Context) -> str:
        return policy_name(ctx)

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.autoscaling is not None

    def identity(self, found: Found) -> Any:
        return found["PolicyName"]

    def find(self, ctx: Context) -> Found | None:
        return find_policy(ctx) if cluster_name(ctx) else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        have = found.get("TargetTrackingScalingPolicyConfiguration") or {}
        want = wanted_configuration(ctx)
        if all(have.get(k) == v for k, v in want.items()):
            return []
        return [FieldChange("cpu_target", have.get("TargetValue"), want["TargetValue"])]

    def create(self, ctx: Context) -> Found:
        found = self.update(ctx, {}, [])
        self.record(ctx, found)
        return found

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        configuration = wanted_configuration(ctx)
        ctx.aws.call("application-autoscaling", "put_scaling_policy", PolicyName=policy_name(ctx),
                     ServiceNamespace=NAMESPACE, ResourceId=resource_id(ctx),
                     ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
                     TargetTrackingScalingPolicyConfiguration=configuration)
        return {"PolicyName": policy_name(ctx), "ResourceId": resource_id(ctx),
                "TargetTrackingScalingPolicyConfiguration": configuration}

    def delete(self, ctx: Context, found: Found) -> None:
        """Deregistering the target deletes it on AWS (moto keeps it: so explicitly)."""
        ignore_gone(lambda **p: ctx.aws.call("application-autoscaling", "delete_scaling_policy",
                                             **p),
                    PolicyName=policy_name(ctx), ServiceNamespace=NAMESPACE,
                    ResourceId=found["ResourceId"], ScalableDimension=DIMENSION)

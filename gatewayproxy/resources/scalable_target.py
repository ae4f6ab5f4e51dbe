"""The Application Auto Scaling target on the ECS service's desired count (`[container.
autoscaling]`): wanted only when configured; while it is, `up` leaves the desired count to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources.base import FieldChange, Found, Resource
from gatewayproxy.resources.ecs_service import cluster_name, service_name

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
GONE = ("ObjectNotFoundException", "ValidationException")  # deregistered already


def resource_id(ctx: Context) -> str:
    return f"service/{cluster_name(ctx) or ctx.name('cluster')}/{service_name(ctx)}"


def find_target(ctx: Context) -> Found | None:
    found = ctx.aws.call("application-autoscaling", "describe_scalable_targets",
                         ServiceNamespace=NAMESPACE, ResourceIds=[resource_id(ctx)],
                         ScalableDimension=DIMENSION)
    return next((dict(t) for t in found.get("ScalableTargets", [])), None)


def ignore_gone(action: Any, /, **params: Any) -> None:
    try:
        action(**params)
    except AwsError as exc:
        if exc.code not in GONE:
            raise


@dataclass
class ScalableTarget(Resource):
    """RegisterScalableTarget is an upsert keyed by the service: a re-run after a crash
    converges. Tags only on the first registration (AWS takes them on create, not update)."""

    kind: ClassVar[str] = "scalable target"

    def name(self, ctx: Context) -> str:
        return resource_id(ctx)

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.autoscaling is not None

    def identity(self, found: Found) -> Any:
        return found["ResourceId"]

    def find(self, ctx: Context) -> Found | None:
        return find_target(ctx) if cluster_name(ctx) else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        scaling = ctx.config.autoscaling
        assert scaling is not None
        have, want = (found["MinCapacity"], found["MaxCapacity"]), (scaling.min, scaling.max)
        return [] if have == want else [FieldChange("autoscaling", f"{have[0]} to {have[1]} tasks",
                                                    f"{want[0]} to {want[1]} tasks")]

    def _register(self, ctx: Context, **extra: Any) -> Found:
        scaling = ctx.config.autoscaling
        assert scaling is not None
        ctx.aws.call("application-autoscaling", "register_scalable_target",
                     ServiceNamespace=NAMESPACE, ResourceId=resource_id(ctx),
                     ScalableDimension=DIMENSION, MinCapacity=scaling.min,
                     MaxCapacity=scaling.max, **extra)
        return {"ResourceId": resource_id(ctx), "MinCapacity": scaling.min,
                "MaxCapacity": scaling.max}

    def create(self, ctx: Context) -> Found:
        found = self._register(ctx, Tags=ctx.tags(self.step, "scalable-target"))
        self.record(ctx, found)
        return found

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        return self._register(ctx)

    def delete(self, ctx: Context, found: Found) -> None:
        """AWS deletes the target's policies with it."""
        ignore_gone(lambda **p: ctx.aws.call("application-autoscaling",
                                             "deregister_scalable_target", **p),
                    ServiceNamespace=NAMESPACE, ResourceId=found["ResourceId"],
                    ScalableDimension=DIMENSION)

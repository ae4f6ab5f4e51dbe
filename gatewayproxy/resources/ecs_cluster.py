"""The ECS cluster the service runs in, with ECS's service-linked role (once per account)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy import arns
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, NotOurs
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource
from gatewayproxy.resources.common import ignore_missing

# ECS answers this while a brand-new service-linked role propagates.
SLR_NOT_READY = "InvalidParameterException:service linked role"


def cluster_name(ctx: Context) -> str:
    return ctx.name("cluster")


def needed_providers(ctx: Context) -> set[str]:
    """The Fargate capacity providers the service's strategy names (container.capacity); they
    cost nothing and need only be associated with the cluster ("AWS Fargate capacity
    providers"). None for on_demand: a new service then uses the FARGATE launch type."""
    return set() if ctx.config.capacity == "on_demand" else {"FARGATE", "FARGATE_SPOT"}


def ensure_service_linked_role(ctx: Context) -> None:
    """ECS needs its service-linked role (once per account) for clusters and awsvpc services."""
    if ctx.aws.find("iam", "get_role", RoleName="AWSServiceRoleForECS") is None:
        try:
            ctx.aws.call("iam", "create_service_linked_role",
                         AWSServiceName=arns.service_principal("ecs"))
        except AwsError as err:
            # AWS: InvalidInput "...has been taken in this account"; emulators: EntityAlreadyExists.
            taken = err.code == "InvalidInput" and "taken" in err.aws_message
            if not taken and err.code != "EntityAlreadyExists":
                raise


@dataclass
class EcsCluster(Resource):
    kind: ClassVar[str] = "ECS cluster"

    def name(self, ctx: Context) -> str:
        return cluster_name(ctx)

    def identity(self, found: Found) -> Any:
        return found["clusterName"]

    def find(self, ctx: Context) -> Found | None:
        """The ACTIVE cluster of our name (a deleted one stays INACTIVE for a while); one of
        that name that is not ours is refused."""
        name = cluster_name(ctx)
        found = ctx.aws.call("ecs", "describe_clusters", clusters=[name], include=["TAGS"])
        active = [c for c in found["clusters"] if c["status"] == "ACTIVE"]
        if active and not ctx.owns(active[0].get("tags", [])):
            raise NotOurs(f"ECS cluster {name} exists but is not stack {ctx.stack}'s")
        return dict(active[0]) if active else None

    def create(self, ctx: Context) -> Found:
        ensure_service_linked_role(ctx)
        tags = [{"key": k, "value": v} for k, v in ctx.tags(self.step, "cluster").items()]
        providers: dict[str, Any] = {}
        if needed_providers(ctx):
            providers["capacityProviders"] = sorted(needed_providers(ctx))
        cluster = ctx.aws.call("ecs", "create_cluster", clusterName=cluster_name(ctx), tags=tags,
                               retry=(SLR_NOT_READY,), **providers)["cluster"]
        self.record(ctx, cluster)
        return dict(cluster)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        """Providers are added, never taken away: a service on on_demand after spot keeps a
        FARGATE strategy (see ecs_service.strategy), and ECS refuses to disassociate a provider
        a task still uses (PutClusterCapacityProviders). They cost nothing."""
        have = set(found.get("capacityProviders") or [])
        if needed_providers(ctx) <= have:
            return []
        return [FieldChange("capacity providers", sorted(have),
                            sorted(have | needed_providers(ctx)))]

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        """PutClusterCapacityProviders takes the whole list (an omitted provider is
        disassociated) and a default strategy (required; the cluster's own is kept: the service
        names its strategy)."""
        providers = sorted(set(found.get("capacityProviders") or []) | needed_providers(ctx))
        default = found.get("defaultCapacityProviderStrategy") or []
        cluster = ctx.aws.call("ecs", "put_cluster_capacity_providers",
                               cluster=found["clusterName"], capacityProviders=providers,
                               defaultCapacityProviderStrategy=default)["cluster"]
        return dict(cluster)

    def delete(self, ctx: Context, found: Found) -> None:
        # While the service's tasks stop, ECS refuses to delete the cluster.
        ignore_missing(("ClusterNotFoundException",), ctx.aws.call, "ecs", "delete_cluster",
                       cluster=found["clusterName"], retry=("ClusterContainsTasksException",
                                                            "ClusterContainsServicesException"),
                       retry_for=300)

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.name", found["clusterName"])

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"ECS cluster {found['clusterName']} ACTIVE",
                      {"capacity_providers": sorted(found.get("capacityProviders") or [])})

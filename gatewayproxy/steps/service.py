"""Step 6: the tasks' security group and its ingress rule, the target group and the NLB
listener, the ECS service and its optional autoscaling.

The target group and the listener are this step's (their ids stay under this step's state keys
"target_group_arn" and "listener_arn"): AWS refuses a service whose target group has no
listener, so both come before the service; the target_group step reads the group's health.
"""

from __future__ import annotations

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources import ecs_service, listener, security_group, target_group
from gatewayproxy.resources.base import Health, Resource, after, exists
from gatewayproxy.resources.ecs_service import describe, service_name
from gatewayproxy.steps import autoscaling, nat_gateway
from gatewayproxy.steps.base import StepStatus, drift_or_error

NAME = "service"
SERVICE = f"{NAME}.service"

__all__ = ["NAME", "describe", "resources", "service_name", "status_of"]


def resources(ctx: Context) -> list[Resource]:

    group = target_group.TargetGroup(NAME, "target_group_arn", needs=("cluster.vpc_id",))
    rule_group = security_group.SecurityGroup(NAME, "security_group", needs=("cluster.vpc_id",))
    return [
        rule_group,
        security_group.IngressRule(NAME, "ingress_rule", needs=(f"{NAME}.security_group",)),
        group,
        # The listener may be added while the NLB is still provisioning.
        listener.Listener(NAME, "listener_arn", needs=(
            f"{NAME}.target_group_arn", exists("load_balancer.load_balancer_arn"))),
        ecs_service.EcsService(NAME, "service", needs=(
            # The NLB only has to exist: what AWS checks at CreateService is that the target
            # group has a listener (aws-facts: "does not have an associated load balancer").
            "task_definition", "cluster", "private_subnet", exists("load_balancer.load_balancer_arn"),
            # Tasks in private subnets pull their image through the NAT gateway (or the VPC
            # endpoints, with network.nat = "none"): start them once it routes. They never read
            # it, though: `down` deletes it without waiting for the tasks to drain (a draining
            # task loses only its way out; AWS refuses nothing).
            *(after(way_out) for way_out in nat_gateway.exits(ctx)),
            f"{NAME}.security_group", f"{NAME}.ingress_rule", f"{NAME}.target_group_arn",
            f"{NAME}.listener_arn")),
        *autoscaling.resources(ctx, SERVICE),
    ]


def status_of(ctx: Context, step: str, healths: list[tuple[Resource, Health]]) -> StepStatus:
    """The service's tasks, and its autoscaling: what `status` showed before."""
    service = next(h for r, h in healths if r.key == "service")
    resources = ctx.state.resources(NAME)
    done = ctx.state.is_done(NAME)
    if service.ok is None:
        return StepStatus(NAME, False, None, "not created", resources)
    if "error" in service.details:
        return StepStatus(NAME, done, False, service.summary, resources, service.details)
    if "missing (drift)" in service.summary:
        return StepStatus(NAME, done, False, "service missing (drift)", resources)
    summary = service.summary
    try:
        scaling = autoscaling.describe(ctx)
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, f"{summary}; autoscaling missing (drift)")
    if scaling:
        summary += f"; {scaling}"
    return StepStatus(NAME, done, bool(service.ok), summary, resources,
                      {**service.details, "autoscaling": scaling})


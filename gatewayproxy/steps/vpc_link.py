"""Step 8: the VPC link that lets API Gateway reach the internal NLB.

`api.vpc_link = "v2"` (the default for a new stack): an API Gateway v2 link, network interfaces
in the private subnets with a security group of its own, made beside the NLB; the REST
integrations then name the NLB (`integrationTarget`). `"v1"`: the REST API's own link, bound to
the NLB (AWS now calls it legacy), made once the NLB is active. Without the key, a stack keeps
the generation its state records (links.generation).
Switching creates the new link here; the old generation's link (and the v2 security group) is
deleted only once the rest_api step has redeployed the stage onto the new one and deleted the
stale stages (`retire_after`), so there is never a second link of the same generation.
"""

from __future__ import annotations

from gatewayproxy.resources import vpc_link as links
from gatewayproxy.resources.base import Health, Resource, exists
from gatewayproxy.steps import private_subnet
from gatewayproxy.steps.base import Context, StepStatus

NAME = "vpc_link"
# AWS refuses DeleteVpcLink while a stage's deployment still uses the link: rest_api first.
RETIRE_AFTER = ("rest_api",)
V1, V2 = links.V1, links.V2


def resources(ctx: Context) -> list[Resource]:
    """v1 needs the NLB active; v2 needs only the private subnets and its group to exist."""
    return [
        links.VpcLink(NAME, V1.state_key, needs=("load_balancer",), retire_after=RETIRE_AFTER),
        links.LinkSecurityGroup(NAME, "security_group", needs=(exists("cluster.vpc_id"),),
                                retire_after=RETIRE_AFTER),
        links.VpcLinkV2(NAME, V2.state_key, needs=(*map(exists, private_subnet.subnets(ctx)),
                                                   exists(f"{NAME}.security_group")),
                        retire_after=RETIRE_AFTER),
    ]


def status_of(ctx: Context, step: str, healths: list[tuple[Resource, Health]]) -> StepStatus:
    """The link's line first (the wanted generation's when both exist), then its group's."""
    from gatewayproxy.engine import step_status

    def rank(pair: tuple[Resource, Health]) -> tuple[bool, bool]:
        resource, _ = pair
        return not isinstance(resource, links.VpcLink), not resource.wanted(ctx)

    return step_status(ctx, step, sorted(healths, key=rank))

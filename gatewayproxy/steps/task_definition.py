"""Step 1: the task execution role, the log group and the Fargate task definition."""

from __future__ import annotations

from typing import Any

from gatewayproxy.context import Context
from gatewayproxy.errors import GatewayProxyError
from gatewayproxy.resources import iam_role, role_policy
from gatewayproxy.resources import log_group as log_groups
from gatewayproxy.resources import task_definition as definitions
from gatewayproxy.resources.base import Resource
from gatewayproxy.resources.iam_role import (
    EXECUTION_POLICY,
    REGION_TAG,
    owns_role,
    role_name,
    trust_policy,
)
from gatewayproxy.resources.task_definition import (
    container_definition,
    desired_task_definition,
    differences,
    environment_change,
    family,
    log_group,
)

NAME = "task_definition"
ROLE = f"{NAME}.role"  # what the role lookup found ({} for none), kept for the command

__all__ = ["EXECUTION_POLICY", "NAME", "REGION_TAG", "GatewayProxyError",
           "container_definition", "desired_task_definition", "differences",
           "environment_change", "family", "log_group", "owns_role", "role_name",
           "trust_policy"]


def resources(ctx: Context) -> list[Resource]:
    return [
        iam_role.ExecutionRole(NAME, "execution_role"),
        # Before the service starts tasks that read the secrets (the service needs this step).
        role_policy.SecretsPolicy(NAME, "secrets_policy", needs=(f"{NAME}.execution_role",)),
        log_groups.LogGroup(NAME, "log_group", group=log_group, tag="log-group"),
        definitions.TaskDefinition(NAME, "task_definition_arn",
                                   needs=(f"{NAME}.execution_role", f"{NAME}.log_group")),
    ]


def check(ctx: Context) -> None:
    """Before any write: a role of our name that is not this region's stack's stops `up`, and
    so does a secret in another region."""
    role_policy.check_regions(ctx)
    iam_role.find_role(ctx, ROLE)


def find_role(ctx: Context) -> dict[str, Any] | None:
    return iam_role.find_role(ctx, ROLE)

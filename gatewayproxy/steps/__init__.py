"""The nine steps, in the order the user sees them and `up` applies them (`down` reverses it)."""

from __future__ import annotations

from types import ModuleType

from gatewayproxy.steps import (
    cluster,
    load_balancer,
    nat_gateway,
    private_subnet,
    rest_api,
    service,
    target_group,
    task_definition,
    vpc_link,
)

ORDER: tuple[ModuleType, ...] = (
    task_definition,
    cluster,
    private_subnet,
    load_balancer,
    nat_gateway,
    service,
    target_group,
    vpc_link,
    rest_api,
)
NAMES = tuple(step.NAME for step in ORDER)

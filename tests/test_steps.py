"""Each step on its own: create, a no-op re-run, teardown, and a no-op second teardown."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from types import ModuleType

import step_runner
from conftest import CONFIG, Call, writes
from inventory import inventory

from gatewayproxy import config, steps
from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine
from gatewayproxy.progress import Reporter
from gatewayproxy.state import State
from gatewayproxy.steps.base import Context

REGION = "eu-west-1"
# What each step adds to the account (kinds of tests/inventory.py).
MAKES = {
    "task_definition": {"roles", "log_groups", "task_definitions"},
    "cluster": {"clusters", "vpcs", "internet_gateways", "subnets", "route_tables"},
    "private_subnet": {"subnets", "route_tables"},
    "load_balancer": {"load_balancers"},
    "nat_gateway": {"nat_gateways", "elastic_ips"},
    "service": {"target_groups", "listeners", "security_groups", "services"},
    "target_group": set(),
    "vpc_link": {"vpc_links"},
    "rest_api": {"rest_apis", "log_groups"},  # the access log group (api.access_logs)
}


def _apply(ctx: Context, step: ModuleType) -> None:
    """A step described as resources runs through the engine alone; others by their apply."""
    if hasattr(step, "resources"):
        step_runner.up(ctx, step)
    else:
        step.apply(ctx)


def _destroy(ctx: Context, step: ModuleType) -> None:
    if hasattr(step, "resources"):
        step_runner.down(ctx, step)
    else:
        step.destroy(ctx)


def test_each_step_creates_reruns_as_a_no_op_and_tears_down(aws: Aws, tmp_path: Path,
                                                            calls: list[Call]) -> None:
    cfg = config.parse(tomllib.loads(CONFIG))
    state = State.load(tmp_path / "s.state.json", cfg.name)
    ctx = Context(config=cfg, state=state, aws=aws)
    Engine(ctx, Reporter(io.StringIO(), ()), sequential=True).claim_target()
    before = {k: len(v) for k, v in inventory(REGION).items()}
    for step in steps.ORDER:
        calls.clear()
        _apply(ctx, step)
        assert state.is_done(step.NAME), step.NAME
        after = {k: len(v) for k, v in inventory(REGION).items()}
        grew = {k for k in after if after[k] > before[k]}
        assert grew == MAKES[step.NAME], step.NAME
        made = writes(calls)
        assert made or not MAKES[step.NAME], step.NAME
        calls.clear()
        _apply(ctx, step)
        assert writes(calls) == [], f"{step.NAME} re-run wrote {writes(calls)}"
        before = after

    for step in reversed(steps.ORDER):
        _destroy(ctx, step)
        after = {k: len(v) for k, v in inventory(REGION).items()}
        shrank = {k for k in after if after[k] < before[k]}
        # The service's target group and listener are deleted with it, not by step 7.
        assert shrank == MAKES[step.NAME], step.NAME
        assert not state.resources(step.NAME) or step.NAME == "cluster"
        calls.clear()
        _destroy(ctx, step)
        assert writes(calls) == [], f"{step.NAME} second teardown wrote {writes(calls)}"
        before = after
    assert not any(inventory(REGION).values())

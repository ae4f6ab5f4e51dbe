"""Each step on its own: create, a no-op re-run, teardown, and a no-op second teardown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Call, stack_session, writes
from inventory import inventory

from gatewayproxy import steps
from gatewayproxy.aws import Aws

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
    "vpc_link": {"vpc_links_v2", "security_groups"},  # the default v2 link and its group
    "rest_api": {"rest_apis", "log_groups"},  # the access log group (api.access_logs)
}


def test_each_step_creates_reruns_as_a_no_op_and_tears_down(
        aws: Aws, tmp_path: Path, calls: list[Call], monkeypatch: pytest.MonkeyPatch) -> None:
    """`up` of the first k steps (the seed's order) adds exactly step k's kinds of resources,
    and runs again without a write; `down` then removes everything, and again writes nothing."""
    order = steps.ORDER
    before = {k: len(v) for k, v in inventory(REGION).items()}
    for k, step in enumerate(order, 1):
        monkeypatch.setattr(steps, "ORDER", order[:k])
        calls.clear()
        stack_session(tmp_path / "s.state.json", aws).engine(sequential=True).up()
        state = json.loads((tmp_path / "s.state.json").read_text())
        assert state["steps"][step.NAME]["done"], step.NAME
        after = {k: len(v) for k, v in inventory(REGION).items()}
        assert {k for k in after if after[k] > before[k]} == MAKES[step.NAME], step.NAME
        calls.clear()
        stack_session(tmp_path / "s.state.json", aws).engine(sequential=True).up()
        assert writes(calls) == [], f"{step.NAME} re-run wrote {writes(calls)}"
        before = after
    stack_session(tmp_path / "s.state.json", aws).engine(sequential=True).down()
    assert not any(inventory(REGION).values()), inventory(REGION)
    calls.clear()
    stack_session(tmp_path / "s.state.json", aws).engine(sequential=True).down()
    assert writes(calls) == []

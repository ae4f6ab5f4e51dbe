"""Crash injection for what API access adds (usage plan, keys, Lambda permission, stage settings,
access log group, v2 link, autoscaling): die right after each of those writes, run again, and the
stack converges to exactly one of each; `down` cut short anywhere still leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_fixtures import ACCESS_CONFIG, make_function
from conftest import stack_session
from crashes import Writes, state_shape, unaccounted
from inventory import counts, inventory
from test_lifecycle import EXPECTED
from worlds import restore

from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine
from gatewayproxy.resources import api_access

pytestmark = pytest.mark.crash

REGION = "eu-west-1"
FULL = (ACCESS_CONFIG.replace('stage = "live"\n', 'stage = "live"\nvpc_link = "v2"\n')
        .replace("desired_count = 2\n", "desired_count = 2\nautoscaling = { min = 1, max = 4, "
                 "cpu_target = 60 }\n"))
WANTED = {**EXPECTED, "vpc_links": 0, "vpc_links_v2": 1, "security_groups": 2, "usage_plans": 1,
          "lambda_permissions": 1, "scalable_targets": 1}
WANTED = {kind: n for kind, n in WANTED.items() if n}
# Writes the base crash tests do not cover: the v2 link's, autoscaling's, and everything around
# the REST API but its methods (covered there).
NEW_STEPS = {"vpc_link", "rest_api"}
COVERED = {"create_rest_api", "create_resource", "put_method", "put_integration", "delete_method",
           "create_deployment"}


def is_access_write(name: str) -> bool:
    """A write that belongs to API access (`step:service.operation`)."""
    return ((name.split(":")[0] in NEW_STEPS and name.split(".")[-1] not in COVERED)
            or "application-autoscaling" in name)


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Writes:
    make_function()
    return Writes(monkeypatch)


def engine(state_path: Path, aws: Aws) -> Engine:
    return stack_session(state_path, aws, FULL).engine(sequential=True)


def test_up_converges_after_a_crash_at_each_access_write(crasher: Writes, aws: Aws,
                                                         tmp_path: Path) -> None:
    state_path = tmp_path / "stack.state.json"
    points = crasher.worlds_of(lambda: engine(state_path, aws).up(), tmp_path, is_access_write)
    converged = state_shape(state_path)
    assert len(points) >= 9
    print(f"\nup: {len(points)} API-access crash points")
    for at, world in points:
        restore(world)
        engine(state_path, aws).up()
        assert dict(counts(REGION)) == WANTED, f"after a crash at {at}"
        assert unaccounted(state_path, REGION, converged) == {}, f"the state after a crash at {at}"


def test_down_converges_after_a_crash_at_each_access_write(crasher: Writes, aws: Aws,
                                                           tmp_path: Path) -> None:
    state_path = tmp_path / "stack.state.json"
    deployed = engine(state_path, aws)
    deployed.up()
    api_access.create_key(deployed.ctx, "k")
    points = crasher.worlds_of(lambda: engine(state_path, aws).down(), tmp_path, is_access_write)
    assert len(points) >= 8
    print(f"\ndown: {len(points)} API-access crash points")
    for at, world in points:
        restore(world)
        engine(state_path, aws).down()
        left = {kind: items for kind, items in inventory(REGION).items() if items}
        assert not left, f"left after a crash at {at}: {left}"

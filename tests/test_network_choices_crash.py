"""Crash injection for the writes `network.nat` adds: `up` switching from the default to
"per_zone" or "none" killed after each of its writes, then `down` of that mode killed after each
write that deletes what the mode added. Each time the next run converges: exactly the mode's
resources, and nothing left after `down`. (The network steps alone: the others have their own
crash tests, and the service only waits for what these make.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from crashes import Writes, unaccounted
from test_network_choices import (
    config,
    default_targets,
    engine,
    live_endpoints,
    live_nats,
    network_only,
    nothing_left,
    recorded,
)
from worlds import restore

from gatewayproxy.aws import Aws

__all__ = ["network_only"]  # the fixture, used by name

pytestmark = pytest.mark.crash


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Writes:
    return Writes(monkeypatch)


def converged(state_path: Path, nat: str) -> dict[str, Any]:
    """What differs from the mode's resources (empty when it is exactly them)."""
    import boto3

    ec2 = boto3.client("ec2", region_name="eu-west-1")
    nats, endpoints = live_nats(), live_endpoints()
    addresses = ec2.describe_addresses()["Addresses"]
    groups = [g for g in ec2.describe_security_groups()["SecurityGroups"]
              if g["GroupName"].endswith("-endpoints")]
    want = {"single": (1, 1, 0, 0), "per_zone": (2, 2, 0, 0), "none": (0, 0, 4, 1)}[nat]
    have = (len(nats), len(addresses), len(endpoints), len(groups))
    wrong: dict[str, Any] = {} if have == want else {"counts": (have, want)}
    keys = recorded(state_path)
    routes = {"single": [keys.get("nat_gateway")] * 2, "none": [None, None],
              "per_zone": [keys.get("nat_gateway"), keys.get("nat_gateway_1")]}[nat]
    if default_targets(state_path) != routes:
        wrong["routes"] = (default_targets(state_path), routes)
    if "client_tokens" in keys:
        wrong["tokens"] = keys["client_tokens"]
    return wrong


@pytest.mark.parametrize("nat", ["per_zone", "none"])
def test_switching_up_converges_after_a_crash_at_every_write(
        network_only: None, crasher: Writes, aws: Aws, tmp_path: Path, nat: str) -> None:
    """The switch from "single" to the mode, and back, each cut short at every write."""
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, config("single")).up()
    there = crasher.worlds_of(lambda: engine(state_path, aws, config(nat)).up(), tmp_path)
    back = crasher.worlds_of(lambda: engine(state_path, aws, config("single")).up(), tmp_path)
    assert len(there) >= 3 and len(back) >= 3
    for mode, points in ((nat, there), ("single", back)):
        for at, world in points:
            restore(world)
            engine(state_path, aws, config(mode)).up()
            assert converged(state_path, mode) == {}, f"after a crash of up to {mode} at {at}"
            assert unaccounted(state_path, "eu-west-1") == {}, f"the state after a crash at {at}"
    engine(state_path, aws, config("single")).down()
    assert nothing_left() == {}


# The deletes of what the modes add: down is killed right after each of them.
ADDED = {"delete_vpc_endpoints", "delete_security_group", "delete_nat_gateway", "release_address",
         "revoke_security_group_egress"}


@pytest.mark.parametrize("nat", ["per_zone", "none"])
def test_down_of_each_mode_leaves_nothing_after_a_crash_at_its_new_deletes(
        network_only: None, crasher: Writes, aws: Aws, tmp_path: Path, nat: str) -> None:
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, config(nat)).up()
    points = crasher.worlds_of(lambda: engine(state_path, aws, config(nat)).down(), tmp_path,
                               lambda name: name.rsplit(".", 1)[1] in ADDED)
    assert points
    for at, world in points:
        restore(world)
        engine(state_path, aws, config(nat)).down()
        assert nothing_left() == {}, f"left after a crash of down at {at}"
        assert not state_path.exists()

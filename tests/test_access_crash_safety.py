"""Crash injection for what API access adds (usage plan, keys, Lambda permission, stage settings,
access log group, v2 link, autoscaling): die right after each of those writes, run again, and the
stack converges to exactly one of each; `down` cut short anywhere still leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from access_fixtures import ACCESS_CONFIG, make_function
from conftest import stack_session
from inventory import counts, inventory
from test_crash_safety import Crash
from test_lifecycle import EXPECTED

from gatewayproxy.aws import READ_PREFIXES, Aws
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


class CrashAfter:
    """Notes each write as `step:service.operation`; dies right after the armed one (the n-th
    write of that name) succeeded on the AWS side."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at: tuple[str, int] | None = None
        self.seen: list[str] = []
        original = Aws.call

        def call(aws: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
            result = original(aws, service, operation, **kwargs)
            if not operation.startswith(READ_PREFIXES) and service != "sts":
                name = f"{getattr(aws.step, 'name', '?')}:{service}.{operation}"
                self.seen.append(name)
                if self.at == (name, self.seen.count(name)):
                    raise Crash(name)
            return result

        monkeypatch.setattr(Aws, "call", call)

    def arm(self, at: tuple[str, int] | None) -> None:
        self.at = at
        self.seen = []

    def points(self) -> list[tuple[str, int]]:
        """The writes that belong to API access, each as (name, occurrence)."""
        return [(name, self.seen[:i + 1].count(name)) for i, name in enumerate(self.seen)
                if (name.split(":")[0] in NEW_STEPS and name.split(".")[-1] not in COVERED)
                or "application-autoscaling" in name]


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> CrashAfter:
    make_function()
    return CrashAfter(monkeypatch)


def engine(state_path: Path, aws: Aws) -> Engine:
    return stack_session(state_path, aws, FULL).engine(sequential=True)


def test_up_converges_after_a_crash_at_each_access_write(crasher: CrashAfter, aws: Aws,
                                                         tmp_path: Path) -> None:
    state_path = tmp_path / "stack.state.json"
    crasher.arm(None)
    engine(state_path, aws).up()
    points = crasher.points()
    engine(state_path, aws).down()
    assert len(points) >= 9
    print(f"\nup: {len(points)} API-access crash points")
    for at in points:
        crasher.arm(at)
        with pytest.raises(Crash) as crash:
            engine(state_path, aws).up()
        crasher.arm(None)
        engine(state_path, aws).up()
        assert dict(counts(REGION)) == WANTED, f"after a crash in {crash.value} ({at})"
        engine(state_path, aws).down()
        assert not any(inventory(REGION).values()), f"orphans after a crash in {crash.value}"


def test_down_converges_after_a_crash_at_each_access_write(crasher: CrashAfter, aws: Aws,
                                                           tmp_path: Path) -> None:
    state_path = tmp_path / "stack.state.json"

    def up_with_a_key() -> None:
        deployed = engine(state_path, aws)
        deployed.up()
        api_access.create_key(deployed.ctx, "k")

    crasher.arm(None)
    up_with_a_key()
    crasher.arm(None)
    engine(state_path, aws).down()
    points = crasher.points()
    assert len(points) >= 8
    print(f"\ndown: {len(points)} API-access crash points")
    for at in points:
        crasher.arm(None)
        up_with_a_key()
        crasher.arm(at)
        with pytest.raises(Crash) as crash:
            engine(state_path, aws).down()
        crasher.arm(None)
        engine(state_path, aws).down()
        left = {kind: items for kind, items in inventory(REGION).items() if items}
        assert not left, f"left after a crash in {crash.value} ({at}): {left}"

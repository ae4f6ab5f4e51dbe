"""A deletion's wait polls at most every 2 s (2/5 of the longest poll): in `down` each deletion's
end lets the next one start, so it is seen at most 2 s late; creations keep the longest poll."""

from __future__ import annotations

import io
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import CONFIG, FakeClock

from gatewayproxy import config as config_module
from gatewayproxy import steps
from gatewayproxy.aws import DELETION_POLL_SHARE, Aws, Target
from gatewayproxy.context import Context
from gatewayproxy.engine import Engine
from gatewayproxy.progress import Reporter
from gatewayproxy.resources.base import Found, Resource, WaitFor
from gatewayproxy.state import State

POLLS = 40  # reads before a wait is over: long enough to reach the longest poll


def _slow(state: str) -> WaitFor:
    """A wait that is over after POLLS reads of the resource."""
    return WaitFor(read=lambda ctx, found: found.update(reads=found.get("reads", 0) + 1) or (
        {"state": state} if found["reads"] >= POLLS else {"state": "busy"}),
        status=lambda f: f["state"], done=frozenset({state}))


@dataclass
class Slow(Resource):
    """Takes POLLS reads to be ready, and as many to be gone."""

    cloud: dict[str, Any] | None = None
    kind: ClassVar[str] = "slow thing"
    ready: ClassVar[WaitFor | None] = _slow("up")
    gone: ClassVar[WaitFor | None] = _slow("gone")

    def name(self, ctx: Context) -> str:
        return "slow"

    def identity(self, found: Found) -> Any:
        return "id-slow"

    def find(self, ctx: Context) -> Found | None:
        assert self.cloud is not None
        return self.cloud.get("slow")

    def create(self, ctx: Context) -> Found:
        assert self.cloud is not None
        self.cloud["slow"] = {"state": "busy"}
        return self.cloud["slow"]

    def delete(self, ctx: Context, found: Found) -> None:
        assert self.cloud is not None
        found.pop("reads", None)  # the gone wait counts its own reads
        self.cloud.pop("slow", None)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Engine:
    cloud: dict[str, Any] = {}
    module = types.ModuleType("alpha")
    module.NAME = "alpha"  # type: ignore[attr-defined]
    module.resources = lambda ctx: [Slow("alpha", "slow", cloud=cloud)]  # type: ignore[attr-defined]
    monkeypatch.setattr(steps, "ORDER", (module,))
    monkeypatch.setattr(steps, "NAMES", ("alpha",))
    aws = Aws(Target(region="eu-west-1"), clock=clock, max_poll=5.0)
    aws._account_id = "123456789012"  # no STS call: nothing here talks to AWS
    cfg = config_module.parse(tomllib.loads(CONFIG))
    state = State.load(tmp_path / "state.json", cfg.name)
    return Engine(Context(cfg, state, aws), Reporter(io.StringIO(), steps.NAMES, now=clock.now),
                  sequential=True)


@pytest.mark.unit
def test_a_deletion_polls_at_most_every_two_seconds_a_creation_every_five(
        engine: Engine, clock: FakeClock) -> None:
    engine.up()
    assert max(clock.slept) == 5.0  # a creation's wait keeps the longest poll
    clock.slept.clear()
    engine.down()
    assert engine.ctx.aws.deletion_poll == 5.0 * DELETION_POLL_SHARE == 2.0
    assert clock.slept[:3] == [1.0, 1.5, 2.0] and max(clock.slept) == 2.0
    assert len(clock.slept) == POLLS - 1


@pytest.mark.unit
def test_without_polling_a_deletion_does_not_poll_either(clock: FakeClock) -> None:
    aws = Aws(Target(region="eu-west-1"), clock=clock, max_poll=0.0)  # GATEWAYPROXY_POLL_SECONDS=0
    reads = iter([("busy", False), ("busy", False), ("gone", True)])

    def check() -> tuple[bool, str]:
        state, done = next(reads)
        return done, state

    aws.wait("thing deletion", check, timeout=60, longest=aws.deletion_poll)
    assert clock.slept == [0.0, 0.0]


@pytest.mark.unit
def test_a_delete_retried_while_in_use_polls_like_a_deletion(clock: FakeClock) -> None:
    from gatewayproxy.errors import AwsError
    from gatewayproxy.resources import ec2

    aws = Aws(Target(region="eu-west-1"), clock=clock, max_poll=5.0)
    refusals = iter(range(POLLS))

    def delete_subnet(**params: Any) -> None:
        if next(refusals, None) is not None:
            raise AwsError("DeleteSubnet", "DependencyViolation", "has dependencies")

    ec2.patiently(types.SimpleNamespace(aws=aws), delete_subnet, SubnetId="subnet-1")
    assert clock.slept[:3] == [1.0, 1.5, 2.0] and max(clock.slept) == 2.0

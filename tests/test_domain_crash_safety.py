"""Crash injection for the custom domain's writes: die right after each of them (adding
[api.domain], then removing it, then `down`), run again, and the stack converges to exactly one
of each (or none), the user's hosted zone untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, stack_session
from test_access_crash_safety import CrashAfter
from test_crash_safety import Crash
from test_domain import FULL, domain_inventory, make_zone

from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine

pytestmark = pytest.mark.crash

WITH_DOMAIN = CONFIG + '\n[api.domain]\nname = "api.quiz.example.com"\n'
DOMAIN_WRITES = ("acm.", "route53.", "domain_name", "base_path_mapping")


class DomainCrash(CrashAfter):
    def points(self) -> list[tuple[str, int]]:
        """The custom domain's writes, each as (name, occurrence)."""
        return [(name, self.seen[:i + 1].count(name)) for i, name in enumerate(self.seen)
                if any(part in name for part in DOMAIN_WRITES)]


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> DomainCrash:
    return DomainCrash(monkeypatch)


def engine(state_path: Path, aws: Aws, text: str) -> Engine:
    return stack_session(state_path, aws, text).engine(sequential=True)


def crash_then_rerun(crasher: DomainCrash, at: tuple[str, int], run: Any) -> str:
    crasher.arm(at)
    with pytest.raises(Crash) as crash:
        run()
    crasher.arm(None)
    run()
    return str(crash.value)


def test_adding_and_removing_the_domain_converge_after_a_crash_at_each_write(
        crasher: DomainCrash, aws: Aws, tmp_path: Path) -> None:
    zone = make_zone()
    state_path = tmp_path / "stack.state.json"
    crasher.arm(None)
    engine(state_path, aws, CONFIG).up()
    engine(state_path, aws, WITH_DOMAIN).up()
    added = crasher.points()
    crasher.arm(None)
    engine(state_path, aws, CONFIG).up()
    removed = crasher.points()
    assert len(added) >= 5 and len(removed) >= 5, (added, removed)
    for at in added:
        name = crash_then_rerun(crasher, at, lambda: engine(state_path, aws, WITH_DOMAIN).up())
        assert domain_inventory(zone) == FULL, f"after a crash in {name} ({at})"
        engine(state_path, aws, CONFIG).up()
        assert domain_inventory(zone) == {}, f"left after removing, crash in {name} ({at})"
    for at in removed:
        engine(state_path, aws, WITH_DOMAIN).up()
        name = crash_then_rerun(crasher, at, lambda: engine(state_path, aws, CONFIG).up())
        assert domain_inventory(zone) == {}, f"left after a crash in {name} ({at})"


def test_down_converges_after_a_crash_at_each_domain_write(
        crasher: DomainCrash, aws: Aws, tmp_path: Path) -> None:
    zone = make_zone()
    state_path = tmp_path / "stack.state.json"
    crasher.arm(None)
    engine(state_path, aws, WITH_DOMAIN).up()
    crasher.arm(None)
    engine(state_path, aws, WITH_DOMAIN).down()
    points = crasher.points()
    assert len(points) >= 5, points
    for at in points:
        engine(state_path, aws, WITH_DOMAIN).up()
        name = crash_then_rerun(crasher, at, lambda: engine(state_path, aws, WITH_DOMAIN).down())
        assert domain_inventory(zone) == {}, f"left after a crash in {name} ({at})"
        assert not state_path.exists() or "domain" not in state_path.read_text()

"""Crash injection for the custom domain's writes: die right after each of them (adding
[api.domain], then removing it, then `down`), run again, and the stack converges to exactly one
of each (or none), the user's hosted zone untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG, REGION, stack_session
from crashes import Writes, state_shape, unaccounted
from test_domain import FULL, domain_inventory, make_zone
from worlds import restore

from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine

pytestmark = pytest.mark.crash

WITH_DOMAIN = CONFIG + '\n[api.domain]\nname = "api.quiz.example.com"\n'
DOMAIN_WRITES = ("acm.", "route53.", "domain_name", "base_path_mapping")


def is_domain_write(name: str) -> bool:
    return any(part in name for part in DOMAIN_WRITES)


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Writes:
    return Writes(monkeypatch)


def engine(state_path: Path, aws: Aws, text: str) -> Engine:
    return stack_session(state_path, aws, text).engine(sequential=True)


def test_adding_and_removing_the_domain_converge_after_a_crash_at_each_write(
        crasher: Writes, aws: Aws, tmp_path: Path) -> None:
    zone = make_zone()
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, CONFIG).up()
    added = crasher.worlds_of(lambda: engine(state_path, aws, WITH_DOMAIN).up(), tmp_path,
                              is_domain_write)
    with_domain = state_shape(state_path)
    removed = crasher.worlds_of(lambda: engine(state_path, aws, CONFIG).up(), tmp_path,
                                is_domain_write)
    without = state_shape(state_path)
    assert len(added) >= 5 and len(removed) >= 5, (added, removed)
    for text, points, wanted, shape in ((WITH_DOMAIN, added, FULL, with_domain),
                                        (CONFIG, removed, {}, without)):
        for at, world in points:
            restore(world)
            engine(state_path, aws, text).up()
            assert domain_inventory(zone) == wanted, f"after a crash at {at}"
            assert unaccounted(state_path, REGION, shape) == {}, f"the state after a crash at {at}"


def test_down_converges_after_a_crash_at_each_domain_write(
        crasher: Writes, aws: Aws, tmp_path: Path) -> None:
    zone = make_zone()
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, WITH_DOMAIN).up()
    points = crasher.worlds_of(lambda: engine(state_path, aws, WITH_DOMAIN).down(), tmp_path,
                               is_domain_write)
    assert len(points) >= 5, points
    for at, world in points:
        restore(world)
        engine(state_path, aws, WITH_DOMAIN).down()
        assert domain_inventory(zone) == {}, f"left after a crash at {at}"
        assert not state_path.exists() or "domain" not in state_path.read_text()

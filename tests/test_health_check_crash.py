"""A crash after each write of the `up` that applies [container.health_check] and a route's
timeout_ms to a running stack (ModifyTargetGroup, UpdateService, the integrations, the
redeploy): the next `up` converges, and the one after writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG, REGION, stack_session
from crashes import Writes, unaccounted
from inventory import counts
from test_health_check import HTTP_CHECK, TIMEOUT
from test_lifecycle import EXPECTED
from worlds import restore

from gatewayproxy.aws import Aws

pytestmark = pytest.mark.crash
CHANGED = CONFIG.replace(*HTTP_CHECK).replace(*TIMEOUT)


def up(state_path: Path, aws: Aws, text: str) -> None:
    stack_session(state_path, aws, text).engine(sequential=True).up()


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Writes:
    return Writes(monkeypatch)


def test_a_health_check_change_converges_after_a_crash_at_every_write(
        crasher: Writes, aws: Aws, tmp_path: Path) -> None:
    """Crash points are taken going there (the config gains the settings) and coming back
    (they are removed)."""
    state_path = tmp_path / "stack.state.json"
    up(state_path, aws, CONFIG)
    there = crasher.worlds_of(lambda: up(state_path, aws, CHANGED), tmp_path)
    back = crasher.worlds_of(lambda: up(state_path, aws, CONFIG), tmp_path)
    assert len(there) >= 5  # modify_target_group, update_service, the methods, the deploy
    assert len(back) == len(there)  # the same writes, the other way
    for text, points in ((CHANGED, there), (CONFIG, back)):
        for at, world in points:
            restore(world)
            up(state_path, aws, text)
            assert dict(counts(REGION)) == EXPECTED, f"after a crash at write {at}"
            assert unaccounted(state_path, REGION) == {}, f"the state after a crash at {at}"
    crasher.arm(None)
    up(state_path, aws, CONFIG)
    assert crasher.writes == 0, "a second up after the crashes still writes"

"""A crash after each write of the `up` that applies [container.health_check] and a route's
timeout_ms to a running stack (ModifyTargetGroup, UpdateService, the integrations, the
redeploy): the next `up` converges, and the one after writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONFIG, REGION, stack_session
from inventory import counts
from test_crash_safety import Crash, CrashAfterWrite, crasher  # noqa: F401 - the fixture
from test_health_check import HTTP_CHECK, TIMEOUT
from test_lifecycle import EXPECTED

from gatewayproxy.aws import Aws

pytestmark = pytest.mark.crash
CHANGED = CONFIG.replace(*HTTP_CHECK).replace(*TIMEOUT)


def up(state_path: Path, aws: Aws, text: str) -> None:
    stack_session(state_path, aws, text).engine(sequential=True).up()


CHUNKS = 2  # the crash points, split so the suite can run them side by side


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_a_health_check_change_converges_after_a_crash_at_every_write(
        crasher: CrashAfterWrite, aws: Aws, tmp_path: Path, chunk: int) -> None:  # noqa: F811
    """Crash points are taken going there (the config gains the settings) and coming back
    (they are removed), by turns: the write order is the same both ways."""
    state_path = tmp_path / "stack.state.json"
    up(state_path, aws, CONFIG)
    crasher.arm(None)
    up(state_path, aws, CHANGED)
    points = crasher.writes
    assert points >= 5  # modify_target_group, update_service, the methods, the deploy
    current = CHANGED
    for at in range(1 + chunk, points + 1, CHUNKS):
        text = CONFIG if (at - 1) // CHUNKS % 2 else CHANGED  # alternating within a chunk
        if text is current:
            up(state_path, aws, CONFIG if text is CHANGED else CHANGED)
        crasher.arm(at)
        with pytest.raises(Crash):
            up(state_path, aws, text)
        crasher.arm(None)
        up(state_path, aws, text)
        current = text
        assert dict(counts(REGION)) == EXPECTED, f"after a crash at write {at}"
    crasher.arm(None)
    up(state_path, aws, current)
    assert crasher.writes == 0, "a second up after the crashes still writes"

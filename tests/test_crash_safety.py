"""Crash injection: kill `up` and `down` right after each write call succeeded on the AWS side and
before the client saw the answer, then run the same command again. It must converge: exactly one
of each resource, nothing orphaned, and a clean `down` afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REGION, stack_session
from inventory import counts, inventory
from test_lifecycle import EXPECTED

from gatewayproxy.aws import READ_PREFIXES, Aws
from gatewayproxy.engine import Engine

pytestmark = pytest.mark.crash


class Crash(BaseException):
    """Stands for SIGKILL: no handler of ours may catch it."""


class CrashAfterWrite:
    """Lets AWS perform the n-th write call, then dies before the caller sees the answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at: int | None = None
        self.writes = 0
        original = Aws.call

        def call(aws: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
            result = original(aws, service, operation, **kwargs)
            if not operation.startswith(READ_PREFIXES) and service != "sts":
                self.writes += 1
                if self.at is not None and self.writes == self.at:
                    raise Crash(f"{service}.{operation}")
            return result

        monkeypatch.setattr(Aws, "call", call)

    def arm(self, at: int | None) -> None:
        self.at = at
        self.writes = 0


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[CrashAfterWrite]:
    yield CrashAfterWrite(monkeypatch)


def engine(state_path: Path, aws: Aws, sequential: bool = True) -> Engine:
    """A fresh engine and state (as a new process would have) on a shared client layer."""
    return stack_session(state_path, aws).engine(sequential=sequential)


CHUNKS = 6  # the crash points, split so the suite can run them side by side


_COUNTED: dict[str, tuple[int, int]] = {}  # per worker: every chunk makes the same writes


def count_writes(crasher: CrashAfterWrite, aws: Aws, state_path: Path) -> tuple[int, int]:
    """How many writes a full `up` and a full `down` make, in an account that has the ECS
    service-linked role already (made once per account, so only a first `up` would make it).
    Counted once per worker: the chunks of one worker reuse the count (the same stack, config
    and emulator), which saves a full `up` and `down` each."""
    aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
    if "stack" in _COUNTED:
        return _COUNTED["stack"]
    crasher.arm(None)
    engine(state_path, aws).up()
    up_points = crasher.writes
    crasher.arm(None)
    engine(state_path, aws).down()
    _COUNTED["stack"] = (up_points, crasher.writes)
    return _COUNTED["stack"]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_up_and_down_converge_after_a_crash_at_every_write(crasher: CrashAfterWrite, aws: Aws,
                                                           tmp_path: Path, chunk: int) -> None:
    """Each round kills `up` at one write and, once it converged, `down` at one write."""
    state_path = tmp_path / "stack.state.json"
    up_points, down_points = count_writes(crasher, aws, state_path)
    assert up_points >= 40 and down_points >= 30
    rounds = range(1, max(up_points, down_points) + 1)[chunk::CHUNKS]
    for at in rounds:
        if at <= up_points:
            crasher.arm(at)
            with pytest.raises(Crash) as crash:
                engine(state_path, aws).up()
            crasher.arm(None)
        engine(state_path, aws).up()
        assert dict(counts(REGION)) == EXPECTED, f"after a crash of up at write {at}"
        if at <= down_points:
            crasher.arm(at)
            with pytest.raises(Crash) as crash:
                engine(state_path, aws).down()
            crasher.arm(None)
        engine(state_path, aws).down()
        left = {kind: items for kind, items in inventory(REGION).items() if items}
        assert not left, f"left after a crash of down in {crash.value} (write {at}): {left}"
        assert not state_path.exists()
    print(f"\nup: {up_points} crash points, down: {down_points}; this chunk: {len(rounds)}")


def test_parallel_up_converges_after_crashes(crasher: CrashAfterWrite, aws: Aws, tmp_path: Path) -> None:
    """The overlapping engine: a crash in one step's thread stops the others; a re-run converges."""
    state_path = tmp_path / "stack.state.json"
    for at in (1, 7, 13, 19, 25, 31, 37, 43):
        crasher.arm(at)
        with pytest.raises(Crash):
            engine(state_path, aws, sequential=False).up()
        crasher.arm(None)
        engine(state_path, aws, sequential=False).up()
        assert dict(counts(REGION)) == EXPECTED, f"after a crash at write {at}"
        engine(state_path, aws, sequential=False).down()
        assert not any(inventory(REGION).values())

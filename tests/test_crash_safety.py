"""Crash injection (tests/crashes.py): kill `up` and `down` right after each write call succeeded
on the AWS side and before the client saw the answer, then run the same command again. It must
converge: exactly one of each resource, nothing orphaned, and a clean `down` afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REGION, stack_session
from crashes import At, Crash, Writes, state_shape, unaccounted
from inventory import counts, inventory
from test_lifecycle import EXPECTED
from worlds import World, capture, restore

from gatewayproxy.aws import Aws
from gatewayproxy.engine import Engine

pytestmark = pytest.mark.crash


@pytest.fixture
def crasher(moto_account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Writes]:
    yield Writes(monkeypatch)


def engine(state_path: Path, aws: Aws, sequential: bool = True) -> Engine:
    """A fresh engine and state (as a new process would have) on a shared client layer."""
    return stack_session(state_path, aws).engine(sequential=sequential)


CHUNKS = 3  # the crash points, split so the suite can run them side by side
_REFERENCE: list[tuple[list[tuple[At, World]], dict[str, Any], list[tuple[At, World]]]] = []


def reference_run(crasher: Writes, aws: Aws, folder: Path
                  ) -> tuple[list[tuple[At, World]], dict[str, Any], list[tuple[At, World]]]:
    """The worlds at each write of one `up` and of the `down` after it, and the state's shape
    in between: made by the first chunk of this process, the same for the others (worlds are
    restored by copy)."""
    if not _REFERENCE:
        state_path = folder / "stack.state.json"
        # Made once per account, so only a first `up` would make it: not a write of the stack.
        aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
        # In an account that had the stack once: what its `down` leaves (INACTIVE clusters,
        # services and task definitions, deleted NAT gateways) must not be adopted.
        engine(state_path, aws).up()
        engine(state_path, aws).down()
        ups = crasher.worlds_of(lambda: engine(state_path, aws).up(), folder)
        converged = state_shape(state_path)
        _REFERENCE.append((ups, converged, crasher.worlds_of(
            lambda: engine(state_path, aws).down(), folder)))
    return _REFERENCE[0]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_up_and_down_converge_after_a_crash_at_every_write(crasher: Writes, aws: Aws,
                                                           tmp_path: Path, chunk: int) -> None:
    """The world a crash leaves at each write of `up` (then of `down`), captured in one run:
    the next run converges, to exactly one of each (then to nothing)."""
    state_path = tmp_path / "stack.state.json"
    ups, converged, downs = reference_run(crasher, aws, tmp_path)
    assert len(ups) >= 40 and len(downs) >= 30
    for at, world in ups[chunk::CHUNKS]:
        restore(world, tmp_path)
        engine(state_path, aws).up()
        assert dict(counts(REGION)) == EXPECTED, f"after a crash of up at write {at}"
        assert unaccounted(state_path, REGION, converged) == {}, f"the state after a crash at write {at}"
    for at, world in downs[chunk::CHUNKS]:
        restore(world, tmp_path)
        engine(state_path, aws).down()
        left = {kind: items for kind, items in inventory(REGION).items() if items}
        assert not left, f"left after a crash of down at write {at}: {left}"
        assert not state_path.exists()
    print(f"\nup: {len(ups)} crash points, down: {len(downs)}; this chunk: "
          f"{len(ups[chunk::CHUNKS]) + len(downs[chunk::CHUNKS])}")


def test_a_crash_raised_in_the_sequential_engine_comes_out_as_it_came(
        crasher: Writes, aws: Aws, tmp_path: Path) -> None:
    """The captured worlds stand for SIGKILL; a BaseException raised at a write (Ctrl-C, a
    simulated crash) must also pass every handler of ours, at the first, a middle and the last
    write of `up`, and the run after it converges."""
    state_path = tmp_path / "stack.state.json"
    aws.call("iam", "create_service_linked_role", AWSServiceName="ecs.amazonaws.com")
    empty = capture(tmp_path)
    crasher.arm(None)
    engine(state_path, aws).up()
    last = crasher.writes
    for at in (1, last // 2, last):
        restore(empty)
        crasher.arm(at)
        with pytest.raises(Crash):
            engine(state_path, aws).up()
        crasher.arm(None)
        engine(state_path, aws).up()
        assert dict(counts(REGION)) == EXPECTED, f"after a crash at write {at}"


def test_parallel_up_converges_after_crashes(crasher: Writes, aws: Aws, tmp_path: Path) -> None:
    """The overlapping engine: a crash in one step's thread stops the others; a re-run converges."""
    state_path = tmp_path / "stack.state.json"
    empty = capture(tmp_path)
    for at in (1, 7, 13, 19, 25, 31, 37, 43):
        restore(empty)
        crasher.arm(at)
        with pytest.raises(Crash):
            engine(state_path, aws, sequential=False).up()
        crasher.arm(None)
        engine(state_path, aws, sequential=False).up()
        assert dict(counts(REGION)) == EXPECTED, f"after a crash at write {at}"
        assert unaccounted(state_path, REGION) == {}, f"the state after a crash at write {at}"
    engine(state_path, aws, sequential=False).down()
    assert not any(inventory(REGION).values())

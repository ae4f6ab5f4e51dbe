"""A team on one S3 state: two folders' `up`s started together, a machine that died mid-`up`,
a third folder that only has the S3 state, and the crash-safety guarantees with the S3 backend."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import s3_fixtures
from click.testing import CliRunner, Result
from conftest import REGION
from crashes import Crash, Writes
from inventory import counts, inventory
from s3_fixtures import KEY, URL, WallClock, folder, keys_in_bucket, s3_session
from test_lifecycle import EXPECTED

from gatewayproxy.aws import Aws
from gatewayproxy.cli import main
from gatewayproxy.errors import StateError
from gatewayproxy.s3_state import LEASE_SECONDS

bucket, wall = s3_fixtures.bucket, s3_fixtures.wall  # fixtures


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", env=env)


def no_local_state(tmp_path: Path) -> bool:
    return not list(tmp_path.rglob(".gatewayproxy"))


def test_two_ups_started_together_one_works_and_the_other_is_refused_at_once(
        bucket: str, aws: Aws, tmp_path: Path) -> None:
    sessions = [s3_session(aws), s3_session(aws)]
    start, refused = threading.Barrier(2), threading.Event()
    outcome: dict[int, str] = {}

    def up(i: int) -> None:
        start.wait()
        try:
            with sessions[i].locked("up"):
                # the other one is refused while this one holds the lock, not after it
                assert refused.wait(10)
                sessions[i].engine(sequential=True).up()
                outcome[i] = "up"
        except StateError as exc:
            outcome[i] = str(exc)
            refused.set()

    threads = [threading.Thread(target=up, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.values())[-1] == "up", outcome
    loser = next(i for i, v in outcome.items() if v != "up")
    assert "is locked by" in outcome[loser] and "gatewayproxy unlock --state" in outcome[loser]
    assert dict(counts(REGION)) == EXPECTED
    assert keys_in_bucket() == [KEY]  # the winner released its lock
    assert no_local_state(tmp_path)


@pytest.mark.parametrize("cleared_by", ["unlock", "expiry"])
def test_a_lock_left_by_a_killed_up_is_cleared_and_another_folder_converges(
        bucket: str, aws: Aws, tmp_path: Path, wall: WallClock, cleared_by: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    crasher = Writes(monkeypatch)
    dying = s3_session(aws)
    dying.state.store.acquire("up")  # it is killed: nothing will ever release this lock
    lock_id = dying.state.store.lock_id
    crasher.arm(25)
    with pytest.raises(Crash):
        dying.engine(sequential=True).up()
    crasher.arm(None)

    second = folder(tmp_path, "second")
    refused = cli(second, "up", "--state", URL)
    assert refused.exit_code == 1
    assert f"lock id {lock_id}" in refused.output
    assert f"gatewayproxy unlock --state {URL} {lock_id}" in refused.output
    if cleared_by == "unlock":
        assert cli(second, "unlock", "--state", URL, str(lock_id)).exit_code == 0
    else:
        wall.now += LEASE_SECONDS + 1
    converged = cli(second, "up", "--state", URL)
    assert converged.exit_code == 0, converged.output
    assert dict(counts(REGION)) == EXPECTED  # no duplicate of what the killed `up` made

    third = folder(tmp_path, "third")
    from_s3 = {"GATEWAYPROXY_STATE": URL}
    status = cli(third, "status", "--json", env=from_s3)
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert report["exists"] and report["invoke_url"] and report["healthy"]
    down = cli(third, "down", "--yes", env=from_s3)
    assert down.exit_code == 0, down.output
    assert not any(inventory(REGION).values())
    assert keys_in_bucket() == []  # the state is gone, and no lock is left
    assert no_local_state(tmp_path)


class CrashAfterStatePut:
    """Lets S3 store the n-th write of the state object, then dies before the writer sees the
    answer: the state in S3 is newer than the process knew (the local crash tests' twin)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at: int | None = None
        self.puts = 0
        original = Aws.call

        def call(aws: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
            result = original(aws, service, operation, **kwargs)
            if (service, operation, kwargs.get("Key")) == ("s3", "put_object", KEY):
                self.puts += 1
                if self.at is not None and self.puts == self.at:
                    raise Crash(f"state write {self.puts}")
            return result

        monkeypatch.setattr(Aws, "call", call)

    def arm(self, at: int | None) -> None:
        self.at, self.puts = at, 0


@pytest.mark.crash
@pytest.mark.parametrize("up_at, down_at", [(1, 1), (25, 15)])
def test_up_and_down_on_an_s3_state_converge_after_a_crash_after_a_state_write(
        bucket: str, aws: Aws, monkeypatch: pytest.MonkeyPatch, up_at: int, down_at: int) -> None:
    """Killed right after the state object was written, the next run from a fresh process
    (reading the state anew, with its new ETag) converges: one of each, nothing left after
    `down`, no state object left. Crashes after an AWS resource's write: the test above."""
    crasher = CrashAfterStatePut(monkeypatch)
    crasher.arm(up_at)
    with pytest.raises(Crash):
        s3_session(aws).engine(sequential=True).up()
    crasher.arm(None)
    s3_session(aws).engine(sequential=True).up()
    assert dict(counts(REGION)) == EXPECTED, f"after a crash of up at state write {up_at}"
    crasher.arm(down_at)
    with pytest.raises(Crash):
        s3_session(aws).engine(sequential=True).down()
    crasher.arm(None)
    s3_session(aws).engine(sequential=True).down()
    assert not any(inventory(REGION).values()), f"after a crash of down at state write {down_at}"
    assert keys_in_bucket() == []

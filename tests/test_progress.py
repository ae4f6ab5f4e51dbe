"""Progress says the truth: waiting is not running, and nothing is left running after close.

Every test runs on the FakeClock (time moves only when the test sleeps it) and draws the live
table into a string, without rich's refresh thread."""

from __future__ import annotations

import io
import threading

from conftest import FakeClock
from rich.console import Console

from gatewayproxy.progress import LiveReporter, Reporter

NAMES = ("nat_gateway", "load_balancer", "service")


def plain(clock: FakeClock) -> tuple[Reporter, io.StringIO]:
    stream = io.StringIO()
    return Reporter(stream, NAMES, clock.now), stream


def live(clock: FakeClock) -> tuple[LiveReporter, io.StringIO]:
    out = io.StringIO()
    return LiveReporter(Console(file=out, width=80), NAMES, clock.now, auto_refresh=False), out


def drawn(reporter: LiveReporter) -> list[str]:
    console = Console(file=io.StringIO(), width=80)
    console.print(reporter.table())
    return [line.rstrip() for line in console.file.getvalue().splitlines()]


def test_plain_lines_say_waiting_once_per_change_then_started(clock: FakeClock) -> None:
    reporter, stream = plain(clock)
    reporter.waiting("service", "NLB")
    clock.sleep(5)
    reporter.waiting("service", "NLB")  # every poll asks again: printed once
    reporter.waiting("service", "NAT gateway")
    reporter.started("service")
    reporter.waiting("service", "NAT gateway")  # after running, waiting again is news
    clock.sleep(70)
    reporter.finished("service", 75.04, "2 created, 1 updated")
    reporter.finished("nat_gateway", 3.0, 4)
    assert stream.getvalue().splitlines() == [
        "[0:00] 3. service waiting for NLB",
        "[0:05] 3. service waiting for NAT gateway",
        "[0:05] 3. service started",
        "[0:05] 3. service waiting for NAT gateway",
        "[1:15] 3. service done in 75.0s (2 created, 1 updated)",
        "[1:15] 1. nat_gateway done in 3.0s",
    ]


def test_plain_close_stops_what_was_running_or_waiting(clock: FakeClock) -> None:
    reporter, stream = plain(clock)
    reporter.started("nat_gateway")
    reporter.waiting("service", "NLB")
    reporter.started("load_balancer")
    reporter.failed("load_balancer", RuntimeError("quota exceeded"))
    clock.sleep(2)
    reporter.stopped("nat_gateway")
    reporter.stopped("nat_gateway")  # once
    reporter.stopped("load_balancer")  # FAILED stays FAILED
    reporter.close()
    reporter.close()
    assert stream.getvalue().splitlines() == [
        "[0:00] 1. nat_gateway started",
        "[0:00] 3. service waiting for NLB",
        "[0:00] 2. load_balancer started",
        "[0:00] 2. load_balancer FAILED: quota exceeded",
        "[0:02] 1. nat_gateway stopped",
        "[0:02] 3. service stopped",
    ]


def test_plain_close_after_success_prints_nothing(clock: FakeClock) -> None:
    reporter, stream = plain(clock)
    reporter.started("service")
    reporter.finished("service", 1.0, 2)
    reporter.close()
    assert stream.getvalue().splitlines() == ["[0:00] 3. service started",
                                              "[0:00] 3. service done in 1.0s"]


def test_live_row_waits_then_runs_on_the_runs_clock(clock: FakeClock) -> None:
    reporter, _ = live(clock)
    reporter.waiting("service", "NLB")
    reporter.started("nat_gateway")
    clock.sleep(65)
    reporter.message("nat_gateway", "NAT gateway pending 1:05")
    assert drawn(reporter) == [
        "1. nat_gateway    running  1:05  NAT gateway pending 1:05",
        "2. load_balancer  pending",
        "3. service        waiting        waiting for NLB",
    ]
    reporter.started("service")
    clock.sleep(3)
    assert drawn(reporter)[2] == "3. service        running  0:03"
    reporter.close()


def test_live_done_shows_the_words_or_the_count(clock: FakeClock) -> None:
    reporter, _ = live(clock)
    reporter.finished("nat_gateway", 70.2, "2 created, 1 updated")
    reporter.finished("load_balancer", 5.0, 3)
    assert drawn(reporter)[:2] == ["1. nat_gateway    done     1:10  2 created, 1 updated",
                                   "2. load_balancer  done     0:05  3 resources"]
    reporter.close()


def test_live_close_leaves_no_row_running(clock: FakeClock) -> None:
    """After a failure (or Ctrl-C) the last frame shows stopped, never running or waiting."""
    reporter, out = live(clock)
    reporter.started("nat_gateway")
    reporter.started("load_balancer")
    reporter.waiting("service", "NLB")
    clock.sleep(42)
    reporter.failed("load_balancer", RuntimeError("quota exceeded"))
    reporter.stopped("load_balancer")  # FAILED stays FAILED
    reporter.close()
    expected = ["1. nat_gateway    stopped  0:42",
                "2. load_balancer  FAILED         quota exceeded",
                "3. service        stopped        waiting for NLB"]
    assert drawn(reporter) == expected
    last_frame = [line.rstrip() for line in out.getvalue().splitlines()]
    assert last_frame == expected
    assert "running" not in out.getvalue()


def test_live_stopped_marks_a_cancelled_row(clock: FakeClock) -> None:
    reporter, _ = live(clock)
    reporter.started("service")
    clock.sleep(9)
    reporter.stopped("service")
    clock.sleep(30)  # a stopped row's time no longer moves
    reporter.finished("nat_gateway", 1.0, 1)
    reporter.stopped("nat_gateway")  # done stays done
    assert drawn(reporter)[0::2] == ["1. nat_gateway    done     0:01  1 resources",
                                     "3. service        stopped  0:09"]
    reporter.close()


def test_live_without_auto_refresh_starts_no_thread(clock: FakeClock) -> None:
    before = set(threading.enumerate())
    reporter, out = live(clock)
    reporter.started("service")
    assert set(threading.enumerate()) == before
    assert out.getvalue() == ""  # no frame drawn until close
    reporter.close()


def test_plain_lines_skip_only_a_wait_whose_clock_moved(clock: FakeClock) -> None:
    """A step's resources run side by side: two messages that differ in their last word are
    two things happening; a wait that reports again with a later time is one."""
    reporter, stream = plain(clock)
    reporter.message("nat_gateway", "creating private subnet quizapi-private-subnet-0")
    reporter.message("nat_gateway", "creating private subnet quizapi-private-subnet-1")
    reporter.message("nat_gateway", "NAT gateway nat-1 pending 0:01")
    reporter.message("nat_gateway", "NAT gateway nat-1 pending 0:12")
    assert [line.split(" ", 3)[3] for line in stream.getvalue().splitlines()] == [
        "creating private subnet quizapi-private-subnet-0",
        "creating private subnet quizapi-private-subnet-1",
        "NAT gateway nat-1 pending 0:01"]

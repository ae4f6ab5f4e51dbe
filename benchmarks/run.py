"""Benchmark: `up` and `down` against in-process moto with AWS-like waits, scaled down.

Prints, from one run: the overlapping engine's wall time against the critical path the same
latencies imply and against the sequential engine; the AWS calls of each command; and the
start-up of `gatewayproxy --help` against `python -c pass`.

    .venv/bin/python benchmarks/run.py [--scale 0.05] [--details] [--isolated]
                                       [--unscaled-first-poll]

Every time constant scales: the waits (benchmarks/latency.py), the longest poll (15 s on AWS) and
the first poll and retry delay (1 s on AWS), so each wait is polled on AWS's schedule, scaled.
The emulator's one-time costs (service models, moto's region backends) are paid before any clock
starts; everything a command does, every AWS call included, is inside its wall time.

Two stacks of different names in different regions of one moto account: the overlapping one
(up, no-op up, status, down) and the sequential one (up, down). By default they run side by side
(the sequential one starts first; the overlapping one once the sequential one's network exists),
so a run takes under a minute at 1/20; `--isolated` runs them one after the other instead.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latency import AFTER, LATENCIES, Latency, Observation, critical_path, sequential

from gatewayproxy import aws as aws_module
from gatewayproxy import config, steps
from gatewayproxy.aws import READ_PREFIXES, Aws, Target
from gatewayproxy.engine import Engine, RunResult
from gatewayproxy.progress import Reporter
from gatewayproxy.session import Options, StackSession
from gatewayproxy.state import State

AWS_POLL_SECONDS = 15.0  # gatewayproxy's longest poll interval on AWS (GATEWAYPROXY_POLL_SECONDS)
STARTUP_RUNS = 10

CONFIG = """\
[stack]
name = "{name}"
region = "{region}"

[container]
image = "public.ecr.aws/nginx/nginx:1.27"
port = 8080
desired_count = 2

[api]
stage = "live"

[[api.routes]]
path = "/answers"
methods = ["GET", "POST"]

[[api.routes]]
path = "/teams/{{team}}"
methods = ["GET"]
"""


# -- measuring one command ----------------------------------------------------------------------
class Timeline(Reporter):
    """A reporter that keeps, with a monotonic time, when each step started, said something and
    finished."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), steps.NAMES)
        self.events: list[tuple[float, str, str]] = []
        self.done = {name: threading.Event() for name in steps.NAMES}
        self._said: dict[str, str] = {}

    def _at(self, step: str, what: str) -> None:
        with self._lock:
            self.events.append((time.monotonic(), step, what))

    def started(self, step: str) -> None:
        self._at(step, "started")

    def message(self, step: str, text: str) -> None:
        key = text.rsplit(" ", 1)[0]  # a wait's line without its clock
        if self._said.get(step) != key:
            self._said[step] = key
            self._at(step, text)

    def finished(self, step: str, seconds: float, resources: int) -> None:
        self._at(step, f"done ({seconds:.2f} s)")
        self.done[step].set()

    def failed(self, step: str, error: BaseException) -> None:
        self._at(step, f"FAILED: {error}")


@dataclass
class Measured:
    command: str
    seconds: float
    calls: Counter[tuple[str, str]]
    began: float
    timeline: Timeline

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(n for (_, op), n in self.calls.items() if not op.startswith(READ_PREFIXES))


@dataclass
class Stack:
    """One stack: its config, state file and a fresh client layer per command (a new process)."""

    name: str
    region: str
    state_path: Path
    max_poll: float
    runs: list[Measured] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config = config.parse(tomllib.loads(CONFIG.format(name=self.name, region=self.region)))

    def run(self, command: str, action: Callable[[Engine], Any], sequential: bool = False,
            limit: float = 600.0, timeline: Timeline | None = None) -> Measured:
        """Time one command, from loading the state to its end, AWS overhead included."""
        timeline = timeline or Timeline()
        began = time.monotonic()
        session = StackSession(self.config, State.load(self.state_path, self.name),
                               options=Options(region=self.region), max_poll=self.max_poll)
        aws = session.aws
        before = Counter(aws.calls.counts)
        watchdog = threading.Timer(limit, aws.cancel.set)  # a hang ends as a failed command
        watchdog.start()
        try:
            outcome = action(session.engine(timeline, sequential=sequential))
        finally:
            watchdog.cancel()
        seconds = time.monotonic() - began
        if isinstance(outcome, RunResult):
            failed = [f"{r.name}: {r.error}" for r in outcome.results if r.error is not None]
            if failed:
                raise RuntimeError(f"{self.name} {command} did not finish: {'; '.join(failed)}")
        measured = Measured(command, seconds, aws.calls.counts - before, began, timeline)
        self.runs.append(measured)
        return measured


def check_status(engine: Engine) -> None:
    unhealthy = [s.name for s in engine.status() if not (s.done and s.healthy is not False)]
    if unhealthy:
        raise RuntimeError(f"status after up: not done or unhealthy: {', '.join(unhealthy)}")


def overlapping(stack: Stack, scale: float) -> None:
    limit = 30 + 3 * sequential("up", scale)
    stack.run("up", Engine.up, limit=limit)
    noop = stack.run("no-op up", Engine.up, limit=limit)
    if noop.writes:
        raise RuntimeError(f"a no-op up wrote: {dict(noop.calls)}")
    stack.run("status", check_status)
    stack.run("down", Engine.down, limit=30 + 3 * sequential("down", scale))


def one_by_one(stack: Stack, scale: float, network_ready: threading.Event | None = None) -> None:
    timeline = Timeline()
    if network_ready is not None:  # let the other stack start once this one's first burst is over
        def signal(ready: threading.Event = network_ready) -> None:
            timeline.done["private_subnet"].wait()
            ready.set()

        threading.Thread(target=signal, daemon=True).start()
    try:
        stack.run("up", Engine.up, sequential=True, limit=30 + 3 * sequential("up", scale),
                  timeline=timeline)
    finally:
        if network_ready is not None:
            network_ready.set()
    stack.run("down", Engine.down, sequential=True, limit=30 + 3 * sequential("down", scale))


# -- the emulated account -----------------------------------------------------------------------
def isolate_environment() -> None:
    """Fake credentials, no profile, no endpoint: every call goes to in-process moto."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN",
                 "GATEWAYPROXY_POLL_SECONDS"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)


@contextmanager
def first_poll(seconds: float) -> Iterator[None]:
    """Scale the first poll and retry delay (1 s on AWS) like everything else."""
    original = aws_module.FIRST_POLL_SECONDS
    aws_module.FIRST_POLL_SECONDS = seconds
    try:
        yield
    finally:
        aws_module.FIRST_POLL_SECONDS = original


@dataclass
class Benchmark:
    scale: float
    isolated: bool
    scale_first_poll: bool
    latency: Latency | None = None
    fast: Stack | None = None
    slow: Stack | None = None

    def run(self, workdir: Path) -> None:
        from moto import mock_aws

        from gatewayproxy.emulator import patch_moto

        max_poll = AWS_POLL_SECONDS * self.scale
        self.fast = Stack("bench-overlap", "eu-west-1", workdir / "overlap.json", max_poll)
        self.slow = Stack("bench-sequential", "eu-west-2", workdir / "sequential.json", max_poll)
        self.latency = Latency(self.scale)
        patch_moto()
        poll = first_poll(aws_module.FIRST_POLL_SECONDS * self.scale) if self.scale_first_poll \
            else nullcontext()
        with mock_aws(), self.latency.installed(), poll:
            warm_up([self.fast.region, self.slow.region])
            if self.isolated:
                overlapping(self.fast, self.scale)
                one_by_one(self.slow, self.scale)
                return
            network_ready = threading.Event()
            errors: list[BaseException] = []

            def slow_stack() -> None:
                try:
                    assert self.slow is not None
                    one_by_one(self.slow, self.scale, network_ready)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                    errors.append(exc)
                    network_ready.set()

            thread = threading.Thread(target=slow_stack, name="sequential")
            thread.start()
            network_ready.wait()
            try:
                if not errors:
                    overlapping(self.fast, self.scale)
            finally:
                thread.join()
            if errors:
                raise errors[0]


# One read per service: botocore parses its models, moto builds its per-region backends.
WARM_UP = (("sts", "get_caller_identity"), ("iam", "list_roles"), ("logs", "describe_log_groups"),
           ("ecs", "list_clusters"), ("ec2", "describe_vpcs"), ("elbv2", "describe_load_balancers"),
           ("apigateway", "get_vpc_links"))


def warm_up(regions: list[str]) -> None:
    """Pay the emulator's one-time costs before any clock starts: parsing the service models
    (a real process pays that at start-up), building moto's backends of each region (AWS has no
    such cost), then freezing what exists so the garbage collector stops walking moto's data."""
    for region in regions:
        aws = Aws(Target(region=region), max_poll=0.0)
        for service, operation in WARM_UP:
            aws.call(service, operation)
    gc.collect()
    gc.freeze()


# -- start-up -----------------------------------------------------------------------------------
def median_seconds(argv: list[str], runs: int = STARTUP_RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def help_imports(module: str) -> list[str]:
    found = subprocess.run([sys.executable, "-X", "importtime", "-m", "gatewayproxy", "--help"],
                           check=True, capture_output=True, text=True).stderr
    return [line for line in found.splitlines() if module in line]


# -- printing -----------------------------------------------------------------------------------
def scale_text(scale: float) -> str:
    inverse = 1 / scale
    return f"1/{inverse:g}" if abs(inverse - round(inverse)) < 1e-9 else f"{scale:g}"


def print_report(bench: Benchmark, startup: tuple[float, float, list[str]], details: bool) -> None:
    assert bench.fast is not None and bench.slow is not None and bench.latency is not None
    scale = bench.scale
    fast = {m.command: m for m in bench.fast.runs}
    slow = {m.command: m for m in bench.slow.runs}
    longest = AWS_POLL_SECONDS * scale
    first = min(aws_module.FIRST_POLL_SECONDS * (scale if bench.scale_first_poll else 1), longest)
    print(f"gatewayproxy benchmark: in-process moto with AWS-like waits scaled {scale_text(scale)}"
          f" ({'one stack after the other' if bench.isolated else 'both stacks side by side'})")
    print(f"polls: first {first:g} s, then x1.5 up to {longest:g} s "
          f"(on AWS: {aws_module.FIRST_POLL_SECONDS:g} s up to {AWS_POLL_SECONDS:g} s)")
    print()
    print(f"{'wait':<24}{'AWS':>7}{'scaled':>9}")
    for command in ("up", "down"):
        for wait in AFTER[command]:
            print(f"{wait:<24}{LATENCIES[wait]:>6g}s{LATENCIES[wait] * scale:>8.2f}s")
    print()
    print(f"{'command':<9}{'overlapping':>13}{'critical path':>15}{'ratio':>7}"
          f"{'sequential':>12}{'sequential sum':>16}{'speed-up':>10}")
    for command in ("up", "down"):
        path, _ = critical_path(command, scale)
        wall = fast[command].seconds
        seq = slow[command].seconds
        print(f"{command:<9}{wall:>12.2f}s{path:>14.2f}s{wall / path:>7.3f}"
              f"{seq:>11.2f}s{sequential(command, scale):>15.2f}s{seq / wall:>9.2f}x")
    for command in ("up", "down"):
        print(f"critical path of {command}: {' -> '.join(critical_path(command, scale)[1])}")
    print()
    print(f"{'AWS calls':<18}{'total':>7}{'writes':>8}")
    rows = [*((name, fast[name]) for name in ("up", "no-op up", "status", "down")),
            *((f"{name} (sequential)", slow[name]) for name in ("up", "down"))]
    for label, measured in rows:
        print(f"{label:<18}{measured.total:>7}{measured.writes:>8}")
    print()
    helped, bare, boto = startup
    print(f"start-up, median of {STARTUP_RUNS}")
    print(f"{'gatewayproxy --help':<22}{helped * 1000:>7.0f} ms")
    print(f"{'python -c pass':<22}{bare * 1000:>7.0f} ms")
    print(f"--help imports boto3: {'yes: ' + boto[0].strip() if boto else 'no'}")
    if details:
        print_details(bench)


def print_details(bench: Benchmark) -> None:
    assert bench.fast is not None and bench.slow is not None and bench.latency is not None
    observations = bench.latency.observations()
    for stack in (bench.fast, bench.slow):
        for measured in stack.runs:
            if measured.command not in ("up", "down"):
                continue
            print()
            print(f"{stack.name} {measured.command}: {measured.seconds:.2f} s")
            for at, step, what in measured.timeline.events:
                print(f"  {at - measured.began:7.2f}  {step:<16}{what}")
            end = measured.began + measured.seconds
            waits = [o for o in observations
                     if o.region == stack.region and measured.began <= o.seen <= end]
            if waits:
                print(f"  {'wait':<24}{'could start':>12}{'over':>8}{'seen':>8}{'late':>7}")
                for o in waits:
                    print_observation(o, measured.began)


def print_observation(o: Observation, began: float) -> None:
    print(f"  {o.wait:<24}{o.start - began:>12.2f}{o.ready - began:>8.2f}{o.seen - began:>8.2f}"
          f"{o.seen - o.ready:>7.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=0.05,
                        help="AWS seconds -> emulated seconds (default 0.05, i.e. 1/20)")
    parser.add_argument("--isolated", action="store_true",
                        help="run the two stacks one after the other (about 70 s at 1/20)")
    parser.add_argument("--unscaled-first-poll", action="store_true",
                        help="keep gatewayproxy's 1 s first poll instead of scaling it")
    parser.add_argument("--details", action="store_true",
                        help="also print each command's step timeline and when each wait was seen")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    isolate_environment()
    executable = Path(sys.executable)
    startup = (median_seconds([str(executable.parent / "gatewayproxy"), "--help"]),
               median_seconds([str(executable), "-c", "pass"]), help_imports("boto3"))
    bench = Benchmark(args.scale, args.isolated, not args.unscaled_first_poll)
    with tempfile.TemporaryDirectory(prefix="gatewayproxy-bench-") as workdir:
        bench.run(Path(workdir))
    print_report(bench, startup, args.details)


if __name__ == "__main__":
    main()

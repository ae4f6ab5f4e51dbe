"""Benchmark: `up` and `down` against in-process moto with AWS-like waits, scaled down.

Prints, from one run, every ratio beside its goal (issue 12), and exits non-zero when one
misses it (so CI could run it; it is not a test):

- the first `up` of a stack with a v2 VPC link (the default) and of one with a v1 link, each
  against the critical path its waits imply (goal <= 1.05);
- the v2 stack's `up` against the best `up` a v1 link allows, the NLB then the link (<= 0.80);
- `down` of each against its critical path (<= 1.05): every chain of deletions from when its
  first resource went, through its waits, to the calls AWS requires once its last is over (the
  subnets, groups, Elastic IP and internet gateway it held, then the VPC: latency.THEN);
- an image change's `up` against the rolling update's own path: new tasks running and healthy,
  the old targets drained for the 30 s deregistration delay (<= 1.10);
- the no-op `up`'s AWS calls per operation (one describe per kind, but the named exceptions of
  tests/test_noop_reads.py) and its wall time with 80 ms added to every AWS call (unscaled);
- the start-up of `gatewayproxy --help` against `python -c pass`.

    .venv/bin/python benchmarks/run.py [--scale 0.05] [--details] [--side-by-side]
                                       [--unscaled-first-poll]

Every time constant scales: the waits (benchmarks/latency.py), the longest poll (5 s on AWS) and
the first poll and retry delay (1 s on AWS), so each wait is polled on AWS's schedule, scaled.
The emulator's one-time costs (service models, moto's region backends) are paid before any clock
starts; everything a command does, every AWS call included, is inside its wall time. The two
stacks (different names, different regions of one moto account) run one after the other, or
with `--side-by-side` at the same time (quicker, noisier).
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

from latency import AFTER, LATENCIES, THEN, Latency, Observation, critical_path, v1_chain

from gatewayproxy import aws as aws_module
from gatewayproxy import config, steps
from gatewayproxy.aws import READ_PREFIXES, Aws, Target
from gatewayproxy.engine import Engine, RunResult
from gatewayproxy.progress import Reporter
from gatewayproxy.session import Options, StackSession
from gatewayproxy.state import State

AWS_POLL_SECONDS = aws_module.DEFAULT_POLL_SECONDS  # the longest poll on AWS (GATEWAYPROXY_POLL_SECONDS)
STARTUP_RUNS = 10
CALL_LATENCY = 0.080  # seconds a call to AWS takes, for the no-op up's wall time (unscaled)
# Issue 12's goals: ratio -> most it may be.
GOALS = {"up": 1.05, "up (v1)": 1.05, "v2 / best v1": 0.80, "down": 1.05, "down (v1)": 1.05,
         "image change": 1.10}
NEW_IMAGE = "public.ecr.aws/nginx/nginx:1.28"

CONFIG = """\
[stack]
name = "{name}"
region = "{region}"

[container]
image = "{image}"
port = 8080
desired_count = 2

[api]
stage = "live"
{link}

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
    link: str | None = None  # api.vpc_link; None: the default
    runs: list[Measured] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.configure("public.ecr.aws/nginx/nginx:1.27")

    def configure(self, image: str) -> None:
        link = f'vpc_link = "{self.link}"' if self.link else ""
        self.config = config.parse(tomllib.loads(CONFIG.format(name=self.name, region=self.region,
                                                               image=image, link=link)))

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


def limit(command: str, scale: float) -> float:
    return 30 + 3 * critical_path(command, scale)[0]


def v2_stack(stack: Stack, scale: float, latency: Latency) -> None:
    """The default stack: up, no-op up (then again with AWS-like call latency), status, an
    image change's up, down."""
    stack.run("up", Engine.up, limit=limit("up", scale))
    noop = stack.run("no-op up", Engine.up, limit=limit("up", scale))
    if noop.writes:
        raise RuntimeError(f"a no-op up wrote: {dict(noop.calls)}")
    latency.call_delay = CALL_LATENCY
    try:
        stack.run("no-op up (80 ms a call)", Engine.up, limit=limit("up", scale) + 60)
    finally:
        latency.call_delay = 0.0
    stack.run("status", check_status)
    stack.configure(NEW_IMAGE)
    stack.run("image change", Engine.up, limit=limit("image", scale))
    stack.run("down", Engine.down, limit=limit("down", scale))


def v1_stack(stack: Stack, scale: float) -> None:
    stack.run("up (v1)", Engine.up, limit=limit("up (v1)", scale))
    stack.run("down (v1)", Engine.down, limit=limit("down (v1)", scale))


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
        self.fast = Stack("bench-v2", "eu-west-1", workdir / "v2.json", max_poll)
        self.slow = Stack("bench-v1", "eu-west-2", workdir / "v1.json", max_poll, link="v1")
        self.latency = Latency(self.scale)
        patch_moto()
        poll = first_poll(aws_module.FIRST_POLL_SECONDS * self.scale) if self.scale_first_poll \
            else nullcontext()
        with mock_aws(), self.latency.installed(), poll:
            warm_up([self.fast.region, self.slow.region])
            if self.isolated:
                v2_stack(self.fast, self.scale, self.latency)
                v1_stack(self.slow, self.scale)
                return
            errors: list[BaseException] = []

            def other() -> None:
                try:
                    assert self.slow is not None
                    v1_stack(self.slow, self.scale)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                    errors.append(exc)

            thread = threading.Thread(target=other, name="v1")
            thread.start()
            try:
                v2_stack(self.fast, self.scale, self.latency)
            finally:
                thread.join()
            if errors:
                raise errors[0]


# One read per service: botocore parses its models, moto builds its per-region backends.
WARM_UP = (("sts", "get_caller_identity"), ("iam", "list_roles"), ("logs", "describe_log_groups"),
           ("ecs", "list_clusters"), ("ec2", "describe_vpcs"), ("elbv2", "describe_load_balancers"),
           ("apigateway", "get_vpc_links"), ("apigatewayv2", "get_vpc_links"))


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


def head_start(bench: Benchmark, stack: Stack, measured: Measured, wait: str) -> float:
    """Seconds into the command when the chain's first wait could start (its resource was
    created or deleted): the calls before it are not AWS waits, and unlike the waits they are
    not scaled (about 1 s of calls on AWS against minutes of waits; 10 % of a 1/20 run)."""
    assert bench.latency is not None
    end = measured.began + measured.seconds
    starts = [o.start for o in bench.latency.observations()
              if o.wait == wait and o.region == stack.region and measured.began <= o.seen <= end]
    return min(starts) - measured.began if starts else 0.0


def tail_seconds(bench: Benchmark, stack: Stack, measured: Measured, wait: str) -> float:
    """The measured time of the calls AWS requires after `wait` (latency.THEN): per stage, the
    longest of its calls made once the wait was over; the stages one after another."""
    assert bench.latency is not None
    end = measured.began + measured.seconds
    over = [o.ready for o in bench.latency.observations()
            if o.wait == wait and o.region == stack.region and measured.began <= o.seen <= end]
    if not over:
        return 0.0
    calls = [c for c in bench.latency.calls()
             if c.region == stack.region and max(over) <= c.start <= end]
    return sum(max((c.end - c.start for c in calls if c.operation in stage), default=0.0)
               for stage in THEN.get(wait, ()))


def ratios(bench: Benchmark) -> list[tuple[str, float, float, float, str]]:
    """(name, wall seconds, its path's waits, the same with the calls around them (before each
    chain's first wait, and those AWS requires after its last), what that path is)."""
    assert bench.fast is not None and bench.slow is not None
    scale = bench.scale
    rows = []
    for stack in (bench.fast, bench.slow):
        for measured in stack.runs:
            command = {"image change": "image"}.get(measured.command, measured.command)
            if command not in AFTER:
                continue
            path, _ = critical_path(command, scale)
            graph = AFTER[command]
            heads = {w: head_start(bench, stack, measured, w) for w, deps in graph.items()
                     if not deps}
            tails = {w: tail_seconds(bench, stack, measured, w) for w in graph if w in THEN}
            headed, chain = critical_path(command, scale, heads, tails)
            rows.append((measured.command, measured.seconds, path, headed, " -> ".join(chain)))
            if command == "up":
                best = v1_chain(scale)
                head = head_start(bench, stack, measured, "load_balancer.active")
                rows.append(("v2 / best v1", measured.seconds, best, head + best,
                             "load_balancer.active -> vpc_link.available"))
    order = list(GOALS)
    return sorted(rows, key=lambda row: order.index(row[0]))


def print_report(bench: Benchmark, startup: tuple[float, float, list[str]],
                 details: bool) -> bool:
    """Print the run; True when every ratio meets its goal."""
    assert bench.fast is not None and bench.slow is not None and bench.latency is not None
    scale = bench.scale
    runs = {m.command: m for m in [*bench.fast.runs, *bench.slow.runs]}
    longest = AWS_POLL_SECONDS * scale
    first = min(aws_module.FIRST_POLL_SECONDS * (scale if bench.scale_first_poll else 1), longest)
    print(f"gatewayproxy benchmark: in-process moto with AWS-like waits scaled {scale_text(scale)}"
          f" ({'one stack after the other' if bench.isolated else 'both stacks side by side'})")
    print(f"polls: first {first:g} s, then x1.5 up to {longest:g} s "
          f"(on AWS: {aws_module.FIRST_POLL_SECONDS:g} s up to {AWS_POLL_SECONDS:g} s)")
    print()
    print(f"{'wait':<24}{'AWS':>7}{'scaled':>9}")
    for wait, seconds in LATENCIES.items():
        print(f"{wait:<24}{seconds:>6g}s{seconds * scale:>8.2f}s")
    print()
    print("path: the longest chain of waits; +calls: the longest chain with the calls around it,")
    print("measured (not scaled): before each chain's first wait, and those AWS requires after")
    print("its last (a deleted resource's subnets, group, gateway, then the VPC); the goal holds")
    print("the +calls ratio")
    print(f"{'ratio':<14}{'wall':>9}{'path':>9}{'ratio':>7}{'+calls':>9}{'ratio':>7}{'goal':>8}")
    met = True
    for name, wall, path, headed, chain in ratios(bench):
        ratio = wall / headed
        ok = ratio <= GOALS[name]
        met &= ok
        print(f"{name:<14}{wall:>8.2f}s{path:>8.2f}s{wall / path:>7.3f}{headed:>8.2f}s"
              f"{ratio:>7.3f}{'<= ' + format(GOALS[name], 'g'):>8}  {'ok  ' if ok else 'MISS'} "
              f"{chain}")
    print()
    print(f"{'AWS calls':<26}{'total':>7}{'writes':>8}{'wall':>9}")
    for label in ("up", "no-op up", "no-op up (80 ms a call)", "status", "image change", "down",
                  "up (v1)", "down (v1)"):
        measured = runs[label]
        print(f"{label:<26}{measured.total:>7}{measured.writes:>8}{measured.seconds:>8.2f}s")
    noop = runs["no-op up"].calls
    repeated = {f"{service}.{op}": n for (service, op), n in sorted(noop.items()) if n > 1}
    print(f"no-op up: {len(noop)} operations, {sum(noop.values())} calls; repeated: "
          f"{', '.join(f'{k} x{n}' for k, n in repeated.items()) or 'none'} "
          "(why: tests/test_noop_reads.py)")
    print()
    helped, bare, boto = startup
    print(f"start-up, median of {STARTUP_RUNS}")
    print(f"{'gatewayproxy --help':<22}{helped * 1000:>7.0f} ms")
    print(f"{'python -c pass':<22}{bare * 1000:>7.0f} ms")
    print(f"--help imports boto3: {'yes: ' + boto[0].strip() if boto else 'no'}")
    if details:
        print_details(bench)
    print()
    print("every ratio meets its goal" if met else "a ratio misses its goal")
    return met


def print_details(bench: Benchmark) -> None:
    assert bench.fast is not None and bench.slow is not None and bench.latency is not None
    observations = bench.latency.observations()
    for stack in (bench.fast, bench.slow):
        for measured in stack.runs:
            if measured.command not in ("up", "down", "up (v1)", "down (v1)", "image change"):
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
    parser.add_argument("--side-by-side", action="store_true",
                        help="run the two stacks at the same time (quicker, noisier)")
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
    bench = Benchmark(args.scale, not args.side_by_side, not args.unscaled_first_poll)
    with tempfile.TemporaryDirectory(prefix="gatewayproxy-bench-") as workdir:
        bench.run(Path(workdir))
    if not print_report(bench, startup, args.details):
        sys.exit(1)


if __name__ == "__main__":
    main()

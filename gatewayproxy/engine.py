"""Runs the nine steps: `up` forwards, `down` in reverse, `status` across all.

Each step runs in its own thread and blocks only on the outputs it needs, so slow AWS waits
overlap (the NAT gateway and the NLB start together; the VPC link starts the moment the NLB is
active). `down` deletes a step only after every step that reads from it is gone. With
`sequential=True` the same steps run one after another in the user's order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from gatewayproxy import steps
from gatewayproxy.aws import PlannedCall
from gatewayproxy.errors import (
    Cancelled,
    GatewayProxyError,
    StepFailed,
    WouldWrite,
    WrongTargetError,
)
from gatewayproxy.progress import Reporter
from gatewayproxy.steps.base import STACK_TAG, Context, StepStatus
from gatewayproxy.steps.ec2 import NetworkChange


@dataclass
class StepResult:
    name: str
    seconds: float = 0.0
    resources: int = 0
    error: BaseException | None = None


@dataclass
class PlanRow:
    step: str
    action: str  # create | update | replace | nothing
    details: list[str]


def _summarise(calls: list[PlannedCall]) -> list[str]:
    """Planned writes, each kind once: the ones that name something in full, the rest counted."""
    named: list[str] = []
    counted: dict[str, int] = {}
    for call in calls:
        text = _describe(call)
        if text != call.operation:
            if text not in named:
                named.append(text)
        else:
            counted[text] = counted.get(text, 0) + 1
    return named + [f"{op} x{n}" if n > 1 else op for op, n in counted.items()]


def _describe(call: PlannedCall) -> str:
    """A planned write in a few words: the operation and what it names."""
    keys = ("Name", "name", "stageName", "pathPart", "desiredCount")
    named = [f"{k}={_short(call.params[k])}" for k in keys if k in call.params]
    return call.operation + (f" ({', '.join(named)})" if named else "")


def _short(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = [v.get("targetGroupArn", v) for v in value]
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


def _rebuilt(step: str) -> list[str]:
    """Plan words for a step that a network change rebuilds along with the network."""
    words = ["rebuilt on the new network (down, then up)"]
    if step == "rest_api":
        words.append("the invoke URL changes: a new REST API")
    return words


@dataclass
class RunResult:
    results: list[StepResult] = field(default_factory=list)
    invoke_url: str | None = None


class Engine:
    def __init__(self, ctx: Context, reporter: Reporter, sequential: bool = False) -> None:
        self.ctx = ctx
        self.reporter = reporter
        self.sequential = sequential
        ctx.report = reporter.message

    # -- safety ----------------------------------------------------------------------------
    def check_target(self) -> None:
        """Refuse to act on a stack that lives in another account, region or endpoint."""
        aws = self.ctx.aws
        account = aws.account_id
        recorded = self.ctx.state.target
        if recorded is None:
            if self.ctx.state.exists or not self.ctx.state.is_empty:
                self.ctx.state.set_target(account, aws.region, aws.endpoint_url)
            return
        here = {"account_id": account, "region": aws.region, "endpoint_url": aws.endpoint_url}
        for key, label in (("account_id", "account"), ("region", "region"),
                           ("endpoint_url", "endpoint")):
            if recorded.get(key) != here[key]:
                raise WrongTargetError(
                    f"stack {self.ctx.stack} lives in {label} {recorded.get(key) or 'AWS'}, but "
                    f"these credentials/flags point at {here[key] or 'AWS'}; refusing to touch it"
                )

    def claim_target(self) -> None:
        aws = self.ctx.aws
        if self.ctx.state.target is None:
            self.ctx.state.set_target(aws.account_id, aws.region, aws.endpoint_url)

    def check(self, replaced: dict[str, NetworkChange] | None = None) -> None:
        """What only AWS can tell is wrong with the config, before the first write: each
        step's optional `check(ctx)`, which only reads and keeps what it found for its apply.
        With `replaced` (plan), a change that needs a new network is noted there, not raised."""
        for step in steps.ORDER:
            if hasattr(step, "check"):
                try:
                    step.check(self.ctx)
                except NetworkChange as exc:
                    if replaced is None:
                        raise
                    replaced[step.NAME] = exc

    # -- commands --------------------------------------------------------------------------
    def up(self) -> RunResult:
        self.check_target()
        self.check()
        self.claim_target()
        deps = steps.dependencies()
        result = self._run(list(steps.ORDER), deps, lambda step: step.apply(self.ctx), "up")
        result.invoke_url = self.ctx.outputs.get("rest_api.invoke_url")
        return result

    def down(self) -> RunResult:
        self.check_target()
        forward = steps.dependencies()
        # A step may be deleted once every step that reads from it is gone.
        reverse = {name: {other for other, needs in forward.items() if name in needs}
                   for name in forward}
        result = self._run(list(reversed(steps.ORDER)), reverse,
                           lambda step: self._destroy(step), "down")
        if self.ctx.state.is_empty:
            self.ctx.state.delete_file()
        return result

    def adopt(self) -> dict[str, str]:
        """Rebuild the state from what AWS holds under the stack's tag, changing nothing.

        Each step runs its usual look-before-create path with writes forbidden: whatever it
        finds is recorded; the first thing it would have to create ends it. Returns, per step
        that is not complete, what it would have had to do.
        """
        self.check_target()
        self.claim_target()
        self.ctx.aws.read_only = True
        try:
            _, missing = self._look("import")
        finally:
            self.ctx.aws.read_only = False
        return missing

    def _look(self, command: str, replaced: dict[str, NetworkChange] | None = None
              ) -> tuple[RunResult, dict[str, str]]:
        """Run every step's apply while writes are forbidden or only noted; a step ends at the
        first write it cannot go past. Returns the run and, per such step, that write. With
        `replaced`, a change that needs a new network ends its step there too."""
        stopped: dict[str, str] = {}

        def look(step: ModuleType) -> None:
            try:
                step.apply(self.ctx)
            except WouldWrite as exc:
                stopped[step.NAME] = exc.operation
                raise Cancelled(f"{step.NAME} would call {exc.operation}") from None
            except NetworkChange as exc:
                if replaced is None:
                    raise
                replaced[step.NAME] = exc
                raise Cancelled(f"{step.NAME} needs a new network") from None

        return self._run(list(steps.ORDER), steps.dependencies(), look, command), stopped

    def plan(self) -> list[PlanRow]:
        """What `up` would do, step by step, without a single write call or state change."""
        self.check_target()
        aws = self.ctx.aws
        real_state = self.ctx.state
        self.ctx.state = real_state.scratch()
        replaced: dict[str, NetworkChange] = {}
        try:
            # `up` would stop here with nothing written, so `plan` fails the same way (but a
            # change that needs a new network is planned as a replacement).
            aws.read_only = True
            self.check(replaced)
            aws.read_only = False
            aws.planning = []
            result, stopped = self._look("plan", replaced)
            planned = list(aws.planning)
        finally:
            aws.read_only = False
            aws.planning = None
            self.ctx.state = real_state
        finished = {r.name for r in result.results if r.error is None}
        replacing = {name: change.details for change in replaced.values() for name in change.steps}
        rows = []
        for name in steps.NAMES:
            if replaced:  # `up` refuses it: `down`, then `up` rebuilds every step on a new network
                rows.append(PlanRow(name, "replace", replacing.get(name) or _rebuilt(name)))
                continue
            writes = _summarise([c for c in planned if c.step == name])
            known = real_state.is_done(name) or bool(real_state.resources(name))
            changes = list(self.ctx.outputs.get(f"{name}.changes") or [])
            if name in stopped:
                action = "replace" if known else "create"
            elif name in finished:
                action = "update" if writes else "nothing"
            else:  # an earlier step must act first; what this one does then depends on it
                action = "update" if known else "create"
                blockers = sorted(steps.dependencies()[name] - finished)
                changes.append(f"after {', '.join(blockers)}")
            rows.append(PlanRow(name, action, [*changes, *writes] if action != "nothing" else []))
        return rows

    def _destroy(self, step: ModuleType) -> None:
        step.destroy(self.ctx)
        self.ctx.state.drop_step(step.NAME)

    def status(self) -> list[StepStatus]:
        self.check_target()
        return [step.status(self.ctx) for step in steps.ORDER]

    def tagged(self) -> list[str]:
        """ARNs of live resources AWS holds under this stack's tag.

        The Resource Groups Tagging API also lists what was deleted a moment ago (NAT gateways
        in `deleted`, INACTIVE ECS clusters, services and task definitions): those are left out.
        """
        found = self.ctx.aws.pages("resourcegroupstaggingapi", "get_resources",
                                   items="ResourceTagMappingList", token="PaginationToken",
                                   TagFilters=[{"Key": STACK_TAG, "Values": [self.ctx.stack]}])
        return [item["ResourceARN"] for item in found if self._live(item["ResourceARN"])]

    def _live(self, arn: str) -> bool:
        aws = self.ctx.aws
        kind, _, name = arn.split(":", 5)[-1].partition("/")
        if kind == "task-definition":
            return False  # revisions cost nothing; INACTIVE ones keep their tags for ever
        if kind == "natgateway":
            found = aws.call("ec2", "describe_nat_gateways", NatGatewayIds=[name])["NatGateways"]
            return any(n["State"] not in ("deleted", "failed") for n in found)
        if kind == "cluster":
            found = aws.call("ecs", "describe_clusters", clusters=[arn])["clusters"]
            return any(c["status"] == "ACTIVE" for c in found)
        if kind == "service":
            cluster = name.split("/")[0]
            found = aws.call("ecs", "describe_services", cluster=cluster, services=[arn])
            return any(s["status"] != "INACTIVE" for s in found["services"])
        return True

    # -- scheduling ------------------------------------------------------------------------
    def _run(self, order: list[ModuleType], deps: dict[str, set[str]],
             action: Callable[[ModuleType], None], command: str) -> RunResult:
        results = {step.NAME: StepResult(step.NAME) for step in order}
        finished: dict[str, threading.Event] = {step.NAME: threading.Event() for step in order}
        failed: list[tuple[str, BaseException]] = []
        cancel = self.ctx.aws.cancel

        def run(step: ModuleType) -> None:
            name = step.NAME
            self.ctx.aws.step.name = name
            try:
                for dep in deps.get(name, ()):
                    if command == "down":  # in reverse, wait for the readers to be gone
                        while not finished[dep].wait(0.2):
                            if cancel.is_set():
                                raise Cancelled("stopped")
                        if results[dep].error is not None:
                            raise Cancelled(f"{dep} did not finish")
                if cancel.is_set():
                    raise Cancelled("stopped")
                self.reporter.started(name)
                started = time.monotonic()
                before = len(self.ctx.state.resources(name))
                action(step)
                results[name].seconds = time.monotonic() - started
                after = len(self.ctx.state.resources(name))
                # up: what the step holds now; down: what it removed.
                results[name].resources = after if command == "up" else before - after
                self.ctx.outputs.finish(name)
                self.reporter.finished(name, results[name].seconds, results[name].resources)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                results[name].error = exc
                self.ctx.outputs.fail(name)
                if not isinstance(exc, Cancelled):
                    failed.append((name, exc))
                    self.reporter.failed(name, exc)
                    cancel.set()
            finally:
                finished[name].set()

        if self.sequential:
            for step in order:
                run(step)
                if failed:
                    break
        else:
            threads = [threading.Thread(target=run, args=(step,), name=step.NAME, daemon=True)
                       for step in order]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.2)
            except KeyboardInterrupt:
                cancel.set()
                for thread in threads:
                    thread.join()
                raise
        cancel.clear()
        if failed:
            name, exc = failed[0]
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit, a simulated crash: as it came
            if command == "plan":
                raise GatewayProxyError(f"step {name}: {exc}") from exc
            raise StepFailed(name, exc, f"gatewayproxy {command}"
                             + (" --yes" if command == "down" else "")) from exc
        return RunResult([results[step.NAME] for step in order])

"""Drives the stack's resources: `up` converges each once what it reads is ready, `down`
deletes each once what reads it is gone, `plan`, `status` and `import` read them.

Every resource runs in a thread of its own and blocks only on the resources it reads, so slow
AWS waits overlap (the NAT gateway and the NLB start together; the VPC link starts the moment
the NLB is active). With `sequential=True` the same resources run one after another in the
steps' order. What a resource is and how it is found, diffed, made and removed lives in its
description (gatewayproxy/resources); nothing here knows a resource kind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatewayproxy import graph as graphs
from gatewayproxy import steps
from gatewayproxy.aws import is_not_found
from gatewayproxy.context import STACK_TAG, Context
from gatewayproxy.errors import (
    AwsError,
    Cancelled,
    GatewayProxyError,
    NotOurs,
    StepFailed,
    WouldWrite,
    WrongTargetError,
)
from gatewayproxy.graph import Graph, node_id
from gatewayproxy.planned import UNKNOWN, Action, FieldChange, ResourceChange
from gatewayproxy.progress import Reporter
from gatewayproxy.resources.base import Found, Health, Resource, WaitFor
from gatewayproxy.resources.ec2 import NETWORK_ADVICE, NetworkChange
from gatewayproxy.steps.base import StepStatus


def ec2_advice(change: NetworkChange) -> str:
    """Why every resource is replaced, and what to do (up refuses it)."""
    return f"{change.field} changed: {NETWORK_ADVICE}"


@dataclass
class StepResult:
    name: str
    seconds: float = 0.0
    resources: int = 0
    error: BaseException | None = None


@dataclass
class RunResult:
    results: list[StepResult] = field(default_factory=list)
    changes: list[ResourceChange] = field(default_factory=list)
    invoke_url: str | None = None


class Engine:
    def __init__(self, ctx: Context, reporter: Reporter, sequential: bool = False) -> None:
        self.ctx = ctx
        self.reporter = reporter
        self.sequential = sequential
        self.notes: list[str] = []  # what `plan` has to say beyond its rows
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

    def graph(self) -> Graph:
        return graphs.build(self.ctx)

    # -- commands --------------------------------------------------------------------------
    def up(self) -> RunResult:
        self.ctx.command = "up"
        self.check_target()
        self.check()
        self.claim_target()
        graph = self.graph()
        run = _Run(self, graph, "up")
        result = run.execute(lambda r: run.converge(r), lambda r: run.up_waits(r))
        result.invoke_url = self.ctx.outputs.get("rest_api.invoke_url")
        return result

    def down(self) -> RunResult:
        self.ctx.command = "down"
        self.check_target()
        graph = self.graph()
        run = _Run(self, graph, "down")
        result = run.execute(lambda r: run.remove(r), lambda r: graph.down_waits(node_id(r)))
        if self.ctx.state.is_empty:
            self.ctx.state.delete_file()
        return result

    def plan(self) -> list[ResourceChange]:
        """What `up` would do, resource by resource, without a single write or state change."""
        self.ctx.command = "plan"
        self.check_target()
        aws, outputs = self.ctx.aws, self.ctx.outputs
        real_state = self.ctx.state
        self.ctx.state = real_state.scratch()
        replaced: dict[str, NetworkChange] = {}
        try:
            # `up` would stop here with nothing written, so `plan` fails the same way (but a
            # change that needs a new network is planned as a replacement).
            aws.read_only = True  # a description that writes while planning is a bug: it fails
            self.check(replaced)
            outputs.planning = True
            network = next(iter(replaced.values()), None)
            self.notes = [ec2_advice(network)] if network is not None else []
            return _Planner(self, self.graph(), network).plan()
        finally:
            aws.read_only = False
            outputs.planning = False
            self.ctx.state = real_state

    def adopt(self) -> dict[str, str]:
        """Rebuild the state from what AWS holds under the stack's tag, changing nothing.

        Each resource is looked up as `up` would; whatever is found is recorded. Returns, per
        step that is not complete, the first resource it lacks.
        """
        self.ctx.command = "import"
        self.check_target()
        self.claim_target()
        aws, outputs = self.ctx.aws, self.ctx.outputs
        aws.read_only = True
        outputs.planning = True
        missing: dict[str, str] = {}
        try:
            for resource in self.graph().order():
                found = resource.find(self.ctx) if resource.wanted(self.ctx) else None
                if found is None:
                    if resource.wanted(self.ctx):
                        missing.setdefault(resource.step,
                                           f"{resource.kind} {resource.name(self.ctx)}")
                    continue
                resource.record(self.ctx, found)
                resource.publish(self.ctx, found)
            for name in steps.NAMES:
                if name not in missing and self.ctx.state.resources(name):
                    self.ctx.state.mark_done(name)
        finally:
            aws.read_only = False
            outputs.planning = False
        return missing

    def status(self) -> list[StepStatus]:
        self.ctx.command = "status"
        self.check_target()
        grouped = self.graph().steps_of()
        report = []
        for module in steps.ORDER:
            healths = [(r, self._health(r)) for r in grouped.get(module.NAME, [])
                       if r.wanted(self.ctx) or r.recorded(self.ctx)]
            combine = getattr(module, "status_of", None) or step_status
            report.append(combine(self.ctx, module.NAME, healths))
        return report

    def _health(self, resource: Resource) -> Health:
        recorded = resource.recorded(self.ctx)
        if not recorded:
            return Health(None, f"{resource.kind} not created")
        try:
            found = resource.find(self.ctx)
        except AwsError as exc:
            if is_not_found(exc):
                found = None
            else:
                return Health(False, f"error: {exc.operation} {exc.code}: {exc.aws_message}",
                              {"error": {"operation": exc.operation, "code": exc.code,
                                         "message": exc.aws_message}})
        if found is None:
            return Health(False, f"{resource.kind} {resource.name(self.ctx)} missing (drift)")
        return resource.health(self.ctx, found)

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
        if kind == "vpc-endpoint":  # a deleted one stays listed for a while, as NAT gateways do
            answer = aws.find("ec2", "describe_vpc_endpoints", VpcEndpointIds=[name])
            return any(str(e["State"]).lower() not in ("deleted", "deleting")
                       for e in (answer or {}).get("VpcEndpoints") or [])
        if kind == "cluster":
            found = aws.call("ecs", "describe_clusters", clusters=[arn])["clusters"]
            return any(c["status"] == "ACTIVE" for c in found)
        if kind == "service":
            cluster = name.split("/")[0]
            found = aws.call("ecs", "describe_services", cluster=cluster, services=[arn])
            return any(s["status"] != "INACTIVE" for s in found["services"])
        return True


def step_status(ctx: Context, step: str, healths: list[tuple[Resource, Health]]) -> StepStatus:
    """A step's line in `status`, from its resources' health: healthy when every resource is;
    "not created" when none is; the first error's details when a read failed."""
    made = [h for _, h in healths if h.ok is not None]
    if not made:
        return StepStatus(step, ctx.state.is_done(step), None, "not created",
                          ctx.state.resources(step))
    details: dict[str, Any] = {}
    for _, health in healths:
        for key, value in health.details.items():
            details.setdefault(key, value)
    summary = "; ".join(h.summary for h in made)
    return StepStatus(step, ctx.state.is_done(step), all(h.ok for h in made), summary,
                      ctx.state.resources(step), details)


class _Run:
    """One `up` or `down`: a thread per resource, each waiting only on the ones it must."""

    def __init__(self, engine: Engine, graph: Graph, command: str) -> None:
        self.engine = engine
        self.ctx = engine.ctx
        self.graph = graph
        self.command = command
        self.ids = graph.by_id()
        self.cond = threading.Condition()
        self.ready: set[str] = set()  # up: readers may go; down: deleted
        self.finished: set[str] = set()
        self.failed: set[str] = set()
        self.changes: dict[str, list[ResourceChange]] = {}
        grouped = graph.steps_of()
        self.step_nodes = {name: {node_id(r) for r in nodes} for name, nodes in grouped.items()}
        self.results = {name: StepResult(name) for name in steps.NAMES if name in grouped}
        self.began: dict[str, float] = {}
        self.errors: list[tuple[str, BaseException]] = []

    # -- what each node waits for ------------------------------------------------------------
    def up_waits(self, resource: Resource) -> set[str]:
        nid = node_id(resource)
        if resource.wanted(self.ctx):
            # What is no longer wanted provides nothing: a reader does not wait for it (it
            # waits for its readers instead: it goes once they have moved off it).
            return {w for w in self.graph.up_waits(nid)
                    if self.ids[_bare(w)].wanted(self.ctx)}
        return _done(graphs.retire_after(self.graph, resource)) | _done(self.graph.readers[nid])

    # -- up ----------------------------------------------------------------------------------
    def converge(self, resource: Resource) -> None:
        ctx = self.ctx
        if not resource.wanted(ctx):
            found = resource.find(ctx)
            for item in ([found] if found else []) + resource.stale(ctx):
                self._delete(resource, item)
            resource.forget(ctx)
            return
        found = resource.find(ctx)
        name = resource.name(ctx)
        if found is None:
            ctx.report(resource.step, f"creating {resource.kind} {name}")
            found = resource.create(ctx)
            resource.record(ctx, found)
            self._note(resource, ResourceChange(resource.step, resource.kind, name, "create"))
        else:
            resource.record(ctx, found)
            changes = resource.diff(ctx, found)
            if any(c.field in resource.FORCE_NEW for c in changes):
                ctx.report(resource.step, f"replacing {resource.kind} {name}")
                self._delete(resource, found, count=False)
                found = resource.create(ctx)
                resource.record(ctx, found)
                self._note(resource, ResourceChange(resource.step, resource.kind, name, "replace",
                                                    tuple(changes)))
            elif changes:
                ctx.report(resource.step, f"updating {resource.kind} {name}")
                found = resource.update(ctx, found, changes)
                self._note(resource, ResourceChange(resource.step, resource.kind, name, "update",
                                                    tuple(changes)))
        resource.publish(ctx, found)
        self._signal(resource, exists=True)
        found = self._wait(resource, resource.ready, found, first=found) or found
        resource.on_ready(ctx, found)
        self._signal_ready(resource)
        leftovers = resource.stale(ctx)
        if leftovers:
            self._await(resource, _done(graphs.retire_after(self.graph, resource)))
            for item in leftovers:
                self._delete(resource, item, name=resource.stale_name(ctx, item))

    # -- down --------------------------------------------------------------------------------
    def remove(self, resource: Resource) -> None:
        ctx = self.ctx
        try:
            found = resource.find(ctx)
        except NotOurs as exc:  # another stack's (or nobody's) under our name: leave it
            ctx.report(resource.step, f"left alone: {exc}")
            found = None
        items = ([found] if found else []) + resource.stale(ctx)
        for item in items:
            self._delete(resource, item, name=resource.name(ctx) if item is found
                         else resource.stale_name(ctx, item))
        resource.forget(ctx)

    # -- shared ------------------------------------------------------------------------------
    def _delete(self, resource: Resource, found: Found, count: bool = True,
                name: str | None = None) -> None:
        ctx = self.ctx
        name = name or resource.name(ctx)
        ctx.report(resource.step, f"deleting {resource.kind} {name}")
        resource.delete(ctx, found)
        # A deletion's end lets what it held go next: polled at the shorter deletion poll.
        self._wait(resource, resource.gone, found, label=f"{resource.kind} {name} deletion",
                   longest=ctx.aws.deletion_poll)
        if count:
            self._note(resource, ResourceChange(resource.step, resource.kind, name, "delete"))

    def _wait(self, resource: Resource, wait: WaitFor | None, found: Found,
              first: Found | None = None, label: str | None = None,
              longest: float | None = None) -> Any:
        if wait is None:
            return None
        ctx = self.ctx
        return ctx.aws.wait_for(label or f"{resource.kind} {resource.name(ctx)}",
                                lambda: wait.read(ctx, found), wait.status, wait.done,
                                wait.failed, timeout=wait.timeout, reason=wait.reason,
                                report=lambda m: ctx.report(resource.step, m), first=first,
                                longest=longest)

    def _note(self, resource: Resource, change: ResourceChange) -> None:
        with self.cond:
            self.changes.setdefault(node_id(resource), []).append(change)

    def _signal_ready(self, resource: Resource) -> None:
        self._signal(resource, exists=False)

    def _signal(self, resource: Resource, exists: bool) -> None:
        """Readers that take it as soon as it exists may go; with exists=False, all readers."""
        nid = node_id(resource)
        with self.cond:
            self.ready.add(nid + graphs.EXISTS)
            if not exists:
                self.ready.add(nid)
            self.cond.notify_all()

    def _await(self, resource: Resource, waits: set[str]) -> None:
        """Block until every node in `waits` is ready; say what this one waits for."""
        cancel = self.ctx.aws.cancel
        said = None
        with self.cond:
            while True:
                if cancel.is_set():
                    raise Cancelled("stopped")
                broken = {_bare(w) for w in waits} & self.failed
                if broken:
                    raise Cancelled(f"{sorted(broken)[0]} did not finish")
                pending = sorted(waits - self.ready)
                if not pending:
                    return
                # The step's row says what it waits for in another step (not its own parts).
                outside = [self.ids[_bare(w)] for w in pending
                           if self.ids[_bare(w)].step != resource.step]
                blocker = outside[0] if outside else None
                if blocker is not None and blocker.kind != said \
                        and resource.step not in self.began:
                    said = blocker.kind
                    self.engine.reporter.waiting(resource.step, blocker.kind)
                self.cond.wait(timeout=5.0)

    def _begin(self, resource: Resource) -> None:
        with self.cond:
            if resource.step in self.began:
                return
            self.began[resource.step] = self.ctx.aws.clock.now()
        self.engine.reporter.started(resource.step)

    def _end(self, resource: Resource, error: BaseException | None) -> None:
        nid = node_id(resource)
        step = resource.step
        with self.cond:
            self.finished.add(nid)
            if error is None:
                self.ready |= {nid, nid + graphs.EXISTS, nid + DONE}
            else:
                self.failed.add(nid)
            self.cond.notify_all()
            complete = self.step_nodes[step] <= self.finished
            step_failed = bool(self.step_nodes[step] & self.failed)
        if error is not None:
            result = self.results[step]
            if result.error is None or isinstance(result.error, Cancelled):
                result.error = error
            if isinstance(error, Cancelled):
                if complete:
                    self.engine.reporter.stopped(step)
            else:
                self.errors.append((step, error))
                self.engine.reporter.failed(step, error)
                self.ctx.aws.cancel.set()
                self.ctx.outputs.fail(step)
            return
        if not complete or step_failed:
            return
        result = self.results[step]
        result.seconds = self.ctx.aws.clock.now() - self.began.get(step, self.ctx.aws.clock.now())
        made = [c for n in self.step_nodes[step] for c in self.changes.get(n, [])]
        if self.command == "up":
            result.resources = len(self.ctx.state.resources(step))
            self.ctx.outputs.finish(step)
            self.ctx.state.mark_done(step)
        else:
            result.resources = sum(1 for c in made if c.action == "delete")
            self.ctx.state.drop_step(step)
        self.engine.reporter.finished(step, result.seconds, _words(made) or result.resources)

    def _node(self, resource: Resource, waits: Callable[[Resource], set[str]],
              work: Callable[[Resource], None]) -> None:
        self.ctx.aws.step.name = resource.step  # which step this thread works for (logs, tests)
        try:
            self._await(resource, waits(resource))
            if self.ctx.aws.cancel.is_set():
                raise Cancelled("stopped")
            self._begin(resource)
            self.ctx.aws.step.name = resource.step  # whose calls these are (plan, crash tests)
            work(resource)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._end(resource, exc)
        else:
            self._end(resource, None)

    def execute(self, work: Callable[[Resource], None],
                waits: Callable[[Resource], set[str]]) -> RunResult:
        order = self._order(waits)
        cancel = self.ctx.aws.cancel
        if self.sequential:
            for resource in order:
                self._node(resource, waits, work)
                if self.errors:
                    break
        else:
            threads = [threading.Thread(target=self._node, args=(r, waits, work),
                                        name=node_id(r), daemon=True) for r in order]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.2)
            except KeyboardInterrupt:
                cancel.set()
                with self.cond:
                    self.cond.notify_all()
                for thread in threads:
                    thread.join()
                raise
        cancel.clear()
        if self.errors:
            name, exc = self.errors[0]
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit, a simulated crash: as it came
            raise StepFailed(name, exc, f"gatewayproxy {self.command}"
                             + (" --yes" if self.command == "down" else "")) from exc
        changes = [c for r in self.graph.nodes for c in self.changes.get(node_id(r), [])]
        names = [n for n in steps.NAMES if n in self.results]
        if self.command == "down":
            names.reverse()
        return RunResult([self.results[n] for n in names], changes)

    def _order(self, waits: Callable[[Resource], set[str]]) -> list[Resource]:
        """Every node after what it waits for (for `sequential`, and to start threads in a
        useful order): the steps' order, reversed for `down`."""
        nodes = self.graph.order()
        if self.command == "down":
            nodes.reverse()
        placed: list[Resource] = []
        seen: set[str] = set()
        pending = {node_id(r): {_bare(w) for w in waits(r)} for r in nodes}
        while len(placed) < len(nodes):
            progress = False
            for resource in nodes:
                nid = node_id(resource)
                if nid not in seen and pending[nid] <= seen:
                    placed.append(resource)
                    seen.add(nid)
                    progress = True
            if not progress:
                stuck = sorted(set(pending) - seen)
                raise GatewayProxyError(f"resources wait on each other: {', '.join(stuck)}")
        return placed

    @property
    def sequential(self) -> bool:
        return self.engine.sequential


# A wait for a node to have finished all its work, leftovers included (not only to be ready):
# what retires after it goes only then.
DONE = ":done"


def _done(ids: set[str]) -> set[str]:
    return {nid + DONE for nid in ids}


def _bare(wait: str) -> str:
    """The node id of a wait (`id`, `id:exists`, `id:done`)."""
    return wait.removesuffix(graphs.EXISTS).removesuffix(DONE)


def _words(changes: list[ResourceChange]) -> str:
    """`2 created, 1 updated` for a step's progress row."""
    verbs = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted"}
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return ", ".join(f"{n} {verbs[a]}" for a, n in counts.items())


class _Planner:
    """`plan`: each resource in dependency order, read only; what `up` would do to it."""

    def __init__(self, engine: Engine, graph: Graph, network: NetworkChange | None) -> None:
        self.engine = engine
        self.ctx = engine.ctx
        self.graph = graph
        self.network = network
        self.actions: dict[str, str] = {}

    def plan(self) -> list[ResourceChange]:
        """Rows in the order the steps declare their resources (the seed's order)."""
        position = {node_id(r): i for i, r in enumerate(self.graph.nodes)}
        rows: list[tuple[int, ResourceChange]] = []
        for resource in self.graph.order():
            try:
                found = self._one(resource)
            except WouldWrite as exc:  # a description wrote while planning: a bug, say so
                raise GatewayProxyError(f"plan of {resource.kind} {resource.name(self.ctx)} "
                                        f"would write ({exc.operation})") from None
            rows += [(position[node_id(resource)], row) for row in found]
        return [row for _, row in sorted(rows, key=lambda pair: pair[0])]

    def _row(self, resource: Resource, action: Action, name: str | None = None,
             changes: tuple[FieldChange, ...] = ()) -> ResourceChange:
        return ResourceChange(resource.step, resource.kind, name or resource.name(self.ctx),
                              action, changes)

    def _one(self, resource: Resource) -> list[ResourceChange]:
        ctx = self.ctx
        nid = node_id(resource)
        if not resource.wanted(ctx):
            found = resource.find(ctx)
            rows = [self._row(resource, "delete")] if found else []
            rows += [self._row(resource, "delete", resource.stale_name(ctx, s))
                     for s in resource.stale(ctx)]
            self.actions[nid] = "delete" if rows else "none"
            return rows
        found = resource.find(ctx)
        if resource.OWNS_NOTHING:
            self.actions[nid] = "none"
            return self._stale_rows(resource)
        replaced_deps = [self.graph.by_id()[d] for d in self.graph.needs[nid]
                         if self.actions.get(d) == "replace"]
        if found is None:
            self.actions[nid] = "create"
            return [self._row(resource, "create"), *self._stale_rows(resource)]
        if self.network is not None or replaced_deps:
            # What reads it still finds itself, to be replaced too (the zones, say, are what
            # changed: whatever could not be handed on is found by its tag).
            with contextlib.suppress(NetworkChange):
                resource.publish(ctx, found)
        if self.network is not None:
            change = self.network
            self.actions[nid] = "replace"
            return [self._row(resource, "replace", changes=(
                FieldChange(change.field, change.old, change.new),))]
        if replaced_deps:
            self.actions[nid] = "replace"
            return [self._row(resource, "replace", changes=tuple(
                FieldChange(dep.kind, dep.name(ctx), UNKNOWN) for dep in replaced_deps[:1]))]
        changes = resource.diff(ctx, found)
        resource.publish(ctx, found)
        rows = []
        if any(c.field in resource.FORCE_NEW for c in changes):
            self.actions[nid] = "replace"
            rows.append(self._row(resource, "replace", changes=tuple(changes)))
        elif changes:
            self.actions[nid] = "update"
            rows.append(self._row(resource, "update", changes=tuple(changes)))
        else:
            self.actions[nid] = "none"
        return rows + self._stale_rows(resource)

    def _stale_rows(self, resource: Resource) -> list[ResourceChange]:
        """What `up` deletes after converging it: leftovers of its kind."""
        return [self._row(resource, "delete", resource.stale_name(self.ctx, s))
                for s in resource.stale(self.ctx)]

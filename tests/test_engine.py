"""The engine on fake resources (no AWS, no moto): scheduling, plan rows, retirement, failure.

A fake "cloud" is a dict; each fake resource kind reads and writes it. The step modules are
stand-ins with `resources(ctx)`, patched into `steps.ORDER`.
"""

from __future__ import annotations

import io
import threading
import tomllib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import CONFIG, FakeClock

from gatewayproxy import config as config_module
from gatewayproxy import steps
from gatewayproxy.aws import Aws, Target
from gatewayproxy.context import Context
from gatewayproxy.engine import Engine
from gatewayproxy.errors import StepFailed
from gatewayproxy.graph import exists
from gatewayproxy.planned import FieldChange
from gatewayproxy.progress import Reporter
from gatewayproxy.resources.base import Found, Resource, WaitFor
from gatewayproxy.state import State


@dataclass
class Thing(Resource):
    """A fake resource: `cloud[key]` holds {"size", "state"}; `events` logs what happened."""

    size: int = 1
    want: bool = True
    fail_on_create: bool = False
    cloud: dict[str, Any] | None = None
    events: list[str] | None = None

    kind: ClassVar[str] = "thing"
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset({"shape"})
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=lambda ctx, found: {**found, "state": "up"}, status=lambda f: f["state"],
        done=frozenset({"up"}))

    def name(self, ctx: Context) -> str:
        return f"thing-{self.key}"

    def wanted(self, ctx: Context) -> bool:
        return self.want

    def identity(self, found: Found) -> Any:
        return found["id"]

    def find(self, ctx: Context) -> Found | None:
        assert self.cloud is not None
        return self.cloud.get(self.key)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        return [] if found["size"] == self.size else [FieldChange("size", found["size"], self.size)]

    def create(self, ctx: Context) -> Found:
        assert self.cloud is not None and self.events is not None
        self.events.append(f"create {self.key}")
        if self.fail_on_create:
            raise RuntimeError(f"{self.key} broke")
        self.cloud[self.key] = {"id": f"id-{self.key}", "size": self.size, "state": "pending"}
        self.record(ctx, self.cloud[self.key])
        return dict(self.cloud[self.key])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        assert self.cloud is not None and self.events is not None
        self.events.append(f"update {self.key}")
        self.cloud[self.key]["size"] = self.size
        return dict(self.cloud[self.key])

    def delete(self, ctx: Context, found: Found) -> None:
        assert self.cloud is not None and self.events is not None
        self.events.append(f"delete {self.key}")
        self.cloud.pop(self.key, None)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> dict[str, Any]:
    cloud: dict[str, Any] = {}
    events: list[str] = []
    specs: dict[str, list[dict[str, Any]]] = {"alpha": [], "beta": []}

    def module(name: str) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.NAME = name  # type: ignore[attr-defined]
        mod.resources = lambda ctx: [  # type: ignore[attr-defined]
            Thing(name, cloud=cloud, events=events, **spec) for spec in specs[name]]
        return mod

    monkeypatch.setattr(steps, "ORDER", (module("alpha"), module("beta")))
    monkeypatch.setattr(steps, "NAMES", ("alpha", "beta"))
    return {"cloud": cloud, "events": events, "specs": specs, "tmp": tmp_path, "clock": clock}


def engine(world: dict[str, Any], sequential: bool = True) -> tuple[Engine, io.StringIO]:
    aws = Aws(Target(region="eu-west-1"), clock=world["clock"], max_poll=0.0)
    aws._account_id = "123456789012"  # no STS call: nothing here talks to AWS
    cfg = config_module.parse(tomllib.loads(CONFIG))
    state = State.load(world["tmp"] / "state.json", cfg.name)
    out = io.StringIO()
    return Engine(Context(cfg, state, aws), Reporter(out, steps.NAMES, now=world["clock"].now),
                  sequential=sequential), out


def test_up_creates_in_dependency_order_then_a_second_up_changes_nothing(
        world: dict[str, Any]) -> None:
    world["specs"]["alpha"] += [{"key": "a", "needs": ("beta.b",)}]
    world["specs"]["beta"] += [{"key": "b"}]
    result = engine(world)[0].up()
    assert world["events"] == ["create b", "create a"]  # a reads b: b first, across steps
    assert [(c.kind, c.name, c.action) for c in result.changes] == [
        ("thing", "thing-a", "create"), ("thing", "thing-b", "create")]  # in the steps' order
    assert world["cloud"]["a"]["state"] == "pending"  # the fake cloud never moves by itself
    world["events"].clear()
    again = engine(world)[0].up()
    assert again.changes == [] and world["events"] == []


def test_plan_names_each_change_and_counts_match_what_up_then_does(world: dict[str, Any]) -> None:
    world["specs"]["alpha"] += [{"key": "a", "size": 2}, {"key": "gone", "want": False}]
    world["specs"]["beta"] += [{"key": "b"}]
    world["cloud"].update({"a": {"id": "id-a", "size": 1, "state": "up"},
                           "gone": {"id": "id-gone", "size": 1, "state": "up"}})
    planned = engine(world)[0].plan()
    assert [(c.name, c.action, c.changes) for c in planned] == [
        ("thing-a", "update", (FieldChange("size", 1, 2),)), ("thing-gone", "delete", ()),
        ("thing-b", "create", ())]
    assert world["events"] == []  # plan only reads
    done = engine(world)[0].up()
    assert [(c.name, c.action) for c in done.changes] == [(c.name, c.action) for c in planned]


def test_an_unwanted_resource_goes_after_what_it_retires_after_even_in_sequence(
        world: dict[str, Any]) -> None:
    """The old thing is read by nothing now, but must outlive the new one's convergence."""
    world["specs"]["alpha"] += [{"key": "old", "want": False, "retire_after": ("beta",)}]
    world["specs"]["beta"] += [{"key": "new"}]
    world["cloud"]["old"] = {"id": "id-old", "size": 1, "state": "up"}
    engine(world, sequential=True)[0].up()
    assert world["events"] == ["create new", "delete old"]


def test_a_reader_of_an_early_need_starts_before_that_need_is_ready(world: dict[str, Any]) -> None:
    """`exists(...)`: the listener may go onto an NLB that is still provisioning."""
    gate = threading.Event()
    order: list[str] = []

    @dataclass
    class Slow(Thing):
        ready: ClassVar[WaitFor | None] = WaitFor(
            read=lambda ctx, found: (gate.wait(5), order.append("slow ready"),
                                     {**found, "state": "up"})[2],
            status=lambda f: f["state"], done=frozenset({"up"}))

    @dataclass
    class Early(Thing):
        def create(self, ctx: Context) -> Found:
            order.append("early created")
            gate.set()
            return super().create(ctx)

    slow = Slow("alpha", "slow", cloud=world["cloud"], events=world["events"])
    early = Early("beta", "early", needs=(exists("alpha.slow"),), cloud=world["cloud"],
                  events=world["events"])
    steps.ORDER[0].resources = lambda ctx: [slow]  # type: ignore[attr-defined]
    steps.ORDER[1].resources = lambda ctx: [early]  # type: ignore[attr-defined]
    engine(world, sequential=False)[0].up()
    assert order == ["early created", "slow ready"]


def test_a_failure_stops_the_readers_and_names_the_step(world: dict[str, Any]) -> None:
    world["specs"]["alpha"] += [{"key": "a", "fail_on_create": True}]
    world["specs"]["beta"] += [{"key": "b", "needs": ("alpha",)}]
    eng, out = engine(world, sequential=False)
    with pytest.raises(StepFailed, match="step alpha failed: a broke"):
        eng.up()
    assert world["events"] == ["create a"]  # b never started
    eng.reporter.close()
    assert "running" not in out.getvalue().splitlines()[-1]
    assert out.getvalue().splitlines()[-1] == "[0:00] 2. beta stopped"


def test_down_deletes_readers_first_and_leaves_no_state(world: dict[str, Any]) -> None:
    world["specs"]["alpha"] += [{"key": "a", "needs": ("beta.b",)}]
    world["specs"]["beta"] += [{"key": "b"}]
    engine(world)[0].up()
    world["events"].clear()
    eng = engine(world, sequential=False)[0]
    result = eng.down()
    assert world["events"] == ["delete a", "delete b"]
    assert [c.action for c in result.changes] == ["delete", "delete"]
    assert world["cloud"] == {} and not (world["tmp"] / "state.json").exists()

"""What one AWS resource of a stack is, as a description the engine drives.

A resource kind says how to find its resource (the id in the state, then the stack's tag or a
name checked against it), how to diff what AWS has against what the config wants into named
field changes, how to create, update and delete it, what "ready" and "gone" mean (declarative
waits), its health for `status`, and what it hands on to the resources that read it. It never
loops, threads or schedules: the engine does that, the same way for `plan`, `up`, `down`,
`status` and `import`.

The shape follows terraform-provider-aws's find / status / wait per resource and chalice's
deploy models: a small typed description per kind, with one generic executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.planned import UNKNOWN, FieldChange

Found = dict[str, Any]

__all__ = ["AFTER", "EXISTS", "UNKNOWN", "FieldChange", "Found", "Health", "Resource", "WaitFor", "exists"]


EXISTS = ":exists"


def exists(need: str) -> str:
    """A need satisfied once the resource exists (its id is known), before it is ready: the
    listener may be added to an NLB that is still provisioning."""
    return need + EXISTS


AFTER = ":after"


def after(need: str) -> str:
    """A need `up` starts after but never reads: `down` does not wait for it to go first.
    The tasks start once the NAT gateway routes (they pull their image through it), but
    deleting the NAT gateway while they drain only cuts their way out: AWS refuses nothing."""
    return need + AFTER


@dataclass(frozen=True)
class WaitFor:
    """A declarative wait: `read` describes the resource again (None once AWS does not know
    it), `status` names its state; the wait ends on `done` and fails on `failed`."""

    read: Callable[[Context, Found], Any]
    status: Callable[[Any], str]
    done: frozenset[str]
    failed: frozenset[str] = frozenset()
    timeout: float = 15 * 60
    reason: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class Health:
    """One resource's line in `status`: ok (None: not made yet), words, machine details."""

    ok: bool | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Resource:
    """One resource of the stack. Subclasses set `kind` and implement the methods; an
    instance is built per command from the config by its step (`step.resources(ctx)`).

    - `key`: unique in the stack; also the state key its id is recorded under, in the
      step's resources (so state files of earlier versions keep working).
    - `needs`: keys of the resources it reads: `up` converges it once they are ready,
      `down` deletes it before them (`after(need)`: up orders it after, down not before).
    - `retire_after`: in `up`, what is no longer wanted (the resource itself, or its `stale`
      leftovers) is deleted only once these have converged (e.g. an old VPC link goes after
      the stage that referred to it was redeployed).
    """

    step: str
    key: str
    needs: tuple[str, ...] = ()
    retire_after: tuple[str, ...] = ()

    kind: ClassVar[str] = "resource"
    # Changes to these fields need a new resource: plan shows -/+, up deletes then creates.
    FORCE_NEW: ClassVar[frozenset[str]] = frozenset()
    ready: ClassVar[WaitFor | None] = None
    gone: ClassVar[WaitFor | None] = None
    # A wait on what other descriptions make (e.g. healthy targets): never a plan row of its
    # own, only its `stale` leftovers are.
    OWNS_NOTHING: ClassVar[bool] = False

    # -- identity ------------------------------------------------------------------------------
    def name(self, ctx: Context) -> str:
        """The resource's name as the user sees it in plan and status."""
        raise NotImplementedError

    def wanted(self, ctx: Context) -> bool:
        """False when the config does not want it (any more): `up` deletes it if it exists."""
        return True

    def identity(self, found: Found) -> Any:
        """What the state records for it (an id, an ARN, a name)."""
        raise NotImplementedError

    def record(self, ctx: Context, found: Found) -> None:
        ctx.state.record(self.step, self.key, self.identity(found))

    def forget(self, ctx: Context) -> None:
        ctx.state.forget(self.step, self.key)

    def recorded(self, ctx: Context) -> Any:
        return ctx.state.get(self.step, self.key)

    # -- reading -------------------------------------------------------------------------------
    def find(self, ctx: Context) -> Found | None:
        """The live resource: by the id in the state, else by the stack's tag (or a name
        checked against the tag); None when there is none. Reads only."""
        raise NotImplementedError

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        """What differs between AWS and the config, in the config's words (secrets marked)."""
        return []

    def stale(self, ctx: Context) -> list[Found]:
        """Other resources of this kind the stack still holds but no longer wants (an old
        port's target group, a renamed stage); `up` and `down` delete them."""
        return []

    def stale_name(self, ctx: Context, found: Found) -> str:
        return self.name(ctx)

    def publish(self, ctx: Context, found: Found) -> None:
        """Hand what readers need to `ctx.outputs`, as soon as it exists (readers that need it
        ready wait for that: see `exists`)."""

    def on_ready(self, ctx: Context, found: Found) -> None:
        """Hand on what is known only once it is ready (e.g. its final state)."""

    def health(self, ctx: Context, found: Found) -> Health:
        """How it is doing, for `status` (found: it exists)."""
        return Health(True, f"{self.kind} {self.name(ctx)}")

    # -- writing -------------------------------------------------------------------------------
    def create(self, ctx: Context) -> Found:
        """Create it tagged; record its id (`self.record`) the moment AWS returns it."""
        raise NotImplementedError

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        raise NotImplementedError(f"{self.kind} cannot be updated in place")

    def delete(self, ctx: Context, found: Found) -> None:
        """Delete it ("not found" counts as done)."""
        raise NotImplementedError

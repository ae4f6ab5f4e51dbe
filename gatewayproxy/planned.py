"""The plan's data model (placeholder until the rendering lands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["create", "update", "replace", "delete"]


class _Unknown:
    def __repr__(self) -> str:
        return "(known after apply)"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    secret: bool = False


@dataclass(frozen=True)
class ResourceChange:
    step: str
    kind: str
    name: str
    action: Action
    changes: tuple[FieldChange, ...] = ()


SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def summary(changes: list[ResourceChange]) -> dict[str, int]:
    count = {a: sum(1 for c in changes if c.action == a) for a in SYMBOLS}
    return {"add": count["create"], "change": count["update"], "replace": count["replace"],
            "destroy": count["delete"]}


def _value(value: Any, secret: bool) -> str:
    if secret:
        return "(sensitive)"
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def resource_lines(changes: list[ResourceChange]) -> list[str]:
    lines = []
    for change in changes:
        lines.append(f"{SYMBOLS[change.action]} {change.kind}  {change.name}")
        if change.action in ("update", "replace"):
            lines += [f"    {f.field}: {_value(f.old, f.secret)} -> {_value(f.new, f.secret)}"
                      for f in change.changes]
    return lines


def plan_lines(changes: list[ResourceChange]) -> list[str]:
    if not changes:
        return ["No changes."]
    n = summary(changes)
    return [*resource_lines(changes), f"Plan: {n['add']} to add, {n['change']} to change, "
            f"{n['replace']} to replace, {n['destroy']} to destroy."]


def plan_json(changes: list[ResourceChange]) -> dict[str, Any]:
    return {"resources": [{"step": c.step, "kind": c.kind, "name": c.name, "action": c.action,
                           "changes": [{"field": f.field, "old": f.old, "new": f.new}
                                       for f in c.changes]} for c in changes],
            "summary": summary(changes)}


def apply_lines(changes: list[ResourceChange]) -> list[str]:
    n = summary(changes)
    return [*resource_lines(changes), f"Apply complete: {n['add']} added, {n['change']} changed, "
            f"{n['replace']} replaced, {n['destroy']} destroyed."]


def destroy_line(count: int) -> str:
    return f"Destroy complete: {count} destroyed."

"""What `plan` found and what `up`/`down` did, in resources: the data and its exact wording.

Scripts read these lines (`Plan: ...`, `Apply complete: ...`) and the `--json` shape, so the
rendering lives here, in one place, apart from the engine that fills in the changes.

Rendering rules, for the text lines and the JSON alike:
- None is an absent value: `(none)` in text, null in JSON.
- UNKNOWN (a value AWS assigns during apply) is `(known after apply)` in text and the same string
  in JSON, not null, so that a script can tell "absent" from "not known yet".
- a secret field shows `(sensitive)` on both sides, in text and JSON, whatever its values.
- text: lists and tuples comma-joined (an empty one `[]`), dicts compact JSON with sorted keys,
  bools `true`/`false`, line breaks inside a string as `\\n` (one line per field, always).
- JSON: tuples become lists, sets sorted lists, other non-JSON values their `str()`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

Action = Literal["create", "update", "replace", "delete"]

SENSITIVE = "(sensitive)"
ABSENT = "(none)"


class _Unknown(enum.Enum):
    """An enum member so that the sentinel stays one object through copy and pickle."""

    UNKNOWN = "(known after apply)"

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown.UNKNOWN
"""A value known only after apply (a new resource's id or ARN)."""

_SYMBOL: dict[str, str] = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
_SUMMARY_KEY: dict[str, str] = {"create": "add", "update": "change", "replace": "replace",
                                "delete": "destroy"}


@dataclass(frozen=True)
class FieldChange:
    """One field of a resource, named in the config's words (`image`, `desired_count`)."""

    field: str
    old: Any  # None: absent
    new: Any  # None: absent; UNKNOWN: known after apply
    secret: bool = False  # never show the values, not even in --json


@dataclass(frozen=True)
class ResourceChange:
    """One AWS resource that a step creates, updates, replaces or deletes."""

    step: str
    kind: str  # in words: "NAT gateway", "task definition"
    name: str
    action: Action
    changes: tuple[FieldChange, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in get_args(Action):
            raise ValueError(f"unknown action {self.action!r} for {self.kind} {self.name}")
        object.__setattr__(self, "changes", tuple(self.changes))


def summary(changes: Iterable[ResourceChange]) -> dict[str, int]:
    """How many of each action: the keys of `plan --json`'s summary."""
    counts = dict.fromkeys(_SUMMARY_KEY.values(), 0)
    for change in changes:
        counts[_SUMMARY_KEY[change.action]] += 1
    return counts


def plan_lines(changes: Sequence[ResourceChange]) -> list[str]:
    """What `plan` prints: each resource (in the order given), its fields, then the totals."""
    if not changes:
        return ["No changes."]
    counts = summary(changes)
    return [*_resource_lines(changes),
            f"Plan: {counts['add']} to add, {counts['change']} to change, "
            f"{counts['replace']} to replace, {counts['destroy']} to destroy."]


def apply_lines(done: Sequence[ResourceChange]) -> list[str]:
    """What `up` prints at the end: the same lines as the plan for what it changed, then totals."""
    counts = summary(done)
    return [*_resource_lines(done),
            f"Apply complete: {counts['add']} added, {counts['change']} changed, "
            f"{counts['replace']} replaced, {counts['destroy']} destroyed."]


def destroy_line(n: int) -> str:
    """What `down` prints at the end."""
    return f"Destroy complete: {n} destroyed."


def plan_json(changes: Sequence[ResourceChange]) -> dict[str, Any]:
    """`plan --json`: every value JSON-safe, secrets and unknowns as their marker strings."""
    return {
        "resources": [
            {"step": change.step, "kind": change.kind, "name": change.name,
             "action": change.action,
             "changes": [{"field": field.field, "old": _json_side(field, field.old),
                          "new": _json_side(field, field.new)} for field in change.changes]}
            for change in changes
        ],
        "summary": summary(changes),
    }


def _resource_lines(changes: Sequence[ResourceChange]) -> list[str]:
    lines: list[str] = []
    for change in changes:
        lines.append(f"{_SYMBOL[change.action]} {change.kind}  {change.name}")
        if change.action in ("update", "replace"):
            lines.extend(f"    {field.field}: {_text_side(field, field.old)} -> "
                         f"{_text_side(field, field.new)}" for field in change.changes)
    return lines


def _text_side(field: FieldChange, value: Any) -> str:
    return SENSITIVE if field.secret else _text(value)


def _json_side(field: FieldChange, value: Any) -> Any:
    return SENSITIVE if field.secret else _json_value(value)


def _text(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(item) for item in value) if value else "[]"
    if isinstance(value, (dict, set, frozenset)):
        return json.dumps(_json_value(value), sort_keys=True, separators=(",", ":"))
    text = str(_json_value(value))
    if isinstance(value, bool):
        text = text.lower()
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _json_value(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [_json_value(item) for item in value]
        try:
            return sorted(items)
        except TypeError:  # mixed types: still one order for the same set
            return sorted(items, key=str)
    return str(value)

"""Crash injection: a run dies right after a write call succeeded on the AWS side and before the
client saw the answer, and the next run must converge.

Two ways to get there. `arm` makes the run raise `Crash` at that write (the overlapping engine's
threads must stop on it). `worlds_of` runs once and captures the world at each write instead
(tests/worlds.py): restoring one is the crash there, without replaying the run up to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inventory import inventory
from worlds import World, capture

from gatewayproxy.aws import READ_PREFIXES, Aws

# A write: its place in the run (1-based), or (step:service.operation, which occurrence)
At = int | tuple[str, int]


class Crash(BaseException):
    """Stands for SIGKILL: no handler of ours may catch it."""


class Writes:
    """Notes each write as `step:service.operation` once AWS performed it; dies right after the
    armed one, or captures the world there."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at: At | None = None
        self.seen: list[str] = []
        self._capturing: tuple[Path, Callable[[str], bool] | None, list[tuple[At, World]]] | None \
            = None
        original = Aws.call

        def call(aws: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
            result = original(aws, service, operation, **kwargs)
            if not operation.startswith(READ_PREFIXES) and service != "sts":
                self._wrote(f"{getattr(aws.step, 'name', '?')}:{service}.{operation}")
            return result

        monkeypatch.setattr(Aws, "call", call)

    @property
    def writes(self) -> int:
        return len(self.seen)

    def arm(self, at: At | None) -> None:
        """The next writes count from one again; `at` is the write to die after (None: none)."""
        self.at = at
        self.seen = []

    def worlds_of(self, run: Callable[[], Any], folder: Path,
                  keep: Callable[[str], bool] | None = None) -> list[tuple[At, World]]:
        """Runs `run` to its end, capturing the account and `folder` right after each write
        (or each whose name `keep` accepts), labelled as `arm` would name that write: by its
        place in the run, or with `keep` by (name, occurrence)."""
        self.arm(None)
        captured: list[tuple[At, World]] = []
        self._capturing = (folder, keep, captured)
        try:
            run()
        finally:
            self._capturing = None
        return captured

    def _wrote(self, name: str) -> None:
        self.seen.append(name)
        occurrence = self.seen.count(name)
        if self.at in (len(self.seen), (name, occurrence)):
            raise Crash(name)
        if self._capturing is not None:
            folder, keep, captured = self._capturing
            if keep is None:
                captured.append((len(self.seen), capture(folder)))
            elif keep(name):
                captured.append(((name, occurrence), capture(folder)))


def state_shape(state_path: Path) -> dict[str, tuple[bool, list[str]]]:
    """What the state records, without the ids: each step's done flag and resource keys. Equal
    to an uninterrupted run's, the next `up` or `down` starts where that run's would."""
    if not state_path.exists():
        return {}
    steps = json.loads(state_path.read_text())["steps"]
    return {step: (entry["done"], sorted(entry["resources"])) for step, entry in steps.items()}


# Ids of the kinds the inventory lists that a state may name: EC2's and the load balancers'.
NAMED_IDS = re.compile(r'"((?:vpc|subnet|rtb|igw|nat|eipalloc|sg)-[0-9a-f]+'
                       r'|arn:aws:elasticloadbalancing:[^"]+)"')


def unaccounted(state_path: Path, region: str,
                shape: dict[str, tuple[bool, list[str]]] | None = None) -> dict[str, Any]:
    """What a recovered state gets wrong (empty when nothing): its shape, when it differs from
    `shape` (an uninterrupted run's `state_shape`); live resources it does not name (`down`
    would have to find them by their tags); EC2 ids or load balancer ARNs it names that no
    longer exist (a stale id). Task definitions are left out:
    earlier revisions stay ACTIVE by design; a Lambda permission is named by its function (the
    state keeps the functions whose policies it touched, not the statements)."""
    text = state_path.read_text() if state_path.exists() else ""
    live = {kind: items for kind, items in inventory(region).items() if kind != "task_definitions"}
    needles = {item: f'"{item}"' for kind, items in live.items() if kind != "lambda_permissions"
               for item in items}
    needles.update({p: f':function:{p.split(":")[0]}"' for p in live["lambda_permissions"]})
    unnamed = [item for item, needle in needles.items() if needle not in text]
    known = {item for items in live.values() for item in items}
    stale = sorted(set(NAMED_IDS.findall(text)) - known)
    have = state_shape(state_path) if shape is not None else None
    wrong = {"shape": (have, shape) if have != shape else None, "unnamed": unnamed,
             "stale": stale}
    return {k: v for k, v in wrong.items() if v}

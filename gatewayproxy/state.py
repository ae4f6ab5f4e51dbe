"""The state: which AWS resources the stack owns, where they live, and what each step finished.

Saved every time a resource is recorded or forgotten, all or nothing, so a crash at any moment
leaves a valid state that the next run resumes from. Where it is saved is its store
(state_store.py): a local file written atomically (temp file, fsync, rename, owner-only), or an
S3 object written conditionally on the ETag this process last saw (s3_state.py).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gatewayproxy.errors import StateError
from gatewayproxy.state_store import LocalStore, Store

FORMAT = "gatewayproxy-state"
# Recorded values that are choices or tokens, not AWS resources.
NOT_RESOURCES = {"availability_zones", "client_token", "client_tokens", "invoke_url",
                 "last_healthy_task_definition", "rolled_back_from"}
VERSION = 1


class State:
    """A stack's state; every mutation is saved before it returns."""

    def __init__(self, path: Path | None, data: dict[str, Any], scratch: bool = False, *,
                 store: Store | None = None) -> None:
        """`store` is where it is saved; a `path` alone means the local file there."""
        if store is None:
            if path is None:
                raise ValueError("a State needs a path or a store")
            store = LocalStore(path)
        self.store = store
        self._data = data
        self._lock = threading.RLock()
        self._scratch = scratch

    def scratch(self) -> State:
        """A copy that is never written anywhere: for `plan`, which must change nothing."""
        return State(None, self.as_dict(), scratch=True, store=self.store)

    @property
    def path(self) -> Path:
        """The local state file (an S3 state has none)."""
        if not isinstance(self.store, LocalStore):
            raise StateError(f"the state {self.where} is not a local file")
        return self.store.path

    @property
    def where(self) -> str:
        """The state's address, for messages: a path or s3://BUCKET/KEY."""
        return self.store.where

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, stack: str) -> State:
        """Read the state of `stack` from the local file, or start an empty one when there is
        no file yet."""
        return cls.open(LocalStore(path), stack)

    @classmethod
    def open(cls, store: Store, stack: str) -> State:
        """Read the state of `stack` from `store`, or start an empty one when it has none."""
        return cls(None, _parse(store.read(), store.where, stack), store=store)

    def reload(self) -> None:
        """Read the state again (once the lock is held: another machine may have written it)."""
        data = _parse(self.store.read(), self.where, str(self._data.get("stack")))
        with self._lock:
            self._data = data

    @property
    def exists(self) -> bool:
        return self.store.exists()

    # -- where the stack lives -----------------------------------------------------------------
    @property
    def target(self) -> dict[str, Any] | None:
        target = self._data.get("target")
        return dict(target) if isinstance(target, dict) else None

    def set_target(self, account_id: str, region: str, endpoint_url: str | None) -> None:
        with self._lock:
            self._data["target"] = {"account_id": account_id, "region": region,
                                    "endpoint_url": endpoint_url}
            self.save()

    # -- resources -------------------------------------------------------------------------
    def get(self, step: str, key: str) -> Any:
        return self._step(step).get("resources", {}).get(key)

    def resources(self, step: str) -> dict[str, Any]:
        return dict(self._step(step).get("resources", {}))

    def record(self, step: str, key: str, value: Any) -> None:
        """Remember a resource id the moment AWS returns it."""
        with self._lock:
            entry = self._data["steps"].setdefault(step, {"done": False, "resources": {}})
            if entry["resources"].get(key) == value:
                return
            entry["resources"][key] = value
            self.save()

    def forget(self, step: str, key: str) -> None:
        """Drop a resource id once AWS confirms it is gone."""
        with self._lock:
            entry = self._data["steps"].get(step)
            if not entry or key not in entry["resources"]:
                return
            del entry["resources"][key]
            entry["done"] = False
            self.save()

    def is_done(self, step: str) -> bool:
        return bool(self._step(step).get("done"))

    def mark_done(self, step: str, done: bool = True) -> None:
        with self._lock:
            entry = self._data["steps"].setdefault(step, {"done": False, "resources": {}})
            if entry["done"] == done:
                return
            entry["done"] = done
            self.save()

    def drop_step(self, step: str) -> None:
        with self._lock:
            if self._data["steps"].pop(step, None) is not None:
                self.save()

    @property
    def is_empty(self) -> bool:
        """True when no AWS resource is recorded (choices such as the zones do not count)."""
        return not any(set(entry.get("resources", {})) - NOT_RESOURCES
                       for entry in self._data["steps"].values())

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._data))

    def _step(self, step: str) -> dict[str, Any]:
        entry = self._data["steps"].get(step)
        return entry if isinstance(entry, dict) else {}

    # -- writing ---------------------------------------------------------------------------
    def save(self) -> None:
        """Replace the saved state all or nothing: a reader sees the old or the new, never half."""
        if self._scratch:
            return
        with self._lock:
            self.store.write(json.dumps(self._data, indent=2, sort_keys=True) + "\n")

    def delete_file(self) -> None:
        """Remove the saved state (the stack is gone)."""
        if not self._scratch:
            self.store.delete()


def _parse(text: str | None, where: str, stack: str) -> dict[str, Any]:
    """The state's contents, checked to be ours, of our version and of this stack."""
    if text is None:
        return {"format": FORMAT, "version": VERSION, "stack": stack, "target": None, "steps": {}}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"state file {where} is corrupt ({exc.msg} at line {exc.lineno}); it was left "
            "untouched: restore it, or move it away and run `gatewayproxy import`"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{where} is not a gatewayproxy state file; it was left untouched")
    if data.get("version") != VERSION:
        raise StateError(
            f"state file {where} has version {data.get('version')!r}; this gatewayproxy "
            f"reads version {VERSION}"
        )
    if data.get("stack") != stack:
        raise StateError(f"state file {where} belongs to stack {data.get('stack')!r}, not {stack!r}")
    if not isinstance(data.get("steps"), dict):
        raise StateError(f"state file {where} is corrupt (no steps table); it was left untouched")
    return data


def default_path(config_path: Path, stack: str) -> Path:
    return config_path.resolve().parent / ".gatewayproxy" / f"{stack}.state.json"


@contextlib.contextmanager
def locked(state_path: Path, command: str) -> Iterator[None]:
    """Hold the lock of the local state at `state_path` for one command (LocalStore.lock)."""
    with LocalStore(state_path).lock(command):
        yield

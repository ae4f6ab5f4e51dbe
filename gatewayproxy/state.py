"""The state file: which AWS resources the stack owns, where they live, and what each step finished.

Written atomically (temp file, fsync, rename, owner-only) every time a resource is recorded or
forgotten, so a crash at any moment leaves a valid file that the next run resumes from.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gatewayproxy.errors import StateError

FORMAT = "gatewayproxy-state"
# Recorded values that are choices or tokens, not AWS resources.
NOT_RESOURCES = {"availability_zones", "client_token", "client_tokens", "invoke_url"}
VERSION = 1


class State:
    """A stack's state; every mutation is saved before it returns."""

    def __init__(self, path: Path, data: dict[str, Any], scratch: bool = False) -> None:
        self.path = path
        self._data = data
        self._lock = threading.RLock()
        self._scratch = scratch

    def scratch(self) -> State:
        """A copy that is never written to disk: for `plan`, which must change nothing."""
        return State(self.path, self.as_dict(), scratch=True)

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, stack: str) -> State:
        """Read the state of `stack`, or start an empty one when there is no file yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, {"format": FORMAT, "version": VERSION, "stack": stack, "target": None,
                              "steps": {}})
        except OSError as exc:
            raise StateError(f"cannot read state file {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(
                f"state file {path} is corrupt ({exc.msg} at line {exc.lineno}); it was left "
                "untouched: restore it, or move it away and run `gatewayproxy import`"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateError(f"{path} is not a gatewayproxy state file; it was left untouched")
        if data.get("version") != VERSION:
            raise StateError(
                f"state file {path} has version {data.get('version')!r}; this gatewayproxy "
                f"reads version {VERSION}"
            )
        if data.get("stack") != stack:
            raise StateError(
                f"state file {path} belongs to stack {data.get('stack')!r}, not {stack!r}"
            )
        if not isinstance(data.get("steps"), dict):
            raise StateError(f"state file {path} is corrupt (no steps table); it was left untouched")
        return cls(path, data)

    @property
    def exists(self) -> bool:
        return self.path.exists()

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
        """Atomically replace the file: a reader sees the old or the new state, never half."""
        if self._scratch:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            text = json.dumps(self._data, indent=2, sort_keys=True) + "\n"
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_dir(self.path.parent)

    def delete_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def default_path(config_path: Path, stack: str) -> Path:
    return config_path.resolve().parent / ".gatewayproxy" / f"{stack}.state.json"


@contextlib.contextmanager
def locked(state_path: Path, command: str) -> Iterator[None]:
    """Hold the stack's lock for one `up`/`down`; refuse when a live process holds it."""
    lock_path = state_path.with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    me = {"pid": os.getpid(), "command": command}
    for _ in range(2):
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _read_lock(lock_path)
            if holder and _alive(holder.get("pid")):
                raise StateError(
                    f"another gatewayproxy ({holder.get('command', '?')}, pid {holder.get('pid')}) "
                    f"is working on this stack; wait for it, or remove {lock_path} if it is gone"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()  # stale: its process is dead
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(me, handle)
        break
    else:
        raise StateError(f"could not take the lock {lock_path}")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            if _read_lock(lock_path) == me:
                lock_path.unlink()


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

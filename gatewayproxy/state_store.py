"""Where a stack's state lives: a local file (the default) or an S3 object, and its lock.

A store reads and writes the state's text and holds the stack's lock; `State` (state.py) keeps
the contents and decides when to save. The local store is today's file and lock file, byte for
byte; the S3 store is in s3_state.py.

Which store a command uses: `--state` > env GATEWAYPROXY_STATE > `[stack] state` in the config >
`.gatewayproxy/<stack>.state.json` beside the config. A value starting with `s3://` is an S3
state; anything else is a local path.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import json
import os
import re
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gatewayproxy.errors import ConfigError, StateError

ENV_VAR = "GATEWAYPROXY_STATE"
S3_SCHEME = "s3://"
# General purpose bucket naming rules (S3 User Guide, "General purpose bucket naming rules").
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_KEY_BYTES = 1024 - len(".lock")  # an object key is at most 1,024 bytes; the lock adds .lock


class Store(Protocol):
    """What `State` needs from where it lives."""

    is_local: bool

    @property
    def where(self) -> str:
        """The state's address, for messages."""

    def read(self) -> str | None:
        """The state's text, or None when there is none yet."""

    def write(self, text: str) -> None:
        """Replace the state with `text`, all or nothing."""

    def delete(self) -> None:
        """Remove the state (once the stack is gone)."""

    def exists(self) -> bool:
        """True when a state was read or written (and not deleted) by this process."""

    def lock(self, command: str) -> contextlib.AbstractContextManager[None]:
        """Hold the stack's lock while `command` runs; refuse at once when another holds it."""

    def holder(self) -> dict[str, Any] | None:
        """The lock as its holder wrote it, or None when the stack is not locked."""

    def unlock(self, lock_id: str) -> dict[str, Any]:
        """Remove the lock whose id is `lock_id` (a dead machine's); return what it said."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"

    @property
    def lock_key(self) -> str:
        return f"{self.key}.lock"


def is_s3(value: str | Path | None) -> bool:
    return isinstance(value, str) and value.startswith(S3_SCHEME)


def check_bucket_name(bucket: str, where: str) -> str:
    """Refuse a bucket name S3 would refuse, naming `where` it came from."""
    bad = (not BUCKET_NAME.fullmatch(bucket) or ".." in bucket or _is_ip(bucket)
           or bucket.startswith(BUCKET_PREFIXES) or bucket.endswith(BUCKET_SUFFIXES))
    if bad:
        raise ConfigError(f"{where}: {bucket!r} is not a valid S3 bucket name (3 to 63 lowercase "
                          "letters, digits, '.' and '-', starting and ending with a letter or digit)")
    return bucket


def parse_s3_url(url: str, where: str, key_required: bool = True) -> S3Location:
    """`s3://BUCKET/KEY`: a valid bucket name and a non-empty key that does not end in '/'."""
    if not url.startswith(S3_SCHEME):
        raise ConfigError(f"{where}: {url!r} is not an s3://BUCKET/KEY address")
    bucket, _, key = url[len(S3_SCHEME):].partition("/")
    check_bucket_name(bucket, where)
    if not key_required:
        if key:
            raise ConfigError(f"{where}: {url!r}: give the bucket only (s3://{bucket})")
        return S3Location(bucket, "")
    if not key:
        raise ConfigError(f"{where}: {url!r} has no key: use s3://{bucket}/KEY, e.g. "
                          f"s3://{bucket}/STACK.state.json")
    if key.endswith("/"):
        raise ConfigError(f"{where}: {url!r} ends with '/': the key names the state object, "
                          "not a folder")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ConfigError(f"{where}: the key of {url!r} is longer than {MAX_KEY_BYTES} bytes")
    return S3Location(bucket, key)


def choose(flag: str | Path | None, env: str | None, configured: str | None,
           default: Path, config_dir: Path) -> tuple[S3Location | Path, bool]:
    """The state's location and whether it is the default one: flag > env > config > default.
    A relative local path in the config is beside the config file."""
    for value, where in ((flag, "--state"), (env or None, ENV_VAR), (configured, "stack.state")):
        if value is None or value == "":
            continue
        if is_s3(value):
            return parse_s3_url(str(value), where), False
        path = Path(value)
        if where == "stack.state" and not path.is_absolute():
            path = config_dir / path
        return path, False
    return default, True


def me(command: str) -> dict[str, Any]:
    """Who holds a lock: for the refusal another machine prints."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        user = str(os.getuid())
    return {"id": str(uuid.uuid4()), "who": f"{user}@{socket.gethostname()}",
            "where": os.getcwd(), "what": command, "pid": os.getpid()}


# -- the local file ------------------------------------------------------------------------------
class LocalStore:
    """Today's state file: written atomically (temp file, fsync, rename, owner-only), locked by
    a lock file beside it that a dead process's successor removes."""

    is_local = True

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(".lock")

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read state file {self.path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise StateError(f"{self.path} is not a gatewayproxy state file; it was left "
                             "untouched") from None

    def write(self, text: str) -> None:
        """Atomically replace the file: a reader sees the old or the new state, never half."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the stack's lock for one command; refuse when a live process holds it."""
        lock_path = self.lock_path
        lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mine = {"pid": os.getpid(), "command": command, "id": str(uuid.uuid4())}
        for _ in range(2):
            try:
                fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                holder = _read_lock(lock_path)
                if holder and _alive(holder.get("pid")):
                    raise StateError(
                        f"another gatewayproxy ({holder.get('command', '?')}, pid "
                        f"{holder.get('pid')}) is working on this stack; wait for it, or remove "
                        f"{lock_path} if it is gone (`gatewayproxy unlock {_local_id(holder)}`)"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    lock_path.unlink()  # stale: its process is dead
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(mine, handle)
            break
        else:
            raise StateError(f"could not take the lock {lock_path}")
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                if _read_lock(lock_path) == mine:
                    lock_path.unlink()

    def holder(self) -> dict[str, Any] | None:
        found = _read_lock(self.lock_path)
        if found is None:
            return None
        return {"id": _local_id(found), "who": f"pid {found.get('pid')}",
                "where": str(self.path.parent), "what": found.get("command", "?")}

    def unlock(self, lock_id: str) -> dict[str, Any]:
        found = self.holder()
        if found is None:
            raise StateError(f"this stack is not locked (no {self.lock_path})")
        if found["id"] != lock_id:
            raise StateError(f"the lock {self.lock_path} has id {found['id']}, not {lock_id}; "
                             "nothing was removed")
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()
        return found


def _local_id(holder: dict[str, Any]) -> str:
    """A lock file written before locks had ids is named by its process id."""
    return str(holder.get("id") or holder.get("pid"))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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

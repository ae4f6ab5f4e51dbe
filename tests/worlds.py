"""The emulated account and a stack's files, captured and put back.

A crash test kills a run at each of its writes. Replaying the run's prefix up to each write costs
a whole run per crash point; capturing the world at each write of one run costs a deep copy of
moto's backends (a few milliseconds). A capture taken right after AWS performed a write and
before the caller saw the answer is exactly what a SIGKILL there leaves behind: moto has the
write, the state file has not recorded it, and no `finally` of ours ran.
"""

from __future__ import annotations

import copy
import copyreg
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.core.base_backend import BackendDict

# (the service's BackendDict, account, region, backend): the backends in use when captured
Backends = list[tuple[Any, str, str, Any]]


@dataclass(frozen=True)
class World:
    backends: Backends
    files: dict[Path, bytes]  # every file under the folder, by its path in the folder
    folder: Path


# moto classes deepcopy cannot rebuild by themselves: defaultdicts whose __init__ takes more
# than the default factory (module, class).
REBUILT_DEFAULTDICTS = (("moto.ssm.models", "ParameterDict"),)


def _new_defaultdict(cls: type[Any], factory: Any) -> Any:
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


def _reduce_defaultdict(made: Any) -> tuple[Any, ...]:
    return (_new_defaultdict, (type(made), made.default_factory), made.__dict__, None,
            iter(made.items()))


# A lock is copied as a new one (ECR's backend has one; nobody holds it between calls). For the
# test process only: a lock pickles from then on.
copyreg.pickle(type(threading.Lock()), lambda lock: (threading.Lock, ()))
copyreg.pickle(type(threading.RLock()), lambda lock: (threading.RLock, ()))


def _deepcopy(backends: list[Any]) -> list[Any]:
    for module, name in REBUILT_DEFAULTDICTS:
        if module in sys.modules:
            copyreg.pickle(getattr(sys.modules[module], name), _reduce_defaultdict)
    return copy.deepcopy(backends)


def capture(folder: Path) -> World:
    """A copy of every backend moto has built (one deep copy, so objects shared between
    services stay shared) and of the files under `folder` (the state, its backups)."""
    live = [(services, account, region, backend)
            for services in BackendDict._instances
            for account, regions in services.items()
            for region, backend in dict.items(regions)]
    copies = _deepcopy([backend for *_, backend in live])
    files = {path.relative_to(folder): path.read_bytes()
             for path in folder.rglob("*") if path.is_file()}
    return World([(s, a, r, c) for (s, a, r, _), c in zip(live, copies, strict=True)],
                 files, folder)


def restore(world: World, folder: Path | None = None, prune: bool = True) -> None:
    """The account and the folder (or the same files in another `folder`) as they were
    captured: backends built since are dropped, files written since are removed (unless not
    `prune`). The world can be restored again (each restore copies)."""
    folder = folder or world.folder
    for services in BackendDict._instances:
        for regions in services.values():
            dict.clear(regions)
    copies = _deepcopy([backend for *_, backend in world.backends])
    for (services, account, region, _), backend in zip(world.backends, copies, strict=True):
        dict.__setitem__(services[account], region, backend)
    if prune:
        for path in [p for p in folder.rglob("*")
                     if p.is_file() and p.relative_to(folder) not in world.files]:
            path.unlink()
    for relative, data in world.files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)


_MADE: dict[tuple[str, ...], World] = {}


def made_once(key: tuple[str, ...], folder: Path, make: Callable[[], None]) -> None:
    """What `make()` leaves in the account and `folder`, made by the first test of this process
    that asks for `key` and restored into the folders of the later ones. The key names
    everything `make` depends on (the fixture, the config's text)."""
    world = _MADE.get(key)
    if world is None:
        make()
        _MADE[key] = capture(folder)
    else:
        restore(world, folder, prune=False)  # the test's own files stay

"""Progress of `up` and `down`: a live line per step on a terminal, plain log lines elsewhere.

Each step is in one state at a time, and the state is the truth: `pending` (not started),
`waiting` (for another step: `waiting for NLB`), `running`, `done`, `FAILED`, or `stopped`
(cancelled because another step failed, or Ctrl-C). `close()` stops whatever has not ended, so
after a failure or Ctrl-C nothing is left saying `running`. `stopped()` and `close()` never
overwrite `done` or `FAILED`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, Any

ENDED = ("done", "FAILED", "stopped")


class Reporter:
    """Plain lines on a stream: what CI logs and pipes get. `now` is the run's clock (the AWS
    layer's, which tests replace), so elapsed times are the ones the waits saw."""

    def __init__(self, stream: IO[str], names: tuple[str, ...],
                 now: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.names = names
        self.now = now
        self._lock = threading.Lock()
        self._started = now()
        self._last: dict[str, str] = {}
        self._states: dict[str, str] = {}
        self._waiting_on: dict[str, str] = {}

    def _line(self, text: str) -> None:
        with self._lock:
            elapsed = int(self.now() - self._started)
            self.stream.write(f"[{elapsed // 60}:{elapsed % 60:02d}] {text}\n")
            self.stream.flush()

    def _enter(self, step: str, state: str) -> None:
        with self._lock:
            self._states[step] = state

    def started(self, step: str) -> None:
        self._enter(step, "running")
        self._line(f"{_label(self.names, step)} started")

    def waiting(self, step: str, on: str) -> None:
        """The step waits for another (`on`, in words: "NLB"); printed once per change."""
        with self._lock:
            if self._states.get(step) == "waiting" and self._waiting_on.get(step) == on:
                return
            self._states[step] = "waiting"
            self._waiting_on[step] = on
        self._line(f"{_label(self.names, step)} waiting for {on}")

    def message(self, step: str, text: str) -> None:
        # Waits report every poll; print only when what they say changes (not the clock).
        key = _WAIT_CLOCK.sub("", text)
        if self._last.get(step) == key:
            return
        self._last[step] = key
        self._line(f"{_label(self.names, step)} {text}")

    def finished(self, step: str, seconds: float, resources: int | str) -> None:
        """`resources` is a count, or what the step did in words ("2 created, 1 updated")."""
        self._enter(step, "done")
        detail = f" ({resources})" if isinstance(resources, str) else ""
        self._line(f"{_label(self.names, step)} done in {seconds:.1f}s{detail}")

    def failed(self, step: str, error: BaseException) -> None:
        self._enter(step, "FAILED")
        self._line(f"{_label(self.names, step)} FAILED: {error}")

    def stopped(self, step: str) -> None:
        """The step was cancelled (another failed, or Ctrl-C) before it could end."""
        with self._lock:
            if self._states.get(step) in ENDED:
                return
            self._states[step] = "stopped"
        self._line(f"{_label(self.names, step)} stopped")

    def close(self) -> None:
        """A step the log last showed running or waiting gets its `stopped` line."""
        with self._lock:
            unended = [step for step, state in self._states.items() if state not in ENDED]
        for step in sorted(unended, key=lambda step: _position(self.names, step)):
            self.stopped(step)


@dataclass
class _Row:
    state: str = "pending"
    took: str = ""
    detail: str = ""
    began: float = 0.0


class LiveReporter(Reporter):
    """A rich table redrawn in place: each step's state, elapsed time and what it waits for.
    `auto_refresh=False` draws no frames until `close()` (no refresh thread: what tests use)."""

    def __init__(self, console: Any, names: tuple[str, ...],
                 now: Callable[[], float] = time.monotonic, auto_refresh: bool = True) -> None:
        super().__init__(console.file, names, now)
        from rich.live import Live

        self._console = console
        self._rows: dict[str, _Row] = {name: _Row() for name in names}
        self._live = Live(self.table(), console=console, refresh_per_second=4,
                          auto_refresh=auto_refresh, get_renderable=self.table)
        self._live.start()

    def table(self) -> Any:
        """The table as it stands now (a rich renderable)."""
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        for column in ("step", "state", "time", "detail"):
            table.add_column(column, no_wrap=column != "detail")
        with self._lock:  # never held while calling into rich's Live (its lock is taken first)
            now = self.now()
            rows = [(name, replace(self._row(name))) for name in self.names]
        for i, (name, row) in enumerate(rows, 1):
            took = _clock(now - row.began) if row.state == "running" else row.took
            style = {"done": "green", "FAILED": "red", "running": "yellow",
                     "waiting": "cyan"}.get(row.state, "dim")
            table.add_row(f"{i}. {name}", f"[{style}]{row.state}[/]", took, row.detail)
        return table

    def _row(self, step: str) -> _Row:
        return self._rows.setdefault(step, _Row())

    def started(self, step: str) -> None:
        with self._lock:
            self._rows[step] = _Row("running", began=self.now())

    def waiting(self, step: str, on: str) -> None:
        with self._lock:
            self._rows[step] = _Row("waiting", detail=f"waiting for {on}")

    def message(self, step: str, text: str) -> None:
        with self._lock:
            self._row(step).detail = text

    def finished(self, step: str, seconds: float, resources: int | str) -> None:
        detail = resources if isinstance(resources, str) else f"{resources} resources"
        with self._lock:
            self._rows[step] = _Row("done", _clock(seconds), detail)

    def failed(self, step: str, error: BaseException) -> None:
        with self._lock:
            self._rows[step] = _Row("FAILED", "", str(error))

    def stopped(self, step: str) -> None:
        with self._lock:
            self._stop(step)

    def _stop(self, step: str) -> None:
        row = self._row(step)
        if row.state in ENDED:
            return
        if row.state == "running":  # how long it ran before it was stopped
            row.took = _clock(self.now() - row.began)
        row.state = "stopped"

    def close(self) -> None:
        """Every row that has not ended (pending, waiting, running) is stopped, then the last
        frame is drawn: no row is left saying `running` after a failure or Ctrl-C."""
        with self._lock:
            for step in self._rows:
                self._stop(step)
        self._live.stop()


def _position(names: tuple[str, ...], step: str) -> int:
    return names.index(step) if step in names else len(names)


# The elapsed time a wait's report ends with (`NAT gateway nat-1 pending 0:12`).
_WAIT_CLOCK = re.compile(r" \d+:\d\d$")


def _label(names: tuple[str, ...], step: str) -> str:
    return f"{names.index(step) + 1}. {step}" if step in names else step


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"

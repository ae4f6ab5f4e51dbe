"""Progress of `up` and `down`: a live line per step on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, Any


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

    def _line(self, text: str) -> None:
        with self._lock:
            elapsed = int(self.now() - self._started)
            self.stream.write(f"[{elapsed // 60}:{elapsed % 60:02d}] {text}\n")
            self.stream.flush()

    def started(self, step: str) -> None:
        self._line(f"{_label(self.names, step)} started")

    def message(self, step: str, text: str) -> None:
        # Waits report every poll; print only when what they say changes (not the clock).
        key = text.rsplit(" ", 1)[0]
        if self._last.get(step) == key:
            return
        self._last[step] = key
        self._line(f"{_label(self.names, step)} {text}")

    def finished(self, step: str, seconds: float, resources: int | str) -> None:
        self._line(f"{_label(self.names, step)} done in {seconds:.1f}s")

    def failed(self, step: str, error: BaseException) -> None:
        self._line(f"{_label(self.names, step)} FAILED: {error}")

    def close(self) -> None:
        """Nothing to tear down for plain lines."""


class LiveReporter(Reporter):
    """A rich table redrawn in place: each step's state, elapsed time and what it waits for."""

    def __init__(self, console: Any, names: tuple[str, ...],
                 now: Callable[[], float] = time.monotonic) -> None:
        super().__init__(console.file, names, now)
        from rich.live import Live

        self._console = console
        self._rows: dict[str, list[str]] = {name: ["waiting", "", ""] for name in names}
        self._began: dict[str, float] = {}
        self._live = Live(self._render(), console=console, refresh_per_second=4,
                          get_renderable=self._render)
        self._live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        for column in ("step", "state", "time", "detail"):
            table.add_column(column, no_wrap=column != "detail")
        now = self.now()
        for i, name in enumerate(self.names, 1):
            state, took, detail = self._rows[name]
            if state == "running":
                took = _clock(now - self._began[name])
            style = {"done": "green", "FAILED": "red", "running": "yellow"}.get(state, "dim")
            table.add_row(f"{i}. {name}", f"[{style}]{state}[/]", took, detail)
        return table

    def started(self, step: str) -> None:
        with self._lock:
            self._began[step] = self.now()
            self._rows[step] = ["running", "", ""]

    def message(self, step: str, text: str) -> None:
        with self._lock:
            self._rows[step][2] = text

    def finished(self, step: str, seconds: float, resources: int | str) -> None:
        with self._lock:
            self._rows[step] = ["done", _clock(seconds), f"{resources} resources"]

    def failed(self, step: str, error: BaseException) -> None:
        with self._lock:
            self._rows[step] = ["FAILED", "", str(error)]

    def close(self) -> None:
        self._live.stop()


def _label(names: tuple[str, ...], step: str) -> str:
    return f"{names.index(step) + 1}. {step}" if step in names else step


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"

"""Progress bars for waits: ``RE.waiting_hook(statuses)`` ... ``RE.waiting_hook(None)``.

The engine calls its `waiting_hook` with the statuses a ``wait`` is about to await (only
when at least one is still busy) and with ``None`` when the wait ends. Statuses that
have ``watch(cb)`` report `acq.protocols.Progress` (acq's) or keyword arguments
(bluesky's protocol: ophyd-async, ophyd); `watcher` accepts both, and the bars draw.

`default_waiting_hook()` picks a Jupyter bar when running in a kernel with ipywidgets, a
text bar on stderr when it is a terminal, and nothing otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TextIO

from .protocols import Progress

__all__ = [
    "JupyterProgressBar",
    "TerminalProgressBar",
    "default_waiting_hook",
    "progress_from_keywords",
    "watcher",
]

WaitingHook = Any  # Callable[[Sequence[Status] | None], None]


def _label(progress: Progress, fallback: str) -> str:
    return progress.name or fallback


_FIELDS = frozenset(Progress.__dataclass_fields__)


def progress_from_keywords(fields: dict[str, Any]) -> Progress | None:
    """bluesky's watch keywords as a `Progress`; None for an update with nothing to draw.

    ophyd also calls its watchers with only ``name`` (at ``watch``) and with ``name`` and
    ``fraction`` (its *remaining* fraction, at the end): a bar keeps its last position.
    """
    if not any(fields.get(k) is not None for k in ("current", "target", "time_remaining")):
        return None
    return Progress(**{k: v for k, v in fields.items() if k in _FIELDS})


def watcher(report: Callable[[Progress], None]) -> Callable[..., None]:
    """A ``status.watch`` callback that hands `report` a `Progress` either way a status
    reports: acq's statuses pass one `Progress`; bluesky's protocol (ophyd-async's
    WatchableAsyncStatus, ophyd's MoveStatus) passes keyword arguments."""

    def on_update(progress: Progress | None = None, /, **fields: Any) -> None:
        if progress is None:
            progress = progress_from_keywords(fields)
            if progress is None:
                return
        report(progress)

    return on_update


class TerminalProgressBar:
    """One text line per watched status on `file`, redrawn at most 10 times a second.

    Nothing is drawn for waits shorter than `delay` seconds, so fast steps do not flicker.
    """

    width = 30

    def __init__(self, file: TextIO | None = None, delay: float = 0.5) -> None:
        self.file = file or sys.stderr
        self.delay = delay
        self._generation = 0
        self._lines: dict[int, str] = {}
        self._started = 0.0
        self._last_draw = 0.0
        self._drawn = 0

    def __call__(self, statuses: Sequence[Any] | None) -> None:
        self._generation += 1
        if statuses is None:
            self._finish()
            return
        self._lines = {}
        self._started = time.monotonic()
        generation = self._generation
        for i, status in enumerate(statuses):
            watch = getattr(status, "watch", None)
            if watch is not None:
                watch(watcher(partial(self._update, generation, i)))

    def _update(self, generation: int, index: int, progress: Progress) -> None:
        if generation != self._generation:
            return
        self._lines[index] = self.render(progress, f"#{index}")
        now = time.monotonic()
        if now - self._started >= self.delay and now - self._last_draw >= 0.1:
            self._draw()
            self._last_draw = now

    def render(self, p: Progress, fallback: str) -> str:
        fraction = p.fraction
        if fraction is None:
            bar = "?" * self.width
            percent = "  ?%"
        else:
            filled = round(fraction * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            percent = f"{fraction * 100:3.0f}%"
        fmt = f".{p.precision}f" if p.precision is not None else "g"
        where = ""
        if p.current is not None and p.target is not None:
            where = f" {p.current:{fmt}}/{p.target:{fmt}} {p.unit}".rstrip()
        eta = f" ETA {p.time_remaining:.1f} s" if p.time_remaining is not None else ""
        return f"{_label(p, fallback):<12.12} [{bar}] {percent}{where}{eta}"

    def _draw(self) -> None:
        out = self.file
        if self._drawn:
            out.write(f"\x1b[{self._drawn}F")  # back to the first line we drew
        lines = [self._lines[k] for k in sorted(self._lines)]
        for line in lines:
            out.write(f"\x1b[2K{line}\n")
        self._drawn = len(lines)
        out.flush()

    def _finish(self) -> None:
        if self._drawn:
            self._draw()
        self._drawn = 0
        self._lines = {}


class JupyterProgressBar:
    """ipywidgets progress bars, one per watched status, shown below the running cell."""

    def __init__(self) -> None:
        import ipywidgets  # noqa: F401  (fail early when missing)

        self._bars: dict[int, Any] = {}
        self._generation = 0

    def __call__(self, statuses: Sequence[Any] | None) -> None:
        import ipywidgets
        from IPython.display import display

        self._generation += 1
        for bar in self._bars.values():
            bar.close()
        self._bars = {}
        if statuses is None:
            return
        generation = self._generation
        for i, status in enumerate(statuses):
            watch = getattr(status, "watch", None)
            if watch is None:
                continue
            bar = ipywidgets.FloatProgress(min=0.0, max=1.0, description=f"#{i}")
            self._bars[i] = bar
            display(bar)
            watch(watcher(partial(self._update, generation, bar)))

    def _update(self, generation: int, bar: Any, progress: Progress) -> None:
        if generation == self._generation and progress.fraction is not None:
            bar.value = progress.fraction
            bar.description = progress.name or bar.description


def default_waiting_hook() -> WaitingHook | None:
    if "ipykernel" in sys.modules:
        try:
            return JupyterProgressBar()
        except ImportError:
            return None
    if sys.stderr is not None and sys.stderr.isatty():
        return TerminalProgressBar()
    return None

"""A subscriber that fills peak statistics per run, for scripts and notebooks.

``ps = PeakStatsCallback(); RE.subscribe(ps); await RE(scan(...)); ps.latest["det"].cen``
The statistics are computed once, when the run's stop document arrives, from the same
bounded buffers the live plots use (`viz.runs`).
"""

from __future__ import annotations

from typing import Any

from .peaks import PeakStats
from .runs import Runs

__all__ = ["PeakStatsCallback"]


class PeakStatsCallback:
    """``cb(name, doc)``: `peak_stats` of every hinted detector field of each 1-D run,
    against the scanned motor (or time), available when the run has ended."""

    def __init__(self, max_runs: int = 20, max_points: int = 1_000_000) -> None:
        self._runs = Runs(max_runs=max_runs, max_points=max_points)

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self._runs(name, doc)

    def __getitem__(self, run_uid: str) -> dict[str, PeakStats]:
        """Statistics of one run by uid, field by field (empty while it runs)."""
        try:
            return dict(self._runs.runs[run_uid].peaks)
        except KeyError:
            raise KeyError(
                f"no run {run_uid!r} among the last {self._runs.max_runs} this callback saw"
            ) from None

    @property
    def latest(self) -> dict[str, PeakStats]:
        """Statistics of the most recent finished run, field by field."""
        for run in reversed(self._runs.runs.values()):
            if run.stop is not None:
                return dict(run.peaks)
        return {}

    @property
    def x(self) -> str | None:
        """The field the latest run's statistics are positions of (its motor, or time)."""
        run = self._runs.latest
        return None if run is None else run.x

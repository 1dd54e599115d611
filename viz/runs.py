"""Runs as the live plots see them: documents folded into bounded per-run buffers.

Pure bookkeeping, no Bokeh and no event loop. The subscriber side (`Runs.__call__`) runs
at document speed in the engine's loop, so it only appends numbers to lists; each browser
session reads what is new at its own pace (about ten times a second) by absolute point
index. That split is what keeps a 1 kHz scan fast: the cost per event is a few list
appends, whatever the number of browsers.

Memory is bounded: a run keeps its last ``max_points`` points (older ones roll over, their
count is kept in ``dropped``), only the latest image of an area detector, and only the
last ``max_runs`` runs.

How a run is drawn is decided from its start document, as bluesky's BestEffortCallback
does: ``hints.dimensions`` names the scanned motors; one dimension (or several moved
together, ``plan_pattern`` inner_product) gives line plots against the first motor, a
``time`` dimension a time series, two dimensions with a grid ``shape`` a heat map filled
in scan order (snaking respected), other two-dimensional scans (spirals) a scatter plot.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .peaks import PeakStats, peak_stats

__all__ = ["GridSpec", "PlotKind", "Run", "Runs", "grid_index"]

log = logging.getLogger("viz.runs")

PlotKind = Literal["line", "grid", "scatter"]

ELAPSED = "elapsed"  # column: seconds since the run started (x of a time series)
INNER_PATTERNS = {"inner_product", "inner_list_product"}
NUMERIC = {"number", "integer"}


def grid_index(flat: int, shape: tuple[int, ...], snaking: tuple[bool, ...]) -> tuple[int, ...]:
    """Index along each axis of point number `flat`, slow axis first; a snaking axis
    reverses every time a slower axis advances (the order the grid plans walk)."""
    index = []
    stride = math.prod(shape)
    for size, snake in zip(shape, snaking, strict=True):
        outer = flat // stride
        stride //= size
        i = (flat // stride) % size
        index.append(size - 1 - i if snake and outer % 2 else i)
    return tuple(index)


@dataclass(frozen=True)
class GridSpec:
    """A rectilinear 2-D grid: ``shape`` (slow, fast), positions of the first and last
    point along each axis, which axes snake."""

    shape: tuple[int, int]
    extents: tuple[tuple[float, float], tuple[float, float]]
    snaking: tuple[bool, bool]

    @classmethod
    def from_start(cls, start: dict[str, Any]) -> GridSpec | None:
        shape, extents = start.get("shape"), start.get("extents")
        if not shape or len(shape) != 2 or not extents or len(extents) != 2:
            return None
        if any(v is None for pair in extents for v in pair):
            return None  # a list grid of names (filters...): no numeric axes to draw
        snaking = start.get("snaking") or [False, False]
        return cls(
            shape=(int(shape[0]), int(shape[1])),
            extents=(
                (float(extents[0][0]), float(extents[0][1])),
                (float(extents[1][0]), float(extents[1][1])),
            ),
            snaking=(bool(snaking[0]), bool(snaking[1])),
        )


@dataclass
class Run:
    """One run's plottable data; see the module docstring for the bounds."""

    uid: str
    start: dict[str, Any]
    kind: PlotKind
    x: str  # the column along x: the first motor's field, or ELAPSED
    y: str | None = None  # the second motor's field (grid and scatter)
    stream: str = "primary"
    grid: GridSpec | None = None
    max_points: int = 100_000
    fields: list[str] = field(default_factory=list)  # hinted scalar detector fields
    image_fields: list[str] = field(default_factory=list)
    data_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns: dict[str, list[float]] = field(default_factory=dict)
    dropped: int = 0  # points rolled over (absolute index of columns' first row)
    images: dict[str, np.ndarray] = field(default_factory=dict)  # latest of each field
    image_version: int = 0
    grids: dict[str, np.ndarray] = field(default_factory=dict)
    grid_version: int = 0
    stop: dict[str, Any] | None = None
    peaks: dict[str, PeakStats] = field(default_factory=dict)

    @property
    def scan_id(self) -> int | None:
        return self.start.get("scan_id")

    @property
    def plan_name(self) -> str:
        return str(self.start.get("plan_name", "run"))

    @property
    def total(self) -> int:
        """Points received so far (including those rolled over)."""
        return self.dropped + len(self.columns.get("seq_num", ()))

    @property
    def exit_status(self) -> str:
        return "running" if self.stop is None else str(self.stop.get("exit_status", "?"))

    @property
    def point_columns(self) -> list[str]:
        """Every column of ``columns``, in a stable order."""
        motors = [self.x] + ([self.y] if self.y else [])
        sums = [f"{name}_sum" for name in self.image_fields]
        extra = [c for c in motors if c not in ("seq_num", "time", ELAPSED)]
        return ["seq_num", "time", ELAPSED, *extra, *self.fields, *sums]

    def label(self, field_name: str) -> str:
        """Axis label: the field with its units, ``m1 (mm)``."""
        if field_name == ELAPSED:
            return "time since start (s)"
        units = self.data_keys.get(field_name, {}).get("units")
        return f"{field_name} ({units})" if units else field_name

    # -- documents -----------------------------------------------------------------

    def add_descriptor(self, doc: dict[str, Any]) -> None:
        self.data_keys.update(doc["data_keys"])
        motors = {self.x, self.y}
        detectors = set(self.start.get("detectors") or ())
        hints = doc.get("hints") or {}
        hinted = [f for obj, h in hints.items() if obj in detectors for f in h.get("fields", ())]
        if not hinted:  # no detector hints: every hinted field that is not a motor
            hinted = [f for h in hints.values() for f in h.get("fields", ())]
        for name in hinted:
            key = doc["data_keys"].get(name, {})
            if name not in motors and name not in self.fields and _is_scalar_number(key):
                self.fields.append(name)
        for name, key in doc["data_keys"].items():
            if _is_image(key) and name not in self.image_fields:
                self.image_fields.append(name)
        for name in self.point_columns:
            self.columns.setdefault(name, [])
        if self.grid is not None:
            for name in self.fields:
                self.grids.setdefault(name, np.full(self.grid.shape, np.nan))

    def add_event(self, data: dict[str, Any], when: float, seq_num: int) -> None:
        columns = self.columns
        for name, column in columns.items():
            if name == "seq_num":
                column.append(seq_num)
            elif name == "time":
                column.append(when)
            elif name == ELAPSED:
                column.append(when - self.start.get("time", when))
            elif name.endswith("_sum") and name[:-4] in self.image_fields:
                image = data.get(name[:-4])
                column.append(float(np.sum(image)) if image is not None else math.nan)
            else:
                column.append(_number(data.get(name)))
        for name in self.image_fields:
            image = data.get(name)
            if image is not None:
                self.images[name] = np.asarray(image)
                self.image_version += 1
        if self.grid is not None:
            self._fill_grid(data, seq_num)
        if len(columns["seq_num"]) > self.max_points + max(1, self.max_points // 10):
            self._roll_over()

    def _fill_grid(self, data: dict[str, Any], seq_num: int) -> None:
        assert self.grid is not None
        if not 1 <= seq_num <= math.prod(self.grid.shape):
            return
        index = grid_index(seq_num - 1, self.grid.shape, self.grid.snaking)
        for name, values in self.grids.items():
            values[index] = _number(data.get(name))
        self.grid_version += 1

    def _roll_over(self) -> None:
        excess = len(self.columns["seq_num"]) - self.max_points
        for column in self.columns.values():
            del column[:excess]
        self.dropped += excess

    def finish(self, stop: dict[str, Any]) -> None:
        self.stop = stop
        if self.kind != "line" or not self.columns.get("seq_num"):
            return
        x = np.asarray(self.columns[self.x], dtype=float)
        for name in [*self.fields, *(f"{n}_sum" for n in self.image_fields)]:
            y = np.asarray(self.columns[name], dtype=float)
            good = np.isfinite(x) & np.isfinite(y)
            if good.any():
                self.peaks[name] = peak_stats(x[good], y[good])

    def rows(self, since: int) -> tuple[int, dict[str, list[float]]]:
        """Points from absolute index `since` on, at most the last `max_points`, and the
        absolute index of the first one returned.

        Never more than `max_points`: the buffer holds up to 10 % more between roll-overs,
        and BokehJS's rollover of a typed-array column longer than the rollover keeps its
        extra tail stale (the page would stop showing new points).
        """
        first = max(since, self.dropped, self.total - self.max_points)
        offset = first - self.dropped
        return first, {name: column[offset:] for name, column in self.columns.items()}


def _is_scalar_number(key: dict[str, Any]) -> bool:
    return key.get("dtype") in NUMERIC and not key.get("shape") and not key.get("external")


def _is_image(key: dict[str, Any]) -> bool:
    shape = [n for n in key.get("shape") or () if n != 1]
    return key.get("dtype") == "array" and len(shape) == 2 and not key.get("external")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def plot_layout(start: dict[str, Any]) -> dict[str, Any]:
    """How to draw a run, from its start document: kind, x, y, stream, grid."""
    dimensions = (start.get("hints") or {}).get("dimensions") or []
    fields = [list(dim[0]) for dim in dimensions if dim and dim[0]]
    stream = dimensions[0][1] if dimensions and len(dimensions[0]) > 1 else "primary"
    first = fields[0][0] if fields else "seq_num"
    x = ELAPSED if first == "time" else first
    if len(fields) == 2 and start.get("plan_pattern") not in INNER_PATTERNS:
        grid = GridSpec.from_start(start)
        if grid is not None:  # the fast (second) motor across, the slow one up
            return {
                "kind": "grid",
                "x": fields[1][0],
                "y": fields[0][0],
                "stream": stream,
                "grid": grid,
            }
        return {
            "kind": "scatter",
            "x": fields[0][0],
            "y": fields[1][0],
            "stream": stream,
            "grid": None,
        }
    return {"kind": "line", "x": x, "y": None, "stream": stream, "grid": None}


class Runs:
    """A ``cb(name, doc)`` that keeps the last `max_runs` runs, newest last."""

    def __init__(self, max_runs: int = 10, max_points: int = 100_000) -> None:
        if max_runs < 1 or max_points < 1:
            raise ValueError(
                f"max_runs and max_points must be at least 1, got {max_runs}, {max_points}"
            )
        self.max_runs = max_runs
        self.max_points = max_points
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.version = 0  # changes when a run starts or ends (the run selector's list)
        self._descriptors: dict[str, tuple[Run, bool]] = {}  # uid -> (run, plotted stream)

    @property
    def latest(self) -> Run | None:
        return next(reversed(self.runs.values()), None)

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(doc)

    def _on_start(self, doc: dict[str, Any]) -> None:
        layout = plot_layout(doc)
        self.runs[doc["uid"]] = Run(uid=doc["uid"], start=doc, max_points=self.max_points, **layout)
        while len(self.runs) > self.max_runs:
            _, old = self.runs.popitem(last=False)
            self._descriptors = {
                uid: entry for uid, entry in self._descriptors.items() if entry[0] is not old
            }
        self.version += 1

    def _on_descriptor(self, doc: dict[str, Any]) -> None:
        run = self.runs.get(doc["run_start"])
        if run is None:
            return  # a run that started before we subscribed, or one already dropped
        plotted = doc.get("name") == run.stream
        self._descriptors[doc["uid"]] = (run, plotted)
        if plotted:
            run.add_descriptor(doc)

    def _on_event(self, doc: dict[str, Any]) -> None:
        run, plotted = self._descriptors.get(doc["descriptor"], (None, False))
        if run is not None and plotted:
            run.add_event(doc["data"], doc["time"], doc["seq_num"])

    def _on_event_page(self, doc: dict[str, Any]) -> None:
        run, plotted = self._descriptors.get(doc["descriptor"], (None, False))
        if run is None or not plotted:
            return
        data = doc["data"]
        for i, (when, seq_num) in enumerate(zip(doc["time"], doc["seq_num"], strict=True)):
            run.add_event({k: v[i] for k, v in data.items()}, when, seq_num)

    def _on_stop(self, doc: dict[str, Any]) -> None:
        run = self.runs.get(doc["run_start"])
        if run is None:
            return
        try:
            run.finish(doc)
        finally:
            self._descriptors = {
                uid: entry for uid, entry in self._descriptors.items() if entry[0] is not run
            }
            self.version += 1

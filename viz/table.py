"""`LiveTable`: the hinted fields of a run as a terminal table, one row per event.

Column widths come from the descriptor (precision and units), not from the values, so
the table does not jitter as numbers grow. The header is printed again every
``header_every`` rows so it stays on screen in a long scan. Baseline readings (the
``baseline`` stream) are shown before the first row and again at the end, with the run's
exit status, duration and number of points.
"""

from __future__ import annotations

import datetime
import math
import sys
from typing import Any, TextIO

__all__ = ["LiveTable"]

MIN_WIDTH = 8
MAX_WIDTH = 24


class LiveTable:
    """``cb(name, doc)`` writing a table of the hinted fields to `out` (default stdout)."""

    def __init__(
        self,
        fields: list[str] | None = None,
        *,
        out: TextIO | None = None,
        header_every: int = 50,
        default_precision: int = 3,
    ) -> None:
        self.fields = fields
        self.out = out
        self.header_every = header_every
        self.default_precision = default_precision
        self._start: dict[str, Any] | None = None
        self._streams: dict[str, str] = {}  # descriptor uid -> stream name
        self._columns: list[tuple[str, int, int | None]] = []  # (field, width, precision)
        self._rows = 0
        self._baseline: list[dict[str, Any]] = []
        self._baseline_keys: dict[str, dict[str, Any]] = {}
        self._units: dict[str, str] = {}

    def _write(self, text: str) -> None:
        out = self.out if self.out is not None else sys.stdout
        out.write(text + "\n")
        out.flush()

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(doc)

    def _on_start(self, doc: dict[str, Any]) -> None:
        self._start = doc
        self._streams, self._columns, self._rows, self._baseline = {}, [], 0, []
        self._units = {}
        plan = doc.get("plan_name", "run")
        self._write(f"Run {doc.get('scan_id', '?')} ({plan}), uid {doc['uid'][:8]}")

    def _on_descriptor(self, doc: dict[str, Any]) -> None:
        stream = doc.get("name", "primary")
        self._streams[doc["uid"]] = stream
        if stream == "baseline":
            self._baseline_keys = doc["data_keys"]
        elif stream == "primary" and not self._columns:
            self._columns = self._choose_columns(doc)
            self._write(self._rule())
            self._write(self._header())
            self._write(self._rule())

    def _choose_columns(self, doc: dict[str, Any]) -> list[tuple[str, int, int | None]]:
        keys = doc["data_keys"]
        if self.fields is not None:
            names = [f for f in self.fields if f in keys]
        else:
            hints = doc.get("hints") or {}
            names = [f for h in hints.values() for f in h.get("fields", ()) if f in keys]
            names = [f for f in names if not keys[f].get("external")]  # in files, not Events
            dims = (self._start or {}).get("hints", {}).get("dimensions") or []
            motors = [f for fields, _ in dims for f in fields if f in names]
            names = motors + [n for n in names if n not in motors]  # motors first
        columns: list[tuple[str, int, int | None]] = [("seq_num", 7, None), ("time", 12, None)]
        for name in names:
            key = keys[name]
            precision = key.get("precision")
            if precision is None and key.get("dtype") == "number":
                precision = self.default_precision
            width = _width(name, key, precision)
            columns.append((name, width, precision if key.get("dtype") == "number" else None))
            if key.get("units"):
                self._units[name] = key["units"]
        return columns

    def _rule(self) -> str:
        return "+" + "+".join("-" * (w + 2) for _, w, _ in self._columns) + "+"

    def _header(self) -> str:
        names = "|" + "|".join(f" {_head(n, w)} " for n, w, _ in self._columns) + "|"
        units = [self._units.get(n, "") for n, _, _ in self._columns]
        if not any(units):
            return names
        line = "|".join(
            f" {_head(f'({u})' if u else '', w)} "
            for (_, w, _), u in zip(self._columns, units, strict=True)
        )
        return names + "\n|" + line + "|"

    def _on_event(self, doc: dict[str, Any]) -> None:
        stream = self._streams.get(doc["descriptor"])
        if stream == "baseline":
            self._baseline.append(doc)
            if len(self._baseline) == 1:
                self._write_baseline(doc, "start")
            return
        if stream != "primary" or not self._columns:
            return
        if self._rows and self.header_every and self._rows % self.header_every == 0:
            self._write(self._rule())
            self._write(self._header())
            self._write(self._rule())
        self._rows += 1
        self._write(self._row(doc))

    def _on_event_page(self, doc: dict[str, Any]) -> None:
        for i, seq_num in enumerate(doc["seq_num"]):
            self._on_event(
                {
                    "descriptor": doc["descriptor"],
                    "seq_num": seq_num,
                    "time": doc["time"][i],
                    "data": {k: v[i] for k, v in doc["data"].items()},
                }
            )

    def _row(self, doc: dict[str, Any]) -> str:
        cells = []
        for name, width, precision in self._columns:
            if name == "seq_num":
                value = f"{doc['seq_num']:>{width}}"
            elif name == "time":
                clock = datetime.datetime.fromtimestamp(doc["time"]).strftime("%H:%M:%S.%f")
                value = f"{clock[:12]:>{width}}"
            else:
                value = _cell(doc["data"].get(name), width, precision)
            cells.append(f" {value} ")
        return "|" + "|".join(cells) + "|"

    def _write_baseline(self, doc: dict[str, Any], when: str) -> None:
        readings = []
        for name, value in doc["data"].items():
            key = self._baseline_keys.get(name, {})
            units = f" {key['units']}" if key.get("units") else ""
            readings.append(f"{name} = {_cell(value, 0, key.get('precision'))}{units}")
        if readings:
            self._write(f"Baseline at {when}: " + ", ".join(readings))

    def _on_stop(self, doc: dict[str, Any]) -> None:
        if self._columns:
            self._write(self._rule())
        if len(self._baseline) > 1:
            self._write_baseline(self._baseline[-1], "end")
        start = self._start or {}
        duration = doc["time"] - start.get("time", doc["time"])
        points = doc.get("num_events", {}).get("primary", self._rows)
        reason = f" ({doc['reason']})" if doc.get("reason") else ""
        self._write(
            f"Run {start.get('scan_id', '?')} {doc.get('exit_status', '?')}{reason}: "
            f"{points} points in {duration:.2f} s"
        )


def _width(name: str, key: dict[str, Any], precision: int | None) -> int:
    """Room for the name, the units, and a value: sign, 6 integer digits, the decimals."""
    units = key.get("units") or ""
    digits = 8 + (precision + 1 if precision else 0)
    width = max(len(name), len(units) + 2 if units else 0, digits, MIN_WIDTH)
    return min(width, MAX_WIDTH)


def _head(name: str, width: int) -> str:
    return f"{name[:width]:>{width}}"


def _cell(value: Any, width: int, precision: int | None) -> str:
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if math.isfinite(value) and precision is not None and abs(value) < 1e7:
            text = f"{value:.{precision}f}"
        else:
            text = f"{value:.{precision if precision is not None else 3}g}"
    elif hasattr(value, "shape"):
        text = f"<array {'x'.join(map(str, value.shape))}>"
    else:
        text = str(value)
    if width and len(text) > width:
        text = text[: width - 1] + "~"
    return f"{text:>{width}}" if width else text

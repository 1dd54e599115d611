"""The demo's closing table: each run as read back from the catalog, in a few words.

Everything in the table comes from storage, not from the session's memory, so the table
shows that the runs landed: points per stream, the peak of the 1-D scans (computed with
`viz.peak_stats` on the stored columns), the maximum of a grid, the frames of the area
detector loaded back from their HDF5 file, the suspensions a beam dump caused.
`summarize` does the reading; `format_table` is a pure function of the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

import numpy as np

from storage import Run
from viz import peak_stats

__all__ = ["RunSummary", "format_table", "summarize"]


@dataclass(frozen=True)
class RunSummary:
    scan_id: int | None
    uid: str
    plan: str
    status: str
    points: int
    notes: str


async def summarize(run: Run) -> RunSummary:
    """Read `run` back (its primary stream, images included) and describe it."""
    start, stop = run.start, run.stop or {}
    streams = await run.streams()
    table = await run.table("primary") if "primary" in streams else {}
    notes = []
    if "temperature" in start:
        notes.append(f"T = {start['temperature']:g} K")
    keys = await run.data_keys("primary") if "primary" in streams else {}
    notes.append(_shape_note(start, keys, table))
    if "baseline" in streams:
        baseline = await run.data_keys("baseline")
        notes.append(f"baseline of {len(baseline)} readings")
    if "interruptions" in streams:
        kinds = [str(k) for k in (await run.table("interruptions")).get("interruption", [])]
        notes.append(f"{kinds.count('suspend')} suspension(s), resumed by itself")
    if any(key.get("external") for key in keys.values()):
        notes.append(f"files: {', '.join(await _files(run))}")
    return RunSummary(
        scan_id=run.scan_id,
        uid=run.uid,
        plan=str(start.get("plan_name", "-")),
        status=str(stop.get("exit_status", "no stop document")),
        points=len(table.get("seq_num", ())),
        notes="; ".join(n for n in notes if n),
    )


def _shape_note(
    start: Mapping[str, Any], keys: Mapping[str, Any], table: Mapping[str, np.ndarray]
) -> str:
    """What the primary stream shows: a peak (1-D), a maximum (2-D), images, means (count)."""
    images = [k for k, key in keys.items() if len(key.get("shape") or ()) == 2 and k in table]
    if images:
        frames = table[images[0]]
        return f"{frames.shape[0]} frames {frames.shape[1]}x{frames.shape[2]} loaded back"
    signal = _signal(start, keys, table)
    axes = [fields[0] for fields, _ in start.get("hints", {}).get("dimensions", [])]
    axes = [a for a in axes if a in table and a != "time"]
    if not axes:  # a count: the mean of each number
        means = [
            f"{k} {np.mean(table[k]):.3g}"
            for k, key in keys.items()
            if key.get("dtype") == "number" and k in table and len(table[k])
        ]
        return "mean " + ", ".join(means) if means else ""
    if signal is None:
        return ""
    y = np.asarray(table[signal], dtype=float)
    if len(axes) >= 2 and "shape" in start:
        best = int(np.argmax(y))
        where = ", ".join(f"{a}={table[a][best]:.3f}" for a in axes)
        return f"max {signal} {y[best]:.0f} at {where}"
    x = np.asarray(table[axes[0]], dtype=float)
    order = np.argsort(x, kind="stable")  # tune_centroid revisits: sort its passes
    stats = peak_stats(x[order], y[order])
    fwhm = f", FWHM {stats.fwhm:.3f}" if stats.fwhm is not None else ""
    return f"{signal} peak at {axes[0]}={stats.cen:.3f}{fwhm}"


def _signal(
    start: Mapping[str, Any], keys: Mapping[str, Any], table: Mapping[str, np.ndarray]
) -> str | None:
    """The detector field whose peak stands out most: the one the scan is about."""
    motors = set(start.get("motors", ()))
    best, contrast = None, 0.0
    for field, key in keys.items():
        if key.get("object_name") in motors or key.get("dtype") != "number" or field not in table:
            continue
        values = np.asarray(table[field], dtype=float)
        if values.size == 0:
            continue
        # how far the peak stands above the typical value, in counting-noise units
        median = float(np.median(values))
        prominence = (float(values.max()) - median) / np.sqrt(abs(median) + 1.0)
        if prominence > contrast:
            best, contrast = field, prominence
    return best


async def _files(run: Run) -> list[str]:
    return [
        PurePosixPath(urlparse(doc["uri"]).path).name
        for name, doc in await run.documents()
        if name == "stream_resource"
    ]


def format_table(rows: Sequence[RunSummary]) -> str:
    """A plain-text table, one line per run."""
    lines = [["scan", "plan", "uid", "status", "points", "what the catalog holds"]]
    for row in rows:
        lines.append(
            [
                str(row.scan_id if row.scan_id is not None else "-"),
                row.plan,
                row.uid[:8],
                row.status,
                str(row.points),
                row.notes,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rule = "  ".join("-" * w for w in widths)
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join([text[0].rstrip(), rule, *(t.rstrip() for t in text[1:])])

"""SPEC data files: one ``#S`` scan per run, appended to a session file.

The format of SPEC's own data files (and of apstools' SpecWriterCallback), readable by
``spec2nexus``, ``silx`` and PyMca. A new file starts with a header (``#F``, ``#E``,
``#D``, ``#C``, ``#O0`` motor names); each run adds::

    #S 12  grid_scan m1 m2 12
    #D Tue Dec 01 22:15:03 2026
    #C ...              (uid, plan and the run's metadata also as #MD key = value)
    #P0 0.25 0.0        (baseline positions of the #O motors, when a baseline stream exists)
    #N 5
    #L m1  m2  Epoch  det
    ...one line per Event of the primary stream...
    #C exit_status = success

Columns: the scanned motors (``hints.dimensions``), ``Epoch`` (seconds since ``#E``),
then every other number in the Events (hinted detectors first). Strings and arrays are
not columns. A baseline whose motors the header does not list starts a new header block
(``#E``/``#O0``), as SPEC itself does after a config change.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._runs import Run, Stream, group_runs, plain

__all__ = ["export_spec"]

MOTORS_PER_LINE = 8


def export_spec(documents: Iterable[tuple[str, Mapping[str, Any]]], path: str | Path) -> Path:
    """Append one scan per run in `documents` to the SPEC file `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = _existing_header(path)
    new_file = header is None
    with path.open("a", encoding="utf-8") as file:
        for run in group_runs(documents):
            baseline = _baseline(run)
            if header is None or not set(baseline) <= set(header.motors):
                header = _Header(path.name, run.start["time"], list(baseline))
                file.write(header.text(new_file))
                new_file = False
            file.write(_scan(run, header, baseline))
    return path


class _Header:
    def __init__(self, name: str, epoch: float, motors: list[str]) -> None:
        self.name = name
        self.epoch = int(epoch)
        self.motors = motors

    def text(self, new_file: bool) -> str:
        lines = [f"#F {self.name}"] if new_file else [""]
        lines += [
            f"#E {self.epoch}",
            f"#D {_date(self.epoch)}",
            "#C acq  SPEC data file written by storage.export.export_spec",
        ]
        for i in range(0, max(len(self.motors), 1), MOTORS_PER_LINE):
            names = "  ".join(self.motors[i : i + MOTORS_PER_LINE])
            lines.append(f"#O{i // MOTORS_PER_LINE} {names}")
        return "\n".join(lines) + "\n"


def _existing_header(path: Path) -> _Header | None:
    """The last header block of an existing file (its #E and #O motor names)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    epoch: float | None = None
    motors: list[str] = []
    with path.open(encoding="utf-8") as file:
        for line in file:
            if line.startswith("#E "):
                epoch, motors = float(line.split()[1]), []
            elif line.startswith("#O") and epoch is not None:
                motors += [m for m in line.split(" ", 1)[1].strip().split("  ") if m]
    return _Header(path.name, epoch, motors) if epoch is not None else None


def _baseline(run: Run) -> dict[str, Any]:
    """Motor name -> position at the start of the run, from the baseline stream."""
    stream = run.streams.get("baseline")
    if stream is None or not stream.events:
        return {}
    first = stream.events[0]["data"]
    names: list[str] = []
    for descriptor in stream.descriptors:
        for hint in (descriptor.get("hints") or {}).values():
            names += [f for f in hint.get("fields", []) if f not in names]
    return {name: plain(first[name]) for name in names if _is_number(first.get(name))}


def _scan(run: Run, header: _Header, baseline: Mapping[str, Any]) -> str:
    start = run.start
    stream = run.streams.get("primary")
    motors = _motor_fields(start, stream)
    others = _other_columns(stream, motors) if stream is not None else []
    labels = [*motors, "Epoch", *others]
    events = stream.events if stream is not None else []
    command = " ".join(
        [str(start.get("plan_name", "run")), *start.get("motors", []), str(len(events))]
    )
    lines = [
        "",
        f"#S {start.get('scan_id', 0)}  {command}",
        f"#D {_date(start['time'])}",
        f"#C {_date(start['time'])}.  uid = {run.uid}",
    ]
    for key, value in _metadata(start):
        lines.append(f"#MD {key} = {value}")
    if header.motors:
        positions = [baseline.get(m, math.nan) for m in header.motors]
        for i in range(0, len(positions), MOTORS_PER_LINE):
            values = " ".join(_number(v) for v in positions[i : i + MOTORS_PER_LINE])
            lines.append(f"#P{i // MOTORS_PER_LINE} {values}")
    lines.append(f"#N {len(labels)}")
    lines.append("#L " + "  ".join(labels))
    columns = {k: run.column(stream, k) for k in [*motors, *others]} if stream else {}
    for i, event in enumerate(events):
        row = [columns[m][i] for m in motors] + [event["time"] - header.epoch]
        row += [columns[k][i] for k in others]
        lines.append(" ".join(_number(v) for v in row))
    if run.stop is not None:
        lines.append(f"#C {_date(run.stop['time'])}.  exit_status = {run.stop['exit_status']}")
    return "\n".join(lines) + "\n"


def _motor_fields(start: Mapping[str, Any], stream: Stream | None) -> list[str]:
    fields: list[str] = []
    for dimension in (start.get("hints") or {}).get("dimensions", []):
        fields += [f for f in dimension[0] if f != "time" and f not in fields]
    if stream is None:
        return []
    keys = stream.data_keys
    return [f for f in fields if f in keys and f not in stream.external()]


def _other_columns(stream: Stream, motors: list[str]) -> list[str]:
    numeric = [
        k
        for k in stream.scalar_keys()
        if stream.data_keys[k]["dtype"] in ("number", "integer", "boolean")
    ]
    hinted = [k for k in stream.hinted if k in numeric and k not in motors]
    return hinted + [k for k in numeric if k not in motors and k not in hinted]


def _metadata(start: Mapping[str, Any]) -> list[tuple[str, str]]:
    skip = {"uid", "time", "hints", "plan_args", "versions"}
    out = []
    for key, value in start.items():
        if key in skip:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        out.append((key, text.replace("\n", " ")))
    return out


def _is_number(value: Any) -> bool:
    value = plain(value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "nan"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _date(epoch: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(epoch))

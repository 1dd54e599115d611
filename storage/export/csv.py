"""CSV: one file per stream of each run, a row per Event.

Columns: ``time`` (epoch seconds), ``seq_num``, then every data key in descriptor order
(one called ``time`` or ``seq_num`` as ``data.time`` / ``data.seq_num``, as in
`storage.run.column_name`).
Scalars are written as they are (a number kept in a file, one per row, is loaded through
`storage.handlers`). Images and other arrays are not: an array stored in files
(``external``) holds where its value lives (``file[frame]`` or ``file[datum_id]``), and an
array stored in the Event holds ``array<shape>``. The first line says so, as a comment
(``pandas.read_csv(path, comment="#")`` skips it). Every text cell (strings, references,
the header) is quoted, numbers are not: a ``#`` inside a string is then text to that
same recipe, which otherwise cuts the cell there.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..run import column_name
from ._runs import Run, Stream, group_runs, plain

__all__ = ["export_csv"]

NOTE = (
    "# arrays are not written: file-stored keys hold file[frame], in-event arrays "
    "array<shape>; load them with storage.handlers or the catalog"
)


def export_csv(
    documents: Iterable[tuple[str, Mapping[str, Any]]], directory: str | Path
) -> list[Path]:
    """Write ``<scan_id>_<uid8>_<stream>.csv`` per stream into `directory` (created if
    needed); returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for run in group_runs(documents):
        stem = f"{run.start.get('scan_id', 'run')}_{run.uid[:8]}"
        for stream in run.streams.values():
            path = directory / f"{stem}_{_safe(stream.name)}.csv"
            _write(path, run, stream)
            written.append(path)
    return written


def _write(path: Path, run: Run, stream: Stream) -> None:
    keys = list(stream.data_keys)
    images = stream.images()
    columns: dict[str, list[Any]] = {}
    for key in keys:
        if key in images:
            columns[key] = [str(ref) if ref else "" for ref in run.references(stream, key)]
        else:
            columns[key] = [_cell(v) for v in run.column(stream, key)]
    with path.open("w", newline="") as file:
        if images or any(stream.data_keys[k]["dtype"] == "array" for k in keys):
            file.write(NOTE + "\n")
        writer = csv.writer(file, quoting=csv.QUOTE_NONNUMERIC)  # floats as repr: exact
        writer.writerow(["time", "seq_num", *map(column_name, keys)])
        for i, event in enumerate(stream.events):
            row = [float(event["time"]), int(event["seq_num"]), *(columns[k][i] for k in keys)]
            writer.writerow(row)


def _cell(value: Any) -> Any:
    """A number as a Python number (written unquoted), anything else as text (quoted)."""
    if isinstance(value, np.ndarray | list | tuple):
        return f"array{list(np.shape(value))}"
    value = plain(value)
    if value is None or isinstance(value, int | float):  # bool is an int: True/False
        return "" if value is None else value
    return str(value)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)

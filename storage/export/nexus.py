"""NeXus/HDF5: one NXentry per run, its primary stream as NXdata that NeXus viewers plot.

Layout (h5py, NeXus base classes)::

    / (NXroot; default=entry_<scan_id>)
      entry_<scan_id>/ (NXentry; default=data): title, entry_identifier (uid),
                        start_time, end_time, program_name, plan_name
        data/ (NXdata; signal, axes, <axis>_indices): a 1-D column per scalar data key
              of the primary stream, plus the Events' time and seq_num (a data key of
              either name is data.time / data.seq_num: `storage.run.column_name`)
        <stream>/ (NXcollection): the other streams' columns (baseline, monitors, ...)
        external/ (NXcollection): per file-stored array key, the file[frame] reference
              per row, and the frames: an HDF5 external link to the dataset the resource
              names (``parameters["dataset"]``, else ``/entry/data/data``) when they are
              all in one local HDF5 file, else the frames themselves, copied
        start/, stop/ (NXnote, type application/json): the documents themselves
        metadata/ (NXcollection): the start document's plain values, one dataset each

``signal`` is the first hinted detector field (numbers only); ``axes`` the fields of
``hints.dimensions``, every one indexed to the one dimension of the points
(``<axis>_indices = 0``), so a grid scan reads as a list of points with two axes; a
``count`` (dimension ``time``) uses ``time``. Every group carries ``NX_class`` and the
``default`` attributes lead from the root to the NXdata.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import StorageError
from ..handlers import HDF5_DATASET, HandlerError, path_of_uri
from ..run import column_name
from ._runs import Location, Run, Stream, group_runs, plain

__all__ = ["export_nexus"]

log = logging.getLogger(__name__)


def export_nexus(documents: Iterable[tuple[str, Mapping[str, Any]]], path: str | Path) -> Path:
    """Write every run in `documents` as an NXentry of a new file `path`; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    runs = group_runs(documents)
    with h5py.File(path, "w") as root:
        root.attrs["NX_class"] = "NXroot"
        root.attrs["file_name"] = str(path)
        root.attrs["file_time"] = _iso(time.time())
        root.attrs["creator"] = "acq storage.export.export_nexus"
        root.attrs["HDF5_Version"] = h5py.version.hdf5_version
        root.attrs["h5py_version"] = h5py.version.version
        for run in runs:
            name = _entry_name(root, run)
            _entry(root.create_group(name), run)
            root.attrs.setdefault("default", name)
    return path


def _entry_name(root: h5py.File, run: Run) -> str:
    name = f"entry_{run.start.get('scan_id', 0)}"
    return name if name not in root else f"{name}_{run.uid[:8]}"


def _entry(entry: h5py.Group, run: Run) -> None:
    start, stop = run.start, run.stop
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["default"] = "data"
    entry["title"] = f"{start.get('plan_name', 'run')} (scan {start.get('scan_id', '?')})"
    entry["entry_identifier"] = run.uid
    entry["start_time"] = _iso(start["time"])
    if stop is not None:
        entry["end_time"] = _iso(stop["time"])
    entry["program_name"] = "acq"
    entry["plan_name"] = str(start.get("plan_name", ""))
    primary = run.streams.get("primary") or next(iter(run.streams.values()), None)
    _nxdata(entry.create_group("data"), run, primary)
    for stream in run.streams.values():
        if stream is not primary:
            _collection(entry.create_group(_safe(stream.name)), run, stream)
    external = _external(run)
    if external:
        group = entry.create_group("external")
        group.attrs["NX_class"] = "NXcollection"
        for key, refs in external.items():
            _links(group, key, refs)
    _note(entry.create_group("start"), start)
    if stop is not None:
        _note(entry.create_group("stop"), stop)
    _metadata(entry.create_group("metadata"), start)


def _nxdata(group: h5py.Group, run: Run, stream: Stream | None) -> None:
    group.attrs["NX_class"] = "NXdata"
    if stream is None:
        group.attrs["signal"] = "seq_num"
        group["seq_num"] = np.array([], dtype=np.int64)
        return
    columns = _columns(run, stream)
    group["time"] = np.array([e["time"] for e in stream.events], dtype=np.float64)
    group["time"].attrs["units"] = "s"
    group["seq_num"] = np.array([e["seq_num"] for e in stream.events], dtype=np.int64)
    described = {column_name(k): v for k, v in stream.data_keys.items()}
    for key, values in columns.items():
        group[key] = values
        units = described[key].get("units")
        if units:
            group[key].attrs["units"] = units
    axes = _axes(run.start, columns)
    signal = _signal(run.start, stream, columns, axes)
    group.attrs["signal"] = signal
    group.attrs["axes"] = axes
    for axis in axes:
        group.attrs[f"{axis}_indices"] = 0


def _columns(run: Run, stream: Stream) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key in stream.scalar_keys():
        values = [plain(v) for v in run.column(stream, key)]
        if stream.data_keys[key]["dtype"] == "string":
            out[column_name(key)] = np.array(
                ["" if v is None else str(v) for v in values], dtype=h5py.string_dtype()
            )
        else:
            out[column_name(key)] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float64
            )
    return out


def _axes(start: Mapping[str, Any], columns: Mapping[str, Any]) -> list[str]:
    axes: list[str] = []
    for dimension in (start.get("hints") or {}).get("dimensions", []):
        axes += [f for f in dimension[0] if (f in columns or f == "time") and f not in axes]
    return axes or ["seq_num"]


def _signal(
    start: Mapping[str, Any], stream: Stream, columns: Mapping[str, np.ndarray], axes: list[str]
) -> str:
    numbers = [k for k, v in columns.items() if v.dtype.kind == "f" and k not in axes]
    for field in map(column_name, stream.hinted):
        if field in numbers:
            return field
    return numbers[0] if numbers else "seq_num"


def _collection(group: h5py.Group, run: Run, stream: Stream) -> None:
    group.attrs["NX_class"] = "NXcollection"
    group["time"] = np.array([e["time"] for e in stream.events], dtype=np.float64)
    for key, values in _columns(run, stream).items():
        group[key] = values


def _external(run: Run) -> dict[str, list[Location | None]]:
    out = {}
    for stream in run.streams.values():
        for key in stream.images():
            out[key] = run.locations(stream, key)
    return out


def _links(group: h5py.Group, key: str, locations: list[Location | None]) -> None:
    """``<key>_reference`` (file[frame] per row), and ``<key>``: an external link to the
    frames when they are all in one HDF5 file (at the dataset the resource names), else
    the frames themselves, loaded through `storage.handlers`."""
    texts = [str(loc.reference) if loc is not None else "" for loc in locations]
    group[f"{key}_reference"] = np.array(texts, dtype=h5py.string_dtype())
    if not locations or any(loc is None for loc in locations):
        log.warning("%s: a row has no file reference; only the references are written", key)
        return
    targets = {_hdf5_target(loc) for loc in locations if loc is not None}
    if len(targets) == 1:
        (target,) = targets
        if target is not None:
            _link(group, key, *target)
            return
    _copy(group, key, [loc for loc in locations if loc is not None])


def _hdf5_target(location: Location) -> tuple[str, str] | None:
    """(file, dataset) of a frame in an HDF5 file; None for any other kind of file."""
    resource = location.resource
    if location.offset is None:  # Resource/Datum: areaDetector's layout
        if resource.get("spec") not in ("AD_HDF5", "AD_HDF5_SWMR"):
            return None
        path = os.path.join(resource.get("root") or "", resource["resource_path"])
        return path, HDF5_DATASET
    if resource.get("mimetype") != "application/x-hdf5":
        return None
    try:
        path = path_of_uri(resource["uri"])
    except HandlerError:  # not a local file
        return None
    return path, str((resource.get("parameters") or {}).get("dataset", HDF5_DATASET))


def _link(group: h5py.Group, key: str, file: str, dataset: str) -> None:
    try:
        with h5py.File(file, "r") as target:
            found = isinstance(target.get(dataset), h5py.Dataset)
    except OSError as error:  # missing, or still locked by its writer
        log.warning("%s: not linked, %s cannot be opened: %s", key, file, error)
        return
    if not found:
        log.warning("%s: not linked, %s has no dataset %s", key, file, dataset)
        return
    group[key] = h5py.ExternalLink(file, dataset)


def _copy(group: h5py.Group, key: str, locations: list[Location]) -> None:
    """The frames, one per row, written into the NeXus file (they are not in one HDF5
    file a link could point to)."""
    try:
        first = locations[0].load()
        frames = group.create_dataset(key, shape=(len(locations), *first.shape), dtype=first.dtype)
        frames[0] = first
        for i, location in enumerate(locations[1:], 1):
            frames[i] = location.load()
    except (StorageError, OSError, TypeError, ValueError) as error:
        log.warning("%s: frames not written (only their references): %s", key, error)
        if key in group:
            del group[key]


def _note(group: h5py.Group, doc: Mapping[str, Any]) -> None:
    group.attrs["NX_class"] = "NXnote"
    group["type"] = "application/json"
    group["data"] = json.dumps(doc, default=_jsonable, sort_keys=True)


def _metadata(group: h5py.Group, start: Mapping[str, Any]) -> None:
    group.attrs["NX_class"] = "NXcollection"
    for key, value in start.items():
        value = plain(value)
        if isinstance(value, str | int | float | bool):
            group[_safe(key)] = value
        else:
            group[_safe(key)] = json.dumps(value, default=_jsonable)
            group[_safe(key)].attrs["format"] = "json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch)) + time.strftime(
        "%z", time.localtime(epoch)
    )


def _safe(name: str) -> str:
    return name.replace("/", "_") or "_"

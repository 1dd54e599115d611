"""`Run`: one stored run read back -- metadata, streams as columns, the document stream.

External data keys (images in files) are loaded through `storage.handlers` only when a
stream's table is asked for with ``fill=True`` (the default); ``fill=False`` gives the
references (datum ids, or stream-datum indices) instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .documents import columns
from .errors import StorageError

if TYPE_CHECKING:
    import pandas
    import xarray

    from .backend import Backend

__all__ = ["EVENT_FIELDS", "Run", "column_name"]

#: The Event's own columns of a table (and of the CSV and NeXus exports).
EVENT_FIELDS = ("seq_num", "time")


def column_name(key: str) -> str:
    """The column of data key `key` in tables and exports: its own name, except for a
    data key called ``seq_num`` or ``time``, which becomes ``data.seq_num`` /
    ``data.time``: the Event's fields keep those names (the DataFrame's index, the
    Dataset's dimension, ``hints.dimensions`` ``time`` of a count)."""
    return f"data.{key}" if key in EVENT_FIELDS else key


class Run:
    """A stored run. Made by `Catalog.run` and `Catalog.search`."""

    def __init__(
        self, backend: Backend, start: dict[str, Any], stop: dict[str, Any] | None
    ) -> None:
        self._backend = backend
        self.start = start
        self.stop = stop  # None while running, or if the run never closed
        self._descriptors: list[dict[str, Any]] | None = None

    @property
    def uid(self) -> str:
        return str(self.start["uid"])

    @property
    def scan_id(self) -> int | None:
        return self.start.get("scan_id")

    @property
    def metadata(self) -> dict[str, Any]:
        return {"start": self.start, "stop": self.stop}

    def __repr__(self) -> str:
        status = self.stop.get("exit_status") if self.stop else "no stop"
        plan = self.start.get("plan_name", "?")
        return f"<Run {self.uid[:8]} scan {self.scan_id} {plan} ({status})>"

    # -- streams -------------------------------------------------------------------------

    async def descriptors(self) -> list[dict[str, Any]]:
        if self._descriptors is None:
            self._descriptors = await self._backend.descriptors(self.uid)
        return self._descriptors

    async def streams(self) -> list[str]:
        """Stream names in the order they were declared (``primary``, ``baseline``...)."""
        return list(dict.fromkeys(d.get("name", "primary") for d in await self.descriptors()))

    async def _stream_descriptors(self, stream: str) -> list[dict[str, Any]]:
        found = [d for d in await self.descriptors() if d.get("name", "primary") == stream]
        if not found:
            raise StorageError(
                f"run {self.uid} has no stream {stream!r}; it has {await self.streams()}"
            )
        return found

    async def data_keys(self, stream: str = "primary") -> dict[str, dict[str, Any]]:
        keys: dict[str, dict[str, Any]] = {}
        for descriptor in await self._stream_descriptors(stream):
            keys.update(descriptor.get("data_keys", {}))
        return keys

    async def configuration(self, stream: str = "primary") -> dict[str, Any]:
        """Each device's configuration readings as the stream began: its first
        descriptor's. A configuration changed mid-run starts a new descriptor of the
        stream; `configurations` gives them all."""
        return (await self.configurations(stream))[0]

    async def configurations(self, stream: str = "primary") -> list[dict[str, Any]]:
        """The configuration of each of the stream's descriptors, in the order they were
        declared: one more per change of configuration (databroker's
        ``Header.config_data`` gives the same list per stream). Each holds from its
        descriptor's ``time`` (`descriptors`) until the next one's."""
        return [dict(d.get("configuration", {})) for d in await self._stream_descriptors(stream)]

    async def table(self, stream: str = "primary", *, fill: bool = True) -> dict[str, np.ndarray]:
        """The stream as numpy columns: ``seq_num``, ``time`` and one per data key.

        A row per Event, in time order. Frames that StreamDatum documents announce with
        no Event of their seq_num (a fly scan's collect emits no Events) get a row each,
        timed by their descriptor (see `_Assets.frame_rows`). A data key called
        ``seq_num`` or ``time`` is the column ``data.seq_num`` / ``data.time``
        (`column_name`).
        """
        return await self._rows(stream, "data", fill)

    async def timestamps(self, stream: str = "primary") -> dict[str, np.ndarray]:
        """When each reading was taken: one column per data key, plus ``time``."""
        return await self._rows(stream, "timestamps", fill=False)

    async def _rows(self, stream: str, field: str, fill: bool) -> dict[str, np.ndarray]:
        descriptors = await self._stream_descriptors(stream)
        data_keys = await self.data_keys(stream)
        rows = await self._backend.event_rows([d["uid"] for d in descriptors], field)
        external = [k for k, v in data_keys.items() if v.get("external")]
        assets = _Assets(await self.documents(), descriptors) if external else None
        if assets is not None:
            rows = [*rows, *assets.frame_rows({r[0] for r in rows}, field)]
        table = _columns(list(data_keys), rows)
        if assets is not None and field == "data":
            assets.fill(table, external, _handlers() if fill else None)
        for key, described in data_keys.items():
            if field == "timestamps" or described.get("dtype") in ("number", "integer"):
                table[column_name(key)] = _numeric(table[column_name(key)])
        return table

    async def dataframe(self, stream: str = "primary", *, fill: bool = True) -> pandas.DataFrame:
        """The stream as a pandas DataFrame indexed by seq_num (pandas must be installed)."""
        import pandas as pd

        table = await self.table(stream, fill=fill)
        index = pd.Index(table.pop("seq_num"), name="seq_num")
        return pd.DataFrame(
            {k: (list(v) if v.ndim > 1 else v) for k, v in table.items()}, index=index
        )

    async def dataset(self, stream: str = "primary", *, fill: bool = True) -> xarray.Dataset:
        """The stream as an xarray Dataset along ``time`` (xarray must be installed)."""
        import xarray as xr

        table = await self.table(stream, fill=fill)
        time = table.pop("time")
        variables = {}
        for key, values in table.items():
            dims = ["time", *(f"dim_{key}_{i}" for i in range(1, values.ndim))]
            variables[key] = (dims, values)
        return xr.Dataset(variables, coords={"time": time})

    # -- documents -----------------------------------------------------------------------

    async def documents(self) -> list[tuple[str, dict[str, Any]]]:
        """Every document of the run as ``(name, doc)``, in emission order.

        Events come one per document (pages were split when stored). Feed them to any
        subscriber, an exporter, or another catalog's writer.
        """
        return await self._backend.run_documents(self.uid)

    async def replay(self, callback: Callable[[str, dict[str, Any]], Any]) -> int:
        """Call ``callback(name, doc)`` for each document (awaited if async); returns
        how many documents were sent."""
        docs = await self.documents()
        for name, doc in docs:
            result = callback(name, doc)
            if inspect.isawaitable(result):
                await result
        return len(docs)


def _columns(
    keys: list[str], rows: list[tuple[int, float, dict[str, Any]]]
) -> dict[str, np.ndarray]:
    """`storage.documents.columns`, each key under its `column_name`."""
    names = [column_name(k) for k in keys]
    if names != keys:
        rows = [(s, t, {column_name(k): v for k, v in d.items()}) for s, t, d in rows]
    return columns(names, rows)


def _numeric(values: np.ndarray) -> np.ndarray:
    """A column of numbers where some readings are missing (None, an object column) as
    floats with NaN for the missing ones, as pandas reads them; any other column as it is."""
    if values.dtype != object or values.ndim != 1:
        return values
    items = values.tolist()
    numbers = (int, float, np.integer, np.floating)
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, numbers)) for v in items):
        return values
    return np.array([np.nan if v is None else v for v in items], dtype=np.float64)


def _handlers() -> Any:
    import importlib

    try:
        return importlib.import_module("storage.handlers")  # written with the file exporters
    except ImportError as exc:
        raise StorageError(
            "this run has data in external files, but storage.handlers is not available "
            f"({exc}); read with fill=False to get the references"
        ) from exc


def _stack(arrays: list[Any]) -> np.ndarray:
    try:
        return np.stack([np.asarray(a) for a in arrays]) if arrays else np.array([])
    except ValueError:
        out = np.empty(len(arrays), dtype=object)
        out[:] = arrays
        return out


class _Assets:
    """The Resource/Datum and StreamResource/StreamDatum documents of one stream."""

    def __init__(
        self, docs: list[tuple[str, dict[str, Any]]], descriptors: list[dict[str, Any]]
    ) -> None:
        self.resources = {d["uid"]: d for n, d in docs if n == "resource"}
        self.datums = {d["datum_id"]: d for n, d in docs if n == "datum"}
        self.stream_resources = {d["uid"]: d for n, d in docs if n == "stream_resource"}
        self.descriptor_time = {d["uid"]: float(d["time"]) for d in descriptors}
        self.stream_datums = [
            d
            for n, d in docs
            if n == "stream_datum" and d.get("descriptor") in self.descriptor_time
        ]

    def key_of(self, stream_datum: dict[str, Any]) -> str | None:
        return self.stream_resources.get(stream_datum["stream_resource"], {}).get("data_key")

    def frame_rows(self, seen: set[int], field: str) -> list[tuple[int, float, dict[str, Any]]]:
        """``(seq_num, time, values)`` rows for the frames StreamDatums announce with no
        Event of their seq_num in `seen`.

        The documents give such a frame no time of its own (a StreamDatum has none), so
        its ``time`` (and the timestamp of each of its keys) is its descriptor's: when the
        stream was declared, no later than the frame was taken. Its values are loaded by
        `fill` (``field == "data"``).
        """
        rows: dict[int, tuple[int, float, dict[str, Any]]] = {}
        for sd in self.stream_datums:
            key = self.key_of(sd)
            time = self.descriptor_time[sd["descriptor"]]
            start = sd["seq_nums"]["start"]
            for seq_num in range(start, start + sd["indices"]["stop"] - sd["indices"]["start"]):
                if seq_num not in seen:
                    row = rows.setdefault(seq_num, (seq_num, time, {}))
                    if field == "timestamps" and key is not None:
                        row[2][key] = time
        return list(rows.values())

    def fill(self, table: dict[str, np.ndarray], keys: list[str], handlers: Any) -> None:
        """Replace the references of the external `keys` by their values (`handlers`) or,
        for StreamDatum keys, by the frame numbers in their files (no handlers)."""
        for key in keys:
            by_key = [sd for sd in self.stream_datums if self.key_of(sd) == key]
            name = column_name(key)
            if by_key:
                table[name] = _stream_column(by_key, self.stream_resources, table, handlers)
            elif handlers is not None and name in table:
                table[name] = _stack([self._load_datum(handlers, i) for i in table[name]])

    def _load_datum(self, handlers: Any, datum_id: str) -> Any:
        datum = self.datums.get(datum_id)
        resource = None if datum is None else self.resources.get(datum["resource"])
        if datum is None or resource is None:
            missing = "datum" if datum is None else f"resource {datum['resource']!r} of datum"
            raise handlers.HandlerError(
                f"the catalog has no {missing} {datum_id!r}, which an event refers to; "
                "store the run's Resource and Datum documents too"
            )
        return handlers.load_datum(resource, datum)


def _stream_column(
    stream_datums: list[dict[str, Any]],
    stream_resources: dict[str, dict[str, Any]],
    table: dict[str, np.ndarray],
    handlers: Any,
) -> np.ndarray:
    """One value per row of `table`: the frame whose StreamDatum ``seq_nums`` holds the
    row's seq_num (rows are in time order, which need not be seq_num order); None where
    no StreamDatum covers it."""
    where: dict[int, tuple[dict[str, Any], int]] = {}  # seq_num -> (stream_datum, offset)
    for sd in stream_datums:
        seq = sd["seq_nums"]
        index = sd["indices"]
        for offset in range(index["stop"] - index["start"]):
            where[seq["start"] + offset] = (sd, offset)
    values: list[Any] = []
    for seq_num in table["seq_num"].tolist():
        found = where.get(seq_num)
        if found is None:
            values.append(None)
            continue
        sd, offset = found
        if handlers is None:  # the frame's index in its file
            values.append(sd["indices"]["start"] + offset)
        else:
            resource = stream_resources[sd["stream_resource"]]
            values.append(handlers.load_stream_datum(resource, sd, offset))
    if handlers is None and None not in values:
        return np.array(values, dtype=np.int64)
    return _stack(values)

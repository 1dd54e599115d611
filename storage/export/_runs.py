"""A document stream regrouped by run and stream: what every exporter starts from.

Event pages are unpacked, so an exporter sees one row per Event. A frame that a
StreamDatum announces with no Event of its seq_num (a fly scan's collect emits none) gets
a row too, timed by its descriptor (when the stream was declared: a StreamDatum has no
time of its own), as `storage.run.Run.table` does. References to external data (Datum
ids, StreamDatum ranges) are kept as `Reference` values so a writer can summarise them
instead of loading images; external keys of one number or string per row (a detector's
sum written beside its frames) are loaded through `storage.handlers` by `Run.column`,
so they export like any other number.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from event_model import unpack_datum_page, unpack_event_page

__all__ = ["Location", "Reference", "Run", "Stream", "group_runs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reference:
    """Where an external value lives: a file (URI or path) and a frame or datum id."""

    file: str
    frame: int | str

    def __str__(self) -> str:
        return f"{self.file}[{self.frame}]"


@dataclass(frozen=True, slots=True)
class Location:
    """One external value: its `Reference` and the documents a handler loads it from
    (a StreamResource and StreamDatum with the frame's offset in it, or a Resource and
    Datum, `offset` None)."""

    reference: Reference
    resource: Mapping[str, Any]
    datum: Mapping[str, Any]
    offset: int | None = None

    def load(self) -> np.ndarray:
        from .. import handlers

        if self.offset is None:
            return handlers.load_datum(self.resource, self.datum)
        return handlers.load_stream_datum(self.resource, self.datum, self.offset)


@dataclass
class Stream:
    """One stream of a run: its descriptor(s) and its rows (Events, and frames announced
    by StreamDatum only) in seq_num order."""

    name: str
    descriptors: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data_keys(self) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        for descriptor in self.descriptors:
            keys.update(descriptor["data_keys"])
        return keys

    @property
    def hinted(self) -> list[str]:
        fields: list[str] = []
        for descriptor in self.descriptors:
            for hint in (descriptor.get("hints") or {}).values():
                fields += [f for f in hint.get("fields", []) if f not in fields]
        return fields

    def external(self) -> list[str]:
        return [k for k, dk in self.data_keys.items() if dk.get("external")]

    def images(self) -> list[str]:
        """External keys that are arrays (written as references, never loaded)."""
        scalars = self.scalar_keys()
        return [k for k in self.external() if k not in scalars]

    def scalar_keys(self) -> list[str]:
        """Keys of numbers, booleans and strings (in the Events or, one per row, in
        external files: see `Run.column`), in descriptor order."""
        return [
            k for k, dk in self.data_keys.items() if not dk.get("shape") and dk["dtype"] != "array"
        ]

    def column(self, key: str) -> list[Any]:
        """The values of `key` in the Events (references, for an external key)."""
        return [event["data"].get(key) for event in self.events]


@dataclass
class Run:
    """Every document of one run, grouped."""

    start: dict[str, Any]
    stop: dict[str, Any] | None = None
    streams: dict[str, Stream] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    datums: dict[str, dict[str, Any]] = field(default_factory=dict)
    stream_resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    stream_datums: list[dict[str, Any]] = field(default_factory=list)

    @property
    def uid(self) -> str:
        return str(self.start["uid"])

    def references(self, stream: Stream, key: str) -> list[Reference | None]:
        """Where each row's external value of `key` lives (None where unknown)."""
        return [loc.reference if loc else None for loc in self.locations(stream, key)]

    def column(self, stream: Stream, key: str) -> list[Any]:
        """The values of `key`, one per row; an external scalar key's are loaded through
        `storage.handlers`. A value that cannot be loaded (file moved, no handler) is
        None, and a warning names the file and the cause (once per key)."""
        if key not in stream.external():
            return stream.column(key)
        values: list[Any] = []
        failed: Exception | None = None
        for location in self.locations(stream, key):
            value = None
            if location is not None:
                try:
                    value = plain(location.load()[()])
                except Exception as error:  # a HandlerError, or a handler's own bug
                    failed = failed or error
            values.append(value)
        if failed is not None:
            log.warning(
                "run %s: some values of %r in stream %r could not be loaded and are left empty: %s",
                self.uid,
                key,
                stream.name,
                failed,
            )
        return values

    def locations(self, stream: Stream, key: str) -> list[Location | None]:
        """Where each row's external value of `key` lives, with the documents to load it."""
        if stream.data_keys[key].get("external") == "STREAM:":
            return self._stream_locations(stream, key)
        out: list[Location | None] = []
        for value in stream.column(key):
            datum = self.datums.get(str(value))
            resource = self.resources.get(datum["resource"]) if datum else None
            if datum is None or resource is None:
                out.append(None)
                continue
            path = os.path.join(resource.get("root") or "", resource["resource_path"])
            out.append(Location(Reference(path, str(datum["datum_id"])), resource, datum))
        return out

    def _stream_locations(self, stream: Stream, key: str) -> list[Location | None]:
        by_seq: dict[int, Location] = {}
        for sd, resource in self._stream_datums(stream):
            if resource["data_key"] != key:
                continue
            seq, index = sd["seq_nums"], sd["indices"]
            for offset in range(index["stop"] - index["start"]):
                reference = Reference(resource["uri"], index["start"] + offset)
                by_seq[seq["start"] + offset] = Location(reference, resource, sd, offset)
        return [by_seq.get(event["seq_num"]) for event in stream.events]

    def _stream_datums(self, stream: Stream) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
        uids = {d["uid"] for d in stream.descriptors}
        for sd in self.stream_datums:
            resource = self.stream_resources.get(sd["stream_resource"])
            if sd["descriptor"] in uids and resource is not None:
                yield sd, resource

    def frame_rows(self, stream: Stream) -> list[dict[str, Any]]:
        """A row (an Event-like dict, no values) per frame announced by a StreamDatum
        whose seq_num no Event has; its time is its descriptor's."""
        seen = {event["seq_num"] for event in stream.events}
        times = {d["uid"]: d["time"] for d in stream.descriptors}
        rows: dict[int, dict[str, Any]] = {}
        for sd, _ in self._stream_datums(stream):
            start = sd["seq_nums"]["start"]
            for seq_num in range(start, start + sd["indices"]["stop"] - sd["indices"]["start"]):
                if seq_num not in seen and seq_num not in rows:
                    rows[seq_num] = {
                        "seq_num": seq_num,
                        "time": times[sd["descriptor"]],
                        "descriptor": sd["descriptor"],
                        "data": {},
                        "timestamps": {},
                    }
        return list(rows.values())


def group_runs(documents: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Run]:
    """Runs in the order their start documents came."""
    runs: dict[str, Run] = {}
    stream_of: dict[str, tuple[Run, Stream]] = {}  # descriptor uid -> its run and stream
    resource_run: dict[str, Run] = {}
    for name, raw in documents:
        doc = dict(raw)
        if name == "start":
            runs[doc["uid"]] = Run(doc)
        elif name == "stop":
            _run(runs, doc["run_start"], name).stop = doc
        elif name == "descriptor":
            run = _run(runs, doc["run_start"], name)
            stream = run.streams.setdefault(doc["name"], Stream(doc["name"]))
            stream.descriptors.append(doc)
            stream_of[doc["uid"]] = (run, stream)
        elif name in ("event", "event_page"):
            events = [doc] if name == "event" else list(unpack_event_page(doc))  # type: ignore[arg-type]
            for event in events:
                if event["descriptor"] not in stream_of:
                    raise ValueError(f"event {event.get('uid')} before its descriptor")
                stream_of[event["descriptor"]][1].events.append(dict(event))
        elif name == "resource":
            run = _run(runs, doc.get("run_start", ""), name, fallback=runs)
            run.resources[doc["uid"]] = doc
            resource_run[doc["uid"]] = run
        elif name in ("datum", "datum_page"):
            datums = [doc] if name == "datum" else list(unpack_datum_page(doc))  # type: ignore[arg-type]
            for datum in datums:
                owner = resource_run.get(datum["resource"])
                if owner is not None:
                    owner.datums[datum["datum_id"]] = dict(datum)
        elif name == "stream_resource":
            _run(runs, doc.get("run_start", ""), name, fallback=runs).stream_resources[
                doc["uid"]
            ] = doc
        elif name == "stream_datum":
            if doc["descriptor"] in stream_of:
                stream_of[doc["descriptor"]][0].stream_datums.append(doc)
    for run in runs.values():
        for stream in run.streams.values():
            stream.events += run.frame_rows(stream)
            stream.events.sort(key=lambda e: e["seq_num"])
    return list(runs.values())


def _run(runs: dict[str, Run], uid: str, name: str, fallback: dict[str, Run] | None = None) -> Run:
    run = runs.get(uid)
    if run is None and fallback:
        run = list(fallback.values())[-1]  # a resource from before run_start was filled in
    if run is None:
        raise ValueError(f"{name} document for run {uid!r}, whose start document is missing")
    return run


def plain(value: Any) -> Any:
    """A numpy scalar as a Python number; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value

"""A document stream regrouped by run and stream: what every exporter starts from.

Pure: no files, no handlers. Event pages are unpacked, so an exporter sees one row per
Event; references to external data (Datum ids, StreamDatum ranges) are kept as
`Reference` values so a writer can summarise them instead of loading images.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from event_model import unpack_datum_page, unpack_event_page

__all__ = ["Reference", "Run", "Stream", "group_runs"]


@dataclass(frozen=True, slots=True)
class Reference:
    """Where an external value lives: a file (URI or path) and a frame or datum id."""

    file: str
    frame: int | str

    def __str__(self) -> str:
        return f"{self.file}[{self.frame}]"


@dataclass
class Stream:
    """One stream of a run: its descriptor(s) and its Events in seq_num order."""

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

    def scalar_keys(self) -> list[str]:
        """Keys of numbers, booleans and strings stored in the Events, in descriptor order."""
        return [
            k
            for k, dk in self.data_keys.items()
            if not dk.get("external") and not dk.get("shape") and dk["dtype"] != "array"
        ]

    def column(self, key: str) -> list[Any]:
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
        """Where each Event's external value of `key` lives (None where unknown)."""
        if stream.data_keys[key].get("external") == "STREAM:":
            return self._stream_references(stream, key)
        out: list[Reference | None] = []
        for value in stream.column(key):
            datum = self.datums.get(str(value))
            resource = self.resources.get(datum["resource"]) if datum else None
            if datum is None or resource is None:
                out.append(None)
                continue
            path = os.path.join(resource.get("root") or "", resource["resource_path"])
            out.append(Reference(path, str(datum["datum_id"])))
        return out

    def _stream_references(self, stream: Stream, key: str) -> list[Reference | None]:
        uids = {d["uid"] for d in stream.descriptors}
        by_seq: dict[int, Reference] = {}
        for sd in self.stream_datums:
            resource = self.stream_resources.get(sd["stream_resource"])
            if sd["descriptor"] not in uids or resource is None or resource["data_key"] != key:
                continue
            seq, index = sd["seq_nums"], sd["indices"]
            for offset in range(index["stop"] - index["start"]):
                by_seq[seq["start"] + offset] = Reference(resource["uri"], index["start"] + offset)
        return [by_seq.get(event["seq_num"]) for event in stream.events]


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

"""Checks every document the engine emits: event-model's JSON schemas plus the rules that
hold between documents (order, references, one stop per start, seq_nums without gaps or
repeats). The autouse fixture in tests/conftest.py runs it on every document that any
RunEngine emits anywhere in the test suite."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from event_model import DocumentNames, schema_validators


class DocumentChecker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.count = 0
        self._starts: set[str] = set()
        self._stopped: set[str] = set()
        self._descriptors: dict[str, dict[str, Any]] = {}
        self._resources: set[str] = set()
        self._legacy_resources: set[str] = set()
        self._datum_ids: set[str] = set()
        # (run uid, stream name) -> last seq_num
        self._seq: dict[tuple[str, str], int] = defaultdict(int)
        self._datum_range: dict[tuple[str, str], tuple[int, int]] = {}
        # (run uid, stream name) -> seq_num of a one-frame StreamDatum not yet matched by
        # an Event: in a step scan the Event after it carries the same seq_num
        self._step_frame: dict[tuple[str, str], int] = {}

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.count += 1
        try:
            schema_validators[DocumentNames[name]].validate(doc)
        except Exception as error:
            self.errors.append(f"{name} fails event-model's schema: {error}")
            return
        getattr(self, f"_{name}", lambda doc: None)(doc)

    def _fail(self, text: str) -> None:
        self.errors.append(text)

    def _start(self, doc: dict[str, Any]) -> None:
        if doc["uid"] in self._starts:
            self._fail(f"start {doc['uid']} emitted twice")
        self._starts.add(doc["uid"])

    def _descriptor(self, doc: dict[str, Any]) -> None:
        if doc["run_start"] not in self._starts or doc["run_start"] in self._stopped:
            self._fail(f"descriptor {doc.get('name')} outside an open run")
        self._descriptors[doc["uid"]] = doc
        self._seq.setdefault((doc["run_start"], doc["name"]), 0)  # a stream may stay empty

    def _seq_nums(self, descriptor_uid: str, seq_nums: list[int]) -> None:
        desc = self._descriptors.get(descriptor_uid)
        if desc is None:
            self._fail(f"event for unknown descriptor {descriptor_uid}")
            return
        if desc["run_start"] in self._stopped:
            self._fail(f"event in stream {desc['name']} after its run stopped")
        key = (desc["run_start"], desc["name"])
        for seq in seq_nums:
            if seq != self._seq[key] + 1:
                self._fail(f"stream {desc['name']!r}: seq_num {seq} after {self._seq[key]}")
            self._seq[key] = seq

    def _event(self, doc: dict[str, Any]) -> None:
        desc = self._descriptors.get(doc["descriptor"])
        key = (desc["run_start"], desc["name"]) if desc is not None else None
        if key is not None and self._step_frame.get(key) == doc["seq_num"]:
            del self._step_frame[key]  # the Event of the frame its StreamDatum announced
        else:
            self._seq_nums(doc["descriptor"], [doc["seq_num"]])
        if desc is not None and set(doc["data"]) != set(desc["data_keys"]) - {
            k for k, v in desc["data_keys"].items() if v.get("external") == "STREAM:"
        }:
            self._fail(
                f"event keys {sorted(doc['data'])} != descriptor keys {sorted(desc['data_keys'])}"
            )
        if desc is not None:
            for key, data_key in desc["data_keys"].items():
                if data_key.get("external") == "FILESTORE:" and (
                    doc["data"].get(key) not in self._datum_ids
                ):
                    self._fail(f"event {key} = {doc['data'].get(key)!r}: no datum emitted before")

    def _resource(self, doc: dict[str, Any]) -> None:
        if doc.get("run_start") not in self._starts:
            self._fail("resource without a known run_start")
        self._legacy_resources.add(doc["uid"])

    def _datum(self, doc: dict[str, Any]) -> None:
        if doc["resource"] not in self._legacy_resources:
            self._fail(f"datum {doc['datum_id']} before its resource")
        self._datum_ids.add(doc["datum_id"])

    def _event_page(self, doc: dict[str, Any]) -> None:
        self._seq_nums(doc["descriptor"], doc["seq_num"])

    def _stream_resource(self, doc: dict[str, Any]) -> None:
        if doc.get("run_start") not in self._starts:
            self._fail("stream_resource without a known run_start")
        self._resources.add(doc["uid"])

    def _stream_datum(self, doc: dict[str, Any]) -> None:
        if doc["stream_resource"] not in self._resources:
            self._fail("stream_datum before its stream_resource")
        desc = self._descriptors.get(doc["descriptor"])
        if desc is None:
            self._fail("stream_datum with an unknown descriptor")
            return
        key = (desc["run_start"], desc["name"])
        seq = doc["seq_nums"]
        if self._datum_range.get(key) == (seq["start"], seq["stop"]):
            return  # another detector's frames of the same collect
        self._datum_range[key] = (seq["start"], seq["stop"])
        self._seq_nums(doc["descriptor"], list(range(seq["start"], seq["stop"])))
        if seq["stop"] - seq["start"] == 1:
            self._step_frame[key] = seq["start"]

    def _stop(self, doc: dict[str, Any]) -> None:
        if doc["run_start"] not in self._starts:
            self._fail("stop for an unknown start")
        if doc["run_start"] in self._stopped:
            self._fail(f"run {doc['run_start']} stopped twice")
        self._stopped.add(doc["run_start"])
        counted = {}
        for (run, stream), seq in self._seq.items():
            if run == doc["run_start"]:
                counted[stream] = seq
        if doc.get("num_events", {}) != counted:
            self._fail(f"stop num_events {doc.get('num_events')} != events seen {counted}")

    def unclosed(self) -> set[str]:
        return self._starts - self._stopped

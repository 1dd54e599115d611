"""Composing event-model documents: plain functions and one small per-stream composer.

Nothing here does I/O or validation against the JSON schemas: the engine checks what it
must once per descriptor, and the per-event path (`EventComposer.event`) only builds a
dict. Tests validate every document against event-model's schemas.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .protocols import DataKey, Reading

__all__ = [
    "EventComposer",
    "compose_descriptor",
    "compose_start",
    "compose_stop",
    "new_uid",
    "split_readings",
]


def new_uid() -> str:
    return str(uuid.uuid4())


class _FastUids:
    """UUID-formatted (version 4, RFC 4122 variant) uids for per-event documents, fast.

    ``str(uuid.uuid4())`` costs a system call and a UUID object per event (2.5 us here).
    This draws 74 random bits for a prefix and counts the last 48 bits on from a random
    start: 0.2 us, unique across processes (the prefix) and within one (the counter).
    """

    __slots__ = ("_left", "_next", "_prefix")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._left = 0
        self._next = 0
        self._prefix = ""

    def __call__(self) -> str:
        if not self._left:
            self._refill()
        self._left -= 1
        n = self._next = self._next + 1
        return f"{self._prefix}{n & 0xFFFFFFFFFFFF:012x}"

    def _refill(self) -> None:
        h = bytearray(os.urandom(16))
        h[6] = (h[6] & 0x0F) | 0x40  # version 4
        h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
        x = h.hex()
        self._prefix = f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-"
        self._next = int.from_bytes(h[10:], "big")
        self._left = 1 << 16  # then a new prefix


fast_uid = _FastUids()
# A forked child must not hand out the uids left in its parent's buffer.
os.register_at_fork(after_in_child=fast_uid.reset)


def compose_start(
    *,
    scan_id: int,
    plan_name: str,
    md: Mapping[str, Any],
    versions: Mapping[str, str],
    plan_type: str = "async_generator",
) -> dict[str, Any]:
    """A RunStart: uid, time, scan_id, plan type and name, versions, then the merged
    metadata. ``plan_type`` is the plan object's type name, as bluesky records it
    (``generator`` for bluesky's plans; its LiveTable prints it)."""
    doc: dict[str, Any] = {
        "plan_type": plan_type,
        "plan_name": plan_name,
        "versions": dict(versions),
    }
    doc.update(md)
    doc["uid"] = new_uid()
    doc["time"] = time.time()
    doc["scan_id"] = scan_id
    return doc


def compose_stop(
    start: Mapping[str, Any], exit_status: str, reason: str, num_events: Mapping[str, int]
) -> dict[str, Any]:
    return {
        "uid": new_uid(),
        "time": time.time(),
        "run_start": start["uid"],
        "exit_status": exit_status,
        "reason": reason,
        "num_events": dict(num_events),
    }


def compose_descriptor(
    start: Mapping[str, Any],
    name: str,
    described: Sequence[tuple[str, Mapping[str, DataKey], Mapping[str, Any] | None, Any]],
) -> dict[str, Any]:
    """An EventDescriptor for a stream of readings from several objects.

    `described` holds, per object: its name, its data keys, its configuration
    (``{"data", "timestamps", "data_keys"}`` or None) and its hints (or None).
    """
    data_keys: dict[str, Any] = {}
    object_keys: dict[str, list[str]] = {}
    configuration: dict[str, Any] = {}
    hints: dict[str, Any] = {}
    for obj_name, keys, config, obj_hints in described:
        object_keys[obj_name] = list(keys)
        for key, data_key in keys.items():
            data_keys[key] = {**data_key, "object_name": obj_name}
        if config is not None:
            configuration[obj_name] = config
        if obj_hints:
            hints[obj_name] = dict(obj_hints)
    return {
        "uid": new_uid(),
        "time": time.time(),
        "run_start": start["uid"],
        "name": name,
        "data_keys": data_keys,
        "object_keys": object_keys,
        "configuration": configuration,
        "hints": hints,
    }


def split_readings(
    readings: Iterable[Mapping[str, Reading]],
) -> tuple[dict[str, Any], dict[str, float]]:
    """``[{key: {"value", "timestamp"}}]`` -> ``({key: value}, {key: timestamp})``."""
    data: dict[str, Any] = {}
    timestamps: dict[str, float] = {}
    for reading in readings:
        for key, r in reading.items():
            data[key] = r["value"]
            timestamps[key] = r["timestamp"]
    return data, timestamps


class EventComposer:
    """Makes the Events (and EventPages) of one descriptor, numbering them from 1."""

    __slots__ = ("count", "descriptor", "filled", "uid")

    def __init__(self, descriptor: Mapping[str, Any], count: int = 0) -> None:
        self.descriptor = descriptor
        self.uid: str = descriptor["uid"]
        # Events so far, also the last seq_num. A stream re-described after `configure`
        # continues its numbering.
        self.count = count
        externals = [k for k, dk in descriptor["data_keys"].items() if dk.get("external")]
        # Keys stored outside the event (files, stream resources) are not filled in.
        self.filled = {
            k: False for k in externals if descriptor["data_keys"][k]["external"] != "STREAM:"
        }

    def event(self, data: dict[str, Any], timestamps: dict[str, float]) -> dict[str, Any]:
        self.count = seq_num = self.count + 1
        doc = {
            "uid": fast_uid(),
            "time": time.time(),
            "descriptor": self.uid,
            "seq_num": seq_num,
            "data": data,
            "timestamps": timestamps,
        }
        if self.filled:
            doc["filled"] = dict(self.filled)
        return doc

    def page(
        self,
        data: dict[str, list[Any]],
        timestamps: dict[str, list[float]],
        times: list[float] | None = None,
    ) -> dict[str, Any]:
        if data:
            n = len(next(iter(data.values())))
        else:  # events without data keys (a flyer that only counts): as many as times
            n = len(times) if times is not None else 0
        first = self.count + 1
        self.count += n
        doc = {
            "uid": [fast_uid() for _ in range(n)],
            "time": times if times is not None else [time.time()] * n,
            "descriptor": self.uid,
            "seq_num": list(range(first, first + n)),
            "data": data,
            "timestamps": timestamps,
        }
        if self.filled:
            doc["filled"] = {k: [v] * n for k, v in self.filled.items()}
        return doc

    def skip(self, n: int) -> tuple[int, int]:
        """Reserve `n` sequence numbers for data written elsewhere (StreamDatum)."""
        start = self.count + 1
        self.count += n
        return start, start + n

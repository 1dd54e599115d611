"""One open run: its streams, the event being bundled, monitors, interruptions, assets.

A plain state machine that turns readings into documents and hands them to `emit`. It
never awaits: the engine's command handlers do the device I/O (`acq.describe`) and pass
the results in.

Rewinding (resume after a pause re-does the messages since the last checkpoint): a
``save`` that already emitted its Event before the pause is *not* emitted again when it
is re-done; the re-taken readings are dropped. So a resumed scan has exactly one Event
per point. (Bluesky re-emits such events with the same seq_num.)
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .bridged_monitor import monitor_callback
from .describe import Described, check_keys_unique, check_readings_match, name_of
from .documents import EventComposer, compose_descriptor, compose_stop, split_readings
from .errors import DocumentError, IllegalMessageSequence
from .protocols import DataKey

__all__ = ["INTERRUPTIONS", "RunBundler", "Stream"]

log = logging.getLogger("acq.engine")

Emit = Callable[[str, dict[str, Any]], None]

INTERRUPTIONS = "interruptions"
_INTERRUPTION_KEYS: dict[str, DataKey] = {
    "interruption": {"dtype": "string", "shape": [], "source": "RunEngine"},
    "reason": {"dtype": "string", "shape": [], "source": "RunEngine"},
}


class Stream:
    """A named stream of Events with its current descriptor."""

    __slots__ = ("assets", "composer", "descriptor", "external", "name", "objs", "stale")

    def __init__(
        self, name: str, objs: tuple[Any, ...], descriptor: dict[str, Any], composer: EventComposer
    ) -> None:
        self.name = name
        self.objs = objs
        self.descriptor = descriptor
        self.composer = composer
        self.stale = False  # a device in it was reconfigured: describe again at next save
        self.external = {
            k for k, dk in descriptor["data_keys"].items() if dk.get("external") == "STREAM:"
        }
        # devices that write files and report Resource/Datum at each save (checked once)
        self.assets = tuple(o for o in objs if hasattr(o, "collect_asset_docs"))


def _same_objs(a: tuple[Any, ...], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    if all(map(operator.is_, a, b)):
        return True
    return {id(x) for x in a} == {id(y) for y in b}  # same devices, read in another order


class RunBundler:
    """Documents of one run. ``emit(name, doc)`` receives each document once."""

    def __init__(
        self, start: dict[str, Any], emit: Emit, *, record_interruptions: bool = True
    ) -> None:
        self.start = start
        self.uid: str = start["uid"]
        self._emit = emit
        self.record_interruptions = record_interruptions
        self.streams: dict[str, Stream] = {}
        self.bundle_name: str | None = None
        self.bundle_objs: list[Any] = []
        self.bundle_readings: list[Mapping[str, Any]] = []
        self.monitors: dict[Any, Callable[[dict[str, Any]], None]] = {}
        self._monitors_suspended = False
        self.declared: dict[Any, str] = {}  # collect object -> its declared stream
        self._stream_resources: dict[str, str] = {}  # stream_resource uid -> data_key
        self._resources: set[str] = set()  # Resource uids of this run
        self.saves_since_checkpoint = 0
        self.skip_saves = 0
        self.closed = False
        emit("start", start)

    # -- bundling: create, read, save, drop ------------------------------------------

    @property
    def bundling(self) -> bool:
        return self.bundle_name is not None

    def create(self, name: str) -> None:
        if self.bundle_name is not None:
            raise IllegalMessageSequence(
                f"'create' for stream {name!r} while the event for {self.bundle_name!r} is "
                f"still open; 'save' or 'drop' it first"
            )
        self.bundle_name = name
        self.bundle_objs = []
        self.bundle_readings = []

    def add_reading(self, obj: Any, reading: Mapping[str, Any]) -> None:
        objs = self.bundle_objs
        for seen in objs:
            if seen is obj:
                raise IllegalMessageSequence(
                    f"{name_of(obj)} was read twice into one event of {self.bundle_name!r}; "
                    f"each device is read once between 'create' and 'save'"
                )
        objs.append(obj)
        self.bundle_readings.append(reading)

    def stream_to_save(self) -> Stream | None:
        """The stream the open event belongs to; None if it needs a (new) descriptor."""
        name = self.bundle_name
        if name is None:
            raise IllegalMessageSequence("'save' without 'create': open an event first")
        stream = self.streams.get(name)
        if stream is None or stream.stale:
            return None
        if not _same_objs(stream.objs, self.bundle_objs):
            raise IllegalMessageSequence(
                f"stream {name!r} holds {[name_of(o) for o in stream.objs]} but this event "
                f"read {[name_of(o) for o in self.bundle_objs]}; use another stream name "
                f"for a different set of devices"
            )
        return stream

    def save(self, stream: Stream) -> None:
        readings = self.bundle_readings
        self.bundle_name = None
        self.saves_since_checkpoint += 1
        if self.skip_saves:  # re-done after a pause; this Event was already emitted
            self.skip_saves -= 1
            return
        if len(readings) == 1:
            reading = readings[0]
            data = {k: r["value"] for k, r in reading.items()}
            timestamps = {k: r["timestamp"] for k, r in reading.items()}
        else:
            data, timestamps = split_readings(readings)
        self._emit("event", stream.composer.event(data, timestamps))

    def drop(self) -> None:
        if self.bundle_name is None:
            raise IllegalMessageSequence("'drop' without 'create': no event is open")
        self.bundle_name = None

    # -- streams ---------------------------------------------------------------------

    def add_stream(
        self,
        name: str,
        objs: Iterable[Any],
        described: list[Described],
        *,
        first_readings: list[Mapping[str, Any]] | None = None,
    ) -> Stream:
        """Emit a descriptor for `name` (again, if a device was reconfigured)."""
        check_keys_unique(described)
        if first_readings is not None:
            for d, reading in zip(described, first_readings, strict=True):
                check_readings_match(d, reading)
        descriptor = compose_descriptor(
            self.start, name, [(d.name, d.data_keys, d.configuration, d.hints) for d in described]
        )
        previous = self.streams.get(name)
        composer = EventComposer(descriptor, previous.composer.count if previous else 0)
        stream = Stream(name, tuple(objs), descriptor, composer)
        self.streams[name] = stream
        self._emit("descriptor", descriptor)
        return stream

    def invalidate(self, obj: Any) -> None:
        """`obj` was reconfigured: its streams get a new descriptor at their next event."""
        for stream in self.streams.values():
            if any(o is obj for o in stream.objs):
                stream.stale = True

    # -- monitors --------------------------------------------------------------------

    def monitor(self, obj: Any, name: str, described: Described) -> None:
        if obj in self.monitors:
            raise IllegalMessageSequence(f"{described.name} is already monitored in this run")
        if name in self.streams:
            raise IllegalMessageSequence(f"stream {name!r} already exists; monitor into another")
        stream = self.add_stream(name, (obj,), [described])
        composer, emit = stream.composer, self._emit

        def accept() -> bool:  # asked when the update arrives, in the device's thread
            return self.monitors.get(obj) is on_update and not self._monitors_suspended

        def on_reading(reading: dict[str, Any]) -> None:
            if self.closed:  # arrived in time, but the run closed before the loop got to it
                log.warning("%s: a monitor update came after its run closed", described.name)
                return
            data, timestamps = split_readings((reading,))
            emit("event", composer.event(data, timestamps))

        on_update = monitor_callback(obj, on_reading, accept)
        self.monitors[obj] = on_update
        obj.subscribe(on_update)

    def unmonitor(self, obj: Any) -> None:
        callback = self.monitors.pop(obj, None)
        if callback is None:
            raise IllegalMessageSequence(f"{name_of(obj)} is not monitored in this run")
        if not self._monitors_suspended:
            obj.clear_sub(callback)

    def suspend_monitors(self) -> None:
        if not self._monitors_suspended:
            self._monitors_suspended = True
            for obj, callback in self.monitors.items():
                obj.clear_sub(callback)

    def restore_monitors(self) -> None:
        if self._monitors_suspended:
            self._monitors_suspended = False
            for obj, callback in self.monitors.items():
                obj.subscribe(callback)

    def clear_monitors(self) -> list[tuple[str, Exception]]:
        errors = []
        if not self._monitors_suspended:
            for obj, callback in self.monitors.items():
                try:
                    obj.clear_sub(callback)
                except Exception as error:
                    errors.append((name_of(obj), error))
        self.monitors.clear()
        return errors

    # -- interruptions ---------------------------------------------------------------

    def record_interruption(self, kind: str, reason: str = "") -> None:
        """An Event in the 'interruptions' stream: pause, suspend, resume."""
        if not self.record_interruptions:
            return
        stream = self.streams.get(INTERRUPTIONS)
        if stream is None:
            stream = self.add_stream(
                INTERRUPTIONS, (), [Described("RunEngine", dict(_INTERRUPTION_KEYS))]
            )
        now = time.time()
        self._emit(
            "event",
            stream.composer.event(
                {"interruption": kind, "reason": reason}, {"interruption": now, "reason": now}
            ),
        )

    # -- checkpoints -----------------------------------------------------------------

    def checkpoint(self) -> None:
        self.saves_since_checkpoint = 0
        self.skip_saves = 0

    def rewind(self) -> None:
        """Messages since the checkpoint will be re-done: their saves must not re-emit."""
        self.skip_saves += self.saves_since_checkpoint
        self.saves_since_checkpoint = 0
        self.bundle_name = None

    # -- fly scans: collect ----------------------------------------------------------

    def emit_page(self, stream: Stream, page: Mapping[str, Any]) -> dict[str, Any]:
        """Turn a partial EventPage (data, timestamps, time) into an EventPage."""
        doc = stream.composer.page(
            dict(page["data"]),
            dict(page["timestamps"]),
            list(page["time"]) if "time" in page else None,
        )
        self._emit("event_page", doc)
        return doc

    def emit_step_assets(self, stream: Stream, docs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Asset documents of the devices read in a step, emitted before their Event.

        Resource/Datum (ophyd's file-writing detectors): Datum ids are the values of keys
        described ``external="FILESTORE:"``; a Resource gets ``run_start`` filled in.
        StreamResource/StreamDatum (ophyd-async's): each StreamDatum covers exactly one
        frame, the one of this Event, so its ``seq_nums`` is the Event's seq_num (as in
        bluesky); every ``external="STREAM:"`` key of the stream needs one. A save that is
        re-done after a pause emits no Event, so its StreamDatum is dropped too.
        """
        seq_num = stream.composer.count + 1
        redone = self.skip_saves > 0
        streamed: set[str] = set()
        for name, doc in docs:
            if name == "resource":
                doc = {**doc, "run_start": self.uid}
                self._resources.add(doc["uid"])
            elif name == "datum":
                if doc.get("resource") not in self._resources:
                    raise DocumentError(
                        f"datum {doc.get('datum_id')!r} refers to resource "
                        f"{doc.get('resource')!r}, which this run has not seen"
                    )
            elif name == "stream_resource":
                doc = self._stream_resource(stream, doc)
            elif name == "stream_datum":
                key = self._stream_datum_key(doc)
                n = doc["indices"]["stop"] - doc["indices"]["start"]
                if n != 1:
                    raise DocumentError(
                        f"stream_datum for {key!r} covers {n} frames in a step; each Event "
                        f"of a step scan refers to exactly one frame per detector"
                    )
                streamed.add(key)
                if redone:
                    continue
                doc = {
                    **doc,
                    "descriptor": stream.descriptor["uid"],
                    "seq_nums": {"start": seq_num, "stop": seq_num + 1},
                }
            else:
                raise DocumentError(
                    f"collect_asset_docs() of a device read in a step gave a {name!r} "
                    f"document; expected resource, datum, stream_resource or stream_datum"
                )
            self._emit(name, doc)
        missing = stream.external - streamed
        if missing:
            raise DocumentError(
                f"stream {stream.name!r} describes {sorted(missing)} as external='STREAM:' "
                f"but no stream_datum came for this event; the detector must report the "
                f"frame it took (collect_asset_docs) before the save"
            )

    def _stream_resource(self, stream: Stream, doc: dict[str, Any]) -> dict[str, Any]:
        if doc["data_key"] not in stream.external:
            raise DocumentError(
                f"stream_resource for {doc['data_key']!r}, which stream "
                f"{stream.name!r} does not describe as external='STREAM:'"
            )
        doc = {**doc, "run_start": self.uid}
        self._stream_resources[doc["uid"]] = doc["data_key"]
        return doc

    def _stream_datum_key(self, doc: dict[str, Any]) -> str:
        key = self._stream_resources.get(doc["stream_resource"])
        if key is None:
            raise DocumentError(
                f"stream_datum refers to unknown stream_resource {doc['stream_resource']}"
            )
        return key

    def emit_stream_assets(self, stream: Stream, docs: list[tuple[str, dict[str, Any]]]) -> None:
        """StreamResource/StreamDatum from a detector that writes its own files.

        Fills in ``run_start`` and ``descriptor``, and gives every StreamDatum of this
        collect the same range of sequence numbers (one per frame written).
        """
        width = None
        first = stream.composer.count + 1
        for name, doc in docs:
            if name == "stream_resource":
                doc = self._stream_resource(stream, doc)
            elif name == "stream_datum":
                self._stream_datum_key(doc)
                n = doc["indices"]["stop"] - doc["indices"]["start"]
                if width is not None and n != width:
                    raise DocumentError(
                        f"stream_datum covers {n} frames where the others cover {width}; "
                        f"every detector in one collect must report the same frames"
                    )
                width = n
                doc = {
                    **doc,
                    "descriptor": stream.descriptor["uid"],
                    "seq_nums": {"start": first, "stop": first + n},
                }
            else:
                raise DocumentError(
                    f"collect_asset_docs() gave a {name!r} document; expected "
                    f"stream_resource or stream_datum"
                )
            self._emit(name, doc)
        if width:
            stream.composer.skip(width)

    # -- the end ---------------------------------------------------------------------

    def close(self, exit_status: str, reason: str = "") -> dict[str, Any]:
        self.clear_monitors()
        self.bundle_name = None
        num_events = {name: s.composer.count for name, s in self.streams.items()}
        stop = compose_stop(self.start, exit_status, reason, num_events)
        self.closed = True
        self._emit("stop", stop)
        return stop

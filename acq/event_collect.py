"""``collect`` from classic ophyd flyers: ``describe_collect()`` and ``collect()`` of events.

Classic (ophyd v1) flyers describe what they collect per stream, doubly nested::

    flyer.describe_collect() == {"stream_a": {"x": {dtype, shape, source}, ...}, ...}

and ``collect()`` yields partial events (``{"data", "timestamps", "time"}``), each going
to the stream whose data keys it has. A flyer that describes a single stream's keys
directly (singly nested) collects into the stream named by the message (``name=``), the
one it was declared in, or ``primary``. As in bluesky, each stream's events of one collect
are emitted as one EventPage.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from .describe import Described, check_data_keys, maybe_await, name_of
from .errors import IllegalMessageSequence
from .msg import Msg

if TYPE_CHECKING:
    from .bundler import RunBundler, Stream

__all__ = ["collect_events", "is_event_collectable"]

_DATA_KEY_FIELDS = frozenset(("dtype", "shape", "source"))


def is_event_collectable(obj: Any) -> bool:
    """A classic flyer: ``collect()`` of events (no pages)."""
    return (
        callable(getattr(obj, "collect", None))
        and callable(getattr(obj, "describe_collect", None))
        and not hasattr(obj, "collect_pages")
    )


async def collect_events(run: RunBundler, msg: Msg) -> list[dict[str, Any]]:
    """Collect `msg.obj`'s events into their streams; returns them if the message asks."""
    obj = msg.obj
    streams = await _streams_of(run, obj, msg.kwargs.get("name") or run.declared.get(obj))
    if hasattr(obj, "collect_asset_docs") and [d async for d in _events(obj.collect_asset_docs())]:
        raise TypeError(
            f"{name_of(obj)}: asset documents from a classic flyer's collect_asset_docs() are "
            f"not supported; collect its files with an ophyd-async detector instead"
        )
    pages: dict[str, dict[str, Any]] = {}
    payload: list[dict[str, Any]] = []
    async for event in _events(obj.collect()):
        keys = frozenset(event["data"])
        stream = streams.get(keys)
        if stream is None:
            raise IllegalMessageSequence(
                f"{name_of(obj)}.collect() gave an event with keys {sorted(keys)}, which no "
                f"stream of its describe_collect() has"
            )
        page = pages.setdefault(stream.name, {"data": {}, "timestamps": {}, "time": []})
        for key, value in event["data"].items():
            page["data"].setdefault(key, []).append(value)
        for key, value in event["timestamps"].items():
            page["timestamps"].setdefault(key, []).append(value)
        page["time"].append(event.get("time", max(event["timestamps"].values(), default=0.0)))
        if msg.kwargs.get("return_payload", True):
            payload.append(event)
    by_name = {stream.name: stream for stream in streams.values()}
    for name, page in pages.items():
        run.emit_page(by_name[name], page)
    return payload


async def _streams_of(run: RunBundler, obj: Any, name: str | None) -> dict[frozenset[str], Stream]:
    """The flyer's streams (made at its first collect), by the set of their data keys."""
    described = dict(await maybe_await(obj.describe_collect()))
    nested = described and all(
        isinstance(v, Mapping) and not _DATA_KEY_FIELDS <= v.keys() for v in described.values()
    )
    per_stream = described if nested and name is None else {name or "primary": described}
    streams: dict[frozenset[str], Stream] = {}
    for stream_name, data_keys in per_stream.items():
        keys = dict(data_keys)
        stream = run.streams.get(stream_name)
        if stream is None:
            check_data_keys(name_of(obj), keys)
            hints = getattr(obj, "hints", None)
            stream = run.add_stream(
                stream_name, (obj,), [Described(name_of(obj), keys, None, dict(hints or {}))]
            )
        elif not any(o is obj for o in stream.objs):
            raise IllegalMessageSequence(
                f"cannot collect {name_of(obj)} into stream {stream_name!r}: it holds "
                f"{[name_of(o) for o in stream.objs]}; collect into another stream (name=...)"
            )
        streams[frozenset(keys)] = stream
    return streams


async def _events(found: Any) -> AsyncIterator[dict[str, Any]]:
    if inspect.isasyncgen(found) or hasattr(found, "__aiter__"):
        async for event in found:
            yield event
    else:
        for event in found:
            yield event

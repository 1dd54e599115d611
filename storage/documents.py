"""Pure functions on event-model documents: splitting pages, sanitising numpy values,
canonical comparison, building numpy columns. No I/O, no loop, so they are unit-testable.

Both backends store one document per Event and per Datum (databroker's mongo_normalized
layout does), so pages are split once, before journalling.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from event_model import unpack_datum_page, unpack_event_page

__all__ = [
    "KINDS",
    "canonical",
    "columns",
    "datum_ids",
    "dumps",
    "id_field",
    "plain",
    "sanitize",
    "search_json",
    "search_text",
    "split",
    "text_matches",
]

#: Document names the catalog stores (pages arrive split).
KINDS = (
    "start",
    "stop",
    "descriptor",
    "event",
    "resource",
    "datum",
    "stream_resource",
    "stream_datum",
)


def split(name: str, doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(name, doc)`` as stored: an event_page becomes Events, a datum_page Datums."""
    if name == "event_page":
        for event in unpack_event_page(doc):  # type: ignore[arg-type]
            yield "event", dict(event)
    elif name == "datum_page":
        for datum in unpack_datum_page(doc):  # type: ignore[arg-type]
            yield "datum", dict(datum)
    else:
        yield name, doc


def datum_ids(docs: Iterable[tuple[str, dict[str, Any]]]) -> set[str]:
    """The datum ids a run's events refer to, in the keys their descriptors mark
    external. Older data has resources without ``run_start``: a run's datums and
    resources are found from these (as databroker does), not only by the run's uid."""
    external: set[str] = set()
    events = []
    for name, doc in docs:
        if name == "descriptor":
            keys = doc.get("data_keys", {})
            external.update(key for key, info in keys.items() if info.get("external"))
        elif name == "event":
            events.append(doc)
    return {
        value
        for event in events
        for key in external
        if isinstance(value := event.get("data", {}).get(key), str)
    }


def id_field(name: str) -> str:
    """The field that identifies a document of this kind (Datum has no uid)."""
    return "datum_id" if name == "datum" else "uid"


_SCALARS = frozenset((float, int, str, bool, type(None)))


def plain(value: Any) -> Any:
    """`value` with numpy scalars and arrays made Python numbers and lists, and tuples
    lists; anything else is returned as it is."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        # The common case (an event's data) holds only scalars: share it, do not copy.
        if _SCALARS.issuperset(map(type, value.values())):
            return value
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def sanitize(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A new top-level dict with numpy scalars and arrays turned into Python numbers and
    lists (nested dicts of plain values are shared, not copied: do not mutate them).

    Tuples become lists (what a database gives back), so a stored document and its
    sanitised original compare equal.
    """
    return {k: plain(v) for k, v in doc.items()}


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in a document: {value!r}")


def _compact_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, default=_default, separators=(",", ":"))`` without building an
    encoder per call: one C encoder made once (an event's two columns cost ~1 us each
    instead of ~2.5 us; the catalog writer's worker thread does this for every event)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(default=_default, separators=(",", ":")).encode
    # (markers, default, encoder, indent, key_sep, item_sep, sort_keys, skipkeys, allow_nan);
    # markers=None: no circularity check, documents are trees
    encode = make(
        None, _default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    join = "".join
    return lambda value: join(encode(value, 0))


#: JSON text of a document part (numpy values allowed; NaN and inf kept).
dumps: Callable[[Any], str] = _compact_encoder()


def _map_floats(value: Any, replace: Callable[[float], Any]) -> Any:
    """`value` (plain: dicts, lists) with every float `f` replaced by ``replace(f)``."""
    if isinstance(value, float):
        return replace(value)
    if isinstance(value, dict):
        return {k: _map_floats(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_floats(v, replace) for v in value]
    return value


def _finite(value: Any) -> Any:
    return _map_floats(value, lambda f: f if math.isfinite(f) else None)


def search_json(doc: Mapping[str, Any]) -> str:
    """What metadata searches read of a start document: strict JSON (NaN and infinities
    made null: SQLite's JSON functions refuse the whole text otherwise), keys sorted at
    every level (a dict searched for equals the stored one whatever its key order)."""
    return json.dumps(
        _finite(sanitize(doc)),
        default=_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


#: Start-document fields full-text search does not read: the start time is a float a
#: user never types (he searches by `since`/`until`).
_NOT_TEXT = frozenset(("time",))


def _words(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool):
        yield "true" if value else "false"
    elif isinstance(value, int | float):
        yield json.dumps(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _words(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _words(item)


def search_text(doc: Mapping[str, Any]) -> str:
    """What full-text search reads of a start document: its values (not its keys), nested
    ones too, as plain text (no JSON escapes: ``Müller``, ``C:\\data``, ``"hi"`` as
    typed), case-folded, one per line. A search word matches as a case-folded substring
    of it (`text_matches`)."""
    values = (v for k, v in sanitize(doc).items() if k not in _NOT_TEXT)
    return "\n".join(_words(list(values))).casefold()


def text_matches(text: str, words: str) -> bool:
    """Every whitespace-separated word of `words` is in `text` (a `search_text`)."""
    return all(word.casefold() in text for word in words.split())


def _nan_safe(value: Any) -> Any:
    return _map_floats(value, lambda f: "__NaN__" if math.isnan(f) else f)


def canonical(doc: Mapping[str, Any]) -> str:
    """A text that is equal for two documents exactly when their contents are equal.

    NaN equals NaN here (a replayed reading of NaN is the same reading), key order is
    ignored, tuples equal lists, ``_id`` is ignored.
    """
    plain = _nan_safe(sanitize({k: v for k, v in doc.items() if k != "_id"}))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def _column(values: list[Any]) -> np.ndarray:
    try:
        return np.asarray(values)
    except ValueError:  # ragged arrays
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out


def columns(
    keys: Sequence[str],
    rows: Iterable[tuple[int, float, Mapping[str, Any]]],
) -> dict[str, np.ndarray]:
    """Numpy columns ``seq_num``, ``time`` and one per data key from event rows.

    `rows` are ``(seq_num, time, data)``, in any order; the columns come out ordered by
    time then seq_num. A key missing from an event reads as None (object column).
    """
    ordered = sorted(rows, key=lambda r: (r[1], r[0]))
    out: dict[str, np.ndarray] = {
        "seq_num": np.fromiter((r[0] for r in ordered), dtype=np.int64, count=len(ordered)),
        "time": np.fromiter((r[1] for r in ordered), dtype=np.float64, count=len(ordered)),
    }
    for key in keys:
        out[key] = _column([r[2].get(key) for r in ordered])
    return out

"""What a catalog needs from a database: the `Backend` protocol and the `Query` value.

Two implementations: `storage.sqlite` (embedded) and `storage.mongo` (databroker's
mongo_normalized layout). The writer and the read-back code talk only to this protocol.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .journal import Record

__all__ = [
    "AnyOf",
    "Backend",
    "BackendUnavailable",
    "EventRow",
    "Query",
    "by_kind",
    "is_scalar",
    "matches",
    "value_at",
]

EventRow = tuple[int, float, dict[str, Any]]  # seq_num, time, data (or timestamps)


def by_kind(records: Sequence[Record], kinds: Container[str]) -> dict[str, list[Record]]:
    """`records` grouped by document kind, each group in order, keeping only `kinds`
    (what a backend stores: its tables or collections)."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        if record[1] in kinds:
            groups.setdefault(record[1], []).append(record)
    return groups


class BackendUnavailable(Exception):
    """The database did not take a batch (down, slow, refused); try again later."""


@dataclass(frozen=True)
class Query:
    """A run search: every given criterion must hold. Times are epoch seconds.

    `metadata` maps a start-document key (``"a.b"``: key ``b`` of the dict at ``a``) to
    the value it must hold; `matches` says what matching means, for both backends."""

    plan_name: str | None = None
    since: float | None = None
    until: float | None = None
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class AnyOf(tuple[Any, ...]):
    """A metadata value that matches when any of its values does: what a command line's
    ``KEY=VALUE`` searches for, since ``2024123`` typed there may mean the text or the
    number (``search(proposal=AnyOf(["2024123", 2024123]))``)."""

    __slots__ = ()


_MISSING = object()


def value_at(doc: dict[str, Any], key: str) -> Any:
    """``doc[key]``, where a dotted key reads into nested dicts; `_MISSING` if absent."""
    value: Any = doc
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def is_scalar(value: Any) -> bool:
    """A value a metadata match compares by equality (not None, a dict, a list or
    `AnyOf`)."""
    return value is not None and not isinstance(value, dict | list | tuple)


def matches(doc: dict[str, Any], key: str, wanted: Any) -> bool:
    """Whether `doc` holds `wanted` at `key` (a metadata match of `Query`):

    - a scalar equals the stored value, or an item of a stored list (``detectors="det"``
      finds ``["det", "I0"]``, as MongoDB does); numbers compare as numbers (``5 == 5.0``,
      and ``True == 1``), never equal to text (``2024123`` is not ``"2024123"``);
    - None matches only an explicit null, not a missing key;
    - a dict or a list equals the stored value whole (a dict's key order aside);
    - `AnyOf` matches when one of its values does.
    """
    if isinstance(wanted, AnyOf):
        return any(matches(doc, key, one) for one in wanted)
    have = value_at(doc, key)
    if have is _MISSING:
        return False
    if wanted is None:
        return have is None
    if not is_scalar(wanted):
        return bool(have == wanted)
    if isinstance(have, list):
        return any(is_scalar(item) and item == wanted for item in have)
    return is_scalar(have) and bool(have == wanted)


#: What any backend raises for what a document holds (a field missing, a value it cannot
#: encode): that document will never be stored, though the others of its batch can be.
CONTENT_ERRORS: tuple[type[Exception], ...] = (TypeError, ValueError, KeyError, OverflowError)


class Backend(Protocol):
    label: str  # where the data goes, for messages ("sqlite:///...", "mongodb://h:p/db")
    writable: bool
    #: errors `store` raises for what a document holds (`CONTENT_ERRORS` and its own)
    content_errors: tuple[type[Exception], ...]

    async def store(self, records: Sequence[Record]) -> list[tuple[Record, str]]:
        """Store records (identical duplicates are fine). Returns the ones that can never
        be stored as ``(record, why)`` (a different document under the same uid, a value
        the server refuses); raises `BackendUnavailable` if it could not write now."""
        ...

    async def search(self, query: Query, limit: int, offset: int) -> list[dict[str, Any]]:
        """Start documents, newest first (starts of the same time: the one written last
        first, in every newest-first lookup)."""
        ...

    async def start(self, uid: str) -> dict[str, Any] | None: ...

    async def starts_with_prefix(self, prefix: str, limit: int) -> list[dict[str, Any]]: ...

    async def start_by_scan_id(self, scan_id: int) -> dict[str, Any] | None: ...

    async def nth_latest(self, n: int) -> dict[str, Any] | None:
        """The n-th newest start (n=1: the latest)."""
        ...

    async def stops(self, run_uids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def descriptors(self, run_uid: str) -> list[dict[str, Any]]: ...

    async def event_rows(
        self, descriptor_uids: Sequence[str], field: str = "data"
    ) -> list[EventRow]:
        """``(seq_num, time, event[field])`` of the descriptors' events, any order;
        `field` is ``data`` or ``timestamps``."""
        ...

    async def run_documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        """Every stored document of the run, in emission order."""
        ...

    async def close(self) -> None: ...

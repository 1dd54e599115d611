"""What a catalog needs from a database: the `Backend` protocol and the `Query` value.

Two implementations: `storage.sqlite` (embedded) and `storage.mongo` (databroker's
mongo_normalized layout). The writer and the read-back code talk only to this protocol.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .journal import Record

__all__ = ["Backend", "BackendUnavailable", "EventRow", "Query", "by_kind"]

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
    """A run search: every given criterion must hold. Times are epoch seconds."""

    plan_name: str | None = None
    since: float | None = None
    until: float | None = None
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


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

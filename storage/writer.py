"""`CatalogWriter`: the subscriber that stores documents without ever holding up a scan.

Subscribe it as ``RE.subscribe(catalog.writer, critical=True)``. It is an async callback:
the engine's dispatcher calls it from that subscriber's own consumer task, so when it
awaits the database only this subscriber waits, never the engine.

The dispatcher hands it the queued documents a batch at a time (`handle_batch`; a call
``writer(name, doc)`` is a batch of one). Per document: split pages, keep the record
for the journal (a list append; writing it later, in one frame with the others, costs
about half a microsecond per event). The records go to the journal file (one ``write``)
at the latest `sync_interval` (50 ms) after the first of them -- a loop timer does it
even if no further document arrives -- and before any batch is sent to the database.
Batches go to the database when a run starts, gets a descriptor, or stops (awaited, so
a conflict shows at once), when `batch_size` documents are waiting, or when the last
store is `max_delay` old. One batch is in flight while the next documents are
journalled: the writer owns that single task and always awaits it (at the next batch,
`flush()` or `close()`), so the database and the journal work at the same time, and
nothing runs unowned. A database that fails or is slower than `store_timeout` leaves
the documents in the journal; the writer retries with backoff (0.5 s doubling to 30 s)
on later documents, and `flush()` or the next `open_catalog` on this journal stores the
rest. At a run's stop and at `flush()`, whatever the database has not confirmed is
fsynced (what it has confirmed is as safe as the database keeps it; fsyncing a whole
run's journal just before the database confirmed it cost ~0.5 us a document).

It raises (so a critical subscription fails the run) only when a document cannot be
made safe: the journal cannot be written, or the database holds a different document
under the same uid. A database outage alone never fails a run.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections import Counter, deque
from typing import Any

import anyio

from .backend import Backend, BackendUnavailable
from .documents import split
from .errors import DocumentConflictError, FlushTimeoutError, JournalError, StorageError
from .journal import Journal, Record

__all__ = ["CatalogWriter"]

log = logging.getLogger("storage.writer")

_STORE_NOW = frozenset(("start", "descriptor", "stop"))
_PAGES = frozenset(("event_page", "datum_page"))  # split into Events / Datums when stored
_MAX_UNWRITTEN = 10_000  # records held in memory before an early journal write


class CatalogWriter:
    """See the module docstring. Made by `open_catalog`; one per catalog."""

    def __init__(
        self,
        backend: Backend,
        journal: Journal,
        *,
        batch_size: int = 1000,
        sync_interval: float = 0.05,
        max_delay: float = 0.5,
        store_timeout: float = 10.0,
    ) -> None:
        self.backend = backend
        self.journal = journal
        self.batch_size = batch_size
        self.sync_interval = sync_interval
        self.max_delay = max_delay
        self.store_timeout = store_timeout
        self.stored = 0  # documents stored by this writer (stats)
        self._backlog: list[Record] = []  # not yet stored, in order
        self._stored_records = 0  # records stored since the journal was opened (mark)
        self._last_seq = 0
        self._last_store = 0.0
        self._retry_at = 0.0
        self._backoff = 0.5
        self._last_error: str | None = None
        self._journal_failure: JournalError | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._inflight: tuple[list[Record], asyncio.Task[Any]] | None = None
        self._lock = anyio.Lock()
        self._closed = False
        self._unwritten = journal.unwritten_records

    def __repr__(self) -> str:
        return f"<CatalogWriter to {self.backend.label}, {len(self._backlog)} waiting>"

    @property
    def backlog(self) -> int:
        """Documents journalled (or buffered) but not yet known to be in the database."""
        return len(self._backlog) + (len(self._inflight[0]) if self._inflight else 0)

    @property
    def last_error(self) -> str | None:
        """Why the last attempt to store failed (None once the database took a batch)."""
        return self._last_error

    # -- the subscriber ----------------------------------------------------------------

    async def __call__(self, name: str, doc: dict[str, Any]) -> None:
        await self.handle_batch(deque(((name, doc),)))

    async def handle_batch(self, batch: deque[tuple[str, dict[str, Any]]]) -> None:
        """Take documents from the front of `batch`, in order (the engine's dispatcher
        hands a subscriber what is queued this way: no call per document)."""
        unwritten = self._unwritten
        backlog = self._backlog
        batch_size = self.batch_size
        last_seq = self._last_seq
        while batch:
            if self._closed or self._journal_failure is not None:
                self._raise_refusal()
            due = ""  # why the backlog must be stored now
            try:
                while batch:
                    name, doc = batch.popleft()
                    parts = split(name, doc) if name in _PAGES else ((name, doc),)
                    for kind, part in parts:
                        seq = time.time_ns()
                        if seq <= last_seq:  # the clock stood still or went back
                            seq = last_seq + 1
                        last_seq = seq
                        record = (seq, kind, part)
                        unwritten.append(record)
                        backlog.append(record)
                    if name in _STORE_NOW or len(backlog) >= batch_size:
                        due = name
                        break
            finally:  # also when a malformed page raised: the sequence stays increasing
                self._last_seq = last_seq
            now = time.monotonic()
            if due or now - self._last_store >= self.max_delay:
                self._write_journal()
                if now >= self._retry_at:
                    await self._store_backlog(wait=due in _STORE_NOW)
                if due == "stop" and self.backlog:
                    self._write_journal(sync=True)  # what the database has not confirmed
                last_seq = self._last_seq
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(
                    self.sync_interval, self._on_timer
                )
            elif len(unwritten) > _MAX_UNWRITTEN:
                self._write_journal()

    def _raise_refusal(self) -> None:
        if self._closed:
            raise StorageError(f"the catalog writer for {self.backend.label} is closed")
        self._raise_journal_failure()

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.journal.write()
        except JournalError as exc:
            log.error("%s", exc)
            self._journal_failure = exc

    def _write_journal(self, sync: bool = False) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if sync:
                self.journal.sync()
            else:
                self.journal.write()
        except JournalError as exc:
            self._journal_failure = exc
            raise

    def _raise_journal_failure(self) -> None:
        if self._journal_failure is not None:
            raise self._journal_failure

    # -- storing -----------------------------------------------------------------------

    async def _store_backlog(self, wait: bool = True) -> bool:
        """Store the waiting documents a batch at a time; False if the database failed.

        One batch at a time is in flight. With ``wait=False`` the last batch is left in
        flight (the database works on it while the next documents are journalled) and
        the next call, `flush` or `close` awaits it. Raises DocumentConflictError, after
        storing everything else, if a document conflicts with a stored one or the server
        refuses it (those documents are kept in ``<journal>.rejected``).
        """
        conflicts: list[tuple[Record, str]] = []
        try:
            async with self._lock:
                if not await self._finish_inflight(conflicts):
                    return False
                while self._backlog:
                    batch = self._backlog[: self.batch_size]
                    del self._backlog[: len(batch)]
                    self._write_journal()  # a document reaches the database after the journal
                    self._last_store = time.monotonic()
                    task = asyncio.get_running_loop().create_task(
                        self._store_batch(batch),
                        name=f"storage batch of {len(batch)} to {self.backend.label}",
                    )
                    self._inflight = (batch, task)
                    if not wait and len(self._backlog) < self.batch_size:
                        return True
                    if not await self._finish_inflight(conflicts):
                        return False
                return True
        finally:
            if conflicts:
                self._reject(conflicts)

    async def _store_batch(self, records: list[Record]) -> list[tuple[Record, str]]:
        with anyio.fail_after(self.store_timeout):
            return await self.backend.store(records)

    async def _finish_inflight(self, conflicts: list[tuple[Record, str]]) -> bool:
        """Await the batch in flight; on failure put it back at the head of the backlog."""
        if self._inflight is None:
            return True
        batch, task = self._inflight
        try:
            conflicts += await task
        except (BackendUnavailable, TimeoutError) as exc:
            self._inflight = None
            self._backlog[:0] = batch
            self._note_failure(exc)
            return False
        except BaseException:
            self._inflight = None
            self._backlog[:0] = batch
            raise
        self._inflight = None
        self.stored += len(batch)
        self._stored_records += len(batch)
        self.journal.mark_stored(self._stored_records)
        if self._last_error is not None:
            log.warning("%s is back: the journalled documents are stored", self.backend.label)
        self._last_error = None
        self._backoff = 0.5
        self._retry_at = 0.0
        return True

    def _note_failure(self, exc: BaseException) -> None:
        reason = str(exc) or f"no answer within {self.store_timeout} s"
        if self._last_error is None:
            log.warning(
                "cannot store documents in %s (%s); they stay in the journal %s and are retried",
                self.backend.label,
                reason,
                self.journal.path,
            )
        self._last_error = reason
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 30.0)

    def _reject(self, conflicts: list[tuple[Record, str]]) -> None:
        rejected = self.journal.path.with_name(self.journal.path.name + ".rejected")
        with open(rejected, "ab") as f:
            for record, _ in conflicts:
                pickle.dump(record, f, protocol=5)
        (_, name, doc), why = conflicts[0]
        key = doc.get("uid", doc.get("datum_id", ""))
        raise DocumentConflictError(
            f"{self.backend.label} cannot store {len(conflicts)} document(s), e.g. the "
            f"{name} {key!r}: {why}; new document {doc!r}. They are kept in "
            f"{rejected}."
        )

    def _describe_backlog(self) -> str:
        kinds = Counter(name for _, name, _ in self._backlog)
        return ", ".join(f"{n} {k}" for k, n in kinds.most_common())

    async def flush(self, timeout: float = 30.0) -> None:
        """Return when every document received so far is in the database.

        Raises `FlushTimeoutError` (naming the backlog and the last database error) if
        that does not happen within `timeout` seconds; the documents stay journalled.
        """
        self._raise_journal_failure()
        self._write_journal()
        with anyio.move_on_after(timeout):
            while self._backlog or self._inflight:
                if await self._store_backlog():
                    break
                await anyio.sleep(max(0.0, min(self._retry_at - time.monotonic(), 2.0)))
        if self._backlog or self._inflight:
            self._write_journal(sync=True)
            raise FlushTimeoutError(
                f"{self.backlog} documents ({self._describe_backlog()}) are not in "
                f"{self.backend.label} after {timeout} s ({self._last_error or 'no answer'}). "
                f"They are safe in the journal {self.journal.path}; the next flush() or "
                "open_catalog() on this journal stores them."
            )

    async def close(self, timeout: float = 30.0) -> None:
        """Flush (bounded), then release the journal. Raises if documents stay behind."""
        if self._closed:
            return
        try:
            await self.flush(timeout)
        finally:
            self._closed = True
            if self._inflight is not None:  # flush gave up on it: stop it, keep it journalled
                self._inflight[1].cancel()
                await asyncio.wait([self._inflight[1]])  # its outcome was reported by flush
                self._inflight = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.journal.close()

    def load_pending(self) -> int:
        """Queue the journal's unstored records (from an earlier process) for storing."""
        for record in self.journal.pending():
            self._backlog.append(record)
            self._last_seq = max(self._last_seq, record[0])
        if self._backlog:
            log.warning(
                "the journal %s holds %d documents (%s) not yet in %s; storing them now",
                self.journal.path,
                len(self._backlog),
                self._describe_backlog(),
                self.backend.label,
            )
        return len(self._backlog)

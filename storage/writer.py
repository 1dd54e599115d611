"""`CatalogWriter`: the subscriber that stores documents without ever holding up a scan.

Subscribe it as ``RE.subscribe(catalog.writer, critical=True)``. It is an async callback:
the engine's dispatcher calls it from that subscriber's own consumer task, so it never
runs on the engine's path.

Two parts, so that the journal never waits for the database:

- The subscriber side (`handle_batch`; a call ``writer(name, doc)`` is a batch of one)
  only journals. Per document: split pages, keep the record for the journal (a list
  append; writing it later, in one frame with the others, costs about half a
  microsecond per event). The records go to the journal file (one ``write``) at the
  latest `sync_interval` (50 ms) after the first of them -- a loop timer does it even if
  no further document arrives -- and at once for a run's start, descriptors and stop.
  It never awaits the database, so a database that hangs cannot keep documents out of
  the journal: a SIGKILL loses at most the last sync interval, whatever the database does.
- One store task, owned by the writer, moves journalled documents into the database a
  batch at a time (`insert_many` / one SQLite transaction), always after the journal
  write that covers them. It is woken when a run starts, gets a descriptor, or stops,
  when `batch_size` documents are waiting, or when the last store is `max_delay` old.
  A database that fails or is slower than `store_timeout` leaves the documents in the
  journal; the task retries by itself with backoff (0.5 s doubling to 30 s; every 2 s
  while someone flushes), and the next `open_catalog` on this journal stores whatever a
  process that ended left behind. At most `max_in_memory` documents wait in memory;
  newer ones wait in the journal only and are read back from it when their turn comes.

At a run's stop the subscriber side waits up to one sync interval for the database to
confirm the run (so a conflict in a run that stores quickly fails that run), then fsyncs
what the database has not confirmed (what it has confirmed is as safe as the database
keeps it; fsyncing a whole run's journal just before the database confirmed it cost
~0.5 us a document).

It raises (so a critical subscription fails the run) when a document cannot be made
safe: the journal cannot be written, the database holds a different document under the
same uid (found by the store task: raised by the next call, `flush()` or `close()`, and
logged at once), or storing failed in a way that is not an outage. A database outage
alone never fails a run.

A journal that cannot be written (the disk filled up mid-run) loses nothing either: the
writer goes on taking documents and storing them, which then wait in memory only until
the database has them (a crash would lose those). The error is raised by the call that
found it, so the run fails, and again at every run's start until a write succeeds (tried
at each start, and every `_JOURNAL_RETRY` s): no new run goes unprotected, and freeing
space is all it takes to go on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import time
from collections import Counter, deque
from typing import Any

import anyio

from .backend import Backend, BackendUnavailable
from .documents import split
from .errors import DocumentConflictError, FlushTimeoutError, JournalError, StorageError
from .journal import UNJOURNALLABLE, UNREADABLE, Journal, Record

__all__ = ["CatalogWriter"]

log = logging.getLogger("storage.writer")

_STORE_NOW = frozenset(("start", "descriptor", "stop"))
_PAGES = frozenset(("event_page", "datum_page"))  # split into Events / Datums when stored
_MAX_UNWRITTEN = 10_000  # records held in memory before an early journal write
_JOURNAL_RETRY = 1.0  # s between attempts to write a journal that failed


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
        max_in_memory: int = 50_000,
    ) -> None:
        self.backend = backend
        self.journal = journal
        self.batch_size = batch_size
        self.sync_interval = sync_interval
        self.max_delay = max_delay
        self.store_timeout = store_timeout
        #: documents waiting for the database that are held in memory; the newer ones
        #: are let go and read back from the journal when the store task gets to them
        self.max_in_memory = max(max_in_memory, batch_size)
        self.stored = 0  # documents stored by this writer (stats)
        self.lost = 0  # documents let go of that the journal could not give back
        self._backlog: list[Record] = []  # not yet taken by the store task, in order
        self._storing: list[Record] = []  # the batch the store task is storing
        self._spilled = 0  # journalled after `_backlog`, not held in memory
        self._stored_records = 0  # records stored since the journal was opened (mark)
        self._stored_seq = 0  # seq of the last record the database confirmed
        self._last_seq = 0
        self._last_store = 0.0
        self._retry_at = 0.0
        self._backoff = 0.5
        self._last_error: str | None = None
        self._journal_failure: JournalError | None = None  # unreadable: nothing is stored
        self._journal_down: JournalError | None = None  # unwritable: documents in memory
        self._journal_retry_at = 0.0
        self._failure: StorageError | None = None  # found by the store task, not yet raised
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None  # the store task
        self._wake = asyncio.Event()  # something to store (or a flush waits)
        self._changed = asyncio.Event()  # the store task finished an attempt
        self._store_all = False  # store what is waiting now, not only full batches
        self._closed = False
        self._unwritten = journal.unwritten_records

    def __repr__(self) -> str:
        return f"<CatalogWriter to {self.backend.label}, {self.backlog} waiting>"

    @property
    def backlog(self) -> int:
        """Documents journalled (or buffered) but not yet known to be in the database."""
        return len(self._backlog) + len(self._storing) + self._spilled

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
            self._raise_refusal()
            due = ""  # a run's start, descriptor or stop: store what waits now
            held = len(backlog)
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
                    if name in _STORE_NOW:
                        due = name
                        break
            except BaseException:  # a malformed page: what came before it is journalled
                self._schedule_journal_write()
                raise
            finally:  # also when a malformed page raised: the sequence stays increasing
                self._last_seq = last_seq
                if self._spilled or len(backlog) > self.max_in_memory:
                    self._spill(held)
            if due:
                if due == "start":
                    self._journal_retry_at = 0.0  # a new run: try a failed journal now
                self._write_journal()
                self._request_store(everything=True)
                if due == "start" and self._journal_down is not None:
                    self._refuse_unjournalled_run()
                if due == "stop":
                    await self._settle_run(last_seq)
                continue
            if len(backlog) + self._spilled >= batch_size:
                self._request_store(everything=False)  # it writes the journal first
            elif self.backlog and time.monotonic() - self._last_store >= self.max_delay:
                self._request_store(everything=True)
            if len(unwritten) > _MAX_UNWRITTEN:
                self._write_journal()
            else:
                self._schedule_journal_write()
        self._raise_failure()  # after journalling: a document handed in is never dropped

    def _schedule_journal_write(self) -> None:
        """Write the journal one sync interval from now, if there is something to write
        and no write is due already."""
        if self._unwritten and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.sync_interval, self._on_timer)

    def _spill(self, held: int) -> None:
        """Too many documents wait for the database (it is away, or a scan that never
        waits for I/O starves its thread): let go of the newest records in memory; the
        journal has them, in order (written, or appended for its next write).
        `held`: records in the backlog before this batch."""
        keep = held if self._spilled else self.max_in_memory
        if self._spilled == 0:
            log.warning(
                "%d documents wait for %s; from now on they wait in the journal %s only, "
                "and are read back from it to be stored",
                len(self._backlog),
                self.backend.label,
                self.journal.path,
            )
        self._spilled += len(self._backlog) - keep
        del self._backlog[keep:]

    async def _settle_run(self, stop_seq: int) -> None:
        """At a stop: give the database one sync interval to confirm the run (so a
        conflict fails the run it is in), fsync what it has not, raise what it found."""
        with anyio.move_on_after(self.sync_interval):
            while self._stored_seq < stop_seq and self._failure is None:
                await self._changed.wait()
        if self._stored_seq < stop_seq:
            self._write_journal(sync=True)
        self._raise_failure()

    def _refuse_unjournalled_run(self) -> None:
        """A run starts while the journal cannot be written: fail it (its documents are
        taken and stored all the same)."""
        down = self._journal_down
        assert down is not None
        if self._failure is down:
            self._failure = None  # raised here instead
        raise JournalError(str(down)) from down.__cause__

    def _raise_refusal(self) -> None:
        """Raise if no document can be taken (closed, or the journal no longer reads
        back what the writer let go of)."""
        if self._closed:
            raise StorageError(f"the catalog writer for {self.backend.label} is closed")
        if self._journal_failure is not None:
            raise self._journal_failure

    def _raise_failure(self) -> None:
        """Raise a refusal, or (once) what the store task found."""
        self._raise_refusal()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _on_timer(self) -> None:
        self._timer = None
        self._write_journal()

    def _write_journal(self, sync: bool = False) -> None:
        """Write (with `sync`, and fsync) what was appended. Never raises: a failure is
        recorded (`_journal_went_down`); while the journal is down, a write is tried at
        most every `_JOURNAL_RETRY` s (each try pickles every unstored record again)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        down = self._journal_down
        if down is not None and time.monotonic() < self._journal_retry_at:
            return
        tried = bool(self._unwritten)  # writing nothing proves nothing
        try:
            if sync:
                self.journal.sync()
            else:
                self.journal.write()
        except JournalError as exc:
            self._journal_went_down(exc)
            return
        if down is not None and tried:
            self._journal_down = None
            log.warning(
                "the storage journal %s can be written again; documents are journalled "
                "before they are stored, as before",
                self.journal.path,
            )

    def _journal_went_down(self, exc: JournalError) -> None:
        """The journal cannot be written: documents wait in memory until stored; the
        error is raised (once) by the next call, and at every run's start meanwhile."""
        self._journal_retry_at = time.monotonic() + _JOURNAL_RETRY
        if self._journal_down is not None:
            return
        down = JournalError(
            f"{exc}. Documents still go to {self.backend.label}, but until the journal "
            "can be written they wait in memory only (a crash would lose those not yet "
            "stored), and every run started meanwhile fails at its start"
        )
        down.__cause__ = exc.__cause__
        log.error("%s", down)
        self._journal_down = down
        if self._failure is None:
            self._failure = down

    # -- storing: the store task -------------------------------------------------------

    def _request_store(self, everything: bool) -> None:
        """Wake the store task (starting it if need be): full batches are waiting, or
        (`everything`) whatever is waiting should be stored now."""
        if everything:
            self._store_all = True
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._store_loop(), name=f"acq storage writer to {self.backend.label}"
            )

    def _has_work(self) -> bool:
        waiting = len(self._backlog) + self._spilled
        if not waiting:
            self._store_all = False
            return False
        return self._store_all or waiting >= self.batch_size

    async def _store_loop(self) -> None:
        """Store batches while there is work; between attempts that failed, back off."""
        while True:
            if not self._has_work():
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._retry_at - time.monotonic()
            if wait > 0:  # backing off after a failure; a flush shortens the wait
                self._wake.clear()
                with anyio.move_on_after(wait):
                    await self._wake.wait()
                continue
            if self._spilled and len(self._backlog) < self.batch_size and not self._read_back():
                continue  # the journal failed: nothing more is stored (the writer refuses)
            batch = self._backlog[: self.batch_size]
            del self._backlog[: len(batch)]
            self._storing = batch
            try:
                await self._store(batch)
            except Exception as exc:  # a bug of ours: never silent, and the task goes on
                self._unexpected(f"the catalog writer's store task for {self.backend.label}", exc)
            finally:
                if self._storing:  # not stored: back to the head of the backlog
                    self._backlog[:0] = self._storing
                    self._storing = []
                changed, self._changed = self._changed, asyncio.Event()
                changed.set()

    def _read_back(self) -> bool:
        """Fill the backlog up to a batch from the journal; False if the journal failed."""
        first = self._stored_records + len(self._backlog)
        want = min(self._spilled, self.batch_size - len(self._backlog))
        try:
            records = self._read_journal(first, want)
            # A frame that no longer reads back: take the rest of its stand-ins now, so
            # that the loss is told once, whole.
            while records[-1][1] == UNREADABLE and len(records) < self._spilled:
                more = min(self.batch_size, self._spilled - len(records))
                records += self._read_journal(first + len(records), more)
        except JournalError as exc:
            self._journal_failed(exc)
            return False
        unreadable = [record for record in records if record[1] == UNREADABLE]
        if unreadable:
            self._lost_unreadable(unreadable)
        for record in records:
            if record[1] == UNJOURNALLABLE:
                self._lost_stand_in(record)
        self._backlog += records
        self._spilled -= len(records)
        if not self._spilled:
            log.warning("the documents waiting for %s fit in memory again", self.backend.label)
        return True

    def _read_journal(self, first: int, want: int) -> list[Record]:
        records = self.journal.read_back(first, want)
        if len(records) != want:
            raise JournalError(
                f"the storage journal {self.journal.path} gave back {len(records)} of the "
                f"{want} records the writer let go of; it is not what this process wrote"
            )
        return records

    def _lost_unreadable(self, unreadable: list[Record]) -> None:
        """Documents let go of from memory whose journal frame no longer reads back:
        they are lost. Said once (the run they belong to fails); the documents before
        and after them are stored, and the writer goes on."""
        self.lost += len(unreadable)
        about = unreadable[0][2]
        failure = JournalError(
            f"{len(unreadable)} documents waiting for {self.backend.label} in the storage "
            f"journal {self.journal.path} only could not be read back from it (at byte "
            f"{about['offset']}: {about['error']}); they are lost. The documents before "
            "and after them are stored"
        )
        log.error("%s", failure)
        if self._failure is None:
            self._failure = failure

    def _lost_stand_in(self, record: Record) -> None:
        """The journal gives back a stand-in for a document pickle could not write,
        whose only copy was in memory (an earlier process, or let go of here)."""
        about = record[2]
        log.error(
            "the %s %r could not be journalled (%s) and was not stored while its only copy "
            "was in memory: it is lost",
            about["name"],
            about["uid"],
            about["error"],
        )

    def _journal_failed(self, exc: JournalError) -> None:
        """The journal does not give back what the writer let go of: the store task
        stops (storing later documents first would lose the order), the next call
        raises."""
        log.error("%s", exc)
        self._journal_failure = exc
        self._retry_at = math.inf

    async def _store(self, batch: list[Record]) -> None:
        """One attempt at one batch. Never raises an Exception: what went wrong is
        recorded (`last_error`, and `_failure` for the next call to raise)."""
        self._write_journal()  # a document reaches the database after the journal
        self._last_store = time.monotonic()
        conflicts = await self._attempt(batch)
        if conflicts is None:
            return
        self._storing = []
        self.stored += len(batch)
        self._stored_records += len(batch)
        self._stored_seq = max(self._stored_seq, batch[-1][0])  # (stand-ins have seq 0)
        try:
            self.journal.forget_stored(self._stored_records)  # stored, never journalled
            self.journal.mark_stored(self._stored_records)
        except JournalError as exc:
            self._journal_went_down(exc)
        if self._last_error is not None:
            log.warning("%s is back: the journalled documents are stored", self.backend.label)
        self._last_error = None
        self._backoff = 0.5
        self._retry_at = 0.0
        if conflicts:
            self._failure = self._reject(conflicts)
            log.error("%s", self._failure)

    async def _attempt(self, batch: list[Record]) -> list[tuple[Record, str]] | None:
        """Store `batch`: what the database refused, or None if it did not take the
        batch (what went wrong is recorded)."""
        try:
            with anyio.fail_after(self.store_timeout):
                return await self.backend.store(batch)
        except (BackendUnavailable, TimeoutError) as exc:
            self._note_failure(exc)
        except Exception as exc:
            if isinstance(exc, self.backend.content_errors):
                return await self._one_by_one(batch)
            self._unexpected(f"storing {len(batch)} documents in {self.backend.label}", exc)
        return None

    async def _one_by_one(self, batch: list[Record]) -> list[tuple[Record, str]] | None:
        """The batch failed on what a document holds (a value the database cannot
        encode): store its records one at a time and refuse those that fail so (kept in
        ``.rejected``, raised), rather than retry the batch for ever and hold up every
        later document, and every later open."""
        refused: list[tuple[Record, str]] = []
        conflicts: list[tuple[Record, str]] = []
        for record in batch:
            try:
                with anyio.fail_after(self.store_timeout):
                    conflicts += await self.backend.store([record])
            except (BackendUnavailable, TimeoutError) as exc:
                self._note_failure(exc)
                return None
            except Exception as exc:
                if not isinstance(exc, self.backend.content_errors):
                    self._unexpected(f"storing {len(batch)} documents in {self.backend.label}", exc)
                    return None
                refused.append((record, f"cannot be stored: {type(exc).__name__}: {exc}"))
        return conflicts + refused

    def _unexpected(self, what: str, exc: Exception) -> None:
        """`what` failed in a way that is neither an outage nor a refusal (a driver bug,
        or one of ours): logged, raised by the next call, and the batch retried."""
        failure = StorageError(
            f"{what} failed: {type(exc).__name__}: {exc}; the documents stay in the "
            f"journal {self.journal.path} and are retried"
        )
        log.error("%s", failure, exc_info=exc)
        self._note_failure(exc)
        failure.__cause__ = exc
        self._failure = failure

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

    def _reject(self, conflicts: list[tuple[Record, str]]) -> DocumentConflictError:
        """Keep refused documents in ``<journal>.rejected``; the error to raise."""
        rejected = self.journal.path.with_name(self.journal.path.name + ".rejected")
        try:
            with open(rejected, "ab") as f:
                for record, why in conflicts:
                    try:
                        data = pickle.dumps(record, protocol=5)
                    except Exception as exc:  # what pickle cannot write: the log has it
                        log.error(
                            "refused by %s (%s), unpicklable (%s): %r",
                            self.backend.label,
                            why,
                            exc,
                            record,
                        )
                        continue
                    f.write(data)
            kept = f"They are kept in {rejected}."
        except OSError as exc:  # the journal no longer holds them: log every one
            for record, why in conflicts:
                log.error("refused by %s (%s): %r", self.backend.label, why, record)
            kept = f"They could not be kept in {rejected} ({exc.strerror}); the log has them."
        (_, name, doc), why = conflicts[0]
        key = doc.get("uid", doc.get("datum_id", ""))
        return DocumentConflictError(
            f"{self.backend.label} cannot store {len(conflicts)} document(s), e.g. the "
            f"{name} {key!r}: {why}; new document {doc!r}. {kept}"
        )

    def _describe_backlog(self) -> str:
        kinds = Counter(name for _, name, _ in [*self._storing, *self._backlog])
        described = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        if self._spilled:
            described += f", and {self._spilled} in the journal only"
        return described

    async def flush(self, timeout: float = 30.0) -> None:
        """Return when every document received so far is in the database.

        Raises `FlushTimeoutError` (naming the backlog and the last database error) if
        that does not happen within `timeout` seconds; the documents stay journalled.
        Raises what the store task found (a conflict) if it has not been raised yet.
        """
        self._raise_failure()
        self._write_journal()
        target = self._last_seq
        with anyio.move_on_after(timeout):
            while self._stored_seq < target and self.backlog:
                # someone is waiting: retry at least every 2 s, whatever the backoff
                self._retry_at = min(self._retry_at, time.monotonic() + 2.0)
                self._request_store(everything=True)
                await self._changed.wait()
                if self._failure is not None or self._journal_failure is not None:
                    break
        self._raise_failure()
        if self._stored_seq < target and self.backlog:
            self._write_journal(sync=True)
            where = (
                f"They are safe in the journal {self.journal.path}; the next flush() or "
                "open_catalog() on this journal stores them."
                if self._journal_down is None
                else f"They are in this process's memory only ({self._journal_down}); "
                "keep it running: they are stored when the database answers."
            )
            raise FlushTimeoutError(
                f"{self.backlog} documents ({self._describe_backlog()}) are not in "
                f"{self.backend.label} after {timeout} s ({self._last_error or 'no answer'}). "
                + where
            )

    @property
    def closed(self) -> bool:
        """Whether `close` finished (it does not while documents exist only in memory)."""
        return self._closed

    async def close(self, timeout: float = 30.0) -> None:
        """Flush (bounded), then release the journal. Raises if documents stay behind.

        Documents that exist only in memory (the journal cannot be written and the
        database did not take them) are not dropped: the writer then stays open, storing
        and retrying, and the error says so; call `close` again later."""
        if self._closed:
            return
        try:
            await self.flush(timeout)
        except Exception as exc:
            if not self._only_in_memory():
                await self.shut()
                raise
            note = (
                f"The writer stays open, since {self.backlog} documents exist only in "
                "this process's memory: close it again once the database answers or the "
                "journal's disk has space (ending the process now loses them)."
            )
            if isinstance(exc, FlushTimeoutError):
                raise FlushTimeoutError(f"{exc} {note}") from None
            log.error("%s", note)
            exc.add_note(note)
            raise
        except BaseException:  # cancelled, interrupted: release what the writer holds
            await self.shut()
            raise
        await self.shut()

    def _only_in_memory(self) -> bool:
        """Whether documents not yet stored are missing from the journal (it cannot be
        written, after one more try)."""
        if not self.backlog:
            return False
        self._journal_retry_at = 0.0
        self._write_journal(sync=True)
        return self._journal_down is not None

    async def shut(self) -> None:
        """Release the journal and stop the store task now, whatever waits (no flush)."""
        self._closed = True
        if self._task is not None:  # idle, or (flush gave up) mid-batch: stop it
            self._task.cancel()
            await asyncio.wait([self._task])  # a batch it was storing stays journalled
            self._task = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            self.journal.close()
        except JournalError as exc:
            if self._journal_down is None:
                raise
            log.error("%s", exc)  # known already; what it held is told by flush()

    def load_pending(self) -> int:
        """Queue the journal's unstored records (from an earlier process) for storing
        (the first `max_in_memory` held in memory, the rest read back when due)."""
        for record in self.journal.pending():
            if record[1] == UNJOURNALLABLE:
                self._lost_stand_in(record)
            if len(self._backlog) < self.max_in_memory:
                self._backlog.append(record)
            else:
                self._spilled += 1
            self._last_seq = max(self._last_seq, record[0])
        if self.backlog:
            log.warning(
                "the journal %s holds %d documents (%s) not yet in %s; storing them now",
                self.journal.path,
                self.backlog,
                self._describe_backlog(),
                self.backend.label,
            )
        return self.backlog

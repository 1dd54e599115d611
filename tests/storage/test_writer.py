"""The catalog writer's two halves against a scripted database: the journal never waits
for the store task, and the store task retries and reports by itself."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from storage_helpers import journal_disk_full, journalled

from acq import RunEngine
from acq.errors import CriticalSubscriberError
from devices.sim import SimDetector
from plans import count
from storage import open_catalog
from storage.backend import CONTENT_ERRORS, BackendUnavailable
from storage.errors import (
    DocumentConflictError,
    FlushTimeoutError,
    JournalError,
    StorageError,
)
from storage.journal import Journal, Record
from storage.mongo import COLLECTIONS
from storage.writer import CatalogWriter


class ScriptedBackend:
    """Takes batches (keeping, as a real backend does, only documents: no stand-in);
    `faults` is what its next calls do instead (an exception to raise, or the string
    "conflict" to refuse the batch's last record)."""

    label = "scripted://"
    writable = True
    content_errors = CONTENT_ERRORS

    def __init__(self, *faults: BaseException | str) -> None:
        self.faults = list(faults)
        self.stored: list[Record] = []
        self.calls = 0

    async def store(self, records: Sequence[Record]) -> list[tuple[Record, str]]:
        self.calls += 1
        await anyio.sleep(0)
        if self.faults:
            fault = self.faults.pop(0)
            if fault == "conflict":
                self.stored += documents(records[:-1])
                return [(records[-1], "stored differently")]
            assert isinstance(fault, BaseException)
            raise fault
        self.stored += documents(records)
        return []


def documents(records: Sequence[Record]) -> list[Record]:
    return [record for record in records if record[1] in COLLECTIONS]


async def first_attempt(backend: ScriptedBackend) -> None:
    """Wait until the store task has made its first attempt at the database."""
    with anyio.fail_after(5):
        while backend.calls == 0:
            await anyio.sleep(0.01)


def start_doc(uid: str) -> dict[str, Any]:
    return {"uid": uid, "time": time.time(), "scan_id": 1}


def stop_doc(uid: str) -> dict[str, Any]:
    return {"uid": f"{uid}-stop", "run_start": uid, "time": time.time(), "exit_status": "success"}


async def test_the_store_task_retries_after_an_outage_without_further_documents(
    tmp_path: Path,
) -> None:
    backend = ScriptedBackend(BackendUnavailable("down"), BackendUnavailable("still down"))
    writer = CatalogWriter(backend, Journal(tmp_path / "j"))
    await writer("start", start_doc("run-1"))
    with anyio.fail_after(10):  # backoff 0.5 s, then 1 s: no flush, no new document
        while writer.backlog:
            await anyio.sleep(0.05)
    assert [doc["uid"] for _, _, doc in backend.stored] == ["run-1"]
    assert backend.calls == 3 and writer.last_error is None
    await writer.close()


async def test_an_unexpected_store_error_is_raised_by_the_next_call_and_retried(
    tmp_path: Path,
) -> None:
    backend = ScriptedBackend(RuntimeError("a bug in the driver"))
    writer = CatalogWriter(backend, Journal(tmp_path / "j"))
    await writer("start", start_doc("run-1"))
    await first_attempt(backend)
    with pytest.raises(StorageError, match="a bug in the driver"):
        await writer("event", {"uid": "e1", "descriptor": "d", "seq_num": 1})
    # raised once, after e1 was kept; the batch that failed is still journalled
    assert [doc["uid"] for _, _, doc in journalled(writer.journal.path)] == ["run-1"]
    await writer.flush(timeout=10)
    assert [doc["uid"] for _, _, doc in backend.stored] == ["run-1", "e1"]
    await writer.close()


async def test_a_conflict_found_by_the_store_task_fails_the_run_at_its_stop(
    tmp_path: Path,
) -> None:
    backend = ScriptedBackend("conflict")
    writer = CatalogWriter(backend, Journal(tmp_path / "j"))
    await writer("start", start_doc("run-1"))
    # the store task takes both in one batch and refuses the stop, within a sync interval
    with pytest.raises(DocumentConflictError, match="run-1-stop"):
        await writer("stop", stop_doc("run-1"))
    await writer.flush(timeout=10)
    assert [doc["uid"] for _, _, doc in backend.stored] == ["run-1"]
    await writer.close()


async def test_a_conflict_found_earlier_is_raised_after_the_next_document_is_kept(
    tmp_path: Path,
) -> None:
    backend = ScriptedBackend("conflict")
    writer = CatalogWriter(backend, Journal(tmp_path / "j"))
    await writer("start", start_doc("run-1"))
    await first_attempt(backend)  # refused, found by the store task
    with pytest.raises(DocumentConflictError, match="run-1"):
        await writer("event", {"uid": "e1", "descriptor": "d", "seq_num": 1})
    assert writer.backlog == 1  # e1 was kept: journalled at the next sync
    await writer.flush(timeout=10)
    assert [doc["uid"] for _, _, doc in backend.stored] == ["e1"]
    await writer.close()


async def test_a_conflict_fails_the_engines_run(tmp_path: Path) -> None:
    backend = ScriptedBackend("conflict")
    writer = CatalogWriter(backend, Journal(tmp_path / "j"))
    RE = RunEngine(waiting_hook=None)
    RE.subscribe(writer, critical=True)
    with pytest.raises(CriticalSubscriberError, match="cannot store 1 document"):
        await RE(count([SimDetector("det")], 3))
    await writer.close()


class HeldBackend(ScriptedBackend):
    """Stores nothing until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def store(self, records: Sequence[Record]) -> list[tuple[Record, str]]:
        await self.release.wait()
        return await super().store(records)


async def test_a_store_that_hangs_does_not_hold_the_journal(tmp_path: Path) -> None:
    backend = HeldBackend()
    writer = CatalogWriter(backend, Journal(tmp_path / "j"), store_timeout=30)
    await writer("start", start_doc("run-1"))
    for i in range(5):
        await writer("event", {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1})
    await anyio.sleep(0.2)  # 4x the sync interval: the journal timer has run
    uids = [doc["uid"] for _, _, doc in journalled(writer.journal.path)]
    assert uids == ["run-1", "e0", "e1", "e2", "e3", "e4"]
    assert writer.backlog == 6
    backend.release.set()
    await writer.flush(timeout=10)
    assert [doc["uid"] for _, _, doc in backend.stored] == uids
    await writer.close()


async def test_documents_beyond_max_in_memory_wait_in_the_journal_and_are_stored_in_order(
    tmp_path: Path,
) -> None:
    backend = HeldBackend()
    writer = CatalogWriter(
        backend, Journal(tmp_path / "j"), batch_size=10, max_in_memory=25, store_timeout=30
    )
    await writer("start", start_doc("run-1"))
    for i in range(100):
        await writer.handle_batch(
            deque((("event", {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1}),))
        )
        held = len(writer._backlog) + len(writer._storing)
        assert held <= 25, f"{held} records held in memory after event {i}"
    await writer("stop", stop_doc("run-1"))
    assert writer.backlog == 102
    backend.release.set()
    await writer.flush(timeout=10)
    uids = ["run-1", *(f"e{i}" for i in range(100)), "run-1-stop"]
    assert [doc["uid"] for _, _, doc in backend.stored] == uids  # in order, each once
    await writer.close()


async def test_a_long_journal_replays_without_holding_it_all_in_memory(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    for i in range(60):
        journal.append((i + 1, "event", {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1}))
        if i % 7 == 6:
            journal.write()
    journal.close()  # an earlier process stored none of them
    backend = ScriptedBackend()
    writer = CatalogWriter(backend, Journal(tmp_path / "j"), batch_size=10, max_in_memory=20)
    assert writer.load_pending() == 60
    assert len(writer._backlog) == 20
    await writer.flush(timeout=10)
    assert [doc["uid"] for _, _, doc in backend.stored] == [f"e{i}" for i in range(60)]
    await writer.close()


async def test_a_bug_in_the_store_task_is_raised_and_the_task_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ScriptedBackend()
    writer = CatalogWriter(backend, Journal(tmp_path / "j"))
    broken = [True]
    real_mark = writer.journal.mark_stored

    def mark_stored(records: int) -> None:
        if broken.pop() if broken else False:
            raise RuntimeError("a bug in the mark")
        real_mark(records)

    monkeypatch.setattr(writer.journal, "mark_stored", mark_stored)
    await writer("start", start_doc("run-1"))
    with pytest.raises(StorageError, match=r"store task .* a bug in the mark"):
        await writer.flush(timeout=10)
    await writer("stop", stop_doc("run-1"))
    await writer.flush(timeout=10)  # the task is alive and stores on
    assert [doc["uid"] for _, _, doc in backend.stored] == ["run-1", "run-1-stop"]
    await writer.close()


async def test_refused_documents_are_logged_when_the_rejected_file_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "j.rejected").mkdir()  # not a file: it cannot be appended to
    writer = CatalogWriter(ScriptedBackend("conflict"), Journal(tmp_path / "j"))
    await writer("start", start_doc("run-1"))
    with pytest.raises(DocumentConflictError, match="could not be kept"):
        await writer.flush(timeout=10)
    assert "'run-1'" in caplog.text  # the refused document itself is in the log
    await writer.close()


async def test_with_the_journal_disk_full_documents_wait_in_memory_and_are_all_stored(
    tmp_path: Path,
) -> None:
    """Disk full and database away together: the run fails, flush says where the
    documents are; the database comes back and has every one, in order (those let go of
    beyond `max_in_memory` too); space again and the next run is journalled."""
    backend = HeldBackend()
    writer = CatalogWriter(
        backend, Journal(tmp_path / "j"), batch_size=10, max_in_memory=25, store_timeout=30
    )
    await writer("start", start_doc("run-1"))
    with journal_disk_full(writer.journal):  # mid-run
        for i in range(60):
            await writer.handle_batch(
                deque((("event", {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1}),))
            )
        with pytest.raises(JournalError, match=r"disk is full.*wait in memory only"):
            await writer("stop", stop_doc("run-1"))
        with pytest.raises(FlushTimeoutError, match=r"62 documents.*memory only"):
            await writer.flush(timeout=0.3)
        with pytest.raises(FlushTimeoutError, match="The writer stays open"):
            await writer.close(timeout=0.3)  # closing would drop them
        assert not writer.closed
        with pytest.raises(JournalError, match="fails at its start"):
            await writer("start", start_doc("run-2"))  # taken, but the run fails
        backend.release.set()
        await writer.flush(timeout=10)
    uids = ["run-1", *(f"e{i}" for i in range(60)), "run-1-stop", "run-2"]
    assert [doc["uid"] for _, _, doc in backend.stored] == uids  # in order, each once
    await writer("start", start_doc("run-3"))  # space again: no error
    assert [doc["uid"] for _, _, doc in journalled(writer.journal.path)][-1] == "run-3"
    await writer.close()


async def test_documents_the_journal_no_longer_reads_back_are_reported_and_the_rest_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database is away, documents beyond `max_in_memory` wait in the journal only,
    and the disk damages one of its frames. Those documents are lost, which is said
    once (the run fails) with how many and where; every other document is stored, and
    later runs are too. (Every later document was refused: each call raised, and the
    engine's dispatcher dropped one document a call.)"""
    backend = HeldBackend()
    path = tmp_path / "j"
    writer = CatalogWriter(
        backend, Journal(path), batch_size=10, max_in_memory=25, store_timeout=30
    )
    await writer("start", start_doc("run-1"))
    sizes = []
    for group in range(3):  # three frames of 20 events
        for i in range(20 * group, 20 * group + 20):
            event = {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1}
            await writer.handle_batch(deque((("event", event),)))
        with anyio.fail_after(10):
            while journalled(path)[-1][2]["uid"] != f"e{20 * group + 19}":
                await anyio.sleep(0.01)
        sizes.append(path.stat().st_size)
    with path.open("r+b") as damaged:  # the middle of the frame of e20..e39
        damaged.seek((sizes[0] + sizes[1]) // 2)
        damaged.write(b"\xff" * 8)

    in_memory = [doc["uid"] for _, _, doc in [*writer._storing, *writer._backlog]]
    backend.release.set()
    with pytest.raises(JournalError, match=r"could not be read back") as raised:
        await writer.flush(timeout=10)
    await writer("stop", stop_doc("run-1"))  # the error was said once: the writer goes on
    await writer("start", start_doc("run-2"))
    await writer("stop", stop_doc("run-2"))
    await writer.flush(timeout=10)
    # lost: the damaged frame's documents that were in the journal only
    lost = [f"e{i}" for i in range(20, 40) if f"e{i}" not in in_memory]
    assert (
        lost and str(raised.value).startswith(f"{len(lost)} documents") and writer.lost == len(lost)
    )
    assert str(raised.value) in caplog.text
    kept = [f"e{i}" for i in range(60) if f"e{i}" not in lost]
    expected = ["run-1", *kept, "run-1-stop", "run-2", "run-2-stop"]
    assert [doc["uid"] for _, _, doc in backend.stored] == expected
    await writer.close()
    assert path.stat().st_size == 0  # all accounted for: the journal is emptied


async def test_a_document_pickle_cannot_write_is_stored_from_memory_and_the_journal_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A start whose metadata pickle cannot write (an instance of a class defined in a
    function) but JSON can: the journal keeps a stand-in in its place and goes on, the
    database gets the document from memory. (It wedged the journal before: every later
    write failed on it.)"""

    class Label(str):
        pass

    async with await open_catalog(tmp_path / "c.db") as catalog:
        writer = catalog.writer
        await writer("start", {"uid": "run-1", "time": 1.0, "scan_id": 1, "sample": Label("Si")})
        await writer("stop", stop_doc("run-1"))
        await writer.flush(timeout=10)
        assert (await catalog.run("run-1")).start["sample"] == "Si"
        assert "cannot journal the start 'run-1'" in caplog.text
        await writer("start", start_doc("run-2"))
        assert [doc["uid"] for _, _, doc in journalled(writer.journal.path)][-1] == "run-2"


async def test_documents_before_a_malformed_page_reach_the_journal_in_time(
    tmp_path: Path,
) -> None:
    backend = HeldBackend()
    writer = CatalogWriter(backend, Journal(tmp_path / "j"), store_timeout=30)
    batch = deque(
        [
            ("event", {"uid": "e0", "descriptor": "d", "seq_num": 1}),
            ("event", {"uid": "e1", "descriptor": "d", "seq_num": 2}),
            ("event_page", {"descriptor": "d"}),  # no uid, seq_num, data...
        ]
    )
    with pytest.raises(KeyError):
        await writer.handle_batch(batch)
    await anyio.sleep(0.2)  # 4x the sync interval, and no document after the page
    assert [doc["uid"] for _, _, doc in journalled(writer.journal.path)] == ["e0", "e1"]
    backend.release.set()
    await writer.close()


async def test_a_document_pickle_cannot_write_is_kept_when_the_others_are_let_go_of(
    tmp_path: Path,
) -> None:
    """The database is away and documents beyond `max_in_memory` are let go of (the
    journal has them): one that pickle cannot write has only a stand-in there, so the
    journal keeps the document itself until it is stored."""

    class Label(str):
        pass

    backend = HeldBackend()
    writer = CatalogWriter(
        backend, Journal(tmp_path / "j"), batch_size=10, max_in_memory=10, store_timeout=30
    )
    await writer("start", start_doc("run-1"))
    for i in range(30):
        await writer("event", {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1})
    await writer("start", {**start_doc("run-2"), "sample": Label("Si")})
    assert writer._spilled > 0  # run-2's start is not held by the writer
    backend.release.set()
    await writer.flush(timeout=10)
    starts = [doc for _, name, doc in backend.stored if name == "start"]
    assert [doc["uid"] for doc in starts] == ["run-1", "run-2"]
    assert starts[1]["sample"] == "Si"
    await writer.close()

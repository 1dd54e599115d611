"""Faults: the database goes away mid-run and comes back, the acquiring process is killed
with SIGKILL, the database is slow, the journal's disk fills up. Every document ends up
stored exactly once."""

from __future__ import annotations

import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from storage_helpers import (
    Docs,
    MongoServer,
    SlowProxy,
    journal_disk_full,
    journalled,
    stored_form,
    subscribe_writer,
)

from acq import RunEngine
from acq.errors import CriticalSubscriberError
from devices.sim import SimDetector
from plans import count
from plans import stubs as bps
from storage import Catalog, open_catalog
from storage.errors import DocumentConflictError, FlushTimeoutError, JournalError
from storage.journal import Journal

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).parent / "scripts"


async def points_until(
    det: Any, condition: Callable[[], bool], timeout: float, what: str
) -> AsyncIterator[Any]:
    """Take points until `condition()` holds (a plan fragment); fail after `timeout`."""
    with anyio.fail_after(timeout):
        while not condition():
            yield bps.trigger_and_read([det])
            await anyio.sleep(0.01)
    if not condition():
        raise AssertionError(f"never happened: {what}")


async def test_mongo_stopped_and_restarted_mid_run_loses_nothing(
    tmp_path: Path, RE: RunEngine, docs: Docs
) -> None:
    server = MongoServer(tmp_path / "server", db=str(tmp_path / "mongo.db"))  # survives restarts
    server.start()
    det = SimDetector("det")
    try:
        catalog = await open_catalog(f"{server.uri}/acq", timeout=1.0, store_timeout=1.0)
        subscribe_writer(RE, catalog.writer)
        writer = catalog.writer

        async def plan() -> AsyncIterator[Any]:
            yield bps.open_run()
            for _ in range(5):
                yield bps.trigger_and_read([det])
            await writer.flush(timeout=10)
            await anyio.to_thread.run_sync(server.stop)
            yield points_until(det, lambda: writer.last_error is not None, 30, "a failed store")
            for _ in range(5):
                yield bps.trigger_and_read([det])
            await anyio.to_thread.run_sync(server.start)
            yield points_until(det, lambda: writer.last_error is None, 60, "a store after restart")
            for _ in range(5):
                yield bps.trigger_and_read([det])
            yield bps.close_run()

        result = await RE(plan())
        assert result.exit_status == "success"
        await writer.flush(timeout=60)
        run = await catalog.run(result.run_uids[0])
        n_events = len(docs.of("event"))
        assert n_events > 15
        assert list((await run.table())["seq_num"]) == list(range(1, n_events + 1))
        assert stored_form(await run.documents()) == stored_form(list(docs))
        await catalog.close()
    finally:
        server.stop()


async def acquire_until_event(
    n: int, *args: str, on_ready: Callable[[], None] = lambda: None
) -> str:
    """Run scripts/acquire.py with `args` until it printed event `n`, then SIGKILL it;
    `on_ready` runs once its catalog is open, before it acquires. Returns the run's uid."""
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "acquire.py"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[list[str]] = []
    try:
        with anyio.fail_after(60):
            assert process.stdout is not None
            while True:
                line = await anyio.to_thread.run_sync(process.stdout.readline)
                if not line:
                    assert process.stderr is not None
                    raise AssertionError(f"acquire.py ended early: {process.stderr.read()}")
                seen.append(line.split())
                if seen[-1] == ["ready"]:
                    await anyio.to_thread.run_sync(on_ready)
                    assert process.stdin is not None
                    process.stdin.write("go\n")
                    process.stdin.flush()
                if seen[-1] == ["event", str(n)]:
                    break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        for pipe in (process.stdin, process.stdout, process.stderr):
            assert pipe is not None
            pipe.close()
    return next(words[1] for words in seen if words[0] == "start")


async def test_sigkill_mid_run_then_reopen_replays_the_journal(catalog_uri: str) -> None:
    run_uid = await acquire_until_event(12, catalog_uri)
    # Event 11 was emitted 0.2 s before event 12 was printed: 4x the journal's
    # 50 ms sync interval, so it must be journalled; event 12 may be lost.
    async with await open_catalog(catalog_uri, timeout=10) as catalog:
        run = await catalog.run(run_uid)
        assert run.stop is None  # the run never closed
        seq = list((await run.table())["seq_num"])
        assert seq == list(range(1, len(seq) + 1))  # in order, no duplicate, no gap
        assert len(seq) >= 11
        assert catalog.writer.backlog == 0


class HangingDatabase:
    """A test's catalog database that can be made to hang: SQLite locked by another
    connection (a store waits 5 s for the lock, then fails), or Mongo behind a proxy that
    holds every request `hold` seconds. `uri` goes through it, `direct` does not."""

    def __init__(
        self, backend: str, tmp_path: Path, request: pytest.FixtureRequest, stack: Any, hold: float
    ) -> None:
        self.hold = hold
        self._proxy: SlowProxy | None = None
        self._blocker: sqlite3.Connection | None = None
        if backend == "sqlite":
            path = tmp_path / "catalog.db"
            self.uri = self.direct = f"sqlite:///{path}"
            self._blocker = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            stack.callback(self._blocker.close)
        else:
            self.direct = request.getfixturevalue("mongo_uri")
            base, db = self.direct.rsplit("/", 1)
            self._proxy = stack.enter_context(SlowProxy(int(base.rsplit(":", 1)[1]), delay=0.0))
            self.uri = f"mongodb://127.0.0.1:{self._proxy.port}/{db}"

    def hang(self) -> None:
        if self._blocker is not None:
            self._blocker.execute("BEGIN IMMEDIATE")
        else:
            assert self._proxy is not None
            self._proxy.delay = self.hold

    def release(self) -> None:
        if self._blocker is not None:
            if self._blocker.in_transaction:
                self._blocker.execute("ROLLBACK")
        else:
            assert self._proxy is not None
            self._proxy.delay = 0.0


@pytest.mark.parametrize("backend", ["sqlite", "mongo"])
async def test_sigkill_while_the_database_hangs_loses_at_most_the_last_sync_interval(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    journal = tmp_path / "acquire.journal"
    with ExitStack() as stack:
        database = HangingDatabase(backend, tmp_path, request, stack, hold=30.0)
        try:
            run_uid = await acquire_until_event(
                12, database.uri, str(journal), on_ready=database.hang
            )
        finally:
            database.release()
        async with await open_catalog(database.direct, timeout=10, journal=journal) as catalog:
            run = await catalog.run(run_uid)
            seq = list((await run.table())["seq_num"])
            assert seq == list(range(1, len(seq) + 1))
            assert len(seq) >= 11, f"only {len(seq)} events reached the journal"


async def test_a_slow_database_never_holds_up_the_scan(
    mongo_base: str, RE: RunEngine, docs: Docs
) -> None:
    host_port = mongo_base.split("//", 1)[1].split("@")[-1]
    det = SimDetector("det")
    with SlowProxy(int(host_port.rsplit(":", 1)[1]), delay=0.2) as proxy:
        catalog: Catalog = await open_catalog(
            f"mongodb://127.0.0.1:{proxy.port}/acq_slow", timeout=10
        )
        subscribe_writer(RE, catalog.writer)
        waiting: list[int] = []

        async def plan() -> AsyncIterator[Any]:
            yield bps.open_run()
            for _ in range(300):
                yield bps.trigger_and_read([det])
                waiting.append(catalog.writer.backlog)
            yield bps.close_run()

        result = await RE(plan())
        await catalog.writer.flush(timeout=120)
        # the scan went on while documents waited for the database
        assert max(waiting) > 0
        run = await catalog.run(result.run_uids[0])
        assert list((await run.table())["seq_num"]) == list(range(1, 301))
        assert stored_form(await run.documents()) == stored_form(list(docs))
        await catalog.close()


@pytest.mark.parametrize("backend", ["sqlite", "mongo"])
async def test_documents_reach_the_journal_while_the_database_hangs(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, RE: RunEngine, docs: Docs
) -> None:
    """The journal's promise (a SIGKILL loses at most the last sync interval) must not
    depend on the database: while a store hangs, later documents are still journalled."""
    det = SimDetector("det")
    async with AsyncExitStack() as stack:
        database = HangingDatabase(backend, tmp_path, request, stack, hold=3.0)
        catalog = await open_catalog(database.uri, timeout=10)
        stack.push_async_callback(catalog.close)
        subscribe_writer(RE, catalog.writer)
        missing: list[str] = []

        async def plan() -> AsyncIterator[Any]:
            yield bps.open_run()
            for _ in range(10):
                yield bps.trigger_and_read([det])
                await anyio.sleep(0.02)
            emitted = [doc["uid"] for name, doc in docs]
            await anyio.sleep(0.3)  # 6x the journal's 50 ms sync interval
            on_disk = {doc["uid"] for _, _, doc in journalled(catalog.writer.journal.path)}
            missing.extend(uid for uid in emitted if uid not in on_disk)
            yield bps.close_run()

        database.hang()
        try:
            result = await RE(plan())
        finally:
            database.release()
        assert result.exit_status == "success"
        assert len(docs.of("event")) == 10
        assert missing == [], f"{len(missing)} documents were not journalled in 0.3 s"
        await catalog.writer.flush(timeout=60)
        run = await catalog.run(result.run_uids[0])
        assert stored_form(await run.documents()) == stored_form(list(docs))


def runs_of(docs: Docs) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Emitted documents by run (the runs one after another), keyed by run uid."""
    runs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, doc in docs:
        if name == "start":
            current = runs.setdefault(doc["uid"], [])
        current.append((name, doc))
    return runs


async def test_a_journal_disk_that_fills_up_fails_runs_but_loses_no_document(
    catalog: Catalog, RE: RunEngine, docs: Docs, caplog: pytest.LogCaptureFixture
) -> None:
    """The journal's disk fills up mid-run: that run fails, naming the cause, and so does
    a run started while it is full; space again, and runs go on as before. The database
    has every document of every run all the same."""
    det = SimDetector("det")
    subscribe_writer(RE, catalog.writer)
    with ExitStack() as disk:

        async def plan() -> AsyncIterator[Any]:
            yield bps.open_run()
            for _ in range(5):
                yield bps.trigger_and_read([det])
            disk.enter_context(journal_disk_full(catalog.writer.journal))
            for _ in range(50):
                yield bps.trigger_and_read([det])
                await anyio.sleep(0.005)  # the journal's 50 ms timer finds the full disk
            yield bps.close_run()

        with pytest.raises(CriticalSubscriberError, match="the disk is full"):
            await RE(plan())
        with pytest.raises(CriticalSubscriberError, match="fails at its start"):
            await RE(count([det], 3))
    result = await RE(count([det], 3))
    assert result.exit_status == "success" and not result.subscriber_errors
    assert "can be written again" in caplog.text
    await catalog.writer.flush(timeout=30)

    runs = runs_of(docs)
    assert len(runs) == 3
    first = next(iter(runs.values()))
    assert sum(name == "event" for name, _ in first) >= 5 and first[-1][0] == "stop"
    for uid, emitted in runs.items():
        run = await catalog.run(uid)
        assert stored_form(await run.documents()) == stored_form(emitted)


async def test_a_conflicting_document_in_the_journal_does_not_keep_the_catalog_from_opening(
    catalog_uri: str,
) -> None:
    """An earlier process journalled a start that conflicts with the stored one (and
    died before storing the rest): the next open stores the rest, keeps the conflicting
    one in ``.rejected``, and opens; the open after that replays nothing."""
    async with await open_catalog(catalog_uri) as catalog:
        await catalog.writer("start", {"uid": "run-1", "time": 1.0, "scan_id": 1})
        path = catalog.writer.journal.path
    journal = Journal(path)
    journal.append((time.time_ns(), "start", {"uid": "run-1", "time": 2.0, "scan_id": 7}))
    for i in range(30):
        event = {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1, "time": 2.0 + i}
        journal.append((time.time_ns(), "event", {**event, "data": {}, "timestamps": {}}))
    journal.write()
    journal.close()

    catalog = await open_catalog(catalog_uri, batch_size=10)
    assert catalog.writer.backlog == 0
    assert (await catalog.run("run-1")).start["scan_id"] == 1  # the stored one stands
    await catalog.close()
    rejected = path.with_name(path.name + ".rejected").read_bytes()
    assert pickle.loads(rejected)[2]["scan_id"] == 7
    async with await open_catalog(catalog_uri) as again:
        assert again.writer.backlog == 0


async def test_a_replay_that_times_out_fails_the_open_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    """The database is locked while an earlier process's documents are replayed: the open
    fails within replay_timeout (the autouse check fails the test if the store task
    outlives it), and the next open stores them."""
    uri = f"sqlite:///{tmp_path}/catalog.db"
    async with await open_catalog(uri):
        pass
    journal = Journal(tmp_path / "catalog.db.journal")
    journal.append((time.time_ns(), "start", {"uid": "run-1", "time": 1.0, "scan_id": 1}))
    journal.write()
    journal.close()
    blocker = sqlite3.connect(tmp_path / "catalog.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(FlushTimeoutError, match="safe in the journal"):
            await open_catalog(uri, replay_timeout=0.5)
    finally:
        blocker.close()
    async with await open_catalog(uri) as catalog:
        assert (await catalog.run("run-1")).uid == "run-1"


async def test_a_second_stop_for_a_run_is_refused_not_dropped(catalog: Catalog) -> None:
    writer = catalog.writer
    await writer("start", {"uid": "run-1", "time": 1.0, "scan_id": 1})
    await writer("stop", {"uid": "stop-a", "run_start": "run-1", "time": 2.0})
    with pytest.raises(DocumentConflictError, match="stop-b"):
        await writer("stop", {"uid": "stop-b", "run_start": "run-1", "time": 3.0})
        await writer.flush(timeout=10)
    run = await catalog.run("run-1")
    assert run.stop is not None and run.stop["uid"] == "stop-a"


async def test_close_keeps_documents_that_exist_only_in_memory_whatever_it_raises(
    tmp_path: Path,
) -> None:
    """The journal's disk is full and the database locked; the journal error found by
    the timer is still to be raised when close() is called: close raises it but keeps
    the writer open, and the documents are stored once the database is free."""
    uri = f"sqlite:///{tmp_path}/catalog.db"
    catalog = await open_catalog(uri, store_timeout=0.3)
    writer = catalog.writer
    await writer("start", {"uid": "run-1", "time": 1.0, "scan_id": 1})
    await writer.flush(timeout=10)
    blocker = sqlite3.connect(tmp_path / "catalog.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with journal_disk_full(writer.journal):
            for i in range(5):
                event = {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1, "time": 2.0}
                await writer("event", {**event, "data": {"x": i}, "timestamps": {"x": 2.0}})
            await anyio.sleep(0.2)  # the journal timer finds the disk full
            with pytest.raises(JournalError) as raised:
                await catalog.close(timeout=0.3)
            assert "The writer stays open" in "".join(raised.value.__notes__)
            assert not writer.closed
    finally:
        blocker.close()  # the database is free again
    await catalog.close(timeout=30)
    stored = sqlite3.connect(tmp_path / "catalog.db").execute("SELECT uid FROM event ORDER BY ord")
    assert [uid for (uid,) in stored] == [f"e{i}" for i in range(5)]


def events(n: int) -> list[tuple[int, str, dict[str, Any]]]:
    """`n` journal records of small events."""
    return [
        (
            time.time_ns() + i,
            "event",
            {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1, "time": 1.0 + i}
            | {"data": {"x": i}, "timestamps": {"x": 1.0 + i}},
        )
        for i in range(n)
    ]


async def test_replaying_a_batch_the_server_already_holds_takes_two_queries(
    mongo_uri: str,
) -> None:
    """After a SIGKILL the mark lags, so the next open re-sends documents the server
    has. Checking them one query each took a remote server (10 ms a request here) longer
    than `store_timeout`, every attempt: the replay never finished."""
    records = events(300)
    async with await open_catalog(mongo_uri) as catalog:
        assert await catalog.backend.store(records) == []
        path = catalog.writer.journal.path
    journal = Journal(path)
    for record in records:
        journal.append(record)
    journal.write()
    journal.close()
    base, db = mongo_uri.rsplit("/", 1)
    with SlowProxy(int(base.rsplit(":", 1)[1]), delay=0.01) as proxy:
        remote = f"mongodb://127.0.0.1:{proxy.port}/{db}"
        async with await open_catalog(
            remote, journal=path, batch_size=300, store_timeout=1.5, replay_timeout=20
        ) as catalog:
            assert catalog.writer.backlog == 0


async def test_an_outage_while_checking_duplicates_is_an_outage(mongo_uri: str) -> None:
    """The server goes away between refusing duplicates and the query that compares
    them: the batch is retried later; the run is not failed."""
    from pymongo.errors import AutoReconnect

    from storage.backend import BackendUnavailable

    records = events(3)
    async with await open_catalog(mongo_uri) as catalog:
        backend = catalog.backend
        assert await backend.store(records) == []

        async def away(*args: Any, **kwargs: Any) -> Any:
            raise AutoReconnect("connection closed")

        backend._find = away  # type: ignore[method-assign]
        with pytest.raises(BackendUnavailable, match="checking 3 duplicate event"):
            await backend.store(records)


async def test_a_document_the_database_cannot_hold_is_refused_and_the_rest_stored(
    catalog: Catalog,
) -> None:
    """One event holds a value neither backend can encode: it goes to ``.rejected`` and
    fails the run; the rest of its run and the runs after it are stored (the batch was
    retried for ever before, holding up every later document)."""
    writer = catalog.writer

    async def run(uid: str, bad: int | None) -> None:
        await writer("start", {"uid": uid, "time": 1.0, "scan_id": 1})
        key = {"dtype": "number", "shape": [], "source": "test"}
        descriptor = {"uid": f"{uid}-d", "run_start": uid, "name": "primary", "time": 1.0}
        await writer("descriptor", {**descriptor, "data_keys": {"x": key}})
        for i in range(5):
            value: Any = object() if i == bad else float(i)
            event = {"uid": f"{uid}-e{i}", "descriptor": f"{uid}-d", "seq_num": i + 1}
            await writer(
                "event", {**event, "time": 1.0, "data": {"x": value}} | {"timestamps": {"x": 1.0}}
            )
        await writer("stop", {"uid": f"{uid}-stop", "run_start": uid, "time": 2.0})

    with pytest.raises(DocumentConflictError, match=r"run-1-e2.*cannot be stored"):
        await run("run-1", bad=2)
        await writer.flush(timeout=10)
    await run("run-2", bad=None)
    await writer.flush(timeout=10)
    first, second = await catalog.run("run-1"), await catalog.run("run-2")
    assert list((await first.table())["x"]) == [0.0, 1.0, 3.0, 4.0]
    assert first.stop is not None and second.stop is not None
    assert list((await second.table())["x"]) == [0.0, 1.0, 2.0, 3.0, 4.0]
    path = writer.journal.path
    assert pickle.loads(path.with_name(path.name + ".rejected").read_bytes())[2]["uid"] == (
        "run-1-e2"
    )


async def test_two_writers_into_one_mongo_database_never_share_an_id(
    mongo_uri: str, tmp_path: Path
) -> None:
    """Two writers (two journals) emit at the same nanosecond: both documents are stored
    (the ``_id`` carried only the clock reading, so the second was refused as a
    conflict). A later process on the first journal replays into the same ``_id``: no
    second copy, even of a resource (whose uid has no unique index)."""
    seq = time.time_ns()
    resource = {"uid": "r1", "spec": "NPY_SEQ", "root": "/", "resource_path": "a.npy"}
    resource |= {"resource_kwargs": {}, "path_semantics": "posix", "run_start": "run-a"}
    first = await open_catalog(mongo_uri, journal=tmp_path / "a.journal")
    second = await open_catalog(mongo_uri, journal=tmp_path / "b.journal")
    try:
        assert await first.backend.store([(seq, "resource", resource)]) == []
        assert await second.backend.store([(seq, "resource", resource | {"uid": "r2"})]) == []
    finally:
        await first.close()
        await second.close()
    async with await open_catalog(mongo_uri, journal=tmp_path / "a.journal") as again:
        assert await again.backend.store([(seq, "resource", resource)]) == []
    elsewhere = tmp_path / "copied"  # the journal copied to another machine, as the how-to says
    elsewhere.mkdir()
    for name in ("a.journal", "a.journal.stored", "a.journal.id"):
        shutil.copy(tmp_path / name, elsewhere / name)
    async with await open_catalog(mongo_uri, journal=elsewhere / "a.journal") as copied:
        assert await copied.backend.store([(seq, "resource", resource)]) == []
        stored = await copied.backend._find("resource", {})
    assert sorted(doc["uid"] for doc in stored) == ["r1", "r2"]


async def test_a_journal_replayed_without_its_id_stores_no_second_copy(
    mongo_uri: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal copied without its ``.id`` (or whose ``.id`` was lost) replays under a
    new ``_id`` tag: what the database has is recognised by uid, a resource too (it
    was stored a second time), and the lost id is named in the log."""
    resource = {"uid": "r-noid", "spec": "NPY_SEQ", "root": "/", "resource_path": "a.npy"}
    resource |= {"resource_kwargs": {}, "path_semantics": "posix", "run_start": "run-noid"}
    documents = [
        ("start", {"uid": "run-noid", "time": 1.0, "scan_id": 1}),
        ("resource", resource),
        ("datum", {"datum_id": "r-noid/0", "resource": "r-noid", "datum_kwargs": {}}),
        ("stop", {"uid": "run-noid-stop", "run_start": "run-noid", "time": 2.0}),
    ]
    journal = Journal(tmp_path / "a.journal")
    for name, doc in documents:
        journal.append((time.time_ns(), name, doc))
    journal.write()  # a process killed before it stored any of them
    journal.close()
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "a.journal", tmp_path / "copy" / "a.journal")  # no .id

    async with await open_catalog(mongo_uri, journal=tmp_path / "a.journal"):
        pass  # replayed and stored
    with caplog.at_level("WARNING", logger="storage.journal"):
        async with await open_catalog(mongo_uri, journal=tmp_path / "copy" / "a.journal") as c:
            stored = await (await c.run("run-noid")).documents()
    assert [name for name, _ in stored] == ["start", "resource", "datum", "stop"]
    assert "a.journal.id is missing or unreadable" in caplog.text


async def test_documents_the_database_cannot_hold_never_block_the_catalog(
    catalog_uri: str,
) -> None:
    """A run whose every event holds a set (neither backend can encode one): those
    events are refused, its stop is stored; and a journal left holding only such a
    document does not keep the catalog from opening (a batch where every document was
    refused was retried for ever, and every later open failed)."""
    catalog = await open_catalog(catalog_uri)
    writer = catalog.writer
    path = writer.journal.path
    await writer("start", {"uid": "run-1", "time": 1.0, "scan_id": 1})
    with pytest.raises(DocumentConflictError, match="cannot be stored"):
        for i in range(5):
            event = {"uid": f"e{i}", "descriptor": "d", "seq_num": i + 1, "time": 1.0}
            await writer("event", {**event, "data": {"x": {i}}, "timestamps": {"x": 1.0}})
        await writer("stop", {"uid": "run-1-stop", "run_start": "run-1", "time": 2.0})
        await writer.flush(timeout=10)
    await writer.flush(timeout=10)
    assert (await catalog.run("run-1")).stop is not None
    await catalog.close()

    journal = Journal(path)
    journal.append((time.time_ns(), "start", {"uid": "run-2", "time": 3.0, "tags": {"a"}}))
    journal.write()
    journal.close()
    async with await open_catalog(catalog_uri) as again:
        assert again.writer.backlog == 0

"""Where a stored event's microseconds go: each stage of `catalog.writer`, timed alone.

    python -m bench.storage_costs [--events 20000] [--runs 5]

`storage_overhead` measures the slowdown of a scan, which on a shared 2-core machine
moves by several percent from run to run. This times each stage the writer adds to an
event on its own (best of `runs`, per event), next to the engine's own time per point
of a bare soft ``count``, so the floor of the in-process design can be read off:

- engine: a bare ``count`` of one SimDetector, per point, no subscriber;
- null subscriber: what a subscriber that does nothing at all adds to that point in a
  scan (CPU time of the engine's thread, with minus without, median of paired runs):
  the floor of any subscriber, the writer included;
- dispatch: ``emit`` plus handing the documents to a ``handle_batch`` subscriber that
  does nothing;
- writer batch loop: `CatalogWriter.handle_batch` with the journal and the database
  left out (sequence numbers, records, the store rules);
- journal pickle and journal write: encoding a frame and writing it (crc, ``write``);
- SQLite rows and SQLite insert: the backend's work; it builds the rows in the loop's
  thread and inserts them (multi-row statements) in its worker thread;
- Mongo BSON: the ``_id`` and BSON encoding PyMongo does in ``insert_many``, on the
  engine's thread.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._storage_common import (
    DISPATCH_BATCH,
    Docs,
    NullSubscriber,
    events_and_runs,
    synthetic_run,
)


def best(runs: int, n: int, fn: Callable[[], Any]) -> float:
    """The best of `runs` timings of `fn`, in microseconds per item of `n`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) / n * 1e6


async def engine_point(runs: int, n: int) -> float:
    from acq import RunEngine
    from devices.sim import SimDetector
    from plans import count

    det = SimDetector("det")
    RE = RunEngine(waiting_hook=None)
    docs: dict[str, dict] = {}
    RE.subscribe(docs.__setitem__, "start")
    RE.subscribe(docs.__setitem__, "stop")
    times = []
    for _ in range(runs):
        await RE(count([det], n))
        times.append(docs["stop"]["time"] - docs["start"]["time"])
    return min(times) / n * 1e6


async def null_in_scan(runs: int, n: int) -> float:
    """What a subscriber that does nothing adds to a bare point, in CPU time of the
    engine's thread (steadier than the wall clock on a shared machine): the median over
    `runs` rounds of a count with it minus a count without it."""
    from acq import RunEngine
    from devices.sim import SimDetector
    from plans import count

    det = SimDetector("det")
    RE = RunEngine(waiting_hook=None)
    await RE(count([det], 100))
    added = []
    for _ in range(2 * runs + 1):
        per_point = []
        for subscribed in (False, True):
            token = RE.subscribe(NullSubscriber()) if subscribed else None
            start = time.thread_time()
            await RE(count([det], n))
            per_point.append((time.thread_time() - start) / n * 1e6)
            if token is not None:
                RE.unsubscribe(token)
        added.append(per_point[1] - per_point[0])
    return sorted(added)[len(added) // 2]


async def dispatch(runs: int, docs: Docs) -> float:
    from acq.dispatch import Dispatcher

    dispatcher = Dispatcher()
    dispatcher.subscribe(NullSubscriber())
    times = []
    async with dispatcher.serving():
        for _ in range(runs):
            start = time.perf_counter()
            for name, doc in docs:
                dispatcher.emit(name, doc)
            await dispatcher.drain()
            times.append(time.perf_counter() - start)
    return min(times) / len(docs) * 1e6


async def writer_loop(runs: int, docs: Docs) -> float:
    from storage import open_catalog

    catalog = await open_catalog(f"sqlite:///{tempfile.mkdtemp()}/c.db", timeout=10)
    writer = catalog.writer

    async def nothing_settled(stop_seq: int) -> None:
        pass

    writer._write_journal = lambda sync=False: writer._unwritten.clear()  # type: ignore[method-assign]
    writer._request_store = lambda everything: writer._backlog.clear()  # type: ignore[method-assign]
    writer._settle_run = nothing_settled  # type: ignore[method-assign]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(0, len(docs), DISPATCH_BATCH):
            await writer.handle_batch(deque(docs[i : i + DISPATCH_BATCH]))
        times.append(time.perf_counter() - start)
    writer._unwritten.clear()
    await catalog.close()
    return min(times) / len(docs) * 1e6


def main(argv: list[str] | None = None) -> None:
    from storage.journal import _HEADER, _encode
    from storage.mongo import object_id
    from storage.sqlite import SCHEMA, TABLES, WRITER_PRAGMAS, insert_rows

    args = events_and_runs(__doc__, argv)
    docs = synthetic_run(args.events)
    n = len(docs)
    records = [(time.time_ns() + i, name, doc) for i, (name, doc) in enumerate(docs)]
    frames = [records[i : i + 1000] for i in range(0, n, 1000)]
    payloads = [_encode(frame) for frame in frames]
    costs: dict[str, float] = {}
    costs["engine point"] = asyncio.run(engine_point(args.runs, args.events))
    costs["null subscriber"] = asyncio.run(null_in_scan(args.runs, args.events))
    costs["dispatch"] = asyncio.run(dispatch(args.runs, docs))
    costs["writer batch loop"] = asyncio.run(writer_loop(args.runs, docs))
    costs["journal pickle"] = best(args.runs, n, lambda: [_encode(f) for f in frames])
    fd = os.open(Path(tempfile.mkdtemp()) / "journal", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def write_frames() -> None:
        for payload in payloads:
            os.write(fd, _HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        os.ftruncate(fd, 0)

    costs["journal write"] = best(args.runs, n, write_frames)
    os.close(fd)

    def rows() -> list[list[tuple]]:
        return [[TABLES[name][3](seq, doc) for seq, name, doc in f] for f in frames]

    costs["SQLite rows"] = best(args.runs, n, rows)
    built = rows()
    conn = sqlite3.connect(Path(tempfile.mkdtemp()) / "c.db", isolation_level=None)
    conn.executescript(SCHEMA)
    for pragma in WRITER_PRAGMAS:  # as the catalog sets its connection
        conn.execute(pragma)

    def execute() -> None:
        for frame, frame_rows in zip(frames, built, strict=True):
            conn.execute("BEGIN")
            by_kind: dict[str, list[tuple]] = {}
            for (_, name, _), row in zip(frame, frame_rows, strict=True):
                by_kind.setdefault(name, []).append(row)
            for name, group in by_kind.items():
                insert_rows(conn, name, group)  # as the backend inserts them
            conn.execute("COMMIT")
        conn.execute("DELETE FROM event")

    costs["SQLite insert"] = best(args.runs, n, execute)
    conn.close()
    import bson
    from bson.codec_options import CodecOptions, TypeRegistry

    from storage.documents import plain

    options = CodecOptions(type_registry=TypeRegistry(fallback_encoder=plain))
    costs["Mongo BSON"] = best(
        args.runs,
        n,
        lambda: [
            bson.encode({"_id": object_id(seq, 1), **doc}, codec_options=options)
            for seq, _, doc in records
        ],
    )
    for label, us in costs.items():
        unit = "a point" if label in ("engine point", "null subscriber") else "an event"
        print(f"  {label:<20} {us:7.2f} us {unit}")
    point = costs["engine point"]
    engine_side = sum(
        costs[k] for k in ("dispatch", "writer batch loop", "journal pickle", "journal write")
    )
    sqlite = costs["SQLite rows"] + costs["SQLite insert"]
    print(
        f"SUMMARY storage_costs: the writer costs {engine_side:.2f} us an event on the engine's "
        f"thread (dispatch, batch loop, journal), {engine_side / point:.1%} of a bare "
        f"{point:.1f} us point; the database adds {sqlite:.2f} us (SQLite, rows and insert, "
        f"{sqlite / point:.0%}) or {costs['Mongo BSON']:.2f} us (Mongo BSON, engine's thread, "
        f"{costs['Mongo BSON'] / point:.0%}); a subscriber that does nothing adds "
        f"{costs['null subscriber']:.2f} us ({costs['null subscriber'] / point:.1%}) of engine "
        f"CPU to a point in a scan; best of {args.runs}"
    )


if __name__ == "__main__":
    main()

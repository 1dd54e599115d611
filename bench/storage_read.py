"""Reading a 100,000-event run into numpy columns: acq's catalog vs databroker + tiled.

    python -m bench.storage_read [--events 100000] [--runs 3]

One synthetic run (4 float readings per event) is stored through `catalog.writer` into
nx-27017 and into SQLite. acq: ``await (await catalog.run(uid)).table("primary")`` from
each. databroker 2 + tiled 0.2: the same Mongo collections copied into
``MongoAdapter.from_mongomock()`` (nx-27017 lacks the aggregation stages databroker's
reader uses), served in-process by ``build_app`` and read with ``tiled.client``
(``run["primary"].read()``). databroker's read is slow (minutes for 100,000 events), so
it reads a `databroker-events` run (default 10,000; acq reads that one too) and the
figures compare time per event. Target: acq >= 5x faster. Medians of `runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._storage_common import Docs, fresh_db, median, nx_server, state_dir, synthetic_run


async def store(uri: str, docs: Docs) -> None:
    from storage import open_catalog

    async with await open_catalog(uri, timeout=10, batch_size=5000) as catalog:
        for name, doc in docs:
            await catalog.writer(name, doc)
        await catalog.writer.flush(timeout=300)


async def read_acq(uri: str, uid: str, runs: int) -> tuple[float, int]:
    from storage import open_catalog

    times, rows = [], 0
    async with await open_catalog(uri, read_only=True, timeout=10) as catalog:
        for _ in range(runs):
            start = time.perf_counter()
            table = await (await catalog.run(uid)).table("primary")
            times.append(time.perf_counter() - start)
            rows = len(table["time"])
    return median(times), rows


def read_databroker(uri: str, uid: str, runs: int) -> tuple[float, int]:
    import pymongo
    from databroker.mongo_normalized import MongoAdapter
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    adapter = MongoAdapter.from_mongomock()
    mock_db = adapter._run_start_collection.database
    with pymongo.MongoClient(uri) as client:
        db = client.get_default_database()
        for name in db.list_collection_names():
            documents = list(db[name].find({}))
            if documents:
                mock_db[name].insert_many(documents)
    times, rows = [], 0
    with Context.from_app(build_app(adapter)) as context:
        tiled: Any = from_context(context)
        for _ in range(runs):
            start = time.perf_counter()
            dataset = tiled[uid]["primary"].read()
            times.append(time.perf_counter() - start)
            rows = int(dataset.sizes["time"])
    return median(times), rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--databroker-events",
        type=int,
        default=10_000,
        help="size of the run databroker + tiled read (100,000 takes it several minutes)",
    )
    parser.add_argument("--databroker-runs", type=int, default=1)
    args = parser.parse_args(argv)
    state_dir()
    big, small = synthetic_run(args.events), synthetic_run(args.databroker_events)
    sqlite_uri = f"sqlite:///{tempfile.mkdtemp(prefix='acq-bench-')}/read.db"
    figures: dict[str, tuple[float, int]] = {}
    with nx_server() as server:
        big_mongo, small_mongo = fresh_db(server), fresh_db(server)
        start = time.perf_counter()
        asyncio.run(store(big_mongo, big))
        asyncio.run(store(sqlite_uri, big))
        asyncio.run(store(small_mongo, small))
        print(f"  stored the runs in {time.perf_counter() - start:.1f} s")
        big_uid, small_uid = big[0][1]["uid"], small[0][1]["uid"]
        figures["acq, SQLite"] = asyncio.run(read_acq(sqlite_uri, big_uid, args.runs))
        figures["acq, nx-27017"] = asyncio.run(read_acq(big_mongo, big_uid, args.runs))
        figures["acq, nx-27017, small"] = asyncio.run(read_acq(small_mongo, small_uid, args.runs))
        try:
            figures["databroker + tiled"] = read_databroker(
                small_mongo, small_uid, args.databroker_runs
            )
        except ImportError as exc:
            print(f"  databroker + tiled: not available ({exc})")
    for label, (seconds, rows) in figures.items():
        runs = args.databroker_runs if label.startswith("databroker") else args.runs
        print(
            f"  {label:<22} {seconds:8.3f} s for {rows:>7,} events = "
            f"{seconds / rows * 1e6:7.2f} us/event (median of {runs})"
        )
    if "databroker + tiled" not in figures:
        print("SUMMARY storage_read: databroker + tiled not installed; no comparison")
        return

    def per_event(label: str) -> float:
        seconds, rows = figures[label]
        return seconds / rows

    reference = per_event("databroker + tiled")
    same = reference / per_event("acq, nx-27017, small")
    mongo = reference / per_event("acq, nx-27017")
    sqlite = reference / per_event("acq, SQLite")
    print(
        f"SUMMARY storage_read: per event, acq reads {args.events:,} events from nx-27017 "
        f"{mongo:.1f}x and from SQLite {sqlite:.1f}x faster than databroker + tiled reads "
        f"{args.databroker_events:,} ({same:.1f}x at the same size) (target >= 5x: "
        f"{'met' if min(mongo, sqlite, same) >= 5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()

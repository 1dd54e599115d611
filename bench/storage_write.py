"""Documents/s through `catalog.writer` vs the raw client call, for both backends.

    python -m bench.storage_write [--events 20000] [--runs 5]

The documents reach the writer as the engine's dispatcher hands them over (a
``handle_batch`` call per 512 queued documents, the loop turning between calls, so the
writer's store task runs beside it). Mongo (nx-27017 on loopback): the
writer (journal + batches of 1000 + sanitising) vs ``insert_many`` of the same documents
in the same batches on the same async client (target >= 0.9x). SQLite: the writer vs
``executemany`` of the same rows (JSON-encoded the same way) in one transaction per 1000
(target >= 0.8x). Medians of `runs`. Where suitcase-mongo is installed, bluesky's own
Mongo writer (its mongo_normalized Serializer, a document per ``insert_one``) writes a
tenth of the same run into nx-27017 too, as the anchor.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._result import Result, emit
from bench._storage_common import (
    DISPATCH_BATCH,
    Docs,
    events_and_runs,
    fresh_db,
    median,
    nx_server,
    synthetic_run,
)

BATCH = 1000


async def via_writer(uri: str, docs: Docs) -> float:
    from storage import open_catalog

    catalog = await open_catalog(uri, timeout=10, batch_size=BATCH)
    writer = catalog.writer
    start = time.perf_counter()
    for i in range(0, len(docs), DISPATCH_BATCH):  # as the engine's dispatcher hands them
        await writer.handle_batch(deque(docs[i : i + DISPATCH_BATCH]))
        await asyncio.sleep(0)  # and lets the loop turn between batches
    await writer.flush(timeout=120)
    elapsed = time.perf_counter() - start
    await catalog.close()
    return len(docs) / elapsed


async def raw_mongo(uri: str, docs: Docs) -> float:
    from pymongo import AsyncMongoClient

    from storage.mongo import COLLECTIONS

    client: AsyncMongoClient = AsyncMongoClient(uri, serverSelectionTimeoutMS=10_000)
    db = client.get_default_database()
    await db.event.create_index("uid", unique=True)
    copies = [(name, dict(doc)) for name, doc in docs]
    start = time.perf_counter()
    for i in range(0, len(copies), BATCH):
        groups: dict[str, list[dict]] = {}
        for name, doc in copies[i : i + BATCH]:
            groups.setdefault(COLLECTIONS[name], []).append(doc)
        for collection, batch in groups.items():
            await db[collection].insert_many(batch, ordered=False)
    elapsed = time.perf_counter() - start
    await client.close()
    return len(docs) / elapsed


def bluesky_mongo(uri: str, docs: Docs) -> float | None:
    """bluesky's own way: suitcase-mongo's mongo_normalized Serializer (what databroker's
    users subscribe), synchronous pymongo, one ``insert_one`` per document."""
    try:
        from suitcase.mongo_normalized import Serializer
    except ImportError:
        return None
    serializer = Serializer(uri, uri)
    start = time.perf_counter()
    for name, doc in docs:
        serializer(name, doc)
    elapsed = time.perf_counter() - start
    return len(docs) / elapsed


def raw_sqlite(path: Path, docs: Docs) -> float:
    from storage.sqlite import SCHEMA, TABLES, WRITER_PRAGMAS, insert_sql

    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(SCHEMA)
    for pragma in WRITER_PRAGMAS:  # as the catalog sets its connection
        conn.execute(pragma)
    start = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        groups: dict[str, list[tuple]] = {}
        for seq, (name, doc) in enumerate(docs[i : i + BATCH], start=i):
            groups.setdefault(name, []).append(TABLES[name][3](seq, doc))
        conn.execute("BEGIN")
        for name, rows in groups.items():
            conn.executemany(insert_sql(name), rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(docs) / elapsed


async def measure(n_events: int, runs: int) -> dict[str, float]:
    docs = synthetic_run(n_events)
    results: dict[str, list[float]] = {
        k: [] for k in ("mongo raw", "mongo writer", "sqlite raw", "sqlite writer")
    }
    # bluesky writes a document per round trip: a tenth of the run keeps this bench short
    # (its rate does not depend on the run's length)
    bluesky_docs = docs[: len(docs) // 10] + docs[-1:]
    bluesky: list[float] = []
    with nx_server() as server:
        for _ in range(runs):
            results["mongo raw"].append(await raw_mongo(fresh_db(server), docs))
            results["mongo writer"].append(await via_writer(fresh_db(server), docs))
            rate = await asyncio.to_thread(bluesky_mongo, fresh_db(server), bluesky_docs)
            if rate is not None:
                bluesky.append(rate)
    for _ in range(runs):
        tmp = Path(tempfile.mkdtemp(prefix="acq-bench-sqlite-"))
        results["sqlite raw"].append(raw_sqlite(tmp / "raw.db", docs))
        results["sqlite writer"].append(await via_writer(f"sqlite:///{tmp}/w.db", docs))
    figures = {k: median(v) for k, v in results.items()}
    if bluesky:
        figures["mongo bluesky"] = median(bluesky)
    return figures


def main(argv: list[str] | None = None) -> None:
    args = events_and_runs(__doc__, argv)
    figures = asyncio.run(measure(args.events, args.runs))
    for label, rate in figures.items():
        print(f"  {label:<14} {rate:10,.0f} documents/s (median of {args.runs})")
    mongo = figures["mongo writer"] / figures["mongo raw"]
    sqlite = figures["sqlite writer"] / figures["sqlite raw"]
    bluesky = figures.get("mongo bluesky")
    versus = (
        f"; {figures['mongo writer'] / bluesky:.1f}x bluesky's suitcase-mongo Serializer"
        if bluesky
        else ""
    )
    print(
        f"SUMMARY storage_write: writer/raw into nx-27017 {mongo:.2f}x (target >= 0.9: "
        f"{'met' if mongo >= 0.9 else 'NOT met'}), into SQLite {sqlite:.2f}x (target >= 0.8: "
        f"{'met' if sqlite >= 0.8 else 'NOT met'}){versus}"
    )
    for backend, floor_name, target in (
        ("mongo", "raw insert_many", 0.9),
        ("sqlite", "raw executemany", 0.8),
    ):
        writer, raw = figures[f"{backend} writer"], figures[f"{backend} raw"]
        emit(
            Result(
                "storage_write",
                "documents/s into "
                + ("the Mongo-wire server (nx-27017)" if backend == "mongo" else "SQLite"),
                "docs/s",
                writer,
                floor=raw,
                floor_name=floor_name,
                bluesky=bluesky if backend == "mongo" else None,
                target=f">= {target}x",
                met=writer / raw >= target,
                higher_is_better=True,
                note="catalog.writer: journal + batches",
            )
        )


if __name__ == "__main__":
    main()

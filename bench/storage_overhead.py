"""Per-point cost of storing: a soft ``count`` with and without `catalog.writer`.

    python -m bench.storage_overhead [--n 2000] [--runs 5] [--delay-n 500]

The scan's own time per point (stop time - start time, from the documents) with no
writer, then with the writer into SQLite, into nx-27017, and into nx-27017 through a
proxy that adds 200 ms to every request. Twice: a bare soft ``count`` (about 15 us a
point: the writer's microseconds per document show in full) and a ``count`` with
``delay=0.001`` (a point of a fast real detector). The ``RE()`` column also counts the
wait at the end of the run for the last batch to be stored. Target: the scan <= 5%
slower.
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

from bench._storage_common import fresh_db, median, nx_server, state_dir

TARGET = 0.05


async def per_point(RE: Any, det: Any, n: int, runs: int, delay: float) -> tuple[float, float]:
    from plans import count

    scan_times, call_times = [], []
    docs: dict[str, dict] = {}
    for _ in range(runs):
        docs.clear()
        token = RE.subscribe(docs.__setitem__, "stop")
        token2 = RE.subscribe(docs.__setitem__, "start")
        start = time.perf_counter()
        await RE(count([det], n, delay=delay))
        call_times.append((time.perf_counter() - start) / n)
        scan_times.append((docs["stop"]["time"] - docs["start"]["time"]) / n)
        RE.unsubscribe(token)
        RE.unsubscribe(token2)
    return median(scan_times) * 1e3, median(call_times) * 1e3


async def measure(n: int, runs: int, delay: float) -> dict[str, tuple[float, float]]:
    from acq import RunEngine
    from devices.sim import SimDetector
    from plans import count
    from storage import open_catalog
    from storage.testing import SlowProxy

    det = SimDetector("det")
    RE = RunEngine(waiting_hook=None)
    await RE(count([det], 100))
    results = {"no writer": await per_point(RE, det, n, runs, delay)}

    async def with_writer(label: str, uri: str) -> None:
        catalog = await open_catalog(uri, timeout=10)
        token = RE.subscribe(catalog.writer)
        results[label] = await per_point(RE, det, n, runs, delay)
        RE.unsubscribe(token)
        await catalog.writer.flush(timeout=120)
        await catalog.close()

    await with_writer("writer -> SQLite", f"sqlite:///{tempfile.mkdtemp()}/c.db")
    with nx_server() as server:
        await with_writer("writer -> nx-27017", fresh_db(server))
        with SlowProxy(server.port, delay=0.2) as proxy:
            await with_writer(
                "writer -> 200 ms proxy", f"mongodb://127.0.0.1:{proxy.port}/bench_slow"
            )
    return results


def report(title: str, results: dict[str, tuple[float, float]]) -> tuple[float, float]:
    base = results["no writer"][0]
    print(f"  {title:<24} {'scan ms/point':>14} {'RE() ms/point':>14}  slowdown (scan)")
    worst = -1.0
    for label, (scan, call) in results.items():
        slowdown = scan / base - 1
        if label != "no writer":
            worst = max(worst, slowdown)
        print(f"  {label:<24} {scan:14.4f} {call:14.4f}  {slowdown:+.1%}")
    return base, worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="points per bare count")
    parser.add_argument("--delay-n", type=int, default=500, help="points per 1 ms count")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    state_dir()
    bare, bare_worst = report("bare soft count", asyncio.run(measure(args.n, args.runs, 0.0)))
    _, delayed_worst = report(
        "count, delay=1 ms", asyncio.run(measure(args.delay_n, args.runs, 0.001))
    )

    def verdict(worst: float) -> str:
        return "met" if worst <= TARGET else "NOT met"

    print(
        f"SUMMARY storage_overhead: with the writer, worst slowdown per point {delayed_worst:+.1%} "
        f"for a 1 ms point (target <= +5%: {verdict(delayed_worst)}), {bare_worst:+.1%} for a "
        f"bare {bare:.3f} ms soft point ({verdict(bare_worst)}); median of {args.runs}"
    )


if __name__ == "__main__":
    main()

"""Garbage-collection pauses during a scan in a notebook-sized session.

    python -m bench.engine_gc [--n 10000] [--runs 6] [--heap 300000] [--between 30000]

A subscriber keeps a fast scan's documents alive for milliseconds (the dispatcher's
batches; the catalog writer until the database has them), so the scan makes the
collector run. A full collection walks every object of the session, and one falls due
whenever the objects promoted to the oldest generation since the last exceed a quarter
of it, which is what a user's work between two scans does (loading data, plotting).
This builds a session of `--heap` small containers (about 640,000 tracked objects, a
modest notebook); before each scan it replaces `--between` of them (the user's work);
then it runs a bare soft ``count`` of `--n` points with the SQLite catalog writer
subscribed. `--runs` scans each way, alternating: as the engine runs (the session's
heap frozen for each call, acq/heap.py) and with the freeze turned off. It reports the
collector's pauses during the scans (``gc.callbacks``): how many, the longest, and
their total per point. Target: no pause longer than 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._result import Result, emit
from bench._storage_common import median, state_dir

LONGEST_TARGET = 0.010  # s


class Pauses:
    """The collector's pauses while `recording`."""

    def __init__(self) -> None:
        self.recording = False
        self.pauses: list[float] = []
        self.generations: list[int] = []
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if not self.recording:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._began)
            self.generations.append(info["generation"])


@contextlib.contextmanager
def not_frozen() -> Iterator[None]:
    yield


def session_work(session: list[Any], size: int) -> None:
    """What a user does between two scans: loads data, makes a plot (new objects that
    outlive a few collections), drops old ones."""
    session.append([{"i": [i]} for i in range(size)])
    del session[0]


async def measure(
    n: int, runs: int, session: list[Any], between: int
) -> dict[str, list[tuple[float, list[float]]]]:
    """Per way: (scan us/point, pauses in s) of each run."""
    import acq.engine
    from acq import RunEngine
    from devices.sim import SimDetector
    from plans import count
    from storage import open_catalog

    det = SimDetector("det")
    RE = RunEngine(waiting_hook=None)
    docs: dict[str, dict] = {}
    RE.subscribe(docs.__setitem__, "start")
    RE.subscribe(docs.__setitem__, "stop")
    catalog = await open_catalog(f"sqlite:///{tempfile.mkdtemp()}/c.db", timeout=10)
    RE.subscribe(catalog.writer, critical=True)
    await RE(count([det], 100))
    pauses = Pauses()
    frozen = acq.engine.heap_frozen
    results: dict[str, list[tuple[float, list[float]]]] = {"frozen": [], "not frozen": []}
    try:
        for _ in range(runs):
            for way in results:
                acq.engine.heap_frozen = frozen if way == "frozen" else not_frozen  # type: ignore[attr-defined]
                session_work(session, between)
                pauses.pauses = []
                pauses.generations = []
                pauses.recording = True
                await RE(count([det], n))
                pauses.recording = False
                per_point = (docs["stop"]["time"] - docs["start"]["time"]) / n * 1e6
                results[way].append((per_point, pauses.pauses))
                await catalog.writer.flush(timeout=120)
    finally:
        acq.engine.heap_frozen = frozen  # type: ignore[attr-defined]
        await catalog.close()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="points per count")
    parser.add_argument("--runs", type=int, default=6, help="runs each way")
    parser.add_argument("--heap", type=int, default=300_000, help="session containers")
    parser.add_argument(
        "--between", type=int, default=30_000, help="containers made between two scans"
    )
    args = parser.parse_args(argv)
    state_dir()
    chunk = max(args.between, 1)
    session = [[{"i": [i]} for i in range(chunk)] for _ in range(args.heap // chunk)]
    tracked = len(gc.get_objects())
    results = asyncio.run(measure(args.n, args.runs, session, args.between))
    print(f"  session heap: {tracked:,} tracked objects; {args.runs} runs of {args.n:,} points")
    print(f"  {'heap':<12} {'us/point':>9} {'pauses':>7} {'longest ms':>11} {'us/point in gc':>15}")
    longest: dict[str, float] = {}
    in_gc: dict[str, float] = {}
    for way, runs in results.items():
        per_point = median([p for p, _ in runs])
        every = [pause for _, ps in runs for pause in ps]
        longest[way] = max(every, default=0.0)
        in_gc[way] = sum(every) / (len(runs) * args.n) * 1e6
        print(
            f"  {way:<12} {per_point:9.2f} {len(every) / len(runs):7.1f} "
            f"{longest[way] * 1e3:11.1f} {in_gc[way]:15.2f}"
        )
    met = longest["frozen"] <= LONGEST_TARGET
    print(
        f"SUMMARY engine_gc: longest collector pause during a {args.n:,}-point scan with the "
        f"catalog writer, session of {tracked:,} objects: {longest['frozen'] * 1e3:.1f} ms with "
        f"the heap frozen (target <= {LONGEST_TARGET * 1e3:.0f} ms: "
        f"{'met' if met else 'NOT met'}), {longest['not frozen'] * 1e3:.1f} ms without; in the "
        f"collector {in_gc['frozen']:.2f} against {in_gc['not frozen']:.2f} us a point"
    )
    emit(
        Result(
            "engine_gc",
            f"longest garbage-collector pause in a {args.n:,}-point soft count with the SQLite "
            f"writer, session of {tracked:,} tracked objects ({args.runs} runs)",
            "ms",
            longest["frozen"] * 1e3,
            floor=longest["not frozen"] * 1e3,
            floor_name="heap not frozen",
            target=f"<= {LONGEST_TARGET * 1e3:.0f} ms",
            met=met,
        )
    )
    del session


if __name__ == "__main__":
    main()

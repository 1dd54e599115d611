"""Per-point cost of storing: a soft ``count`` with and without `catalog.writer`.

    python -m bench.storage_overhead [--n 10000] [--runs 5] [--delay-n 400]

The scan's own time per point (stop time - start time, from the documents) with no
writer, with the writer into SQLite, into nx-27017, and into nx-27017 through a proxy
that adds 200 ms to every request (in a process of its own, as a remote database would
be), and with a subscriber that does nothing at all (`NullSubscriber`: the floor of any
subscriber of this engine, which hands documents over in batches, so they live a few
milliseconds longer than with no subscriber). Each round runs every configuration once,
in an order rotated from round to round, and the no-writer run twice (first and last);
the slowdown is the median over rounds of each against the mean of its round's
no-writer runs, so drift of a shared machine cancels. Twice: a bare soft ``count``
(about 15 us a point: the writer's microseconds per document show in full) and a
``count`` with ``delay=0.001`` (a point of a fast real detector). The ``RE()`` column
also counts the wait at the end of the run for the last batch to be stored. Target: the
scan <= 5% slower. Where bluesky, ophyd-async and suitcase-mongo are installed, the
anchor: bluesky's own ``count`` of a soft signal with and without suitcase-mongo's
Serializer (into nx-27017) subscribed.
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

from bench._result import Result, emit
from bench._storage_common import NullSubscriber, fresh_db, median, nx_server, state_dir

TARGET = 0.05
NULL = "null subscriber"


async def one_run(RE: Any, det: Any, n: int, delay: float) -> tuple[float, float]:
    """The scan's time per point (stop - start time) and the RE() call's, in ms."""
    from plans import count

    docs: dict[str, dict] = {}
    tokens = [RE.subscribe(docs.__setitem__, name) for name in ("start", "stop")]
    start = time.perf_counter()
    await RE(count([det], n, delay=delay))
    call = (time.perf_counter() - start) / n
    for token in tokens:
        RE.unsubscribe(token)
    return (docs["stop"]["time"] - docs["start"]["time"]) / n * 1e3, call * 1e3


async def measure(n: int, runs: int, delay: float) -> dict[str, tuple[float, float, float]]:
    """Per configuration: median scan ms/point, median RE() ms/point, and the median over
    rounds of its slowdown against the run without a writer in the same round (each
    round runs every configuration once, so drift of a shared machine cancels)."""
    from acq import RunEngine
    from devices.sim import SimDetector
    from plans import count
    from storage import open_catalog
    from storage.testing import SlowProxyProcess

    det = SimDetector("det")
    RE = RunEngine(waiting_hook=None)
    await RE(count([det], 100))
    with nx_server() as server, SlowProxyProcess(server.port, delay=0.2) as proxy:
        catalogs: dict[str, Any] = {
            NULL: None,
            "writer -> SQLite": await open_catalog(
                f"sqlite:///{tempfile.mkdtemp()}/c.db", timeout=10
            ),
            "writer -> nx-27017": await open_catalog(fresh_db(server), timeout=10),
            "writer -> 200 ms proxy": await open_catalog(
                f"mongodb://127.0.0.1:{proxy.port}/bench_slow", timeout=10
            ),
        }
        times: dict[str, list[tuple[float, float]]] = {"no writer": []}
        ratios: dict[str, list[float]] = {label: [] for label in catalogs}
        try:
            labels = list(catalogs)
            for round_ in range(runs):
                first = await one_run(RE, det, n, delay)
                results = {}
                turn = round_ % len(labels)
                for label in labels[turn:] + labels[:turn]:
                    catalog = catalogs[label]
                    token = RE.subscribe(NullSubscriber() if catalog is None else catalog.writer)
                    results[label] = await one_run(RE, det, n, delay)
                    RE.unsubscribe(token)
                    if catalog is not None:
                        await catalog.writer.flush(timeout=120)  # not timed: between runs
                last = await one_run(RE, det, n, delay)
                bare = ((first[0] + last[0]) / 2, (first[1] + last[1]) / 2)
                times["no writer"].append(bare)
                for label, result in results.items():
                    times.setdefault(label, []).append(result)
                    ratios[label].append(result[0] / bare[0] - 1)
        finally:
            for catalog in catalogs.values():
                if catalog is not None:
                    await catalog.close()
    return {
        label: (
            median([t[0] for t in runs_]),
            median([t[1] for t in runs_]),
            median(ratios[label]) if label in ratios else 0.0,
        )
        for label, runs_ in times.items()
    }


def measure_bluesky(n: int, runs: int) -> tuple[float, float, float] | None:
    """bluesky's own: its ``count`` of an ophyd-async soft signal without and with
    suitcase-mongo's Serializer into nx-27017 subscribed. Returns the median ms/point
    without and with it and the median of per-round slowdowns (None when not installed)."""
    from bench.engine_common import bluesky_available, bluesky_soft_devices

    if not bluesky_available():
        return None
    try:
        from suitcase.mongo_normalized import Serializer
    except ImportError:
        return None
    from bluesky.plans import count

    RE, det, _ = bluesky_soft_devices()

    def per_point() -> float:
        start = time.perf_counter()
        RE(count([det], n))
        return (time.perf_counter() - start) / n * 1e3

    per_point()
    bare: list[float] = []
    stored: list[float] = []
    slowdowns: list[float] = []
    with nx_server() as server:
        uri = fresh_db(server)
        serializer = Serializer(uri, uri)
        for _ in range(runs):
            first = per_point()
            token = RE.subscribe(serializer)
            stored.append(per_point())
            RE.unsubscribe(token)
            bare.append((first + per_point()) / 2)
            slowdowns.append(stored[-1] / bare[-1] - 1)
    return median(bare), median(stored), median(slowdowns)


def report(title: str, results: dict[str, tuple[float, float, float]]) -> tuple[float, float, str]:
    """Print the table; return the no-writer ms/point, the worst slowdown and whose."""
    base = results["no writer"][0]
    print(f"  {title:<24} {'scan ms/point':>14} {'RE() ms/point':>14}  slowdown (scan)")
    worst, worst_label = -1.0, ""
    for label, (scan, call, slowdown) in results.items():
        if label not in ("no writer", NULL) and slowdown > worst:
            worst, worst_label = slowdown, label.removeprefix("writer -> ")
        print(f"  {label:<24} {scan:14.4f} {call:14.4f}  {slowdown:+.1%}")
    return base, worst, worst_label


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="points per bare count")
    parser.add_argument("--delay-n", type=int, default=400, help="points per 1 ms count")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bluesky-n", type=int, default=200, help="points per bluesky count")
    args = parser.parse_args(argv)
    state_dir()
    bare_results = asyncio.run(measure(args.n, args.runs, 0.0))
    null_bare = bare_results[NULL][2]
    figures = {
        "bare": report("bare soft count", bare_results),
        "1 ms": report("count, delay=1 ms", asyncio.run(measure(args.delay_n, args.runs, 0.001))),
    }

    def verdict(worst: float) -> str:
        return "met" if worst <= TARGET else "NOT met"

    bluesky = measure_bluesky(args.bluesky_n, max(3, args.runs // 2))
    versus = ""
    if bluesky is not None:
        print(
            f"  bluesky count, no writer {bluesky[0]:14.4f}\n"
            f"  bluesky + suitcase-mongo {bluesky[1]:14.4f}  {bluesky[2]:+.1%}"
        )
        versus = f"; bluesky's count with suitcase-mongo into nx-27017 {bluesky[2]:+.0%}"
    bare, bare_worst, _ = figures["bare"]
    _, delayed_worst, _ = figures["1 ms"]
    print(
        f"SUMMARY storage_overhead: with the writer, worst slowdown per point {delayed_worst:+.1%} "
        f"for a 1 ms point (target <= +5%: {verdict(delayed_worst)}), {bare_worst:+.1%} for a "
        f"bare {bare:.3f} ms soft point ({verdict(bare_worst)}; a subscriber that does nothing: "
        f"{null_bare:+.1%}); median of {args.runs}{versus}"
    )
    for kind, (base, worst, label) in figures.items():
        anchor = ""
        if kind == "bare" and bluesky is not None:
            anchor = f"; bluesky with suitcase-mongo {bluesky[2]:+.0%}"
        if kind == "bare":
            anchor += f"; a subscriber that does nothing {null_bare:+.1%}"
        emit(
            Result(
                "storage_overhead",
                f"soft count with catalog.writer, per point, {kind} points (worst backend: "
                f"{label}; median of per-round slowdowns {worst:+.1%}{anchor})",
                "ms",
                base * (1 + worst),
                floor=base,
                floor_name="no writer",
                bluesky=bluesky[1] if kind == "bare" and bluesky is not None else None,
                target="<= +5 %",
                met=worst <= TARGET,
            )
        )


if __name__ == "__main__":
    main()

"""A 1,000,000-event ``count`` of a soft detector: flat time per point, flat memory.

    python -m bench.engine_million [--n 1000000] [--every 100000] [--tracemalloc-n 100000]

One run, no subscriber. The plan itself notes the time and the process RSS every
`--every` points (no measuring subscriber in the way). Then a shorter run under
`tracemalloc` shows how much Python memory is still allocated at each mark: what a long
run holds on to (should stay flat, at a few hundred kB).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from acq import Msg
from bench._result import Result, emit
from bench.engine_common import rss_mb, trigger_and_read


async def marked_count(det, n: int, every: int, marks: list[tuple[float, float, float]]):
    yield Msg("open_run", plan_name="count", detectors=[det.name], num_points=n)
    for i in range(n):
        if i % every == 0:
            traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
            marks.append((time.perf_counter(), rss_mb(), traced / 1e6))
        yield Msg("checkpoint")
        yield trigger_and_read([det])
    marks.append(
        (
            time.perf_counter(),
            rss_mb(),
            tracemalloc.get_traced_memory()[0] / 1e6 if tracemalloc.is_tracing() else 0,
        )
    )
    yield Msg("close_run")


async def run(n: int, every: int) -> list[tuple[float, float, float]]:
    from acq import RunEngine
    from devices.sim import SimDetector

    RE = RunEngine(waiting_hook=None)
    det = SimDetector("det")
    marks: list[tuple[float, float, float]] = []
    result = await RE(marked_count(det, n, every, marks))
    assert result.exit_status == "success"
    return marks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--tracemalloc-n", type=int, default=100_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))

    marks = asyncio.run(run(args.n, args.every))
    per_point = []
    print(f"  {'events':>9} {'us/point':>9} {'RSS MB':>8}")
    for (t0, _, _), (t1, _, _) in itertools.pairwise(marks):
        per_point.append((t1 - t0) / args.every * 1e6)
    for i, us in enumerate(per_point):
        print(f"  {(i + 1) * args.every:>9} {us:9.2f} {marks[i + 1][1]:8.1f}")
    total = marks[-1][0] - marks[0][0]

    tracemalloc.start()
    traced = asyncio.run(run(args.tracemalloc_n, args.tracemalloc_n // 4))
    tracemalloc.stop()
    held = [m[2] for m in traced]
    print(
        f"  tracemalloc over {args.tracemalloc_n} events: "
        + " ".join(f"{h:.2f}" for h in held)
        + " MB allocated at each quarter"
    )

    # A trend, not noise from other processes: the later blocks against the earlier ones.
    half = len(per_point) // 2
    trend = statistics.median(per_point[half:]) / statistics.median(
        per_point[1:half] or per_point[:1]
    )
    rss_growth = marks[-1][1] - marks[1][1]
    flat_time = trend < 1.2
    flat_memory = rss_growth < 5.0 and max(held[1:]) - min(held[1:]) < 1.0
    print(
        f"SUMMARY engine_million: {args.n} events in {total:.1f} s, "
        f"{statistics.median(per_point):.1f} us/point median per {args.every} "
        f"(min {min(per_point):.1f}, max {max(per_point):.1f}; second half / first "
        f"{trend:.2f}: {'flat' if flat_time else 'NOT flat'}); RSS {marks[1][1]:.1f} -> "
        f"{marks[-1][1]:.1f} MB, traced {held[1]:.2f} -> {held[-1]:.2f} MB "
        f"({'flat' if flat_memory else 'NOT flat'})"
    )
    emit(
        Result(
            "engine_million",
            f"{args.n:,}-event count: memory growth after the first {args.every:,}",
            "MB",
            rss_growth,
            target="flat (< 5 MB)",
            met=flat_memory,
            note=f"RSS {marks[1][1]:.1f} -> {marks[-1][1]:.1f} MB, {total:.1f} s in all",
        )
    )


if __name__ == "__main__":
    main()

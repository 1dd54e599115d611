"""A 1,000,000-event ``count`` with one deliberately slow subscriber: memory stays bounded.

    python -m bench.engine_slow_subscriber [--n 1000000] [--every 100000] [--max-backlog 50000]

The slow subscriber is async and sleeps 1 ms on every event, about 40x slower than the
engine makes them. Without a bound its queue would hold most of the million events
(~1 GB). With the dispatcher's `max_backlog` it is warned about at 1,000 and 10,000
documents behind, then misses events beyond its limit (each drop counted and reported on
the result), while the scan runs at full speed. The plan notes the process RSS every
`--every` points; the summary gives the RSS growth after the queue filled, the per-point
time against the same run without the slow subscriber, and what the subscriber saw.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import itertools

from acq import Msg
from bench.engine_common import rss_mb, trigger_and_read


async def marked_count(det, n: int, every: int, marks: list[tuple[float, float]]):
    yield Msg("open_run", plan_name="count", detectors=[det.name], num_points=n)
    for i in range(n):
        if i % every == 0:
            marks.append((time.perf_counter(), rss_mb()))
        yield Msg("checkpoint")
        yield trigger_and_read([det])
    marks.append((time.perf_counter(), rss_mb()))
    yield Msg("close_run")


class Slow:
    """Sleeps `delay` on every event until told the run is over."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.events = 0
        self.hurry = False

    async def __call__(self, name: str, doc: dict) -> None:
        if name == "event":
            self.events += 1
            if not self.hurry:
                await asyncio.sleep(self.delay)


async def run(n: int, every: int, max_backlog: int | None) -> tuple[list, object, Slow | None]:
    from acq import RunEngine
    from devices.sim import SimDetector

    RE = RunEngine(waiting_hook=None)
    slow = None
    if max_backlog is not None:
        slow = Slow(0.001)
        RE.subscribe(slow, max_backlog=max_backlog)
    det = SimDetector("det")
    marks: list[tuple[float, float]] = []

    async def plan():
        yield marked_count(det, n, every, marks)
        if slow is not None:
            slow.hurry = True  # the end-of-call drain need not take 50 s of sleeping

    result = await RE(plan())
    return marks, result, slow


def per_point(marks: list[tuple[float, float]], every: int) -> list[float]:
    return [(b[0] - a[0]) / every * 1e6 for a, b in itertools.pairwise(marks)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    parser.add_argument("--max-backlog", type=int, default=50_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))
    logging.basicConfig(level=logging.WARNING, format="  log: %(message)s")
    logging.getLogger("acq.subscribers").setLevel(logging.CRITICAL)  # 20 lines of drops

    base_marks, _, _ = asyncio.run(run(args.n // 5, args.every // 5, None))
    marks, result, slow = asyncio.run(run(args.n, args.every, args.max_backlog))
    assert slow is not None
    print(f"  {'events':>9} {'us/point':>9} {'RSS MB':>8}")
    for i, us in enumerate(per_point(marks, args.every)):
        print(f"  {(i + 1) * args.every:>9} {us:9.2f} {marks[i + 1][1]:8.1f}")
    slow_us = statistics.median(per_point(marks, args.every))
    base_us = statistics.median(per_point(base_marks, args.every // 5))
    filled = marks[1][1]  # the queue is full long before the first mark
    growth = marks[-1][1] - filled
    drops = [f for f in result.subscriber_errors if "dropped" in str(f)]  # type: ignore[attr-defined]
    dropped = args.n - slow.events
    print(f"  subscriber saw {slow.events} events, missed {dropped}; {len(drops)} drop reports")
    print(
        f"SUMMARY engine_slow_subscriber: {args.n} events with a 1 ms/event subscriber "
        f"(max_backlog {args.max_backlog}): RSS {marks[0][1]:.1f} -> {filled:.1f} MB after "
        f"100k, {marks[-1][1]:.1f} MB at the end (growth after the queue filled "
        f"{growth:+.1f} MB: {'bounded' if growth < 10 else 'NOT bounded'}); "
        f"{slow_us:.1f} us/point vs {base_us:.1f} without it "
        f"({slow_us / base_us:.2f}x); it missed {dropped} events, reported on the result"
    )


if __name__ == "__main__":
    main()

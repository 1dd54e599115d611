"""Shared set-up for the devices benchmarks: a private CA environment and base IOCs.

The CA environment must be applied before aioca is first used, so bench modules call
`ca_session()` before importing anything that touches Channel Access.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from iocs.processes import (
    CAEnvironment,
    ManagedProcess,
    start_base_ioc,
    start_repeater,
    wait_for_pvs,
)


@contextlib.contextmanager
def ca_session(n_servers: int = 1) -> Iterator[CAEnvironment]:
    """Private CA ports and a repeater for this benchmark process."""
    env = CAEnvironment.allocate(n_servers)
    env.apply()
    repeater = start_repeater(env)
    try:
        yield env
    finally:
        repeater.stop()


@contextlib.contextmanager
def base_ioc(
    env: CAEnvironment,
    records: str,
    macros: str = "",
    port_index: int = 0,
    wait_for: list[str] | None = None,
) -> Iterator[ManagedProcess]:
    """An EPICS base IOC serving `records` (database text)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        db.write_text(records)
        process = start_base_ioc(
            env, env.server_ports[port_index], db, macros, log=Path(tmp) / "ioc.log"
        )
        try:
            if wait_for:
                wait_for_pvs(wait_for, timeout=30, process=process)
            yield process
        finally:
            process.stop()


async def call_times(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """Seconds taken by each of `n` sequential calls of `fn`."""
    times = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        await fn()
        times.append(clock() - start)
    return times


async def interleaved_medians(
    cases: dict[str, Callable[[], Awaitable[object]]], n: int, runs: int
) -> dict[str, float]:
    """Median seconds per call of each case over ``n * runs`` calls.

    The cases take turns in `runs` blocks of `n` calls, so drift (other processes, CPU
    frequency) hits all alike, and the median of single calls shrugs off the calls that
    were preempted by another process.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm up channels and caches
        await call_times(fn, max(10, n // 20))
    for _ in range(runs):
        for name, fn in cases.items():
            samples[name] += await call_times(fn, n)
    return {name: statistics.median(values) for name, values in samples.items()}

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
def base_ioc(env: CAEnvironment, records: str, macros: str = "", port_index: int = 0,
             wait_for: list[str] | None = None) -> Iterator[ManagedProcess]:
    """An EPICS base IOC serving `records` (database text)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        db.write_text(records)
        process = start_base_ioc(env, env.server_ports[port_index], db, macros,
                                 log=Path(tmp) / "ioc.log")
        try:
            if wait_for:
                wait_for_pvs(wait_for, timeout=30, process=process)
            yield process
        finally:
            process.stop()


async def per_call(fn: Callable[[], Awaitable[object]], n: int) -> float:
    """Seconds per call of `fn`, over `n` sequential calls."""
    start = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - start) / n


async def interleaved_medians(cases: dict[str, Callable[[], Awaitable[object]]], n: int,
                              runs: int) -> dict[str, float]:
    """Median seconds per call of each case, runs interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm up channels and caches
        await per_call(fn, max(10, n // 20))
    for _ in range(runs):
        for name, fn in cases.items():
            samples[name].append(await per_call(fn, n))
    return {name: statistics.median(values) for name, values in samples.items()}

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
from typing import Any

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


# A step-scan beamline in four EPICS base records: a "motor" (ao) whose put processes a
# detector (calc = 2 * x), plus two more PVs read at every point.
STEP_RECORDS = """
record(ao, "$(P)x") { field(PREC, "3") field(EGU, "mm") field(FLNK, "$(P)det") }
record(calc, "$(P)det") { field(CALC, "A*2") field(INPA, "$(P)x NPP") }
record(ai, "$(P)i0") { field(VAL, "100") }
record(longin, "$(P)n") { field(VAL, "7") }
"""


async def step_devices(prefix: str) -> tuple[Any, Any, list[str]]:
    """The connected motor signal and 3-PV detector of `STEP_RECORDS`, and the 3 PV names."""
    from devices import Format, StandardReadable, connect
    from devices.epics import EpicsSignalRO, EpicsSignalRW

    class Detector(StandardReadable):
        def __init__(self, name: str = "") -> None:
            self.value = EpicsSignalRO(f"{prefix}det")
            self.i0 = EpicsSignalRO(f"{prefix}i0")
            self.n = EpicsSignalRO(f"{prefix}n")
            self.add_readables([self.value], Format.HINTED)
            self.add_readables([self.i0, self.n])
            super().__init__(name=name)

    x = EpicsSignalRW(f"{prefix}x", name="x", datatype=float)
    det = Detector(name="det")
    await connect(x, det, timeout=10)
    return x, det, [f"{prefix}det", f"{prefix}i0", f"{prefix}n"]

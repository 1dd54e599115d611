"""A small Channel Access client for the simulated beamline's tests.

`sim` wraps aioca with the session IOC's prefix, and `sim.monitor(suffix)` records every
update of a PV (value and arrival time) so a test can wait on a condition with a timeout
and afterwards check the whole history (DMOV 1 -> 0 -> 1, RBV update rate, ...).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aioca import caget, camonitor, caput


@dataclass
class Updates:
    """Every update of one PV since the subscription started."""

    pv: str
    values: list[Any] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.monotonic() on arrival
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, value: Any) -> None:
        self.values.append(value)
        self.times.append(time.monotonic())
        self._changed.set()

    @property
    def latest(self) -> Any:
        return self.values[-1]

    async def wait_for(
        self, predicate: Callable[[Any], bool], timeout: float, what: str = "the condition"
    ) -> Any:
        """The first value, from the latest one on, that satisfies ``predicate``."""
        index = max(len(self.values) - 1, 0)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for value in self.values[index:]:
                        if predicate(value):
                            return value
                    index = len(self.values)
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self.pv} did not reach {what} within {timeout} s; "
                f"last values: {self.values[-5:]}"
            ) from None


@dataclass
class SimBeamline:
    """The session's simulated beamline, addressed by PV suffix (``m1.RBV``)."""

    prefix: str

    def pv(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"

    async def get(self, suffix: str, **kwargs: Any) -> Any:
        return await caget(self.pv(suffix), timeout=5, **kwargs)

    async def put(self, suffix: str, value: Any, *, wait: bool = True, timeout: float = 20) -> None:
        await caput(self.pv(suffix), value, wait=wait, timeout=timeout)

    async def timed_put(self, suffix: str, value: Any, timeout: float = 20) -> float:
        """Seconds until the put's callback completes."""
        start = time.monotonic()
        await self.put(suffix, value, timeout=timeout)
        return time.monotonic() - start

    @asynccontextmanager
    async def monitor(self, suffix: str, **kwargs: Any) -> AsyncIterator[Updates]:
        """Record every update; ``format=FORMAT_TIME`` adds the IOC's ``.timestamp`` to
        each value (server time: unlike arrival times, not skewed by a loaded client)."""
        updates = Updates(self.pv(suffix))
        subscription = camonitor(self.pv(suffix), updates, all_updates=True, **kwargs)
        try:
            await updates.wait_for(lambda _: True, timeout=5, what="a first update")
            yield updates
        finally:
            subscription.close()

    async def prepare_motor(self, name: str, *, velo: float = 1.0, accl: float = 0.05) -> float:
        """Stop ``name`` if it moves, set its speed and ramp; returns where it is."""
        await self.put(f"{name}.SPMG", "Go")
        if await self.get(f"{name}.DMOV") == 0:
            await self.put(f"{name}.STOP", 1)
            async with self.monitor(f"{name}.DMOV") as dmov:
                await dmov.wait_for(lambda done: done == 1, timeout=5, what="DMOV=1")
        await self.put(f"{name}.VELO", velo)
        await self.put(f"{name}.ACCL", accl)
        return float(await self.get(f"{name}.RBV"))

    async def count(self, seconds: float) -> list[float]:
        """Count for ``seconds`` and return S1..S8."""
        await self.put("scaler1.TP", seconds)
        await self.put("scaler1.CNT", 1)
        return [float(v) for v in await caget([self.pv(f"scaler1.S{n}") for n in range(1, 9)])]


@pytest.fixture
def sim(sim_ioc: Any) -> SimBeamline:
    return SimBeamline(sim_ioc.prefix)

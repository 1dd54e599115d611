"""A temperature controller: ``Ptc1:SP``, ``RBV``, ``RATE``, ``TOL``, ``EGU``.

The readback ramps linearly towards the setpoint at RATE (K/s), updating at 10 Hz, and
stops exactly on it. A put to SP completes its callback once |RBV - SP| <= TOL, so
``caput(SP, 350, wait=True)`` returns when the sample has (nearly) arrived; a new setpoint
during a ramp re-targets it and every pending callback then waits for the new one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from caproto import SkipWrite
from caproto.server import pvproperty

from .pvs import SimGroup, text

TICK = 0.1  # s between readback updates while ramping
START_K = 295.0
RANGE_K = (1.0, 1000.0)


class TemperatureController(SimGroup):
    """A sample heater/cooler with a linear ramp."""

    sp = pvproperty(
        name="SP",
        value=START_K,
        precision=3,
        units="K",
        lower_ctrl_limit=RANGE_K[0],
        upper_ctrl_limit=RANGE_K[1],
        doc="setpoint; the put completes when RBV is within TOL",
    )
    rbv = pvproperty(
        name="RBV", value=START_K, precision=3, units="K", read_only=True, doc="sample temperature"
    )
    rate = pvproperty(
        name="RATE",
        value=10.0,
        precision=3,
        units="K/s",
        lower_ctrl_limit=0.001,
        upper_ctrl_limit=1000.0,
        doc="ramp rate",
    )
    tol = pvproperty(
        name="TOL",
        value=0.1,
        precision=3,
        units="K",
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=100.0,
        doc="in-tolerance band around SP",
    )
    egu = text("EGU", "K", "engineering units", read_only=True)

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self._wake = asyncio.Event()
        self._in_tolerance = asyncio.Event()
        self._in_tolerance.set()

    def _within_tolerance(self) -> bool:
        return abs(self.rbv.value - self.sp.value) <= self.tol.value

    @sp.putter
    async def sp(self, instance: Any, value: float) -> Any:
        await instance.write(value, verify_value=False)
        if not self._within_tolerance():
            self._in_tolerance.clear()
        self._wake.set()
        await self._in_tolerance.wait()
        return SkipWrite

    @rbv.startup
    async def rbv(self, instance: Any, async_lib: Any) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._ramp()

    async def _ramp(self) -> None:
        last = time.monotonic()
        while self.rbv.value != self.sp.value:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            step = self.rate.value * (now - last)
            last = now
            error = self.sp.value - self.rbv.value
            await self.rbv.write(
                self.sp.value
                if abs(error) <= step
                else self.rbv.value + step * (1 if error > 0 else -1)
            )
            if self._within_tolerance():
                self._in_tolerance.set()
        self._in_tolerance.set()

"""The storage ring: ``Pring:current`` (mA) with ``dump`` and ``refill`` commands.

The stored current sits near 100 mA with small random fluctuations, updating at 10 Hz.
``dump`` = 1 drops it to 0 at once; ``refill`` = 1 ramps it back linearly over
``refill_time`` seconds, and its callback completes when the ring is full again. Both
command PVs read 0 between commands.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from caproto.server import pvproperty

from .model import NOMINAL_CURRENT_MA
from .pvs import SimGroup

TICK = 0.1  # s between current updates
FLUCTUATION_MA = 0.05  # standard deviation of the stored current's jitter


class StorageRing(SimGroup):
    """Beam current that can be dumped and refilled on command."""

    current = pvproperty(
        name="current",
        value=NOMINAL_CURRENT_MA,
        precision=3,
        units="mA",
        read_only=True,
        doc="stored beam current",
    )
    dump = pvproperty(name="dump", value=0, doc="put 1: lose the beam")
    refill = pvproperty(name="refill", value=0, doc="put 1: ramp back to ~100 mA")
    refill_time = pvproperty(
        name="refill_time",
        value=2.0,
        precision=2,
        units="s",
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=600.0,
        doc="seconds from empty to full",
    )

    def __init__(
        self, prefix: str, *, rng: np.random.Generator | None = None, **kwargs: Any
    ) -> None:
        super().__init__(prefix, **kwargs)
        self._rng = rng or np.random.default_rng()
        self._level = NOMINAL_CURRENT_MA  # mA, before jitter
        self._refill_from: tuple[float, float] | None = None  # (start time, start level)
        self._full = asyncio.Event()
        self._full.set()

    @dump.putter
    async def dump(self, instance: Any, value: int) -> int:
        if value:
            self._level = 0.0
            self._refill_from = None
            self._full.clear()
            await self.current.write(0.0)
        return 0

    @refill.putter
    async def refill(self, instance: Any, value: int) -> int:
        if value:
            if not self._full.is_set() and self._refill_from is None:
                self._refill_from = (time.monotonic(), self._level)
            await self._full.wait()
        return 0

    @current.scan(period=TICK)
    async def current(self, instance: Any, async_lib: Any) -> None:
        if self._refill_from is not None:
            self._level = self._refilled_level(time.monotonic())
            if self._level >= NOMINAL_CURRENT_MA:
                self._refill_from = None
                self._full.set()
        if self._level > 0:
            jitter = self._rng.normal(0.0, FLUCTUATION_MA) if self._full.is_set() else 0.0
            await instance.write(self._level + jitter)

    def _refilled_level(self, now: float) -> float:
        assert self._refill_from is not None
        started, level = self._refill_from
        duration = max(self.refill_time.value, 1e-9)
        gained = NOMINAL_CURRENT_MA * (now - started) / duration
        return min(NOMINAL_CURRENT_MA, level + gained)

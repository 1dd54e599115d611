"""A synApps scaler-record subset: ``Pscaler1.CNT``, ``.TP``, ``.T``, ``.S1``..``.S8``.

Put CNT=1 (``Count``) to count for TP seconds; its callback completes when counting ends,
after the final counts and T are published. CNT=0 (``Done``) during a count aborts it.
While counting, T and the counts update at 20 Hz. S1 is the clock (FREQ * T); S2..S8
accumulate Poisson samples of the rates returned by ``rates()`` (counts/s, evaluated at
every update, so a motor moving during a count shows in the counts).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from caproto import SkipWrite
from caproto.server import pvproperty

from .model import poisson_counts
from .pvs import SimGroup, choice, text

TICK = 0.05  # s between updates of T and the counts while counting
MONITOR_HEAD_START = 0.02  # s between the last counts and the end of the count (see t)
CHANNEL_NAMES = ("clock", "I0", "det", "diff", "", "", "", "")


def _counts(n: int) -> pvproperty:
    return pvproperty(
        name=f".S{n}", value=0.0, precision=0, read_only=True, doc=f"counts of channel {n}"
    )


def _name(n: int) -> pvproperty:
    return text(f".NM{n}", CHANNEL_NAMES[n - 1], f"name of channel {n}")


class Scaler(SimGroup):
    """Eight counting channels gated by a preset time."""

    cnt = choice(".CNT", ("Done", "Count"), "Done", "put 1 to count, 0 to abort")
    tp = pvproperty(
        name=".TP",
        value=1.0,
        precision=3,
        units="s",
        lower_ctrl_limit=0.001,
        upper_ctrl_limit=86400.0,
        doc="preset counting time",
    )
    t = pvproperty(
        name=".T", value=0.0, precision=3, units="s", read_only=True, doc="elapsed counting time"
    )
    freq = pvproperty(
        name=".FREQ",
        value=1e7,
        precision=0,
        units="Hz",
        read_only=True,
        doc="clock frequency (channel 1)",
    )
    s1, s2, s3, s4, s5, s6, s7, s8 = (_counts(n) for n in range(1, 9))
    nm1, nm2, nm3, nm4, nm5, nm6, nm7, nm8 = (_name(n) for n in range(1, 9))

    def __init__(
        self,
        prefix: str,
        rates: Callable[[], np.ndarray],
        *,
        rng: np.random.Generator | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(prefix, **kwargs)
        self._rates = rates
        self._rng = rng or np.random.default_rng()
        self._start = asyncio.Event()
        self._abort = False
        self._done = asyncio.Event()
        self._done.set()

    @property
    def _channels(self) -> tuple[Any, ...]:
        return (self.s1, self.s2, self.s3, self.s4, self.s5, self.s6, self.s7, self.s8)

    @cnt.putter
    async def cnt(self, instance: Any, value: str) -> Any:
        if value == "Done":
            self._abort = not self._done.is_set()
            return SkipWrite if self._abort else value  # the count publishes Done
        if self._done.is_set():
            self._done.clear()
            self._abort = False
            await instance.write("Count", verify_value=False)
            self._start.set()
        await self._done.wait()
        return SkipWrite  # the count wrote Done before completing

    @t.startup
    async def t(self, instance: Any, async_lib: Any) -> None:
        while True:
            await self._start.wait()
            self._start.clear()
            await self._count(self.tp.value)
            # A scaler record's monitors of the final counts go out before its put
            # callback completes. caproto sends monitor updates through a batching queue
            # (up to 10 ms under load) but the put reply straight away, so a client that
            # reads its monitor cache on completion (ophyd-async when staged) could see
            # the counts of the start. Give the updates a head start.
            await asyncio.sleep(MONITOR_HEAD_START)
            await self.cnt.write("Done", verify_value=False)
            self._done.set()

    async def _count(self, preset: float) -> None:
        counts = np.zeros(8)
        await self._publish(0.0, counts)
        start = last = time.monotonic()
        while not self._abort:
            now = time.monotonic()
            elapsed = min(now - start, preset)
            dt = elapsed - (last - start)
            last = start + elapsed
            counts[0] += self.freq.value * dt
            counts[1:] += poisson_counts(self._rates(), dt, self._rng)
            await self._publish(elapsed, counts)
            if elapsed >= preset:
                return
            await asyncio.sleep(min(TICK, preset - elapsed))

    async def _publish(self, elapsed: float, counts: np.ndarray) -> None:
        for channel, value in zip(self._channels, counts, strict=True):
            await channel.write(float(value))
        await self.t.write(elapsed)

"""An axis that moves in simulated time: the motion loop shared by motors and the undulator.

`Axis.move` hands the loop a new `Trapezoid` from wherever the axis is now (re-targeting a
move in progress); `Axis.run`, started by the owning PVGroup's startup hook, publishes
the position every ``tick`` seconds and calls ``on_done`` once the last profile ends, then
releases everyone waiting in `Axis.wait_done`. A lock keeps "a new move starts" and "the
move is over" from interleaving, so a put arriving just as a move ends is never reported
done early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

from .motion import Trapezoid

Hook = Callable[[], Awaitable[None]]


class Axis:
    def __init__(self, position: float, tick: float) -> None:
        self._position = position
        self._tick = tick
        self._profile: Trapezoid | None = None
        self._wake = asyncio.Event()  # a new profile for the loop
        self._idle = asyncio.Event()
        self._idle.set()
        self._lock = asyncio.Lock()

    @property
    def moving(self) -> bool:
        return not self._idle.is_set()

    def position(self, now: float | None = None) -> float:
        if self._profile is None:
            return self._position
        return self._profile.position(time.monotonic() if now is None else now)

    def relocate(self, position: float) -> None:
        """Redefine where the idle axis is (a change of offset, not a move)."""
        if self.moving:
            raise RuntimeError("cannot relocate a moving axis")
        self._position = position

    async def move(self, target: float, velocity: float, accel_time: float, on_start: Hook) -> None:
        """Head for ``target`` now; ``on_start`` runs if the axis was idle."""
        async with self._lock:
            now = time.monotonic()
            self._profile = Trapezoid(self.position(now), target, velocity, accel_time, now)
            if not self.moving:
                self._idle.clear()
                await on_start()
            self._wake.set()

    async def halt(self) -> float | None:
        """Stop where the axis is; returns that position, or None if it was idle."""
        async with self._lock:
            if self._profile is None:
                return None
            now = time.monotonic()
            self._profile = Trapezoid.hold(self.position(now), now)
            self._wake.set()
            return self._profile.target

    async def wait_done(self) -> None:
        await self._idle.wait()

    async def run(self, publish: Callable[[float], Awaitable[None]], on_done: Hook) -> NoReturn:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._follow(publish, on_done)

    async def _follow(self, publish: Callable[[float], Awaitable[None]], on_done: Hook) -> None:
        while (profile := self._profile) is not None:
            now = time.monotonic()
            self._position = profile.position(now)
            await publish(self._position)
            async with self._lock:
                if self._profile is profile and profile.finished(now):
                    self._profile = None
                    await on_done()
                    self._idle.set()
                    return
            await asyncio.sleep(min(self._tick, max(profile.end - time.monotonic(), 0.0)))

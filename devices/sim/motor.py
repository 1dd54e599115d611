"""SimMotor: a motor in memory that moves at a velocity and reports progress.

``velocity=None`` (or 0) moves instantly: ``set`` returns an already finished status, so
engine benchmarks measure the engine, not the simulation.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

from acq.protocols import Location, Progress

from ..datatypes import check_value
from ..errors import MotorLimitError, MotorStoppedError, SignalValueError
from ..readable import Format, StandardReadable
from ..signal import SignalR, SignalRW
from ..soft import SoftBackend
from ..status import Status

__all__ = ["SimMotor"]


class SimMotor(StandardReadable):
    """A simulated motor: ``await m1.set(3.0)``, readback hinted under the motor's name."""

    #: seconds between readback updates while moving
    update_period = 0.02

    def __init__(
        self,
        name: str = "",
        *,
        velocity: float | None = None,
        units: str = "mm",
        precision: int = 3,
        limits: tuple[float, float] | None = None,
        initial: float = 0.0,
    ) -> None:
        self._readback = SoftBackend(float, float(initial), units=units, precision=precision)
        self._setpoint = SoftBackend(float, float(initial), units=units, precision=precision)
        self._velocity = SoftBackend(float, float(velocity or 0.0), units=f"{units}/s")
        self._units = SoftBackend(str, units)
        self.user_readback = SignalR(self._readback)
        self.user_setpoint = SignalRW(self._setpoint)
        self.velocity = SignalRW(self._velocity)
        self.motor_egu = SignalR(self._units)
        self.limits = limits
        self._move: Status | None = None
        self._paused = False
        self._stop_request = _StopRequest()  # stop() tells the current move to end
        self.add_readables([self.user_readback], Format.HINTED)
        self.add_readables([self.user_setpoint])
        self.add_readables([self.velocity, self.motor_egu], Format.CONFIG)
        super().__init__(name=name)

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.user_readback.set_name(name)  # the readback is the motor's own data key

    @property
    def position(self) -> float:
        """The readback now (no await: it lives in memory)."""
        return self._readback.value

    @property
    def moved_at(self) -> float:
        """When the readback last changed (``time.time()``): detectors compare to it."""
        return self._readback.reading()["timestamp"]

    def set(self, value: float, timeout: float | None = None) -> Status:
        """Move to `value`; instant without a velocity, else a status with progress."""
        try:
            target = check_value(float, value)
        except SignalValueError as error:
            raise SignalValueError(f"{self.name}: {error}") from None
        if self.limits is not None and not self.limits[0] <= target <= self.limits[1]:
            raise MotorLimitError(self.name, target, *self.limits)
        if self._move is not None and not self._move.done:
            self._stop_request.stop(success=False)
        self._setpoint.set_value(target)
        velocity = self._velocity.value
        if not velocity:
            self._readback.set_value(target)
            return Status.finished(name=self.name)
        self._stop_request = _StopRequest()
        self._move = Status.from_progress(
            self._travel(self._readback.value, target, abs(velocity), self._stop_request),
            name=f"{self.name} -> {target:g}",
            timeout=timeout,
        )
        return self._move

    async def _travel(
        self, initial: float, target: float, velocity: float, stop: _StopRequest
    ) -> AsyncIterator[Progress]:
        units, precision = self._units.value, self._readback.precision
        start = last = time.monotonic()
        position = initial
        while position != target:
            moving = not self._paused
            if moving:
                self._readback.set_value(position)
                remaining = abs(target - position) / velocity
                yield Progress(
                    self.name, position, initial, target, units, precision, last - start, remaining
                )
            delay = self.update_period if not moving else min(self.update_period, remaining)
            if await stop.wait(delay):
                if stop.success:
                    return  # stopped with success: the move ends where the motor is
                raise MotorStoppedError(
                    f"{self.name}: the move to {target:g} was stopped at {position:g}"
                )
            now = time.monotonic()
            if moving and not self._paused:
                step = velocity * (now - last)
                position = (
                    target
                    if abs(target - position) <= step
                    else position + math.copysign(step, target - position)
                )
            last = now
        self._readback.set_value(target)
        yield Progress(
            self.name, target, initial, target, units, precision, time.monotonic() - start, 0.0
        )

    def stop(self, success: bool = True) -> None:
        """Stop where it is; the pending move's status succeeds, or fails if not `success`."""
        if self._move is not None and not self._move.done:
            self._stop_request.stop(success)
        self._setpoint.set_value(self._readback.value)

    def pause(self) -> None:
        """Hold where it is; the pending move continues after `resume`."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    async def locate(self) -> Location:
        return {"setpoint": self._setpoint.value, "readback": self._readback.value}


class _StopRequest:
    """How `SimMotor.stop` tells one move to end (and whether that counts as success)."""

    def __init__(self) -> None:
        self.success = True
        self._event: asyncio.Event | None = None
        self._requested = False

    def stop(self, success: bool) -> None:
        self.success = success
        self._requested = True
        if self._event is not None:
            self._event.set()

    async def wait(self, delay: float) -> bool:
        """Sleep `delay` seconds or until stopped; True when stopped."""
        if self._requested:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        try:
            async with asyncio.timeout(delay):
                await self._event.wait()
        except TimeoutError:
            return False
        return True

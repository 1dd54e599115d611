"""SimFlyer: a fly scan without hardware. A SimMotor sweeps while a SimDetector is sampled.

flyer = SimFlyer("fly", m1, det, period=0.01)
await flyer.prepare({"start": -1.0, "stop": 1.0, "velocity": 10.0})
await flyer.kickoff()      # the sweep has started
await flyer.complete()     # the sweep has ended
async for page in flyer.collect_pages(): ...   # {"data", "timestamps", "time"}
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from acq.protocols import DataKey

from ..device import Device
from ..errors import DeviceError, StatusTimeoutError
from ..status import Status
from .detector import SimDetector
from .motor import SimMotor

__all__ = ["SimFlyer"]


class SimFlyer(Device):
    """Flyable and EventPageCollectable; samples every `period` seconds while sweeping."""

    def __init__(
        self, name: str, motor: SimMotor, detector: SimDetector, *, period: float = 0.01
    ) -> None:
        self._motor, self._detector = motor, detector  # not children: they fly for us
        self.period = period
        self._plan: dict[str, float] | None = None
        self._sweep: Status | None = None
        self._samples: list[tuple[float, float, float]] = []
        super().__init__(name=name)

    def prepare(self, value: dict[str, float]) -> Status:
        """``{"start", "stop", "velocity"}``: go to the start (at the motor's own speed)."""
        missing = {"start", "stop", "velocity"} - set(value)
        if missing:
            raise DeviceError(f"{self.name}: prepare() needs {', '.join(sorted(missing))}")
        if value["velocity"] <= 0:
            raise DeviceError(f"{self.name}: velocity must be > 0, not {value['velocity']}")
        self._plan = dict(value)
        return self._motor.set(value["start"])

    def kickoff(self) -> Status:
        if self._plan is None:
            raise DeviceError(
                f"{self.name}: call prepare() with start, stop and velocity before kickoff()"
            )
        self._sweep = Status(self._fly(self._plan), name=f"{self.name}.fly")
        return Status.finished(name=f"{self.name}.kickoff")

    def complete(self) -> Status:
        if self._sweep is None:
            raise DeviceError(f"{self.name}: complete() before kickoff()")
        return self._sweep

    def stop(self, success: bool = True) -> None:
        self._motor.stop(success)

    async def _fly(self, plan: dict[str, float]) -> None:
        await self._motor.velocity.set(plan["velocity"])
        move = self._motor.set(plan["stop"])
        while True:
            self._sample()
            if move.done:
                break
            try:
                await move.wait(timeout=self.period)
            except StatusTimeoutError:
                continue
        await move

    def _sample(self) -> None:
        self._detector.trigger()
        self._samples.append((self._motor.position, self._detector.latest, time.time()))

    async def describe_collect(self) -> dict[str, DataKey]:
        keys = {**await self._motor.describe(), **await self._detector.describe()}
        return {name: keys[name] for name in (self._motor.name, self._detector.name)}

    async def collect_pages(self) -> AsyncIterator[dict[str, Any]]:
        samples, self._samples = self._samples, []
        if samples:
            times = [t for _, _, t in samples]
            yield {
                "data": {
                    self._motor.name: [x for x, _, _ in samples],
                    self._detector.name: [y for _, y, _ in samples],
                },
                "timestamps": {self._motor.name: times, self._detector.name: times},
                "time": times,
            }

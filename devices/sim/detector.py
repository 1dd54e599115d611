"""SimDetector: a point detector whose counts are a Gaussian of a motor's position.

``trigger()`` evaluates the model at the motor's position now (plus optional noise), and
``read()`` returns that value: a read after a completed move and trigger never shows a
value from before them. Both are cheap enough for engine benchmarks.
"""

from __future__ import annotations

import asyncio
import math
import random

from ..readable import Format, StandardReadable
from ..signal import SignalR, SignalRW
from ..soft import SoftBackend
from ..status import Status
from .motor import SimMotor

__all__ = ["SimDetector"]


class SimDetector(StandardReadable):
    """``det = SimDetector("det", m1, center=0, width=1, peak=1e4, noise=0.01)``.

    - value: ``peak * exp(-(x - center)**2 / (2 width**2)) + background``;
    - noise: relative standard deviation of Gaussian noise (0 means none);
    - exposure: seconds a trigger takes (0: the trigger status is finished at once).
    """

    def __init__(
        self,
        name: str = "",
        motor: SimMotor | None = None,
        *,
        center: float = 0.0,
        width: float = 1.0,
        peak: float = 1.0,
        background: float = 0.0,
        noise: float = 0.0,
        exposure: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self._motor = motor  # not a child: the motor belongs to no detector
        self._center = SoftBackend(float, float(center))
        self._width = SoftBackend(float, float(width))
        self._peak = SoftBackend(float, float(peak))
        self._background = float(background)
        self._noise = float(noise)
        self._random = random.Random(seed)
        self._computed_at = -math.inf  # the motor readback timestamp the value follows
        self._latest = self._model()
        self._counts = SoftBackend(float, getter=self._fresh, precision=3)
        self.value = SignalR(self._counts, name=name)
        self.center = SignalRW(self._center)
        self.width = SignalRW(self._width)
        self.peak = SignalRW(self._peak)
        self.exposure = exposure
        self.add_readables([self.value], Format.HINTED)
        self.add_readables([self.center, self.width, self.peak], Format.CONFIG)
        super().__init__(name=name)

    @property
    def motor(self) -> SimMotor | None:
        return self._motor

    @property
    def latest(self) -> float:
        """The value the last trigger (or a later move) produced, without awaiting."""
        return self._fresh()

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.value.set_name(name)  # the counts are the detector's own data key

    def _model(self) -> float:
        x = self._motor.position if self._motor is not None else 0.0
        width = self._width.value or 1e-12
        counts = self._peak.value * math.exp(
            -((x - self._center.value) ** 2) / (2.0 * width * width)
        )
        counts += self._background
        if self._noise:
            counts += self._random.gauss(0.0, self._noise * max(abs(counts), 1e-12))
        return counts

    def _compute(self) -> None:
        self._latest = self._model()
        if self._motor is not None:
            self._computed_at = self._motor.moved_at

    def _fresh(self) -> float:
        # a read without a trigger still follows a motor that moved since the last trigger
        if self._motor is not None and self._motor.moved_at > self._computed_at:
            self._compute()
        return self._latest

    def trigger(self) -> Status:
        """Evaluate the model now; instant unless `exposure` is set."""
        if not self.exposure:
            self._compute()
            return Status.finished(name=self.name)
        return Status(self._expose(), name=f"{self.name}.trigger")

    async def _expose(self) -> None:
        await asyncio.sleep(self.exposure)
        self._compute()

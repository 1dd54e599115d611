"""Motion profiles: where an axis is at a given time. Pure; no I/O, no clock of its own.

A move accelerates over ``accel_time`` seconds to ``velocity``, cruises, and decelerates
over ``accel_time`` again (a trapezoid in velocity), as a motor record with ACCL does. So a
move of distance d takes ``d / velocity + accel_time``; one too short to reach full speed
becomes a triangle and takes ``2 * sqrt(d * accel_time / velocity)``. Times are seconds on
the caller's clock (``time.monotonic()`` in the IOC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Trapezoid:
    """A point-to-point move from ``start`` to ``target`` beginning at time ``t0``."""

    start: float
    target: float
    velocity: float
    accel_time: float
    t0: float

    def __post_init__(self) -> None:
        if self.velocity <= 0:
            raise ValueError(f"velocity must be > 0, not {self.velocity}")
        if self.accel_time < 0:
            raise ValueError(f"accel_time must be >= 0, not {self.accel_time}")

    @classmethod
    def hold(cls, position: float, t0: float) -> Trapezoid:
        """A move that is already over: the axis stays at ``position``."""
        return cls(position, position, velocity=1.0, accel_time=0.0, t0=t0)

    @property
    def distance(self) -> float:
        return abs(self.target - self.start)

    @property
    def ramp_time(self) -> float:
        """Time spent accelerating (and again decelerating)."""
        if self.accel_time == 0:
            return 0.0
        triangle_ramp = math.sqrt(self.distance * self.accel_time / self.velocity)
        return min(self.accel_time, triangle_ramp)

    @property
    def peak_speed(self) -> float:
        if self.accel_time == 0:
            return self.velocity
        return self.velocity * self.ramp_time / self.accel_time

    @property
    def duration(self) -> float:
        if self.distance == 0:
            return 0.0
        cruise_distance = self.distance - 2 * self._ramp_distance(self.ramp_time)
        return 2 * self.ramp_time + cruise_distance / self.peak_speed

    @property
    def end(self) -> float:
        return self.t0 + self.duration

    def finished(self, now: float) -> bool:
        return now >= self.end

    def position(self, now: float) -> float:
        t = now - self.t0
        if t >= self.duration:
            return self.target
        if t <= 0:
            return self.start
        ramp = self.ramp_time
        if t < ramp:
            travelled = self._ramp_distance(t)
        elif t <= self.duration - ramp:
            travelled = self._ramp_distance(ramp) + self.peak_speed * (t - ramp)
        else:
            travelled = self.distance - self._ramp_distance(self.duration - t)
        return self.start + math.copysign(travelled, self.target - self.start)

    def _ramp_distance(self, t: float) -> float:
        """Distance covered ``t`` seconds into the acceleration ramp."""
        if self.accel_time == 0:
            return 0.0
        return 0.5 * (self.velocity / self.accel_time) * t * t

"""TemperatureController: a setpoint whose put completes when the readback is in tolerance.

tc1 = TemperatureController("sim:tc1:", name="tc1")
await tc1.set(300.0)      # SP with callback: done within TOL of the setpoint
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from acq.protocols import Location, Progress

from ..datatypes import check_value
from ..device import DEFAULT_TIMEOUT
from ..errors import SignalValueError
from ..readable import Format, StandardReadable
from ..status import Status
from .ca import CaBackend
from .signal import EpicsSignalRO, EpicsSignalRW

__all__ = ["TemperatureController"]


class TemperatureController(StandardReadable):
    """``SP`` / ``RBV`` / ``RATE`` / ``TOL`` / ``EGU``; readback hinted under the name."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.setpoint = EpicsSignalRW(f"{prefix}SP", datatype=float)
        self.readback = EpicsSignalRO(f"{prefix}RBV", datatype=float)
        self.ramp_rate = EpicsSignalRW(f"{prefix}RATE", datatype=float)
        self.tolerance = EpicsSignalRW(f"{prefix}TOL", datatype=float)
        self.units = EpicsSignalRO(f"{prefix}EGU", datatype=str)
        self._latest: dict[str, float] = {}
        self._reports: list[Any] = []
        self._subscribed = False
        self.add_readables([self.readback], Format.HINTED)
        self.add_readables([self.setpoint])
        self.add_readables([self.ramp_rate, self.tolerance, self.units], Format.CONFIG)
        super().__init__(name=name)

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.readback.set_name(name)

    async def connect(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        await super().connect(timeout)
        if not self._subscribed:  # readback and rate monitors feed progress reports
            self._subscribed = True
            self.readback.subscribe_value(self._on_readback)
            self.ramp_rate.subscribe_value(lambda rate: self._latest.update(rate=rate))

    def _on_readback(self, value: float) -> None:
        self._latest["rbv"] = value
        for report in list(self._reports):
            report(value)

    def set(self, value: float, timeout: float | None = None) -> Status:
        """Go to `value`; done when the controller says the readback is within tolerance."""
        try:
            target = check_value(float, value)
        except SignalValueError as error:
            raise SignalValueError(f"{self.name}: {error}") from None
        self.setpoint.check(target)
        return Status.reporting(
            lambda status: self._ramp(status, target),
            name=f"{self.name} -> {target:g}",
            timeout=timeout,
        )

    async def _ramp(self, status: Status, target: float) -> None:
        start = time.monotonic()
        initial = self._latest.get("rbv")
        backend: CaBackend[float] = self.readback.backend  # type: ignore[assignment]
        units = backend.metadata.units or ""

        def report(value: float) -> None:
            rate = self._latest.get("rate") or 0.0
            remaining = abs(target - value) / rate if rate > 0 else None
            status.set_progress(
                Progress(
                    self.name,
                    value,
                    initial,
                    target,
                    units,
                    backend.metadata.precision,
                    time.monotonic() - start,
                    remaining,
                )
            )

        self._reports.append(report)
        try:
            await self.setpoint.backend.put(target, wait=True)
        finally:
            self._reports.remove(report)

    async def locate(self) -> Location:
        setpoint, readback = await asyncio.gather(
            self.setpoint.get_value(), self.readback.get_value()
        )
        return {"setpoint": setpoint, "readback": readback}

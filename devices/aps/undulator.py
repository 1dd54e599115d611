"""Undulator: an insertion device moved in energy (keV) through its gap.

await und.set(10.0)    # EnergySet, then Start with callback: done when the gap stops
"""

from __future__ import annotations

from acq.protocols import Location

from ..datatypes import check_value
from ..epics.signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX
from ..errors import SignalValueError
from ..readable import Format, StandardReadable
from ..status import Status

__all__ = ["Undulator"]


class Undulator(StandardReadable):
    """Energy readback hinted under the device's name; gap and speed alongside."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.energy = EpicsSignalRO(f"{prefix}Energy", datatype=float)
        self.energy_setpoint = EpicsSignalRW(f"{prefix}EnergySet", datatype=float)
        self.gap = EpicsSignalRO(f"{prefix}Gap", datatype=float)
        self.gap_setpoint = EpicsSignalRW(f"{prefix}GapSet", datatype=float)
        self.start_button = EpicsSignalX(f"{prefix}Start", value=1)
        self.busy = EpicsSignalRO(f"{prefix}Busy", datatype=int)
        self.gap_speed = EpicsSignalRW(f"{prefix}GapSpeed", datatype=float)
        self.add_readables([self.energy], Format.HINTED)
        self.add_readables([self.energy_setpoint, self.gap])
        self.add_readables([self.gap_speed], Format.CONFIG)
        super().__init__(name=name)

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.energy.set_name(name)

    def set(self, value: float, timeout: float | None = None) -> Status:
        """Move to `value` keV; done when the gap has stopped (Start's put-callback)."""
        try:
            energy = check_value(float, value)
        except SignalValueError as error:
            raise SignalValueError(f"{self.name}: {error}") from None
        self.energy_setpoint.check(energy)
        return Status(self._move(energy), name=f"{self.name} -> {energy:g} keV", timeout=timeout)

    async def _move(self, energy: float) -> None:
        await self.energy_setpoint.set(energy, wait=True)
        await self.start_button.trigger(wait=True)

    def stop(self, success: bool = True) -> None:
        """The simulated undulator has no stop command; moves run to their end."""

    async def locate(self) -> Location:
        return {
            "setpoint": await self.energy_setpoint.get_value(),
            "readback": await self.energy.get_value(),
        }

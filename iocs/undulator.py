"""An insertion device: ``Pund:Energy``/``EnergySet`` (keV), ``Gap``/``GapSet`` (mm).

Setting either setpoint updates the other through `iocs.model.undulator_energy` (energy
rises with the gap). ``Start`` = 1 drives the gap to GapSet at ``GapSpeed`` mm/s, updating
Gap and Energy at 20 Hz; ``Busy`` is 1 meanwhile and the Start callback completes when the
gap arrives. A Start during a move re-targets it.
"""

from __future__ import annotations

from typing import Any

from caproto import SkipWrite
from caproto.server import pvproperty

from .axis import Axis
from .model import ENERGY_RANGE_KEV, GAP_RANGE_MM, undulator_energy, undulator_gap
from .pvs import SimGroup

TICK = 0.05  # s between readback updates while the gap moves
START_GAP_MM = 20.0


class Undulator(SimGroup):
    """Gap drive with an energy calibration."""

    energy = pvproperty(
        name="Energy",
        value=undulator_energy(START_GAP_MM),
        precision=4,
        units="keV",
        read_only=True,
        doc="photon energy at the gap",
    )
    energy_set = pvproperty(
        name="EnergySet",
        value=undulator_energy(START_GAP_MM),
        precision=4,
        units="keV",
        lower_ctrl_limit=ENERGY_RANGE_KEV[0],
        upper_ctrl_limit=ENERGY_RANGE_KEV[1],
        doc="energy setpoint",
    )
    gap = pvproperty(
        name="Gap", value=START_GAP_MM, precision=4, units="mm", read_only=True, doc="gap readback"
    )
    gap_set = pvproperty(
        name="GapSet",
        value=START_GAP_MM,
        precision=4,
        units="mm",
        lower_ctrl_limit=GAP_RANGE_MM[0],
        upper_ctrl_limit=GAP_RANGE_MM[1],
        doc="gap setpoint",
    )
    start = pvproperty(name="Start", value=0, doc="put 1 to drive the gap to GapSet")
    busy = pvproperty(name="Busy", value=0, read_only=True, doc="1 while the gap moves")
    gap_speed = pvproperty(
        name="GapSpeed",
        value=5.0,
        precision=3,
        units="mm/s",
        lower_ctrl_limit=0.01,
        upper_ctrl_limit=50.0,
        doc="gap speed",
    )

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self.axis = Axis(position=START_GAP_MM, tick=TICK)

    @energy_set.putter
    async def energy_set(self, instance: Any, value: float) -> float:
        await self.gap_set.write(undulator_gap(value), verify_value=False)
        return value

    @gap_set.putter
    async def gap_set(self, instance: Any, value: float) -> float:
        await self.energy_set.write(undulator_energy(value), verify_value=False)
        return value

    @start.putter
    async def start(self, instance: Any, value: int) -> Any:
        if not value:
            return 0
        await self.axis.move(self.gap_set.value, self.gap_speed.value, 0.0, self._mark_busy)
        await self.axis.wait_done()
        return SkipWrite

    @gap.startup
    async def gap(self, instance: Any, async_lib: Any) -> None:
        await self.axis.run(self._show_gap, self._mark_idle)

    async def _show_gap(self, gap: float) -> None:
        await self.gap.write(gap)
        await self.energy.write(undulator_energy(gap))

    async def _mark_busy(self) -> None:
        await self.start.write(1, verify_value=False)
        await self.busy.write(1)

    async def _mark_idle(self) -> None:
        await self.busy.write(0)
        await self.start.write(0, verify_value=False)

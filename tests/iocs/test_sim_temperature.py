"""The temperature controller ramps at RATE and completes SP puts within TOL."""

from __future__ import annotations

import numpy as np
import pytest
from aioca import FORMAT_TIME


async def test_setpoint_ramps_at_rate_and_completes_within_tolerance(sim):
    await sim.put("tc1:RATE", 500.0)
    await sim.put("tc1:SP", 295.0)
    await sim.put("tc1:RATE", 20.0)
    tolerance = await sim.get("tc1:TOL")
    try:
        async with sim.monitor("tc1:RBV", format=FORMAT_TIME) as rbv:
            elapsed = await sim.timed_put("tc1:SP", 305.0)
            arrived = await sim.get("tc1:RBV")
            await rbv.wait_for(lambda t: t == 305.0, timeout=10, what="the setpoint")
    finally:
        await sim.put("tc1:RATE", 500.0)
        await sim.put("tc1:SP", 295.0)
        await sim.put("tc1:RATE", 10.0)

    assert elapsed >= (10.0 - tolerance) / 20.0 - 0.01  # the put completes within TOL
    assert abs(arrived - 305.0) <= tolerance
    # the slope in the IOC's own timestamps: arrival times would skew on a loaded machine
    ramp = [(v.timestamp, float(v)) for v in rbv.values if 295 < v < 305]
    assert len(ramp) >= 3, f"RBV during the ramp: {rbv.values}"
    times, temperatures = np.array(ramp).T
    slope = np.polyfit(times, temperatures, 1)[0]
    assert slope == pytest.approx(20.0, rel=0.25)


async def test_setpoint_outside_the_controller_range_is_refused(sim):
    from aioca import CANothing

    with pytest.raises(CANothing):
        await sim.put("tc1:SP", -5.0)
    assert await sim.get("tc1:SP") == 295.0

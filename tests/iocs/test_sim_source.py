"""The storage ring, the shutter and the undulator, and what they do to the counts."""

from __future__ import annotations

import asyncio
import time

import pytest


async def test_ring_current_sits_near_100_ma_with_small_fluctuations(sim):
    async with sim.monitor("ring:current") as current:
        await current.wait_for(lambda _: len(current.values) >= 5, timeout=10, what="five updates")
    assert all(99.0 < value < 101.0 for value in current.values)
    assert len(set(current.values)) > 1, "the current never fluctuates"


async def test_dump_drops_the_beam_and_counts_and_refill_ramps_back(sim):
    await sim.prepare_motor("m1", velo=10.0)
    await sim.put("m1", await sim.get("model:det_center"))
    background = await sim.get("model:background")
    await sim.put("ring:refill_time", 0.5)
    try:
        await sim.put("ring:dump", 1)
        assert await sim.get("ring:current") == 0.0
        counts = await sim.count(0.1)
        assert counts[1] < 10 * background * 0.1 + 10, "I0 should drop to background"
        assert counts[2] < 10 * background * 0.1 + 10, "det should drop to background"

        async with sim.monitor("ring:current") as current:
            elapsed = await sim.timed_put("ring:refill", 1)
        assert elapsed >= 0.5 - 0.1  # the put completes when the 0.5 s ramp is (nearly) done
        assert any(5 < value < 95 for value in current.values), "no ramp seen"
        assert await sim.get("ring:current") == pytest.approx(100.0, abs=1.0)
    finally:
        await sim.put("ring:refill", 1)
        await sim.put("ring:refill_time", 2.0)
    assert (await sim.count(0.1))[2] > 1000, "det counts are back with the beam"


async def test_shutter_state_follows_commands_after_the_delay(sim):
    await sim.put("shutter:delay", 0.3)
    try:
        async with sim.monitor("shutter:state") as state:
            commanded = time.monotonic()
            await sim.put("shutter:close", 1, wait=False)
            await state.wait_for(lambda s: s == 0, timeout=10, what="Closed")
            closed_after = state.times[-1] - commanded
            closed_counts = await sim.count(0.1)

            elapsed = await sim.timed_put("shutter:open", 1)
            await state.wait_for(lambda s: s == 1, timeout=10, what="Open")
    finally:
        await sim.put("shutter:open", 1)
        await sim.put("shutter:delay", 0.5)

    assert closed_after >= 0.28  # not before the delay; no upper bound on a loaded machine
    assert elapsed >= 0.28
    assert state.values[-2:] == [0, 1], "Closed, then Open"
    assert closed_counts[1] < 20, "I0 should drop to background with the shutter closed"
    assert await sim.get("shutter:close") == 0


async def test_undulator_energy_and_gap_setpoints_and_start(sim):
    gap_before = await sim.get("und:Gap")
    await sim.put("und:GapSpeed", 20.0)
    await sim.put("und:EnergySet", 9.0)
    target_gap = await sim.get("und:GapSet")
    assert target_gap != gap_before

    async with sim.monitor("und:Busy") as busy:
        elapsed = await sim.timed_put("und:Start", 1)
        await busy.wait_for(lambda b: b == 0, timeout=10, what="Busy=0")

    assert busy.values == [0, 1, 0]
    assert elapsed >= abs(target_gap - gap_before) / 20.0 - 0.05  # gap travel / GapSpeed
    assert await sim.get("und:Gap") == pytest.approx(target_gap)
    assert await sim.get("und:Energy") == pytest.approx(9.0)

    await sim.put("und:EnergySet", 10.0)
    assert await sim.get("und:GapSet") > target_gap, "higher energy needs a wider gap"
    await asyncio.wait_for(sim.put("und:Start", 1), timeout=30)

"""The scaler: preset-time counting with put-callback, and counts that follow the model."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest


async def test_count_completes_after_the_preset_time(sim):
    await sim.put("scaler1.TP", 0.5)

    elapsed = await sim.timed_put("scaler1.CNT", 1)

    assert elapsed >= 0.5 - 0.01  # the put completes at the end of the preset time
    assert await sim.get("scaler1.CNT") == 0
    assert await sim.get("scaler1.T") == pytest.approx(0.5)
    freq = await sim.get("scaler1.FREQ")
    assert await sim.get("scaler1.S1") == pytest.approx(freq * 0.5)


async def test_elapsed_time_counts_up_while_counting(sim):
    await sim.put("scaler1.TP", 1.0)

    async with sim.monitor("scaler1.T") as elapsed:
        await sim.put("scaler1.CNT", 1)
        # monitor updates may trail the put's completion; wait for the reset and the end
        await elapsed.wait_for(lambda _: 0 in elapsed.values[1:], timeout=10, what="T = 0")
        await elapsed.wait_for(lambda t: t == pytest.approx(1.0), timeout=10, what="T = TP")

    this_count = elapsed.values[elapsed.values.index(0, 1) :]
    during = [t for t in this_count if 0 < t < 1.0]
    # ~20 updates at 20 Hz; a loaded machine may deliver fewer, but T must count up
    assert len(during) >= 3, f"T updates while counting: {this_count}"
    assert during == sorted(during)


async def test_cnt_zero_aborts_a_count(sim):
    await sim.put("scaler1.TP", 10.0)

    async with sim.monitor("scaler1.T") as elapsed:
        counting = asyncio.create_task(sim.put("scaler1.CNT", 1))
        await elapsed.wait_for(lambda t: t == 0, timeout=10, what="T reset to 0")
        await elapsed.wait_for(lambda t: t > 0.1, timeout=10, what="T > 0.1 s")
        await sim.put("scaler1.CNT", 0)
        await asyncio.wait_for(counting, timeout=10)  # CNT=0 completes the pending put

    assert await sim.get("scaler1.T") < 10.0, "the count ended before its preset time"
    assert await sim.get("scaler1.CNT") == 0


async def test_channel_names(sim):
    names = [await sim.get(f"scaler1.NM{n}") for n in range(1, 5)]
    assert names == ["clock", "I0", "det", "diff"]


async def test_det_counts_peak_at_the_model_centre_in_m1(sim):
    await sim.prepare_motor("m1", velo=10.0)
    centre = 0.7
    await sim.put("model:det_center", centre)
    try:
        positions = np.arange(-0.8, 2.21, 0.25)
        det = []
        for x in positions:
            await sim.put("m1", float(x))
            det.append((await sim.count(0.05))[2])
    finally:
        await sim.put("model:det_center", 0.0)

    assert positions[int(np.argmax(det))] == pytest.approx(centre, abs=0.25)
    background = await sim.get("model:background")
    assert min(det) < 0.02 * max(det) + 10 * background * 0.05, "the tails should be low"


async def test_the_final_counts_reach_a_monitor_before_the_count_completes(sim):
    """As a scaler record posts its counts before its put-callback completes: a client
    that reads its monitor cache at completion (ophyd-async when staged) sees this
    count's numbers, not the zeros published when it began."""
    await sim.put("scaler1.TP", 0.05)
    async with sim.monitor("scaler1.S1") as s1:
        for _ in range(5):
            await sim.put("scaler1.CNT", 1)  # returns when the put-callback completes
            at_completion = s1.values[-1]
            assert at_completion > 0
            assert at_completion == await sim.get("scaler1.S1")

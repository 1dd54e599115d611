"""The motor-record emulation, seen from a Channel Access client.

Durations are checked only from below (a move cannot beat its speed); that something
happened in time is checked as order (the readback moved before the put completed, the
motor stopped short of its target), so a loaded machine cannot fail these tests.
"""

from __future__ import annotations

import asyncio
import time

import pytest


async def test_one_mm_at_one_mm_per_second_takes_a_second_and_ends_on_target(sim):
    start = await sim.prepare_motor("m2", velo=1.0)

    async with sim.monitor("m2.RBV") as rbv:
        elapsed = await sim.timed_put("m2", start + 1.0)
        put_done = time.monotonic()

    assert elapsed >= 1.0  # distance / VELO (+ ACCL)
    assert await sim.get("m2.RBV") == pytest.approx(start + 1.0, abs=1e-9)
    on_the_way = [t for t, v in zip(rbv.times, rbv.values, strict=True) if start < v < start + 1.0]
    assert on_the_way and min(on_the_way) < put_done, "RBV should move while the put waits"


async def test_readback_streams_during_the_move_and_done_flags_follow(sim):
    start = await sim.prepare_motor("m2", velo=1.0)
    target = start - 0.5

    async with (
        sim.monitor("m2.RBV") as rbv,
        sim.monitor("m2.DMOV") as dmov,
        sim.monitor("m2.MOVN") as movn,
    ):
        began = time.monotonic()
        await sim.put("m2.VAL", target)
        put_done = time.monotonic()
        assert await sim.get("m2.RBV") == target, "a read after the put must see the target"
        # monitor updates may trail the put's completion (caproto batches them)
        await rbv.wait_for(lambda v: v == target, timeout=10, what="the target")
        await dmov.wait_for(lambda v: v == 1, timeout=10, what="DMOV=1")
        await movn.wait_for(lambda v: v == 0, timeout=10, what="MOVN=0")

    streamed = {
        v
        for t, v in zip(rbv.times, rbv.values, strict=True)
        if began < t <= put_done and target < v < start
    }
    # 0.5 s of travel at 50 Hz is ~25 updates; a loaded machine may deliver fewer
    assert len(streamed) >= 5, f"RBV should stream during the move, got {sorted(streamed)}"
    assert rbv.values == sorted(rbv.values, reverse=True), "RBV went backwards"
    assert dmov.values == [1, 0, 1]
    assert movn.values == [0, 1, 0]


async def test_put_callback_completes_when_the_move_ends_not_before(sim):
    start = await sim.prepare_motor("m3", velo=2.0, accl=0.05)

    elapsed = await sim.timed_put("m3", start + 0.6)

    assert elapsed >= 0.6 / 2.0 + 0.05 - 0.01  # distance / VELO + ACCL
    assert await sim.get("m3.DMOV") == 1
    assert await sim.get("m3.RBV") == start + 0.6


async def test_the_record_name_alone_is_the_setpoint(sim):
    start = await sim.prepare_motor("m4", velo=5.0)

    await sim.put("m4", start + 0.1)
    assert await sim.get("m4.VAL") == pytest.approx(start + 0.1)
    await sim.put("m4.VAL", start)
    assert await sim.get("m4") == pytest.approx(start)


async def test_stop_halts_mid_move_and_completes_the_put(sim):
    start = await sim.prepare_motor("m3", velo=2.0)
    target = start + 10.0

    async with sim.monitor("m3.RBV") as rbv:
        move = asyncio.create_task(sim.put("m3", target))
        await rbv.wait_for(lambda v: v > start + 0.5, timeout=3, what="0.5 mm along")
        await sim.put("m3.STOP", 1)
        await asyncio.wait_for(move, timeout=10)  # STOP completes the pending put

    stopped_at = await sim.get("m3.RBV")
    assert start + 0.5 < stopped_at < target
    assert await sim.get("m3.DMOV") == 1
    assert await sim.get("m3.VAL") == pytest.approx(stopped_at), "VAL should be where it stopped"
    assert await sim.get("m3.STOP") == 0


async def test_target_outside_limits_does_not_move_and_sets_lvio(sim):
    start = await sim.prepare_motor("m4")
    high = await sim.get("m4.HLM")

    async with sim.monitor("m4.DMOV") as dmov, sim.monitor("m4.RBV") as rbv:
        await sim.put("m4", high + 1.0)  # completes without a move
        assert await sim.get("m4.LVIO") == 1

    assert dmov.values == [1], "a refused target must not start a move"
    assert set(rbv.values) == {start}
    assert await sim.get("m4.RBV") == start
    assert await sim.get("m4.VAL") == pytest.approx(start)

    await sim.put("m4", start + 0.05)  # a good move clears the violation
    assert await sim.get("m4.LVIO") == 0

    low = await sim.get("m4.LLM")
    async with sim.monitor("m4.DMOV") as dmov:
        await sim.put("m4", low - 1.0)
        assert await sim.get("m4.LVIO") == 1
    assert dmov.values == [1]
    assert await sim.get("m4.RBV") == pytest.approx(start + 0.05)
    await sim.put("m4", start)
    assert await sim.get("m4.LVIO") == 0


async def test_new_target_during_a_move_retargets_it(sim):
    start = await sim.prepare_motor("m2", velo=2.0)

    async with sim.monitor("m2.RBV") as rbv:
        first = asyncio.create_task(sim.put("m2", start + 5.0))
        await rbv.wait_for(lambda v: v > start + 0.3, timeout=3, what="0.3 mm along")
        await sim.put("m2", start + 0.6)
        await asyncio.wait_for(first, timeout=10)  # the first put completes at the stop

    assert await sim.get("m2.RBV") == pytest.approx(start + 0.6, abs=1e-9)
    assert max(rbv.values) < start + 5.0, "the motor kept going to the first target"


async def test_pause_keeps_the_target_and_go_resumes(sim):
    start = await sim.prepare_motor("m4", velo=1.0)
    target = start + 3.0  # long enough that the pause lands mid-move on a loaded machine

    async with sim.monitor("m4.RBV") as rbv:
        move = asyncio.create_task(sim.put("m4", target))
        await rbv.wait_for(lambda v: v > start + 0.2, timeout=10, what="0.2 mm along")
        await sim.put("m4.SPMG", "Pause")
        await asyncio.wait_for(move, timeout=10)  # Pause completes the pending put
        paused_at = await sim.get("m4.RBV")
        assert paused_at < target
        assert await sim.get("m4.VAL") == pytest.approx(target), "Pause keeps the target"
        await sim.put("m4.SPMG", "Go")
        await rbv.wait_for(lambda v: v == target, timeout=20, what="the target")
    assert any(paused_at < v < target for v in rbv.values), "Go should resume from the pause"


async def test_limits_are_user_coordinates_dial_plus_offset(sim):
    await sim.prepare_motor("sx")
    high, dial_high = await sim.get("sx.HLM"), await sim.get("sx.DHLM")
    try:
        await sim.put("sx.OFF", 2.5)
        assert await sim.get("sx.HLM") == pytest.approx(high + 2.5)
        assert await sim.get("sx.DHLM") == pytest.approx(dial_high)
        await sim.put("sx.DHLM", dial_high - 1)
        assert await sim.get("sx.HLM") == pytest.approx(high + 1.5)
    finally:
        await sim.put("sx.OFF", 0.0)
        await sim.put("sx.DHLM", dial_high)
    assert await sim.get("sx.HLM") == pytest.approx(high)


async def test_angle_motors_are_in_degrees_with_their_own_limits(sim):
    assert await sim.get("th.EGU") == "deg"
    assert await sim.get("tth.LLM") == -10.0
    assert await sim.get("tth.HLM") == 190.0
    assert await sim.get("m1.EGU") == "mm"

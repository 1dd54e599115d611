"""The engine runs the standard plans (`plans`) end to end on sim devices."""

from __future__ import annotations

import anyio
import pytest
from acq_helpers import Docs

import plans
from acq import RunEngine, RunEnginePaused
from acq.suspenders import SuspendFloor
from devices import soft_signal_rw
from devices.sim import SimDetector, SimMotor


async def test_count(RE: RunEngine, docs: Docs):
    det = SimDetector("det", SimMotor("m1"), peak=5.0)
    result = await RE(plans.count([det], 4), sample="Si")
    start = docs.of("start")[0]
    assert start["plan_name"] == "count" and start["sample"] == "Si"
    assert start["num_points"] == 4 and start["detectors"] == ["det"]
    assert [e["data"]["det"] for e in docs.stream("primary")] == [5.0] * 4
    assert result.exit_status == "success"


async def test_scan_records_motor_and_detector_at_every_point(RE, docs):
    m1 = SimMotor("m1")
    det = SimDetector("det", m1, center=0.0, width=1.0, peak=100.0)
    await RE(plans.scan([det], m1, -1.0, 1.0, num=5))
    start = docs.of("start")[0]
    assert start["motors"] == ["m1"]
    assert start["hints"]["dimensions"] == [[["m1"], "primary"]]
    events = docs.stream("primary")
    assert [e["data"]["m1"] for e in events] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert events[2]["data"]["det"] == pytest.approx(100.0)


async def test_grid_scan_nests(RE, docs):
    m1, m2 = SimMotor("m1"), SimMotor("m2")
    det = SimDetector("det", m1)
    await RE(plans.grid_scan([det], m1, 0, 1, 2, m2, 0, 2, 3))
    assert len(docs.stream("primary")) == 6
    assert docs.of("start")[0]["num_points"] == 6


async def test_a_suspended_standard_scan_has_one_event_per_point(RE, docs):
    ring = soft_signal_rw(float, 100.0, "ring_current")
    RE.install_suspender(SuspendFloor(ring, 10.0, sleep=0.02))
    m1 = SimMotor("m1", velocity=100.0)
    det = SimDetector("det", m1)
    third = anyio.Event()
    RE.subscribe(lambda n, d: third.set() if n == "event" and d["seq_num"] == 3 else None, "event")

    async def dump():
        await third.wait()
        await ring.set(0.0)
        await anyio.sleep(0.05)
        await ring.set(100.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(dump)
        await RE(plans.scan([det], m1, 0.0, 1.0, num=11))
    assert [e["seq_num"] for e in docs.stream("primary")] == list(range(1, 12))
    assert [e["data"]["interruption"] for e in docs.stream("interruptions")] == [
        "suspend",
        "resume",
    ]
    RE.clear_suspenders()


async def test_pause_and_resume_a_standard_plan(RE, docs):
    det = SimDetector("det", SimMotor("m1"))
    first = anyio.Event()
    RE.subscribe(lambda name, doc: first.set(), "event")

    async def pause_soon():
        await first.wait()  # the run is under way (a fixed delay may come before it starts)
        RE.request_pause(defer=True)

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_soon)
        with pytest.raises(RunEnginePaused):
            await RE(plans.count([det], 1000, delay=0.001))
    await RE.resume()
    assert [e["seq_num"] for e in docs.stream("primary")] == list(range(1, 1001))

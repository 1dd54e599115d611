"""A real beam dump on the simulated IOC suspends a scan; it resumes after the refill."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from acq_helpers import Docs

import plans
from acq import RunEngine
from acq.suspenders import SuspendFloor
from devices import aps, connect, epics


@pytest.fixture
async def ring_and_motor(sim_ioc: Any, ring: aps.StorageRing):
    m1 = epics.EpicsMotor(sim_ioc.pv("m1"), name="m1")
    await connect(m1, timeout=20)
    await m1.velocity.set(5.0)
    return ring, m1


@pytest.mark.slow
async def test_beam_dump_mid_scan_suspends_and_the_scan_resumes_after_refill(
    RE: RunEngine, docs: Docs, ring_and_motor
):
    ring, m1 = ring_and_motor
    RE.install_suspender(SuspendFloor(ring.current, 10.0, resume_thresh=90.0, sleep=0.5))
    fourth_point = anyio.Event()
    RE.subscribe(
        lambda name, doc: (
            fourth_point.set() if name == "event" and doc.get("seq_num") == 4 else None
        ),
        "event",
    )

    async def dump_and_refill() -> None:
        await fourth_point.wait()
        await ring.dump.trigger()
        with anyio.fail_after(10):
            while RE.state != "running" or not RE.suspenders[0].tripped:
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)  # the scan sits still while the beam is gone
        await ring.refill.trigger()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(dump_and_refill)
            with anyio.fail_after(60):
                result = await RE(plans.scan([ring], m1, 0.0, 1.0, num=11))
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success" and result.interrupted
    events = docs.stream("primary")
    assert [e["seq_num"] for e in events] == list(range(1, 12))
    assert [round(e["data"]["m1"], 3) for e in events] == [round(0.1 * i, 3) for i in range(11)]
    assert min(e["data"]["ring"] for e in events) >= 10.0  # no point taken without beam
    kinds = [e["data"]["interruption"] for e in docs.stream("interruptions")]
    assert kinds == ["suspend", "resume"]
    assert "ring" in docs.stream("interruptions")[0]["data"]["reason"]

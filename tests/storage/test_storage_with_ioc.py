"""A scan of the simulated beamline IOC (EPICS motor, scaler) stored and read back, on
both backends: what the user sees in the catalog is what the engine emitted."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import numpy as np
import pytest
from pv_values import pv_values
from storage_helpers import Docs, stored_form, subscribe_writer

from acq import RunEngine, RunEnginePaused
from acq.suspenders import SuspendFloor
from devices import connect
from devices.epics import EpicsMotor, Scaler
from plans import scan
from storage import Catalog

pytestmark = pytest.mark.slow


def quick(ioc: Any) -> AbstractAsyncContextManager[None]:
    """A fast m1 and short counts; the shared IOC gets its values back after."""
    return pv_values({ioc.pv("m1.VELO"): 10.0, ioc.pv("m1.ACCL"): 0.05, ioc.pv("scaler1.TP"): 0.05})


async def test_an_ioc_scan_is_stored_and_read_back(
    sim_ioc: Any, RE: RunEngine, docs: Docs, catalog: Catalog
) -> None:
    m1 = EpicsMotor(sim_ioc.pv("m1"), name="m1")
    scaler = Scaler(sim_ioc.pv("scaler1"), name="scaler")
    await connect(m1, scaler, timeout=10)
    subscribe_writer(RE, catalog.writer)
    async with quick(sim_ioc):
        result = await RE(scan([scaler], m1, -1, 1, 5), sample="Si")
    assert result.exit_status == "success"
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(-1)
    assert run.uid == result.run_uids[0] and run.start["sample"] == "Si"
    table = await run.table()
    events = docs.of("event")
    np.testing.assert_allclose(table["m1"], [-1, -0.5, 0, 0.5, 1], atol=1e-3)
    for key in events[0]["data"]:
        np.testing.assert_array_equal(table[key], [e["data"][key] for e in events])
    assert "scaler" in await run.configuration()
    assert stored_form(await run.documents()) == stored_form(list(docs))


@pytest.mark.parametrize("end", ["resume", "stop", "abort", "halt"])
async def test_an_ioc_scan_paused_mid_move_is_stored_as_emitted(
    sim_ioc: Any, RE: RunEngine, docs: Docs, catalog: Catalog, end: str
) -> None:
    """Paused at once (mid-move) on the IOC, then resumed, stopped, aborted or halted: the
    stored run is every document the engine emitted, the interruption record included,
    and nothing after the end."""
    m1 = EpicsMotor(sim_ioc.pv("m1"), name="m1")
    scaler = Scaler(sim_ioc.pv("scaler1"), name="scaler")
    await connect(m1, scaler, timeout=10)
    subscribe_writer(RE, catalog.writer)
    second = anyio.Event()
    RE.subscribe(lambda name, doc: doc["seq_num"] == 2 and second.set(), "event")

    async def pause_after_the_second_point() -> None:
        await second.wait()
        RE.request_pause(defer=False, reason="test pause")

    async with quick(sim_ioc):
        async with anyio.create_task_group() as tg:
            tg.start_soon(pause_after_the_second_point)
            with pytest.raises(RunEnginePaused):
                await RE(scan([scaler], m1, -1, 1, 8), sample="Si")
        ending = {
            "resume": RE.resume,
            "stop": RE.stop,
            "abort": lambda: RE.abort(reason="test abort"),
            "halt": RE.halt,
        }
        result = await ending[end]()
    assert result.exit_status == ("success" if end in ("resume", "stop") else "abort")
    assert result.interrupted and not result.subscriber_errors
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(-1)
    assert run.uid == result.run_uids[0]
    assert stored_form(await run.documents()) == stored_form(list(docs))
    assert "interruptions" in await run.streams()
    assert run.stop is not None and run.stop["exit_status"] == result.exit_status
    points = len((await run.table())["m1"])
    assert (points == 8) if end == "resume" else (2 <= points < 8)


@pytest.mark.parametrize("end", ["refill", "stop"])
async def test_an_ioc_scan_suspended_by_a_beam_dump_is_stored_as_emitted(
    sim_ioc: Any, RE: RunEngine, docs: Docs, catalog: Catalog, ring: Any, end: str
) -> None:
    """The IOC's beam dumps after the second point and the scan suspends; then the beam
    comes back (the scan resumes and finishes) or the user stops the suspended scan. The
    stored run is every document the engine emitted, the suspension recorded."""
    m1 = EpicsMotor(sim_ioc.pv("m1"), name="m1")
    scaler = Scaler(sim_ioc.pv("scaler1"), name="scaler")
    await connect(m1, scaler, timeout=10)
    suspender = SuspendFloor(ring.current, 10.0, resume_thresh=90.0, sleep=0.2)
    RE.install_suspender(suspender)
    subscribe_writer(RE, catalog.writer)
    second = anyio.Event()
    RE.subscribe(lambda name, doc: doc["seq_num"] == 2 and second.set(), "event")

    async def dump_then_end() -> None:
        await second.wait()
        await ring.dump.trigger()
        with anyio.fail_after(10):
            while not suspender.tripped:
                await anyio.sleep(0.02)
        if end == "stop":
            await RE.stop()
        await ring.refill.trigger()

    try:
        async with quick(sim_ioc):
            async with anyio.create_task_group() as tg:
                tg.start_soon(dump_then_end)
                with anyio.fail_after(60):
                    result = await RE(scan([scaler, ring], m1, -1, 1, 8), sample="Si")
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success"
    assert result.interrupted and not result.subscriber_errors
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(-1)
    assert run.uid == result.run_uids[0]
    assert stored_form(await run.documents()) == stored_form(list(docs))
    interruptions = await run.table("interruptions")
    assert list(interruptions["interruption"]) == (
        ["suspend", "resume"] if end == "refill" else ["suspend"]
    )
    table = await run.table()
    assert min(table["ring"]) >= 10.0  # no point stored from without beam
    assert (len(table["m1"]) == 8) if end == "refill" else (2 <= len(table["m1"]) < 8)

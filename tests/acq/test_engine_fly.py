"""Fly scanning (prepare, kickoff, complete, collect into EventPages and stream assets),
and detectors that write files in a step scan (Resource and Datum)."""

from __future__ import annotations

import anyio
import pytest
from acq_flyers import FileWriter, PageFlyer, StepFileWriter
from acq_helpers import Docs
from acq_plans import count

from acq import Msg, RunEngine, RunEnginePaused, plan_return
from devices.sim import SimDetector, SimFlyer, SimMotor
from plans.fly import fly


async def test_kickoff_complete_collect_emits_event_pages(RE: RunEngine, docs: Docs):
    flyer = PageFlyer("fly", n=5)

    async def plan():
        yield Msg("open_run")
        yield Msg("prepare", flyer, {"points": 5}, group="p")
        yield Msg("wait", None, group="p")
        yield Msg("kickoff", flyer, group="k")
        yield Msg("wait", None, group="k")
        yield Msg("complete", flyer, group="c")
        yield Msg("wait", None, group="c")
        pages = yield Msg("collect", flyer, name="primary")
        yield Msg("kickoff", flyer, group="k")
        yield Msg("complete", flyer, group="c", wait=True)
        yield Msg("collect", flyer, name="primary")
        yield Msg("close_run")
        yield plan_return(pages)

    result = await RE(plan())
    assert flyer.prepared == {"points": 5}
    pages = docs.of("event_page")
    assert [p["seq_num"] for p in pages] == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    assert pages[0]["data"]["fly_x"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert result.plan_result[0]["uid"] == pages[0]["uid"]
    assert docs.of("stop")[0]["num_events"] == {"primary": 10}


async def test_detectors_that_write_files_emit_stream_resource_and_datum(RE, docs):
    det1, det2 = FileWriter("cam1"), FileWriter("cam2")

    async def plan():
        yield Msg("open_run")
        yield Msg("declare_stream", None, det1, det2, name="primary", collect=True)
        for _ in range(2):
            yield Msg("kickoff", det1, group="k")
            yield Msg("kickoff", det2, group="k")
            yield Msg("wait", None, group="k")
            yield Msg("complete", det1, group="c")
            yield Msg("complete", det2, group="c")
            yield Msg("wait", None, group="c")
            yield Msg("collect", det1, det2, name="primary")
        yield Msg("close_run")

    await RE(plan())
    assert docs.names == [
        "start",
        "descriptor",
        "stream_resource",
        "stream_datum",
        "stream_resource",
        "stream_datum",
        "stream_datum",
        "stream_datum",
        "stop",
    ]
    start, descriptor = docs.of("start")[0], docs.of("descriptor")[0]
    assert all(r["run_start"] == start["uid"] for r in docs.of("stream_resource"))
    datums = docs.of("stream_datum")
    assert all(d["descriptor"] == descriptor["uid"] for d in datums)
    assert [d["seq_nums"] for d in datums] == [{"start": 1, "stop": 5}] * 2 + [
        {"start": 5, "stop": 9}
    ] * 2
    assert docs.of("stop")[0]["num_events"] == {"primary": 8}


async def test_a_step_scan_detector_that_writes_files_emits_resource_and_datum(RE, docs):
    cam = StepFileWriter("cam")
    await RE(count([cam], 3))
    assert docs.names == [
        "start",
        "descriptor",
        "resource",
        "datum",
        "event",
        "datum",
        "event",
        "datum",
        "event",
        "stop",
    ]
    (resource,) = docs.of("resource")
    assert resource["run_start"] == docs.of("start")[0]["uid"]
    datum_ids = [d["datum_id"] for d in docs.of("datum")]
    assert [e["data"]["cam_image"] for e in docs.of("event")] == datum_ids
    assert docs.of("descriptor")[0]["data_keys"]["cam_image"]["external"] == "FILESTORE:"


@pytest.mark.parametrize("end", ["stop", "abort", "halt", "pause"])
async def test_ending_or_pausing_a_fly_scan_stops_the_sweep(RE: RunEngine, docs: Docs, end: str):
    """The flyer sweeps its motor for 5 s: stop, abort, halt and pause stop the sweep.
    (It went on: the engine knew the flyer by its kickoff status, done once flying.)"""
    motor = SimMotor("fm", velocity=10.0)
    flyer = SimFlyer("fly", motor, SimDetector("det", motor), period=0.01)
    await flyer.prepare({"start": 0.0, "stop": 10.0, "velocity": 2.0})

    async def end_when_flying():
        with anyio.fail_after(10):
            while motor.position < 0.5:
                await anyio.sleep(0.005)
        if end == "pause":
            RE.request_pause()
        else:
            await getattr(RE, end)()

    async with anyio.create_task_group() as tg:
        tg.start_soon(end_when_flying)
        if end == "pause":
            with pytest.raises(RunEnginePaused):
                await RE(fly([flyer]))
        else:
            await RE(fly([flyer]))
    held = motor.position
    await anyio.sleep(0.3)  # a sweep that went on would move 0.6 by now
    assert motor.position == held < 2.0
    if end == "pause":
        await RE.abort("done")

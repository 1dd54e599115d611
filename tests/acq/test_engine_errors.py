"""When a plan fails: the runs close with 'fail', and the error report is short."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from acq_helpers import Docs
from acq_plans import count, trigger_and_read

import acq
from acq import Msg, RunEngine
from devices.sim import SimDetector, SimMotor


class BrokenDetector:
    name = "broken"
    parent = None

    async def read(self):
        raise ConnectionError("sim:broken.VAL: no response from the IOC")

    async def describe(self):
        return {"broken": {"dtype": "number", "shape": [], "source": "ca://sim:broken"}}


async def test_a_failing_read_fails_the_plan_with_a_short_report(RE: RunEngine, docs: Docs):
    det = SimDetector("det", SimMotor("m1"))

    with pytest.raises(ConnectionError) as info:
        await RE(count([det, BrokenDetector()], 3))
    error = info.value
    assert error.__notes__ == [
        "in plan count > trigger_and_read, step 7: Msg('read', broken) on broken"
    ]
    engine_dir = Path(acq.__file__).parent
    frames = traceback.extract_tb(error.__traceback__)
    engine_frames = [
        f
        for f in frames
        if Path(f.filename).parent == engine_dir and Path(f.filename).name != "engine.py"
    ]
    assert engine_frames == []
    assert any(f.name == "read" and f.filename == __file__ for f in frames)
    assert len(frames) <= 6
    stop = docs.of("stop")[0]
    assert stop["exit_status"] == "fail"
    assert stop["reason"] == "ConnectionError: sim:broken.VAL: no response from the IOC"
    result = RE.last_result
    assert result.exit_status == "fail" and result.exception is error
    assert result.run_uids == (docs.of("start")[0]["uid"],)


async def test_a_plan_can_catch_a_failed_command_and_carry_on(RE, docs):
    det = SimDetector("det", SimMotor("m1"))

    async def careful():
        yield Msg("open_run")
        try:
            yield trigger_and_read([BrokenDetector()])
        except ConnectionError:
            yield Msg("drop")
        yield trigger_and_read([det])
        yield Msg("close_run")

    result = await RE(careful())
    assert result.exit_status == "success"
    assert len(docs.of("event")) == 1


async def test_a_plan_that_raises_on_its_own_fails_its_run(RE, docs):
    async def plan():
        yield Msg("open_run")
        raise ValueError("the sample is not aligned")

    with pytest.raises(ValueError, match="not aligned"):
        await RE(plan())
    assert docs.of("stop")[0]["reason"] == "ValueError: the sample is not aligned"
    assert RE.state == "idle"


async def test_a_device_whose_describe_breaks_the_rules_is_named(RE):
    class NoSource:
        name = "nosource"

        async def read(self):
            return {"nosource": {"value": 1, "timestamp": 0.0}}

        async def describe(self):
            return {"nosource": {"dtype": "number", "shape": []}}

    with pytest.raises(acq.DocumentError, match=r"nosource.describe.*without source"):
        await RE(count([NoSource()], 1))


async def test_read_and_describe_must_agree(RE):
    class Liar:
        name = "liar"

        async def read(self):
            return {"liar_a": {"value": 1, "timestamp": 0.0}}

        async def describe(self):
            return {"liar_b": {"dtype": "number", "shape": [], "source": "x"}}

    with pytest.raises(acq.DocumentError, match=r"extra keys \['liar_a'\].*\['liar_b'\]"):
        await RE(count([Liar()], 1))


async def test_two_devices_with_the_same_data_key_are_refused(RE):
    a = SimDetector("det", SimMotor("m1"))
    b = SimDetector("det", SimMotor("m2"))
    with pytest.raises(acq.DocumentError, match="'det' comes from both"):
        await RE(count([a, b], 1))

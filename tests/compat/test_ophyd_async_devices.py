"""ophyd-async devices, unchanged, in acq's plans on acq's engine, in the test's own loop:
soft signals, EPICS signals over aioca, the motor record's `Motor`, and a
`StandardDetector` that writes HDF5 (ophyd-async's `SimBlobDetector`) in step and fly scans.

The sim IOC's motor records serve every field ophyd-async's `Motor` connects to.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import anyio
import bluesky.plans as bp
import h5py
import pytest
from compat_devices import RE, Docs, docs, motor_fields
from ophyd_async.core import (
    AsyncStatus,
    FlyMotorInfo,
    NotConnectedError,
    StandardReadable,
    StaticPathProvider,
    StrictEnum,
    TriggerInfo,
    UUIDFilenameProvider,
    init_devices,
    soft_signal_r_and_setter,
    soft_signal_rw,
)
from ophyd_async.core import StandardReadableFormat as Format
from ophyd_async.epics.core import epics_signal_r, epics_signal_rw
from ophyd_async.epics.motor import Motor
from ophyd_async.plan_stubs import apply_settings, ensure_connected, get_current_settings
from ophyd_async.sim import (
    PatternGenerator,
    SimBlobDetector,
    SimMotor,
    SimPointDetector,
    SimStage,
)

import plans
from acq import RunEngine, RunEnginePaused, plan_return
from acq.progress import TerminalProgressBar
from acq.suspenders import SuspendFloor
from plans import stubs as bps
from plans.wrappers import monitor_during_wrapper, stage_wrapper

__all__ = ["RE", "docs", "motor_fields"]  # fixtures, imported for pytest


class CountState(StrictEnum):
    DONE = "Done"
    COUNT = "Count"


class OphydAsyncScaler(StandardReadable):
    """The sim IOC's scaler as a bluesky user would write it with ophyd-async."""

    def __init__(self, prefix: str, name: str = "") -> None:
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.det = epics_signal_r(float, prefix + "scaler1.S3")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.preset_time = epics_signal_rw(float, prefix + "scaler1.TP")
        self.count = epics_signal_rw(CountState, prefix + "scaler1.CNT")
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        await self.count.set(CountState.COUNT, timeout=10)  # completes by put-callback


@pytest.fixture
async def scaler(sim_ioc: Any) -> OphydAsyncScaler:
    device = OphydAsyncScaler(sim_ioc.prefix, name="scaler")
    await device.connect(timeout=10)
    await device.preset_time.set(0.05)
    return device


@pytest.fixture
async def m4(sim_ioc: Any, motor_fields: tuple[str, ...]) -> Any:
    motor = Motor(sim_ioc.pv("m4"), name="m4")
    await motor.connect(timeout=10)
    await motor.velocity.set(10.0)
    await motor.set(0.0, timeout=30)
    yield motor
    await motor.velocity.set(10.0)
    await motor.set(0.0, timeout=30)


@pytest.fixture
def path_provider(tmp_path: Path) -> StaticPathProvider:
    return StaticPathProvider(UUIDFilenameProvider(), tmp_path)


# -- soft signals ------------------------------------------------------------------


async def test_soft_signals_are_motor_and_detector_of_a_scan(RE: RunEngine, docs: Docs) -> None:
    x = soft_signal_rw(float, 0.0, name="x", units="mm")
    y, _set_y = soft_signal_r_and_setter(float, 7.0, name="y")
    await x.connect()
    await y.connect()

    result = await RE(plans.scan([y], x, -1.0, 1.0, 5))

    assert result.exit_status == "success"
    assert docs.column("x") == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert docs.column("y") == [7.0] * 5
    (descriptor,) = docs.named("descriptor")
    assert descriptor["data_keys"]["x"]["source"] == "soft://x"
    assert descriptor["data_keys"]["x"]["units"] == "mm"
    assert await x.get_value() == 1.0  # the signal really was set
    assert docs.named("start")[0]["motors"] == ["x"]


async def test_acq_suspender_and_monitor_watch_an_ophyd_async_signal(
    RE: RunEngine, docs: Docs
) -> None:
    beam = soft_signal_rw(float, 100.0, name="beam")
    x = soft_signal_rw(float, 0.0, name="x")
    await beam.connect()
    await x.connect()
    RE.install_suspender(SuspendFloor(beam, 10.0))
    first_event = anyio.Event()
    RE.subscribe(lambda name, doc: first_event.set() if name == "event" else None)

    async def dump_and_refill() -> None:
        with anyio.fail_after(10):
            await first_event.wait()
        await beam.set(1.0)
        await anyio.sleep(0.2)
        await beam.set(100.0)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(dump_and_refill)
            result = await RE(monitor_during_wrapper(plans.count([x], 6, delay=0.25), [beam]))
    finally:
        RE.clear_suspenders()

    assert result.exit_status == "success" and result.interrupted
    assert docs.column("interruption", stream="interruptions") == ["suspend", "resume"]
    assert docs.column("beam", stream="beam_monitor") == [100.0, 1.0, 100.0]
    assert len(docs.events()) == 6


# -- EPICS signals over aioca ------------------------------------------------------


async def test_epics_signals_count_through_the_scalers_put_callback(
    RE: RunEngine, docs: Docs, scaler: OphydAsyncScaler, sim_ioc: Any
) -> None:
    # S3 is a Gaussian in m1: count at its centre, wherever earlier tests left m1 (far
    # off the peak every count is 0 whatever the device does)
    m1 = Motor(sim_ioc.pv("m1"), name="m1")
    await m1.connect(timeout=10)
    centre = epics_signal_r(float, sim_ioc.pv("model:det_center"))
    await centre.connect(timeout=10)
    await m1.velocity.set(10.0)
    await m1.set(await centre.get_value(), timeout=30)
    await RE(plans.count([scaler], 3))

    counts = docs.column("scaler-det")
    # numbers from the IOC. A staged ophyd-async signal reads its monitor cache when the
    # put-callback completes; the sim scaler sends its last counts 20 ms before that (as
    # a scaler record posts them first), else the cache could still hold the count's
    # reset value: all three were 0.0 in 1 full CI run of 4. acq's own devices.epics
    # scaler reads after completion and does not depend on it.
    assert len(counts) == 3 and all(c >= 0 for c in counts) and max(counts) > 0
    (descriptor,) = docs.named("descriptor")
    assert descriptor["data_keys"]["scaler-det"]["source"] == f"ca://{sim_ioc.pv('scaler1.S3')}"
    config = descriptor["configuration"]["scaler"]["data"]
    assert config["scaler-preset_time"] == pytest.approx(0.05)
    assert descriptor["hints"]["scaler"]["fields"] == ["scaler-det"]
    assert await scaler.count.get_value() == CountState.DONE  # each count ran to its end


# -- the motor record ----------------------------------------------------------------


async def test_motor_record_steps_a_scan_and_reads_back_each_target(
    RE: RunEngine, docs: Docs, m4: Motor, scaler: OphydAsyncScaler, sim_ioc: Any
) -> None:
    await RE(plans.scan([scaler], m4, 0.0, 0.4, 3))

    assert docs.column("m4") == pytest.approx([0.0, 0.2, 0.4], abs=1e-3)
    start = docs.named("start")[0]
    assert start["motors"] == ["m4"] and start["hints"]["dimensions"][0][0] == ["m4"]
    (descriptor,) = docs.named("descriptor")
    assert descriptor["data_keys"]["m4"]["source"] == f"ca://{sim_ioc.pv('m4.RBV')}"
    assert await m4.user_readback.get_value() == pytest.approx(0.4, abs=1e-3)


async def test_pause_stops_the_motor_mid_move_and_resume_finishes_the_scan(
    RE: RunEngine, docs: Docs, m4: Motor, scaler: OphydAsyncScaler
) -> None:
    await m4.velocity.set(1.0)  # 3 mm: long enough to pause half-way
    moving = anyio.Event()

    def watch_readback(reading: dict[str, Any]) -> None:
        if 0.2 < reading["m4"]["value"] < 2.5:
            moving.set()

    m4.user_readback.subscribe_reading(watch_readback)
    try:
        async with anyio.create_task_group() as tg:

            async def pause_when_moving() -> None:
                with anyio.fail_after(30):
                    await moving.wait()
                RE.request_pause()

            tg.start_soon(pause_when_moving)
            with pytest.raises(RunEnginePaused):
                await RE(plans.scan([scaler], m4, 0.0, 3.0, 2))
    finally:
        m4.user_readback.clear_sub(watch_readback)

    with anyio.fail_after(10):  # the record settles once STOP took effect
        while not await m4.motor_done_move.get_value():
            await anyio.sleep(0.05)
    held = await m4.user_readback.get_value()
    assert 0.2 < held < 3.0, f"the pause should have stopped m4 on its way, it is at {held}"
    await asyncio.sleep(0.3)
    assert await m4.user_readback.get_value() == pytest.approx(held, abs=1e-3)  # stays put

    await m4.velocity.set(10.0)
    result = await RE.resume()

    assert result.exit_status == "success"
    assert docs.column("m4") == pytest.approx([0.0, 3.0], abs=1e-3)


async def test_motor_record_flies_prepare_kickoff_complete(RE: RunEngine, m4: Motor) -> None:
    """The motor record as a flyer: prepare runs up to the start, kickoff sets the fly
    velocity and goes, complete waits for the end of the ramp-down."""
    trajectory = FlyMotorInfo(start_position=0.5, end_position=1.5, time_for_move=0.5)
    positions: list[float] = []

    async def fly() -> Any:
        yield bps.prepare(m4, trajectory, wait=True)
        positions.append(await m4.user_readback.get_value())
        yield bps.kickoff(m4, wait=True)
        yield bps.complete(m4, wait=True)
        positions.append(await m4.user_readback.get_value())

    result = await RE(fly())

    assert result.exit_status == "success"
    assert positions[0] < 0.5 < 1.5 < positions[1]  # run-up before the start, ramp-down after
    assert await m4.velocity.get_value() == pytest.approx(2.0)  # 1 mm in 0.5 s


async def test_progress_bar_draws_the_motor_moves(
    docs: Docs, m4: Motor, scaler: OphydAsyncScaler
) -> None:
    out = io.StringIO()
    engine = RunEngine(waiting_hook=TerminalProgressBar(file=out, delay=0.0))
    engine.subscribe(docs)
    await m4.velocity.set(1.0)

    result = await engine(plans.scan([scaler], m4, 0.0, 1.0, 2))

    assert result.exit_status == "success"
    # a bar for m4, drawn during the move to 1 mm (ophyd-async's keyword watch updates)
    assert re.search(r"m4 +\[[#-]+\] +\d+% 0\.\d{4}/1\.0000 mm", out.getvalue()), out.getvalue()


async def test_init_devices_connects_and_names_in_the_callers_loop(
    RE: RunEngine, sim_ioc: Any, motor_fields: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with init_devices():
        sy = Motor(sim_ioc.pv("sy"))
    assert sy.name == "sy" and sy.user_readback.name == "sy"
    assert (await sy.read())["sy"]["value"] == pytest.approx(await sy.user_readback.get_value())

    # inside a plan, ophyd-async's own stub connects through bluesky's wait_for message
    sx = Motor(sim_ioc.pv("m4"), name="sx")
    await RE(ensure_connected(sx))
    assert (await sx.locate())["readback"] == pytest.approx(await sx.user_readback.get_value())

    # the synchronous form runs the connection in bluesky's event loop, which acq has not
    # (another test's bluesky RunEngine in this process would have started one)
    monkeypatch.setattr("bluesky.run_engine._bluesky_event_loop", None)
    with pytest.raises(NotConnectedError, match="bluesky event loop"):
        with init_devices():
            Motor(sim_ioc.pv("sy"))


async def test_point_detector_over_a_stage_grid_reads_each_position(
    RE: RunEngine, docs: Docs
) -> None:
    """ophyd-async's tutorial beamline: SimStage x/y and SimPointDetector sharing a pattern."""
    pattern = PatternGenerator()
    stage = SimStage(pattern, name="stage")
    det = SimPointDetector(pattern, name="det")
    await stage.connect()
    await det.connect()
    await det.acquire_time.set(0.01)

    grid = plans.grid_scan([det], stage.x, -1, 1, 3, stage.y, -1, 1, 3)
    await RE(stage_wrapper(grid, [stage]))  # staging the stage feeds x/y to the pattern

    events = docs.events()
    assert len(events) == 9
    for event in events:
        data = event["data"]
        pattern.set_x(data["stage-x"])
        pattern.set_y(data["stage-y"])
        expected = int(pattern.generate_point(1) * 10000 * 0.01)
        assert data["det-channel-1-value"] == expected, data  # the value at this point
    assert len({e["data"]["det-channel-1-value"] for e in events}) > 1


async def test_ophyd_async_settings_plans_save_and_restore_a_device(RE: RunEngine) -> None:
    """ophyd-async's own plan stubs (built on bluesky's wait_for) on acq's engine."""
    motor = SimMotor(name="motor", instant=False)
    await motor.connect()
    await motor.velocity.set(3.0)

    saved = (await RE(get_current_settings(motor))).plan_result
    await motor.velocity.set(7.0)
    await RE(apply_settings(saved))

    assert saved[motor.velocity] == 3.0
    assert await motor.velocity.get_value() == 3.0


# -- a StandardDetector writing HDF5 ---------------------------------------------------


def _frames_in(uri: str, dataset: str) -> Any:
    path = uri.removeprefix("file://localhost")
    with h5py.File(path, "r") as f:
        return f[dataset][()]


async def test_file_writing_detector_in_a_step_scan(
    RE: RunEngine, docs: Docs, path_provider: StaticPathProvider
) -> None:
    motor = SimMotor(name="motor")
    det = SimBlobDetector(path_provider, name="det")
    await motor.connect()
    await det.connect()

    await RE(plans.scan([det], motor, -1.0, 1.0, 3))

    (descriptor,) = docs.named("descriptor")
    image = descriptor["data_keys"]["det"]
    assert image["external"] == "STREAM:" and image["shape"] == [1, 240, 320]
    resources = {d["data_key"]: d for d in docs.named("stream_resource")}
    assert set(resources) == {"det", "det-sum"}
    image_uid = resources["det"]["uid"]
    datums = [d for d in docs.named("stream_datum") if d["stream_resource"] == image_uid]
    assert [d["seq_nums"] for d in datums] == [{"start": i, "stop": i + 1} for i in (1, 2, 3)]
    assert [e["seq_num"] for e in docs.events()] == [1, 2, 3]
    names = docs.names()
    for event_index in [i for i, n in enumerate(names) if n == "event"]:
        assert names[event_index - 1] == "stream_datum"  # each frame referenced before its Event
    frames = _frames_in(resources["det"]["uri"], resources["det"]["parameters"]["dataset"])
    assert frames.shape == (3, 240, 320)
    sums = _frames_in(resources["det"]["uri"], resources["det-sum"]["parameters"]["dataset"])
    assert list(sums) == [int(frame.sum()) for frame in frames]


async def test_bluesky_plans_drive_ophyd_async_devices(
    RE: RunEngine, docs: Docs, path_provider: StaticPathProvider
) -> None:
    motor = SimMotor(name="motor", initial_value=1.0)
    det = SimBlobDetector(path_provider, name="det")
    await motor.connect()
    await det.connect()

    await RE(bp.rel_scan([det], motor, -1.0, 1.0, 3))

    assert docs.column("motor") == [0.0, 1.0, 2.0]
    assert await motor.user_readback.get_value() == 1.0  # rel_scan moved it back
    assert docs.by_name()["stream_datum"] == 6  # image and sum, at each point
    (start,) = docs.named("start")
    assert start["plan_name"] == "rel_scan" and start["detectors"] == ["det"]


async def test_file_writing_detector_is_a_flyer_of_the_fly_plan(
    RE: RunEngine, docs: Docs, path_provider: StaticPathProvider
) -> None:
    det = SimBlobDetector(path_provider, name="det")
    await det.connect()
    frames = 5

    async def prepared_fly() -> Any:
        yield bps.stage(det)
        yield bps.prepare(det, TriggerInfo(number_of_events=frames, livetime=0.01), wait=True)
        uid = yield plans.fly([det])
        yield bps.unstage(det)
        yield plan_return(uid)

    result = await RE(prepared_fly())

    assert result.exit_status == "success" and result.plan_result == result.run_uids[0]
    (stop,) = docs.named("stop")
    assert stop["num_events"] == {"primary": frames}
    resources = {d["data_key"]: d for d in docs.named("stream_resource")}
    for datum in docs.named("stream_datum"):  # one per data key, covering every frame
        assert datum["indices"] == {"start": 0, "stop": frames}
        assert datum["seq_nums"] == {"start": 1, "stop": frames + 1}
    written = _frames_in(resources["det"]["uri"], resources["det"]["parameters"]["dataset"])
    assert written.shape == (frames, 240, 320)


async def test_motor_flies_while_the_detector_takes_frames(
    RE: RunEngine, docs: Docs, path_provider: StaticPathProvider
) -> None:
    """bluesky's fly-scan pattern with plan stubs: prepare both, kick off both, complete
    both, collect the detector (a motor has nothing to collect)."""
    motor = SimMotor(name="motor", instant=False)
    det = SimBlobDetector(path_provider, name="det")
    await motor.connect()
    await det.connect()
    frames = 4
    trajectory = FlyMotorInfo(start_position=0.0, end_position=1.0, time_for_move=0.3)

    async def fly_motor_and_detector() -> Any:
        yield bps.open_run()
        yield bps.declare_stream(det, name="primary", collect=True)
        yield bps.kickoff(motor, group="kickoff")
        yield bps.kickoff(det, group="kickoff")
        yield bps.wait("kickoff")
        yield bps.complete(motor, group="complete")
        yield bps.complete(det, group="complete")
        yield bps.wait("complete")
        yield bps.collect(det)
        yield bps.close_run()

    async def plan() -> Any:
        yield bps.stage(det)
        yield bps.prepare(det, TriggerInfo(number_of_events=frames, livetime=0.01), wait=True)
        yield bps.prepare(motor, trajectory, wait=True)
        yield fly_motor_and_detector()
        yield bps.unstage(det)

    result = await RE(plan())

    assert result.exit_status == "success"
    assert await motor.user_readback.get_value() > 1.0  # flew through to its ramp-down end
    (stop,) = docs.named("stop")
    assert stop["num_events"] == {"primary": frames}
    assert {d["indices"]["stop"] for d in docs.named("stream_datum")} == {frames}

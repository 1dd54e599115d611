"""Classic ophyd (1.x) devices on acq's engine: threaded statuses awaited without blocking
the loop, `ophyd.sim`'s motors and detectors in acq's plans, monitors fed from ophyd's
threads, and `ophyd.EpicsMotor` (caproto control layer: pyepics is not installed) against
the sim IOC's motor record.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from compat_devices import RE, Docs, docs, motor_fields
from ophyd import EpicsMotor, EpicsSignalRO, Signal
from ophyd.sim import hw
from ophyd.status import DeviceStatus, Status

import plans
from acq import Msg, RunEngine, RunEnginePaused
from acq.bridged_status import BridgedStatus
from acq.progress import TerminalProgressBar
from acq.suspenders import SuspendFloor
from plans import stubs as bps

__all__ = ["RE", "docs", "motor_fields"]  # fixtures, imported for pytest


@pytest.fixture
def sim() -> Any:
    """Fresh ophyd.sim devices; the motors take 50 ms per move, finished by a thread."""
    devices = hw()
    for motor in (devices.motor, devices.motor1, devices.motor2):
        motor.delay = 0.05
    return devices


class Actuator:
    """A device whose set() returns whatever classic ophyd status the test hands it."""

    def __init__(self, make_status: Any) -> None:
        self.name = "actuator"
        self.parent = None
        self.make_status = make_status

    def set(self, value: Any) -> Any:
        return self.make_status(value)


def finish_later(status: Any, delay: float, error: Exception | None = None) -> None:
    def finish() -> None:
        if error is None:
            status.set_finished()
        else:
            status.set_exception(error)

    threading.Timer(delay, finish).start()


# -- threaded statuses -------------------------------------------------------------


async def test_a_status_finished_by_a_thread_never_blocks_the_loop(RE: RunEngine) -> None:
    statuses: list[Status] = []

    def make(value: Any) -> Status:
        status = Status()
        statuses.append(status)
        finish_later(status, 0.3)
        return status

    ticks_while_busy = 0

    async def tick() -> None:
        nonlocal ticks_while_busy
        while not (statuses and statuses[0].done):
            if statuses:
                ticks_while_busy += 1
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        await RE(bps.abs_set(Actuator(make), 1, wait=True))

    assert statuses[0].done and statuses[0].success
    assert ticks_while_busy >= 3, "the loop ran other tasks while ophyd's thread worked"


async def test_a_failed_status_raises_its_error_in_the_plan(RE: RunEngine) -> None:
    def make(value: Any) -> DeviceStatus:
        status = DeviceStatus(device=actuator)
        finish_later(status, 0.05, ValueError("limit switch hit"))
        return status

    actuator = Actuator(make)
    caught: list[BaseException] = []

    async def plan() -> Any:
        try:
            yield bps.abs_set(actuator, 5, wait=True)
        except ValueError as error:
            caught.append(error)

    await RE(plan())
    assert [str(e) for e in caught] == ["limit switch hit"]


async def test_a_wait_that_times_out_leaves_the_status_to_finish(RE: RunEngine) -> None:
    status = Status()
    actuator = Actuator(lambda value: status)
    seen: list[Any] = []

    async def plan() -> Any:
        yield Msg("set", actuator, 1, group="g")
        yield Msg("wait", None, group="g", timeout=0.05, error_on_timeout=False)
        seen.append(status.done)
        finish_later(status, 0.0)
        yield Msg("wait", None, group="g", timeout=10)
        seen.append(status.done)

    await RE(plan())
    assert seen == [False, True]


async def test_already_finished_status_is_done_at_once() -> None:
    status = Status()
    status.set_finished()
    status.wait(timeout=5)  # ophyd marks it done from its own thread
    bridged = BridgedStatus(status, "now")
    assert bridged.done and bridged.success  # no loop turn needed (bluesky's ramp_plan polls)


async def test_move_status_progress_reaches_the_progress_bar(docs: Docs) -> None:
    out = io.StringIO()
    engine = RunEngine(waiting_hook=TerminalProgressBar(file=out, delay=0.0))
    engine.subscribe(docs)
    sim = hw()
    motor = sim.motor
    motor.delay = 0.3

    await engine(bps.mv(motor, 2.0))

    assert motor.position == 2.0
    lines = out.getvalue().split("\x1b[2K")[1:]
    assert lines[-1].startswith("motor") and "100% 2.000/2.000 mm" in lines[-1], lines


# -- ophyd.sim in acq's plans --------------------------------------------------------


async def test_sim_motor_and_gaussian_detector_in_a_scan(
    RE: RunEngine, docs: Docs, sim: Any
) -> None:
    await RE(plans.scan([sim.det], sim.motor, -1.0, 1.0, 5))

    xs = np.array(docs.column("motor"))
    assert list(xs) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    expected = np.exp(-(xs**2) / (2 * 1.0**2))  # SynGauss: center 0, sigma 1, Imax 1
    assert np.allclose(docs.column("det"), expected)
    (descriptor,) = docs.named("descriptor")
    assert set(descriptor["data_keys"]) == {"motor", "motor_setpoint", "det"}
    assert descriptor["hints"]["det"] == {"fields": ["det"]}
    assert docs.named("start")[0]["motors"] == ["motor"]


async def test_two_motor_grid_over_det4(RE: RunEngine, docs: Docs, sim: Any) -> None:
    await RE(plans.grid_scan([sim.det4], sim.motor1, -1, 1, 3, sim.motor2, -1, 1, 3))

    assert len(docs.events()) == 9
    peak = max(docs.events(), key=lambda e: e["data"]["det4"])
    assert (peak["data"]["motor1"], peak["data"]["motor2"]) == (0, 0)


async def test_noisy_detector_counts(RE: RunEngine, docs: Docs, sim: Any) -> None:
    await RE(plans.count([sim.noisy_det], 5))

    values = docs.column("noisy_det")
    assert len(values) == 5 and len(set(values)) > 1  # noise: the readings differ


async def test_image_detector_writes_files_and_reports_resource_and_datum(
    RE: RunEngine, docs: Docs, tmp_path: Path
) -> None:
    sim = hw(save_path=str(tmp_path))  # its img writes one .npy file per trigger

    await RE(plans.count([sim.img], 3))

    (resource,) = docs.named("resource")
    assert resource["spec"] == "NPY_SEQ" and resource["run_start"] == docs.named("start")[0]["uid"]
    datums = {d["datum_id"]: d for d in docs.named("datum")}
    assert [e["data"]["img"] for e in docs.events()] == list(datums)  # each Event refers to one
    assert all(e["filled"] == {"img": False} for e in docs.events())
    for datum in datums.values():
        frame = np.load(
            Path(resource["root"])
            / f"{resource['resource_path']}_{datum['datum_kwargs']['index']}.npy"
        )
        assert frame.shape == (10, 10)


async def test_monitor_records_updates_from_ophyds_callbacks(
    RE: RunEngine, docs: Docs, sim: Any
) -> None:
    motor = sim.motor

    async def plan() -> Any:
        yield bps.open_run()
        yield bps.monitor(motor.readback, name="readback_monitor")
        yield bps.mv(motor, 1.0)
        yield bps.mv(motor, 2.0)
        yield bps.unmonitor(motor.readback)
        yield bps.close_run()

    await RE(plan())

    # ophyd calls back from the motor's timer thread; each move's end is one Event
    assert docs.column("motor", stream="readback_monitor") == [1.0, 2.0]
    (stop,) = docs.named("stop")
    assert stop["num_events"] == {"readback_monitor": 2}


async def test_acq_suspender_watches_an_ophyd_signal_set_from_a_thread(
    RE: RunEngine, docs: Docs, sim: Any
) -> None:
    beam = Signal(name="beam", value=100.0)
    RE.install_suspender(SuspendFloor(beam, 10.0))
    first_event = anyio.Event()
    RE.subscribe(lambda name, doc: first_event.set() if name == "event" else None)

    async def dump_and_refill() -> None:
        with anyio.fail_after(10):
            await first_event.wait()
        await anyio.to_thread.run_sync(beam.put, 1.0)  # ophyd calls back in that thread
        await anyio.sleep(0.2)
        await anyio.to_thread.run_sync(beam.put, 100.0)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(dump_and_refill)
            result = await RE(plans.count([sim.det], 6, delay=0.25))
    finally:
        RE.clear_suspenders()

    assert result.exit_status == "success" and result.interrupted
    assert docs.column("interruption", stream="interruptions") == ["suspend", "resume"]
    assert "beam = 1.0 < 10.0" in docs.column("reason", stream="interruptions")[0]
    assert len(docs.events()) == 6


# -- EpicsMotor over caproto against the sim IOC --------------------------------------


@pytest.fixture
def sy(sim_ioc: Any, motor_fields: tuple[str, ...]) -> Any:
    motor = EpicsMotor(sim_ioc.pv("sy"), name="sy")
    motor.wait_for_connection(timeout=10)  # before the test's loop runs anything
    motor.velocity.set(10.0).wait(10)
    motor.move(0.0, wait=True, timeout=30)
    yield motor
    motor.velocity.set(10.0).wait(10)
    motor.move(0.0, wait=True, timeout=30)
    motor.destroy()


async def test_epics_motor_steps_a_scan(RE: RunEngine, docs: Docs, sy: Any, sim_ioc: Any) -> None:
    readback = EpicsSignalRO(sim_ioc.pv("sy.RBV"), name="sy_rbv")
    await anyio.to_thread.run_sync(readback.wait_for_connection, 10)

    await RE(plans.scan([readback], sy, 0.0, 0.4, 3))

    assert docs.column("sy") == pytest.approx([0.0, 0.2, 0.4], abs=1e-3)
    assert docs.column("sy_rbv") == pytest.approx([0.0, 0.2, 0.4], abs=1e-3)
    (descriptor,) = docs.named("descriptor")
    assert descriptor["data_keys"]["sy"]["source"] == f"PV:{sim_ioc.pv('sy.RBV')}"
    readback.destroy()


async def test_pause_stops_the_epics_motor_mid_move(RE: RunEngine, docs: Docs, sy: Any) -> None:
    sy.velocity.set(1.0).wait(10)  # 3 mm take 3 s: plenty of time to pause half-way

    async def pause_when_moving() -> None:
        with anyio.fail_after(30):
            while not 0.2 < sy.position < 2.5:
                await anyio.sleep(0.02)
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when_moving)
        with pytest.raises(RunEnginePaused):
            await RE(plans.scan([sy], sy, 0.0, 3.0, 2))

    with anyio.fail_after(10):
        while sy.motor_is_moving.get() or not sy.motor_done_move.get():
            await anyio.sleep(0.05)
    held = sy.position
    assert 0.2 < held < 3.0, f"the pause should have stopped sy on its way; it is at {held}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.3:
        await anyio.sleep(0.05)
    assert sy.position == pytest.approx(held, abs=1e-3)

    await RE.abort("enough")
    assert docs.named("stop")[0]["exit_status"] == "abort"

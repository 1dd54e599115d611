"""Nothing moves after the user stopped it: stop, abort or halt of a paused or suspended
move, on the simulated IOC's motor record and on the sim motor; and the positive case,
a paused move resumed reaches its target exactly once.

The motor watched here is sy at 1 mm/s; the readback (50 Hz while moving) is recorded
from a CA monitor, so a re-issued put would show up as readback changes after the end.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from acq_helpers import Docs

from acq import Msg, RunEngine
from acq.errors import RunEnginePaused
from acq.suspenders import SuspendFloor
from devices import connect
from devices.aps import StorageRing
from devices.epics import EpicsMotor
from devices.sim import SimMotor
from devices.status import Status
from plans import stubs as bps

WATCH_AFTER_END = 3.0  # s the motor must sit still after the plan ended
ONE_UPDATE = 1.0 * 0.02 + 1e-6  # mm: 1 mm/s for one 20 ms readback tick


class Readbacks:
    """Every readback update of a signal, with its arrival time."""

    def __init__(self) -> None:
        self.values: list[tuple[float, float]] = []

    def __call__(self, value: float) -> None:
        self.values.append((time.monotonic(), value))

    def since(self, t: float) -> list[float]:
        return [v for when, v in self.values if when >= t]

    @property
    def latest(self) -> float:
        return self.values[-1][1]


async def _until(condition: Any, timeout: float, what: str) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


@asynccontextmanager
async def slow_motor(sim_ioc: Any, name: str) -> AsyncIterator[EpicsMotor]:
    """A motor record of the IOC at 1 mm/s, home before and after."""
    motor = EpicsMotor(sim_ioc.pv(name), name=name)
    await connect(motor, timeout=20)
    await motor.resume()
    await motor.velocity.set(10.0)
    await motor.set(0.0)
    await motor.velocity.set(1.0)
    try:
        yield motor
    finally:  # leave it usable and home for the next test, whatever happened
        await motor.resume()
        await motor.velocity.set(10.0)
        await motor.set(0.0)


@pytest.fixture
async def sy(sim_ioc: Any) -> AsyncIterator[EpicsMotor]:
    async with slow_motor(sim_ioc, "sy") as motor:
        yield motor


def move_plan(motor: Any, target: float) -> Any:
    async def plan() -> AsyncIterator[Any]:
        yield Msg("open_run", plan_name="move")
        yield Msg("checkpoint")
        yield bps.mv(motor, target)
        yield Msg("close_run")

    return plan()


async def _pause_mid_move(RE: RunEngine, motor: Any, rbv: Readbacks, past: float) -> None:
    """Run a 0 -> 5 move and pause it immediately once the readback passed `past`."""

    async def pause_when_past() -> None:
        await _until(lambda: rbv.values and rbv.latest > past, 20, "the move to start")
        RE.request_pause(defer=False, reason="test pause")

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when_past)
        with pytest.raises(RunEnginePaused):
            await RE(move_plan(motor, 5.0))
    assert RE.state == "paused"


async def _assert_still_for(
    rbv: Readbacks, motor: EpicsMotor, seconds: float, tol: float = ONE_UPDATE
) -> float:
    """The readback stays where the motor stopped (within one update) for `seconds`."""
    ended = time.monotonic()
    stopped_at = await motor.user_readback.get_value()
    await anyio.sleep(seconds)  # watching: a re-issued put would move it within this time
    after = rbv.since(ended)
    now = await motor.user_readback.get_value()
    assert abs(now - stopped_at) <= tol, (stopped_at, now)
    assert all(abs(v - stopped_at) <= tol for v in after), (stopped_at, after)
    assert await motor.motor_done_move.get_value() == 1
    # the record holds no target that a later Go could resume
    assert abs(await motor.user_setpoint.get_value() - now) <= tol
    return now


@pytest.mark.slow
@pytest.mark.parametrize("end", ["abort", "stop", "halt"])
async def test_pause_mid_move_then_end_leaves_the_epics_motor_where_it_stopped(
    RE: RunEngine, docs: Docs, sy: EpicsMotor, end: str
) -> None:
    rbv = Readbacks()
    sy.user_readback.subscribe_value(rbv)
    try:
        await _pause_mid_move(RE, sy, rbv, past=0.9)
        if end == "abort":
            result = await RE.abort("user abort")
        else:
            result = await getattr(RE, end)()
        assert result is not None
        assert result.exit_status == ("success" if end == "stop" else "abort")
        assert [d["exit_status"] for d in docs.of("stop")] == [result.exit_status]
        stopped_at = await _assert_still_for(rbv, sy, WATCH_AFTER_END)
        assert 0.9 < stopped_at < 2.5
        assert RE.state == "idle"
        # every interruption leaves the motor usable: the next move goes where it is told
        await sy.velocity.set(10.0)
        with anyio.fail_after(10):
            await sy.set(0.5)
        assert await sy.user_readback.get_value() == pytest.approx(0.5)
    finally:
        sy.user_readback.clear_sub(rbv)


@pytest.mark.slow
async def test_pause_mid_move_then_resume_reaches_the_target_exactly_once(
    RE: RunEngine, sy: EpicsMotor
) -> None:
    rbv = Readbacks()
    moves: list[int] = []
    sy.user_readback.subscribe_value(rbv)
    sy.motor_done_move.subscribe_value(lambda dmov: moves.append(dmov))
    try:
        await sy.velocity.set(2.0)
        await _pause_mid_move(RE, sy, rbv, past=0.9)
        held = await _assert_still_for(rbv, sy, 0.5, tol=2 * ONE_UPDATE)  # paused: holds
        moves.clear()
        resumed = time.monotonic()
        with anyio.fail_after(20):
            result = await RE.resume()
        assert result.exit_status == "success"
        assert await sy.user_readback.get_value() == pytest.approx(5.0)
        await _until(lambda: rbv.latest == pytest.approx(5.0), 5, "the last monitor update")
        after = rbv.since(resumed)
        # one monotonic trip from where it was held to the target: no second move
        assert after == sorted(after) and after[-1] == pytest.approx(5.0)
        assert min(after) >= held - ONE_UPDATE
        assert moves.count(0) == 1, moves  # DMOV went 1 -> 0 once
        await _assert_still_for(rbv, sy, 0.5, tol=2 * ONE_UPDATE)
    finally:
        sy.user_readback.clear_sub(rbv)


@pytest.mark.slow
@pytest.mark.parametrize("stop_when", ["the motor stopped", "the suspender trips"])
async def test_beam_dump_mid_move_then_stop_leaves_the_motor_where_it_stopped(
    RE: RunEngine, docs: Docs, sy: EpicsMotor, ring: StorageRing, stop_when: str
) -> None:
    """Stopped once the suspension holds the motor still, or at once: while the engine
    still stops the motor and runs the suspender's pre-plan (a stop then must not wait
    for the beam to come back)."""
    rbv = Readbacks()
    sy.user_readback.subscribe_value(rbv)

    def close_the_shutter() -> Any:  # a pre-plan that takes a while
        return bps.sleep(0.5)

    suspender = SuspendFloor(
        ring.current, 10.0, resume_thresh=90.0, sleep=0.2, pre_plan=close_the_shutter
    )
    RE.install_suspender(suspender)
    outcome: list[Any] = []

    async def run() -> None:
        outcome.append(await RE(move_plan(sy, 5.0)))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await _until(lambda: rbv.values and rbv.latest > 0.9, 20, "the move to start")
            await ring.dump.trigger()
            await _until(lambda: suspender.tripped, 10, "the suspender to trip")
            if stop_when == "the motor stopped":
                await _until(
                    lambda: len(rbv.values) > 1 and time.monotonic() - rbv.values[-1][0] > 0.3,
                    10,
                    "the motor to stop",
                )
            with anyio.fail_after(20):  # the beam is still gone
                result = await RE.stop()
            assert result is not None and result.exit_status == "success"
            await ring.refill.trigger()  # beam back: the stopped plan must not go on
            await _assert_still_for(rbv, sy, WATCH_AFTER_END)
        assert outcome and outcome[0].exit_status == "success" and outcome[0].interrupted
        kinds = [e["data"]["interruption"] for e in docs.stream("interruptions")]
        assert kinds == ["suspend"]
        assert docs.of("stop")[0]["exit_status"] == "success"
    finally:
        RE.clear_suspenders()
        sy.user_readback.clear_sub(rbv)


def move_with_cleanup(motor: Any, target: float, cleanup: Any) -> Any:
    """A move whose ``finally`` takes a while: `cleanup()` gives its messages, or awaits."""

    async def plan() -> AsyncIterator[Any]:
        yield Msg("open_run", plan_name="move")
        try:
            yield Msg("checkpoint")
            yield bps.mv(motor, target)
        finally:
            async for msg in cleanup():
                yield msg
        yield Msg("close_run")

    return plan()


@pytest.mark.slow
@pytest.mark.parametrize("end", ["stop", "abort"])
async def test_a_stopped_move_stops_at_once_though_the_plans_cleanup_takes_a_while(
    RE: RunEngine, docs: Docs, sy: EpicsMotor, end: str
) -> None:
    """The plan's ``finally`` closes a shutter for 1.5 s: the motor is stopped when the
    user stops, not once the cleanup is over (it drove on for 1.5 mm)."""
    rbv = Readbacks()
    sy.user_readback.subscribe_value(rbv)
    cleanup_ran: list[float] = []

    async def close_the_shutter() -> AsyncIterator[Any]:
        cleanup_ran.append(rbv.latest)
        yield Msg("sleep", None, 1.5)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(RE, move_with_cleanup(sy, 5.0, close_the_shutter))
            await _until(lambda: rbv.values and rbv.latest > 0.9, 20, "the move to start")
            with anyio.fail_after(20):
                result = await getattr(RE, end)()
        assert result is not None and cleanup_ran
        assert result.exit_status == ("success" if end == "stop" else "abort")
        stopped_at = await _assert_still_for(rbv, sy, 0.5)
        assert stopped_at < cleanup_ran[0] + 0.2  # (1.5 s of cleanup is 1.5 mm at 1 mm/s)
    finally:
        sy.user_readback.clear_sub(rbv)


@pytest.mark.slow
async def test_a_beam_dump_during_a_stops_cleanup_does_not_redo_the_stopped_move(
    RE: RunEngine, docs: Docs, sy: EpicsMotor, ring: StorageRing
) -> None:
    """Stopped mid-move; the beam dumps while the plan's ``finally`` runs, then comes
    back. The suspension re-does only the cleanup's own messages: the move the user
    stopped was re-done (the rewind kept the messages from before the stop)."""
    rbv = Readbacks()
    sy.user_readback.subscribe_value(rbv)
    cleaning = anyio.Event()
    stopped: list[float] = []

    async def close_the_shutter() -> AsyncIterator[Any]:
        stopped.append(rbv.latest)
        cleaning.set()
        yield Msg("sleep", None, 1.0)

    RE.install_suspender(SuspendFloor(ring.current, 10.0, resume_thresh=90.0))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(RE, move_with_cleanup(sy, 5.0, close_the_shutter))
            await _until(lambda: rbv.values and rbv.latest > 0.9, 20, "the move to start")

            async def dump_and_refill() -> None:
                await cleaning.wait()
                await ring.dump.trigger()
                await _until(lambda: RE.suspenders[0].tripped, 10, "the suspender to trip")
                await ring.refill.trigger()

            tg.start_soon(dump_and_refill)
            with anyio.fail_after(30):
                result = await RE.stop()
        assert result is not None and result.exit_status == "success"
        kinds = [e["data"]["interruption"] for e in docs.stream("interruptions")]
        assert kinds == ["suspend", "resume"]
        stopped_at = await _assert_still_for(rbv, sy, WATCH_AFTER_END)
        assert stopped_at < stopped[0] + 0.2  # (a re-done move drives on at 1 mm/s)
    finally:
        RE.clear_suspenders()
        sy.user_readback.clear_sub(rbv)


@pytest.mark.slow
async def test_halt_stops_the_motor_and_returns_though_the_plans_finally_hangs(
    RE: RunEngine, docs: Docs, sy: EpicsMotor
) -> None:
    """Halted mid-move, the plan's ``finally`` (run as halt closes the plan) awaits a
    service that never answers: the motor stops at once and the halt returns. Halt
    waited for the ``finally`` for ever, and stopped the motor only after it."""
    rbv = Readbacks()
    sy.user_readback.subscribe_value(rbv)
    never = anyio.Event()
    halted_at: list[float] = []

    async def tell_a_service_that_hangs() -> AsyncIterator[Any]:
        await never.wait()
        yield Msg("null")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(RE, move_with_cleanup(sy, 5.0, tell_a_service_that_hangs))
            await _until(lambda: rbv.values and rbv.latest > 0.9, 20, "the move to start")
            halted_at.append(rbv.latest)
            with anyio.fail_after(5):
                result = await RE.halt()
        assert result is not None and result.exit_status == "abort"
        assert RE.state == "idle" and docs.of("stop")[0]["exit_status"] == "abort"
        stopped_at = await _assert_still_for(rbv, sy, 0.5)
        assert stopped_at < halted_at[0] + 0.2
    finally:
        never.set()
        sy.user_readback.clear_sub(rbv)


@pytest.fixture
async def m2(sim_ioc: Any) -> AsyncIterator[EpicsMotor]:
    """A second motor record of the IOC."""
    async with slow_motor(sim_ioc, "m2") as motor:
        yield motor


@pytest.mark.slow
async def test_halt_ends_a_pre_plan_that_hangs_and_both_motors_stay_where_they_stopped(
    RE: RunEngine, docs: Docs, sy: EpicsMotor, m2: EpicsMotor, ring: StorageRing
) -> None:
    """The beam dumps mid-move; the suspender's pre-plan drives another motor out of the
    way and then waits for something that never comes. Halt ends it there: the
    pre-plan's move stops, and the suspended move is not taken up again."""
    sy_rbv, m2_rbv = Readbacks(), Readbacks()
    sy.user_readback.subscribe_value(sy_rbv)
    m2.user_readback.subscribe_value(m2_rbv)
    never = anyio.Event()

    def retract_then_hang() -> Any:
        async def plan() -> AsyncIterator[Any]:
            yield Msg("set", m2, 20.0, group="retract")  # 20 s at 1 mm/s
            await never.wait()

        return plan()

    RE.install_suspender(
        SuspendFloor(ring.current, 10.0, resume_thresh=90.0, pre_plan=retract_then_hang)
    )
    outcome: list[Any] = []

    async def run() -> None:
        outcome.append(await RE(move_plan(sy, 5.0)))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await _until(lambda: sy_rbv.values and sy_rbv.latest > 0.9, 20, "the move to start")
            await ring.dump.trigger()
            await _until(lambda: m2_rbv.values and m2_rbv.latest > 0.5, 20, "the retraction")
            with anyio.fail_after(10):  # the pre-plan never returns
                result = await RE.halt()
            assert result is not None and result.exit_status == "abort"
            await ring.refill.trigger()  # beam back: nothing may go on
            m2_at = await _assert_still_for(m2_rbv, m2, WATCH_AFTER_END)
            sy_at = await _assert_still_for(sy_rbv, sy, 0.5)
        assert 0.5 < m2_at < 5.0 and 0.9 < sy_at < 4.0
        assert outcome == [result] and RE.state == "idle"
        assert docs.of("stop")[0]["exit_status"] == "abort"
    finally:
        RE.clear_suspenders()
        sy.user_readback.clear_sub(sy_rbv)
        m2.user_readback.clear_sub(m2_rbv)


@pytest.mark.parametrize("end", ["abort", "stop", "halt"])
async def test_pause_mid_move_then_end_leaves_the_sim_motor_where_it_stopped(
    RE: RunEngine, end: str
) -> None:
    m = SimMotor("m", velocity=1.0)

    async def pause_when_moving() -> None:
        await _until(lambda: m.position > 0.2, 10, "the move to start")
        RE.request_pause(defer=False)

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when_moving)
        with pytest.raises(RunEnginePaused):
            await RE(move_plan(m, 5.0))
    await getattr(RE, end)()
    stopped_at = m.position
    await anyio.sleep(0.5)  # a sim motor that went on would have moved 0.5 by now
    assert m.position == stopped_at < 1.0
    with anyio.fail_after(10):
        await m.set(0.0)  # usable
    assert m.position == 0.0


class Recorder:
    """A pausable, stoppable device that records what the engine asks of it."""

    def __init__(self) -> None:
        self.name = "rec"
        self.parent = None
        self.calls: list[str] = []
        self.moving = anyio.Event()
        self.status = Status(name="rec move")

    def set(self, value: float) -> Status:
        self.calls.append("set")
        self.moving.set()
        return self.status

    def stop(self, success: bool = True) -> None:
        self.calls.append(f"stop({success})")
        if not self.status.done:
            self.status.set_exception(RuntimeError("stopped"))

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")


@pytest.mark.parametrize("end", ["abort", "stop", "halt"])
async def test_ending_a_paused_plan_stops_each_paused_device_before_lifting_the_pause(
    RE: RunEngine, end: str
) -> None:
    rec = Recorder()

    async def pause_when_moving() -> None:
        await rec.moving.wait()
        RE.request_pause(defer=False)

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when_moving)
        with pytest.raises(RunEnginePaused):
            await RE(move_plan(rec, 1.0))
    assert rec.calls == ["set", "stop(False)", "pause"]
    await getattr(RE, end)()
    assert rec.calls[3:] == ["stop(False)", "resume"]

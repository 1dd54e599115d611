"""Pause, resume, stop, abort, halt: from other tasks, from the plan, and from outside."""

from __future__ import annotations

import os
import queue
import signal
from pathlib import Path
from typing import Any

import anyio
import pytest
from acq_helpers import Docs, Pausable
from acq_plans import count, scan, trigger_and_read

import acq
from acq import (
    Msg,
    RunEngine,
    RunEngineBusy,
    RunEnginePaused,
    RunEngineStateError,
    plan_return,
)
from acq.suspenders import SuspendFloor
from devices import soft_signal_rw
from devices.sim import SimDetector, SimMotor


async def until(condition, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.005)


class Gate:
    """Lets a test hold the plan at a chosen point: ``yield from``-free, via a command."""

    def __init__(self, RE: RunEngine) -> None:
        self.reached = anyio.Event()
        self.release = anyio.Event()
        RE.register_command("gate", self._gate)

    async def _gate(self, msg: Msg) -> None:
        self.reached.set()
        await self.release.wait()


def interruptions(docs: Docs) -> list[str]:
    return [e["data"]["interruption"] for e in docs.stream("interruptions")]


async def run_that_pauses(obj: Any) -> Any:
    """A run that triggers `obj`, then pauses itself."""
    yield Msg("open_run")
    yield Msg("checkpoint")
    yield Msg("trigger", obj)
    yield Msg("pause")
    yield Msg("close_run")


async def pause_when(
    condition: anyio.Event, RE: RunEngine, defer: bool = False, delay: float = 0.0
) -> None:
    await condition.wait()
    await anyio.sleep(delay)
    RE.request_pause(defer=defer)


async def test_deferred_pause_waits_for_the_checkpoint_and_resume_finishes(RE, docs):
    det = SimDetector("det", SimMotor("m1"))
    third_event = anyio.Event()

    def watch(name, doc):
        if name == "event" and doc["seq_num"] == 3:
            third_event.set()

    RE.subscribe(watch, "event")
    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when, third_event, RE, True)

        async def slow_count():
            yield Msg("open_run")
            for _ in range(10):
                yield Msg("checkpoint")
                yield trigger_and_read([det])
                await anyio.sleep(0.005)  # plans may await between yields
            yield Msg("close_run")

        with pytest.raises(RunEnginePaused, match=r"await RE.resume\(\)") as paused:
            await RE(slow_count())
    # the report is the message, not the engine's internals: one frame, no chained context
    engine_dir = Path(acq.__file__).parent
    engine_frames = [e for e in paused.traceback if Path(e.path).parent == engine_dir]
    assert len(engine_frames) == 1 and paused.value.__suppress_context__
    assert RE.state == "paused"
    assert 3 <= len(docs.of("event")) < 10
    result = await RE.resume()
    assert result.exit_status == "success" and result.interrupted
    assert [e["seq_num"] for e in docs.stream("primary")] == list(range(1, 11))
    assert interruptions(docs) == ["pause", "resume"]
    assert RE.state == "idle"


async def test_immediate_pause_stops_the_motor_and_resume_redoes_the_step(RE, docs):
    m1 = SimMotor("m1", velocity=20.0)
    det = SimDetector("det", m1)
    moving = anyio.Event()

    async def plan():
        yield Msg("open_run")
        for x in (1.0, 2.0, 3.0):
            yield Msg("checkpoint")
            yield Msg("set", m1, x, group="move")
            if x == 2.0:
                moving.set()
            yield Msg("wait", None, group="move")
            yield trigger_and_read([m1, det])
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when, moving, RE, False, 0.02)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    stopped_at = m1.position
    assert 1.0 < stopped_at < 2.0  # stopped mid-move
    await anyio.sleep(0.05)
    assert m1.position == stopped_at  # and it stays stopped while paused
    await RE.resume()
    assert [e["data"]["m1"] for e in docs.stream("primary")] == [1.0, 2.0, 3.0]
    assert [e["seq_num"] for e in docs.stream("primary")] == [1, 2, 3]


async def test_pause_after_a_save_does_not_duplicate_the_event(RE, docs):
    det = SimDetector("det", SimMotor("m1"))
    saved = anyio.Event()
    gate = Gate(RE)

    async def plan():
        yield Msg("open_run")
        for i in range(3):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            if i == 1:
                saved.set()
                yield Msg("gate")  # the pause lands here, after the save
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_when, gate.reached, RE)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    gate.release.set()
    await RE.resume()
    assert [e["seq_num"] for e in docs.stream("primary")] == [1, 2, 3]


async def test_a_pause_message_pauses_for_the_user(RE, docs):
    det = SimDetector("det", SimMotor("m1"))

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield trigger_and_read([det])
        yield Msg("checkpoint")
        yield Msg("pause", None, defer=False)
        yield trigger_and_read([det])
        yield Msg("close_run")
        yield plan_return("done")

    with pytest.raises(RunEnginePaused):
        await RE(plan())
    assert len(docs.stream("primary")) == 1
    result = await RE.resume()
    assert result.plan_result == "done"
    assert len(docs.stream("primary")) == 2


async def test_while_paused_the_engine_refuses_a_new_plan_with_a_hint(RE):
    async def plan():
        yield Msg("checkpoint")
        yield Msg("pause")

    with pytest.raises(RunEnginePaused):
        await RE(plan())
    with pytest.raises(RunEngineBusy, match="resume"):
        await RE(plan())
    assert (await RE.stop()).exit_status == "success"
    assert RE.state == "idle"


async def test_calling_the_engine_while_it_runs_is_a_clear_error(RE):
    gate = Gate(RE)

    async def plan():
        yield Msg("gate")

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await gate.reached.wait()
        with pytest.raises(RunEngineBusy, match="running"):
            await RE(plan())
        gate.release.set()


async def test_idle_engine_refuses_pause_resume_stop(RE):
    with pytest.raises(RunEngineStateError):
        RE.request_pause()
    with pytest.raises(RunEngineStateError, match="nothing to resume"):
        await RE.resume()
    with pytest.raises(RunEngineStateError):
        await RE.stop()


async def test_stop_from_another_task_runs_the_plans_cleanup_and_succeeds(RE, docs):
    m1 = SimMotor("m1", velocity=5.0)
    cleanup = []

    async def plan():
        yield Msg("open_run")
        try:
            yield Msg("checkpoint")
            yield Msg("set", m1, 10.0, group="move")
            yield Msg("wait", None, group="move")
        finally:
            cleanup.append("ran")
            yield Msg("set", m1, 0.0, group="back")  # cleanup may still move things
            yield Msg("wait", None, group="back")
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await until(lambda: m1.position > 0)  # mid-move, however loaded the machine
        result = await RE.stop()
    assert result.exit_status == "success" and result.interrupted
    assert cleanup == ["ran"]
    assert m1.position == 0.0
    assert docs.of("stop")[0]["exit_status"] == "success"


async def test_abort_marks_the_run_aborted_with_the_reason(RE, docs):
    m1 = SimMotor("m1", velocity=5.0)
    det = SimDetector("det", m1)

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, scan([det], m1, [5.0, 10.0]))
        await until(lambda: m1.position > 0)  # mid-move, however loaded the machine
        result = await RE.abort("sample fell off")
    assert result.exit_status == "abort" and result.reason == "sample fell off"
    stop = docs.of("stop")[0]
    assert stop["exit_status"] == "abort" and stop["reason"] == "sample fell off"
    position = m1.position
    await anyio.sleep(0.05)
    assert m1.position == position  # the engine stopped the motor


async def test_halt_skips_the_plans_cleanup_but_stops_and_unstages(RE, docs):
    m1 = SimMotor("m1", velocity=5.0)
    cleanup = []
    unstaged = []

    class Stager:
        name = "stager"

        def stage(self):
            return None

        def unstage(self):
            unstaged.append(True)

    async def plan():
        yield Msg("open_run")
        yield Msg("stage", Stager())
        try:
            yield Msg("set", m1, 100.0, group="move")  # 20 s: halted mid-move
            yield Msg("wait", None, group="move")
        finally:
            cleanup.append("finally ran")
            yield Msg("set", m1, 0.0)  # not allowed to run after halt

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await until(lambda: m1.position > 0)  # mid-move, however loaded the machine
        result = await RE.halt()
    assert result.exit_status == "abort" and "halt" in result.reason
    assert cleanup == ["finally ran"]  # the finally block ran, but could not yield
    assert 0.0 < m1.position < 100.0
    assert unstaged == [True]
    assert docs.of("stop")[0]["exit_status"] == "abort"


@pytest.mark.parametrize("how", ["stop", "abort", "halt"])
async def test_ending_a_paused_plan(RE, docs, how):
    det = SimDetector("det", SimMotor("m1"))
    cleanup = []

    async def plan():
        yield Msg("open_run")
        try:
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            yield Msg("pause")
            yield trigger_and_read([det])
        finally:
            cleanup.append(how)
        yield Msg("close_run")

    with pytest.raises(RunEnginePaused):
        await RE(plan())
    result = await getattr(RE, how)()
    assert result.exit_status == {"stop": "success", "abort": "abort", "halt": "abort"}[how]
    assert cleanup == [how]
    assert len(docs.stream("primary")) == 1
    assert RE.state == "idle"


async def test_cancelling_the_caller_cleans_up_and_leaves_nothing_running(RE, docs):
    m1 = SimMotor("m1", velocity=5.0)
    det = SimDetector("det", m1)
    with anyio.move_on_after(0.05):
        await RE(scan([det], m1, [5.0, 10.0]))
    assert RE.state == "idle"
    await RE.flush()  # documents emitted during the cancellation wait in the queues
    assert docs.of("stop")[0]["exit_status"] == "abort"
    position = m1.position
    await anyio.sleep(0.05)
    assert m1.position == position


async def test_pause_where_the_plan_cannot_resume_aborts_with_a_reason(RE, docs):
    det = SimDetector("det", SimMotor("m1"))

    async def plan():
        yield Msg("open_run")
        yield Msg("clear_checkpoint")
        yield trigger_and_read([det])
        yield Msg("pause")
        yield Msg("close_run")

    result = await RE(plan())
    assert result.exit_status == "abort"
    assert "cannot be resumed" in result.reason


async def test_pausable_devices_are_paused_and_resumed(RE):
    obj = Pausable()

    async def plan():
        yield Msg("checkpoint")
        yield Msg("trigger", obj)
        yield Msg("pause")

    with pytest.raises(RunEnginePaused):
        await RE(plan())
    await RE.resume()
    assert obj.calls == ["pause", "resume"]


@pytest.mark.parametrize("end", ["stop", "abort", "halt"])
async def test_an_end_asked_while_the_engine_pauses_its_devices_is_not_lost(RE, docs, end):
    """The user ends the plan while the engine is still pausing a device that takes a
    moment: the plan ends (RE.stop() and friends do not return a paused engine)."""
    obj = Pausable(pause_takes=0.3)

    ended = []

    async def end_while_pausing():
        await obj.pausing.wait()
        with anyio.fail_after(10):
            ended.append(await getattr(RE, end)())

    async with anyio.create_task_group() as tg:
        tg.start_soon(end_while_pausing)
        result = await RE(run_that_pauses(obj))
    assert RE.state == "idle"
    assert result.exit_status == ("success" if end == "stop" else "abort")
    assert ended == [result]
    assert docs.of("stop")[0]["exit_status"] == result.exit_status
    assert obj.calls == ["pause", "stop", "resume"]  # stopped before its pause is lifted


async def test_monitors_are_muted_while_paused(RE, docs):
    temperature = soft_signal_rw(float, 1.0, "temperature")

    async def plan():
        yield Msg("open_run")
        yield Msg("monitor", temperature)
        yield Msg("checkpoint")
        yield Msg("pause")
        yield Msg("close_run")

    with pytest.raises(RunEnginePaused):
        await RE(plan())
    await temperature.set(2.0)  # while paused: not recorded
    await RE.resume()
    values = [e["data"]["temperature"] for e in docs.stream("temperature_monitor")]
    assert values == [1.0, 2.0]  # initial, and the value re-read at resume
    assert interruptions(docs) == ["pause", "resume"]


async def test_stop_from_inside_the_plans_own_code(RE, docs):
    det = SimDetector("det", SimMotor("m1"))

    async def plan():
        yield Msg("open_run")
        for i in range(100):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            if i == 2:
                assert await RE.stop() is None  # cannot wait for itself
        yield Msg("close_run")

    result = await RE(plan())
    assert result.exit_status == "success"
    assert len(docs.of("event")) == 3


async def test_a_plan_run_twice_after_completion(RE, docs):
    det = SimDetector("det", SimMotor("m1"))
    await RE(count([det], 1))
    await RE(count([det], 1))
    assert len(docs.of("stop")) == 2


async def test_halt_reaches_a_plan_awaiting_something_that_never_comes(RE, docs):
    never = anyio.Event()
    awaiting = anyio.Event()

    async def plan():
        yield Msg("open_run")
        awaiting.set()
        await never.wait()  # e.g. an analysis service that hangs
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await awaiting.wait()
        with anyio.fail_after(5):
            result = await RE.halt()
    assert result.exit_status == "abort" and "halt" in result.reason
    assert docs.of("stop")[0]["exit_status"] == "abort"


async def test_pause_waits_for_the_plans_own_code_to_reach_its_next_step(RE, docs):
    det = SimDetector("det", SimMotor("m1"))
    busy, release = anyio.Event(), anyio.Event()

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        busy.set()
        await release.wait()  # the plan's own await is not cancelled by a pause
        yield trigger_and_read([det])
        yield Msg("close_run")

    async def pause_then_release():
        await busy.wait()
        RE.request_pause()
        await anyio.sleep(0.02)
        release.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_then_release)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    assert docs.stream("primary") == []
    await RE.resume()
    assert len(docs.stream("primary")) == 1


async def test_a_pause_can_be_requested_from_another_thread(RE, docs):
    gate = Gate(RE)

    async def plan():
        yield Msg("checkpoint")
        yield Msg("gate")
        yield Msg("null")

    async def from_a_thread():
        await gate.reached.wait()
        await anyio.to_thread.run_sync(RE.request_pause)
        gate.release.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(from_a_thread)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    assert (await RE.resume()).exit_status == "success"


async def test_a_scan_that_never_waits_still_lets_other_tasks_in(RE, docs):
    det = SimDetector("det")  # every command completes without suspending

    async def pause_after(delay: float) -> None:
        await anyio.sleep(delay)
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_after, 0.05)
        with pytest.raises(RunEnginePaused):
            await RE(count([det], 1_000_000))
    # the pause task ran during the scan: it paused it part-way
    assert 0 < len(docs.stream("primary")) < 1_000_000
    await RE.abort("enough")


async def test_a_resume_while_a_suspender_is_tripped_leaves_the_devices_paused(RE, docs):
    """The beam dumps while the run is paused: resume() suspends at once and resumes the
    devices only once the beam is back (they were resumed first, with no beam)."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    RE.install_suspender(SuspendFloor(ring, 10.0, resume_thresh=90.0))
    obj = Pausable(reading=ring.get_value)

    with pytest.raises(RunEnginePaused):
        await RE(run_that_pauses(obj))
    await ring.set(0.0)  # the beam dumps while paused

    async def refill():
        await until(lambda: RE.suspenders[0].tripped and interruptions(docs)[-1] == "suspend")
        await ring.set(100.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(refill)
        result = await RE.resume()
    assert result.exit_status == "success"
    assert obj.calls == ["pause", ("resume", 100.0)]
    assert interruptions(docs) == ["pause", "suspend", "resume"]


@pytest.mark.parametrize("end", ["stop", "abort", "halt"])
async def test_an_end_asked_while_a_pausing_call_waits_for_its_subscribers_is_not_lost(
    RE, docs, end
):
    """The plan has paused and ``RE()`` waits for a slow subscriber before it returns:
    an end asked then ends the plan in that same call, which returns its result (the
    end returned an older result and left the plan paused, for the next resume)."""
    obj = Pausable()
    held, gate = slow_subscriber(RE)

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield Msg("trigger", obj)
        yield trigger_and_read([SimDetector("det", SimMotor("m1"))])
        yield Msg("pause")
        yield Msg("close_run")

    ended = []

    async def end_while_draining():
        await held.wait()
        await until(lambda: "pause" in obj.calls)  # paused: RE() now waits for `slow`
        await anyio.sleep(0.05)
        assert RE.state == "running"
        async with anyio.create_task_group() as tg:

            async def end_it():
                with anyio.fail_after(10):
                    ended.append(await getattr(RE, end)())

            tg.start_soon(end_it)
            await anyio.sleep(0.05)
            gate.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(end_while_draining)
        result = await RE(plan())
    assert RE.state == "idle"
    assert ended == [result] and result.run_uids == (docs.of("start")[0]["uid"],)
    assert result.exit_status == ("success" if end == "stop" else "abort")
    assert obj.calls == ["pause", "stop", "resume"]  # stopped, never resumed
    await RE.flush()
    assert docs.of("stop")[0]["exit_status"] == ended[0].exit_status


async def test_halt_cuts_short_a_finally_that_awaits_and_the_motor_stops_first(RE, docs):
    """Halt closes the plan, whose ``finally`` awaits something that never comes: the
    motor is stopped before that, and the halt returns (it hung in the ``finally``
    while the motor drove on)."""
    m1 = SimMotor("m1", velocity=5.0)
    never = anyio.Event()
    at_finally: list[float] = []

    async def plan():
        yield Msg("open_run")
        try:
            yield Msg("checkpoint")
            yield Msg("set", m1, 10.0, group="move")
            yield Msg("wait", None, group="move")
        finally:
            at_finally.append(m1.position)
            await never.wait()
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await until(lambda: m1.position > 1.0)
        with anyio.fail_after(5):
            result = await RE.halt()
    assert result.exit_status == "abort" and RE.state == "idle"
    assert at_finally and at_finally[0] < 3.0  # the motor had stopped when it ran
    stopped_at = m1.position
    await anyio.sleep(0.2)
    assert m1.position == stopped_at


async def test_a_second_stop_does_not_cut_the_plans_cleanup_short(RE, docs):
    """Stop pressed twice while the plan parks its motor in its ``finally``: the
    cleanup runs to its end (the second stop was thrown into it)."""
    m1 = SimMotor("m1", velocity=5.0)
    cleanup: list[str] = []

    async def plan():
        yield Msg("open_run")
        try:
            yield Msg("checkpoint")
            yield Msg("set", m1, 10.0, group="move")
            yield Msg("wait", None, group="move")
        finally:
            cleanup.append("started")
            yield Msg("set", m1, 0.0, group="park")
            yield Msg("wait", None, group="park")
            cleanup.append("finished")
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await until(lambda: m1.position > 1.0)
        tg.start_soon(RE.stop)
        await until(lambda: bool(cleanup))
        with anyio.fail_after(10):
            second = await RE.stop()
    assert second.exit_status == "success"
    assert cleanup == ["started", "finished"] and m1.position == 0.0


def slow_subscriber(RE: RunEngine) -> tuple[anyio.Event, anyio.Event]:
    """Subscribe one that holds at its first event until released: (held, release)."""
    held, release = anyio.Event(), anyio.Event()

    async def slow(name, doc):
        if name == "event":
            held.set()
            await release.wait()

    RE.subscribe(slow)
    return held, release


def pausing_plan(det: Any, cleanup: list[str]) -> Any:
    async def plan():
        yield Msg("open_run")
        try:
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            yield Msg("pause")
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            yield Msg("close_run")
        finally:
            cleanup.append("cleanup starts")
            yield Msg("sleep", None, 0.5)
            cleanup.append("cleanup ran to the end")

    return plan()


async def test_stop_then_halt_while_a_pausing_call_drains_halts(RE, docs):
    """Stop, then halt (the stop seemed to do nothing), both while the call that paused
    waits for a slow subscriber: the halt wins, skipping the cleanup, and both calls get
    its result (the halt got an older result and the cleanup ran)."""
    det = SimDetector("det", SimMotor("m1"))
    held, gate = slow_subscriber(RE)
    cleanup: list[str] = []
    ended: dict[str, Any] = {}

    async def end(kind: str) -> None:
        with anyio.fail_after(10):
            ended[kind] = await getattr(RE, kind)()

    async with anyio.create_task_group() as tg:

        async def stop_then_halt():
            await held.wait()
            await anyio.sleep(0.05)  # the call has paused and waits for `slow`
            tg.start_soon(end, "stop")
            await anyio.sleep(0.02)
            tg.start_soon(end, "halt")
            await anyio.sleep(0.02)
            gate.set()

        tg.start_soon(stop_then_halt)
        result = await RE(pausing_plan(det, cleanup))
    assert result.exit_status == "abort" and "halt" in result.reason
    assert ended == {"stop": result, "halt": result}
    assert "cleanup ran to the end" not in cleanup


async def test_a_critical_failure_while_a_pausing_call_drains_fails_the_run(RE, docs):
    """A critical subscriber (a catalog writer) fails on an event while the call that
    paused waits for it: the run fails and the error is raised (the failure was
    dropped, and resume() carried the run on to a successful stop)."""
    det = SimDetector("det", SimMotor("m1"))
    cleanup: list[str] = []

    async def writer(name, doc):
        if name == "event":
            await anyio.sleep(0.05)  # a database round trip; the engine pauses meanwhile
            raise OSError("disk full")

    RE.subscribe(writer, critical=True)
    with pytest.raises(acq.errors.CriticalSubscriberError, match="disk full"):
        await RE(pausing_plan(det, cleanup))
    assert RE.state == "idle" and RE.last_result.exit_status == "fail"
    assert cleanup == ["cleanup starts", "cleanup ran to the end"]
    assert [d["exit_status"] for d in docs.of("stop")] == ["fail"]


async def test_ctrl_c_halt_while_a_pausing_call_drains_halts(RE, docs):
    """The third Ctrl-C (halt) lands while the call that paused waits for a slow
    subscriber: the plan is halted (it printed "halting" and the engine stayed paused)."""
    det = SimDetector("det", SimMotor("m1"))
    held, gate = slow_subscriber(RE)
    cleanup: list[str] = []

    async def three_ctrl_c():
        await held.wait()
        await anyio.sleep(0.05)  # paused, draining
        for _ in range(3):  # pause at the next checkpoint, pause now, halt
            assert RE.state == "running"
            os.kill(os.getpid(), signal.SIGINT)
            await anyio.sleep(0.15)
        gate.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(three_ctrl_c)
        result = await RE(pausing_plan(det, cleanup))
    assert result.exit_status == "abort" and RE.state == "idle"
    assert "cleanup ran to the end" not in cleanup


async def test_a_stop_while_resume_lifts_the_pause_stops_the_devices_it_resumed(RE, docs):
    """The user stops while resume() is still resuming a device (a slow put): the
    device is stopped and released (it was left running: no longer counted as paused)."""
    obj = Pausable(resume_takes=0.3)
    with pytest.raises(RunEnginePaused):
        await RE(run_that_pauses(obj))
    async with anyio.create_task_group() as tg:
        tg.start_soon(RE.resume)
        await obj.resuming.wait()
        with anyio.fail_after(10):
            result = await RE.stop()
    assert result.exit_status == "success" and RE.state == "idle"
    assert obj.calls == ["pause", "resume", "stop", "resume"]  # stopped, then released


async def test_a_subscriber_that_aborts_the_run_does_not_hold_up_the_call_or_the_next(RE, docs):
    """A watchdog subscriber awaits ``RE.abort()`` on bad data: the run ends at once,
    and the next plan runs undisturbed. (The call's end waited for the subscriber,
    which waited for the call: 5 s, then it was cancelled and its document delivered
    again at the next call, which it aborted too.)"""
    det = SimDetector("det", SimMotor("m1"))
    answers: list[Any] = []

    async def watchdog(name, doc):
        if name == "event" and doc["seq_num"] == 3 and not answers:
            answers.append(await RE.abort("bad data"))

    RE.subscribe(watchdog)
    RE.subscriber_stall_timeout = 30.0  # a wait for the watchdog would show as a hang

    async def slow_count(n):
        yield Msg("open_run")
        for _ in range(n):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            yield Msg("sleep", None, 0.01)
        yield Msg("close_run")

    with anyio.fail_after(10):
        first = await RE(slow_count(1000))
    assert first.exit_status == "abort" and first.reason == "bad data"
    assert answers == [None]  # asked from a subscriber: it cannot wait for the call's end
    with anyio.fail_after(10):
        second = await RE(slow_count(5))
    assert second.exit_status == "success"
    assert [d["exit_status"] for d in docs.of("stop")] == ["abort", "success"]


async def test_a_stage_cut_short_by_a_pause_is_done_again_at_resume(RE, docs):
    """A pause while a detector stages (several puts) cuts its stage() short: at resume
    it is staged again before it is triggered (the re-done stage was skipped as done)."""

    class SlowStager:
        name = "cam"
        parent = None

        def __init__(self) -> None:
            self.log: list[str] = []
            self.staging = anyio.Event()

        async def stage(self) -> None:
            self.log.append("stage begins")
            self.staging.set()
            await anyio.sleep(0.3)
            self.log.append("stage done")

        def unstage(self) -> None:
            self.log.append("unstage")

        def trigger(self) -> None:
            self.log.append("trigger")

    cam = SlowStager()

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield Msg("stage", cam)
        yield Msg("trigger", cam)
        yield Msg("unstage", cam)
        yield Msg("close_run")

    async def pause_while_staging():
        await cam.staging.wait()
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_while_staging)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    result = await RE.resume()
    assert result.exit_status == "success"
    assert cam.log == ["stage begins", "stage begins", "stage done", "trigger", "unstage"]


async def test_a_pause_inside_unmonitor_does_not_redo_it_at_resume(RE, docs):
    """A pause lands inside ``unmonitor`` (the monitor already ended, the engine lets
    queued updates in): resume goes on after it (it re-did the unmonitor, which raised
    IllegalMessageSequence into the plan)."""
    temperature = soft_signal_rw(float, 1.0, "temperature")

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield Msg("monitor", temperature)
        yield Msg("null")
        yield Msg("unmonitor", temperature)
        yield Msg("close_run")

    async def pause_in_unmonitor():
        with anyio.fail_after(10):
            while True:  # (the window is one loop turn: watch the engine's current step)
                ex = RE._ex
                if ex is not None and ex.current is not None and ex.current[0] == "unmonitor":
                    RE.request_pause(reason="user")
                    return
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_in_unmonitor)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    result = await RE.resume()
    assert result.exit_status == "success"


async def test_an_answer_typed_after_a_pause_during_input_reaches_the_resumed_plan(RE, docs):
    """A pause while the plan asks the user (``Msg("input")``): at resume the same
    question waits for the same reader, and the answer reaches the plan. (The reader was
    abandoned and a second one started: the answer went to the first, and the resumed
    plan waited for ever.)"""
    typed: queue.Queue[str] = queue.Queue()
    asked: list[str] = []

    def keyboard(prompt: str) -> str:  # like input(): blocks its thread until a line comes
        asked.append(prompt)
        return typed.get(timeout=20)

    RE.input_function = keyboard
    answers = []

    async def plan():
        yield Msg("checkpoint")
        answers.append((yield Msg("input", prompt="sample name? ")))

    async def pause_while_asking():
        await until(lambda: bool(asked))
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_while_asking)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    async with anyio.create_task_group() as tg:
        tg.start_soon(RE.resume)
        typed.put("Si")
    assert answers == ["Si"] and asked == ["sample name? "] and RE.state == "idle"

"""Suspenders pause the plan while a condition holds and resume by themselves after it."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from acq_helpers import Docs, Pausable
from acq_plans import trigger_and_read

from acq import Msg, RunEngine, RunEnginePaused
from acq.suspenders import (
    SuspendBoolHigh,
    SuspendBoolLow,
    SuspendCeil,
    SuspendFloor,
    SuspendWhenChanged,
    SuspendWhenOutsideBand,
)
from devices import soft_signal_rw
from devices.sim import SimDetector, SimMotor


def interruptions(docs: Docs) -> list[tuple[str, str]]:
    return [(e["data"]["interruption"], e["data"]["reason"]) for e in docs.stream("interruptions")]


async def slow_scan(dets, motor, points, pause_between=0.01):
    yield Msg("open_run")
    for x in points:
        yield Msg("checkpoint")
        yield Msg("set", motor, x, group="m")
        yield Msg("wait", None, group="m")
        yield trigger_and_read([motor, *dets])
        await anyio.sleep(pause_between)
    yield Msg("close_run")


@pytest.mark.parametrize(
    ("suspender", "bad", "good"),
    [
        (lambda s: SuspendFloor(s, 10.0, resume_thresh=50.0), 5.0, 60.0),
        (lambda s: SuspendCeil(s, 10.0, resume_thresh=5.0), 11.0, 4.0),
        (lambda s: SuspendBoolHigh(s), 1.0, 0.0),
        (lambda s: SuspendBoolLow(s), 0.0, 1.0),
        (lambda s: SuspendWhenOutsideBand(s, 0.0, 10.0), 11.0, 5.0),
    ],
)
def test_conditions(suspender, bad, good):
    s = suspender(None)
    assert s.should_suspend(bad) and not s.should_suspend(good)
    assert s.should_resume(good) and not s.should_resume(bad)


def test_floor_hysteresis_resumes_only_above_the_resume_threshold():
    s = SuspendFloor(None, 10.0, resume_thresh=50.0)
    assert not s.should_resume(30.0) and s.should_resume(50.0)
    with pytest.raises(ValueError, match="resume_thresh"):
        SuspendFloor(None, 10.0, resume_thresh=5.0)


def test_pre_plan_must_be_a_function_returning_a_plan():
    async def close_shutter():
        yield Msg("null")

    with pytest.raises(TypeError, match="function that returns a plan"):
        SuspendFloor(None, 1.0, pre_plan=close_shutter())


async def test_beam_loss_suspends_and_the_scan_resumes_by_itself(RE: RunEngine, docs: Docs):
    ring = soft_signal_rw(float, 100.0, "ring_current")
    shutter = soft_signal_rw(str, "open", "shutter")
    m1 = SimMotor("m1", velocity=50.0)
    det = SimDetector("det", m1)
    shutter_log = []

    async def close_shutter():
        shutter_log.append("close")
        yield Msg("set", shutter, "closed", group="shutter")
        yield Msg("wait", None, group="shutter")

    async def open_shutter():
        shutter_log.append("open")
        yield Msg("set", shutter, "open", group="shutter")
        yield Msg("wait", None, group="shutter")

    RE.install_suspender(
        SuspendFloor(
            ring,
            10.0,
            resume_thresh=50.0,
            sleep=0.05,
            pre_plan=close_shutter,
            post_plan=open_shutter,
        )
    )
    fourth = anyio.Event()

    def watch(name, doc):
        if name == "event" and doc["data"].get("m1") == 3.0:
            fourth.set()

    RE.subscribe(watch, "event")

    async def beam_dump_and_refill():
        await fourth.wait()
        await ring.set(0.0)
        await anyio.sleep(0.1)
        assert RE.state == "running"  # suspended inside the call, not paused for the user
        await ring.set(30.0)  # above the floor, below resume_thresh: still suspended
        await anyio.sleep(0.05)
        await ring.set(100.0)

    points = [float(x) for x in range(10)]
    async with anyio.create_task_group() as tg:
        tg.start_soon(beam_dump_and_refill)
        result = await RE(slow_scan([det], m1, points))
    assert result.exit_status == "success" and result.interrupted
    assert [e["data"]["m1"] for e in docs.stream("primary")] == points
    assert [e["seq_num"] for e in docs.stream("primary")] == list(range(1, 11))
    kinds = interruptions(docs)
    assert [k for k, _ in kinds] == ["suspend", "resume"]
    assert "ring_current = 0.0 < 10.0" in kinds[0][1]
    assert shutter_log == ["close", "open"]
    RE.clear_suspenders()


async def test_a_tripped_suspender_holds_the_start_of_a_plan(RE, docs):
    ring = soft_signal_rw(float, 0.0, "ring_current")
    RE.install_suspender(SuspendFloor(ring, 10.0))
    det = SimDetector("det", SimMotor("m1"))
    started = []

    async def plan():
        started.append(anyio.current_time())
        yield Msg("open_run")
        yield trigger_and_read([det])
        yield Msg("close_run")

    async def refill():
        await anyio.sleep(0.05)
        await ring.set(100.0)

    t0 = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(refill)
        await RE(plan())
    assert started[0] - t0 >= 0.05
    RE.clear_suspenders()


@pytest.mark.parametrize("bluesky_form", [False, True], ids=["obj", "bluesky-args"])
async def test_suspenders_installed_by_a_plan_are_removed_at_its_end(RE, bluesky_form):
    ring = soft_signal_rw(float, 100.0, "ring_current")
    suspender = SuspendFloor(ring, 10.0)
    where = (None, suspender) if bluesky_form else (suspender,)
    seen = []

    async def plan():
        yield Msg("install_suspender", *where)
        seen.append(RE.suspenders)
        yield Msg("null")
        yield Msg("remove_suspender", *where)
        seen.append(RE.suspenders)
        yield Msg("install_suspender", *where)

    await RE(plan())
    assert seen == [(suspender,), ()]
    assert RE.suspenders == ()
    await ring.set(0.0)  # no longer watched
    assert not suspender.tripped


async def test_stop_while_suspended(RE, docs):
    ring = soft_signal_rw(float, 100.0, "ring_current")
    RE.install_suspender(SuspendFloor(ring, 10.0))
    det = SimDetector("det", SimMotor("m1"))

    first_point = anyio.Event()
    RE.subscribe(lambda name, doc: first_point.set(), "event")

    async def plan():
        yield Msg("open_run")
        for _ in range(3):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            await first_point.wait()  # the dump comes mid-run, however loaded the machine
        yield Msg("close_run")

    async def dump_then_stop():
        await first_point.wait()
        await ring.set(0.0)
        with anyio.fail_after(10):
            while not RE.suspenders[0].tripped:
                await anyio.sleep(0.01)
        await RE.stop()

    async with anyio.create_task_group() as tg:
        tg.start_soon(dump_then_stop)
        result = await RE(plan())
    assert result.exit_status == "success" and result.interrupted
    assert docs.of("stop")[0]["exit_status"] == "success"
    RE.clear_suspenders()


async def test_when_changed_pauses_for_the_user(RE, docs):
    mode = soft_signal_rw(str, "normal", "machine_mode")
    RE.install_suspender(SuspendWhenChanged(mode))
    det = SimDetector("det", SimMotor("m1"))

    async def plan():
        yield Msg("open_run")
        for i in range(3):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            if i == 0:
                await mode.set("top-up")
        yield Msg("close_run")

    with pytest.raises(RunEnginePaused, match="machine_mode changed to 'top-up'"):
        await RE(plan())
    await mode.set("normal")
    await RE.resume()
    assert len(docs.stream("primary")) == 3
    RE.clear_suspenders()


@pytest.mark.parametrize(
    ("make", "good", "bad"),
    [
        (lambda s, **kw: SuspendFloor(s, 10.0, resume_thresh=50.0, **kw), 100.0, 5.0),
        (lambda s, **kw: SuspendCeil(s, 10.0, resume_thresh=5.0, **kw), 1.0, 11.0),
        (lambda s, **kw: SuspendBoolHigh(s, **kw), 0.0, 1.0),
        (lambda s, **kw: SuspendBoolLow(s, **kw), 1.0, 0.0),
        (lambda s, **kw: SuspendWhenOutsideBand(s, 0.0, 10.0, **kw), 5.0, 11.0),
        (lambda s, **kw: SuspendWhenChanged(s, allow_resume=True, **kw), 2.0, 3.0),
    ],
    ids=["floor", "ceil", "bool-high", "bool-low", "outside-band", "when-changed"],
)
async def test_every_suspender_kind_runs_its_plans_waits_its_delay_and_resumes(
    RE: RunEngine, docs: Docs, make, good, bad
):
    watched = soft_signal_rw(float, good, "watched")
    m1 = SimMotor("m1")
    det = SimDetector("det", m1)
    side_plans: list[tuple[str, float]] = []
    resume_delay = 0.2

    def side_plan(label: str):
        async def plan():
            side_plans.append((label, anyio.current_time()))
            yield Msg("null")

        return plan

    suspender = make(
        watched, sleep=resume_delay, pre_plan=side_plan("pre"), post_plan=side_plan("post")
    )
    RE.install_suspender(suspender)
    cleared_at: list[float] = []

    async def scan():
        yield Msg("open_run")
        for i, x in enumerate([0.0, 1.0, 2.0, 3.0]):
            yield Msg("checkpoint")
            yield Msg("set", m1, x, group="m")
            yield Msg("wait", None, group="m")
            yield trigger_and_read([m1, det])
            if i == 1:
                await watched.set(bad)  # trips between two steps of the plan
        yield Msg("close_run")

    async def clear_once_suspended():
        with anyio.fail_after(10):
            while not side_plans:
                await anyio.sleep(0.005)
        cleared_at.append(anyio.current_time())
        await watched.set(good)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(clear_once_suspended)
            with anyio.fail_after(20):
                result = await RE(scan())
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success" and result.interrupted
    assert [e["data"]["m1"] for e in docs.stream("primary")] == [0.0, 1.0, 2.0, 3.0]
    assert [e["seq_num"] for e in docs.stream("primary")] == [1, 2, 3, 4]
    kinds = interruptions(docs)
    assert [k for k, _ in kinds] == ["suspend", "resume"]
    assert kinds[0][1].startswith(f"{type(suspender).__name__}: watched")
    assert [label for label, _ in side_plans] == ["pre", "post"]
    # the post plan (and the resumed scan) waited the resume delay after the clear
    assert side_plans[1][1] - cleared_at[0] >= resume_delay


async def test_halt_reaches_a_pre_plan_that_never_returns(RE: RunEngine, docs: Docs):
    """A suspender's pre-plan that hangs (a shutter that never reports closed) must not
    make the engine unstoppable: halt ends it, and the motor it started stops."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    m1 = SimMotor("m1", velocity=50.0)
    retract = SimMotor("retract", velocity=1.0)
    det = SimDetector("det", m1)
    never = anyio.Event()
    cleanup: list[str] = []

    async def retract_then_hang():
        try:
            yield Msg("set", retract, 100.0, group="retract")  # 100 s at 1 mm/s
            await never.wait()  # the plan's own code waits for something that never comes
        finally:
            cleanup.append("pre-plan closed")

    RE.install_suspender(SuspendFloor(ring, 10.0, resume_thresh=50.0, pre_plan=retract_then_hang))
    outcome = []

    async def run():
        outcome.append(await RE(slow_scan([det], m1, [0.0, 1.0, 2.0, 3.0])))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            with anyio.fail_after(10):
                while len(docs.stream("primary")) < 2:
                    await anyio.sleep(0.005)
            await ring.set(0.0)
            with anyio.fail_after(10):
                while retract.position < 0.1:
                    await anyio.sleep(0.005)
            with anyio.fail_after(5):  # the pre-plan would take 100 s, and then hang
                result = await RE.halt()
    finally:
        RE.clear_suspenders()
    assert result is not None and result.exit_status == "abort"
    assert outcome == [result] and RE.state == "idle"
    assert cleanup == ["pre-plan closed"]
    stopped_at = retract.position
    await anyio.sleep(0.3)  # a motor that went on would have moved 0.3 by now
    assert retract.position == stopped_at < 5.0
    assert docs.of("stop")[0]["exit_status"] == "abort"


async def test_a_stop_asked_while_the_post_plan_runs_never_resumes_the_devices(
    RE: RunEngine, docs: Docs
):
    """The beam is back and the post-plan runs (reopening the shutter) when the user
    stops: the paused devices are stopped and released, never resumed first."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    obj = Pausable()
    post_plan_running = anyio.Event()

    def reopen_the_shutter():
        async def plan():
            post_plan_running.set()
            yield Msg("sleep", None, 0.3)

        return plan()

    RE.install_suspender(SuspendFloor(ring, 10.0, resume_thresh=50.0, post_plan=reopen_the_shutter))

    async def beam_dump_refill_then_stop():
        with anyio.fail_after(10):
            while "pause" not in obj.calls:
                await anyio.sleep(0.005)
        await ring.set(100.0)
        await post_plan_running.wait()
        with anyio.fail_after(10):
            stopped.append(await RE.stop())

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield Msg("trigger", obj)
        await ring.set(0.0)  # the beam dumps while it acquires
        yield Msg("checkpoint")
        yield Msg("close_run")

    stopped: list = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(beam_dump_refill_then_stop)
            with anyio.fail_after(20):
                result = await RE(plan())
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success" and stopped == [result]
    assert obj.calls == ["pause", "stop", "resume"]  # stopped before its pause is lifted
    assert docs.of("stop")[0]["exit_status"] == "success"


@pytest.mark.parametrize("order", ["pause, then the beam dumps", "the beam dumps, then pause"])
async def test_a_users_pause_is_not_lost_to_a_suspension_asked_at_the_same_time(
    RE: RunEngine, docs: Docs, order: str
):
    """Both wait for the plan's next step: the engine pauses for the user, and the
    beam coming back does not carry the plan on (the suspension replaced the pause)."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    RE.install_suspender(SuspendFloor(ring, 10.0, resume_thresh=50.0))
    det = SimDetector("det", SimMotor("m1"))
    busy, release = anyio.Event(), anyio.Event()

    async def plan():
        yield Msg("open_run")
        for i in range(3):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            if i == 0:
                busy.set()
                await release.wait()  # the plan's own code: requests wait for its yield
        yield Msg("close_run")

    async def ask_both():
        await busy.wait()
        if order.startswith("pause"):
            RE.request_pause(reason="user pause")
            await ring.set(0.0)
        else:
            await ring.set(0.0)
            RE.request_pause(reason="user pause")
        release.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask_both)
            with pytest.raises(RunEnginePaused, match="user pause"):
                await RE(plan())
        await ring.set(100.0)
        assert RE.state == "paused"
        result = await RE.resume()
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success"
    assert [k for k, _ in interruptions(docs)] == ["pause", "resume"]


async def test_a_beam_dump_while_resume_lifts_the_pause_pauses_the_devices_again(
    RE: RunEngine, docs: Docs
):
    """The beam dumps while resume() resumes a device: it is paused again for the
    suspension, whose pre-plan runs once (the device ran on with the beam down, and
    the pre-plan ran twice)."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    pre_plans: list[str] = []

    def close_the_shutter():
        async def plan():
            pre_plans.append("close")
            yield Msg("null")

        return plan()

    RE.install_suspender(SuspendFloor(ring, 10.0, resume_thresh=50.0, pre_plan=close_the_shutter))
    obj = Pausable(resume_takes=0.3)

    async def plan():
        yield Msg("open_run")
        yield Msg("checkpoint")
        yield Msg("trigger", obj)
        yield Msg("pause")
        yield Msg("close_run")

    try:
        with pytest.raises(RunEnginePaused):
            await RE(plan())
        async with anyio.create_task_group() as tg:

            async def dump_then_refill():
                await obj.resuming.wait()
                await ring.set(0.0)
                with anyio.fail_after(10):
                    while not pre_plans:
                        await anyio.sleep(0.005)
                assert obj.calls == ["pause", "resume", "pause"]  # paused again
                await ring.set(100.0)

            tg.start_soon(dump_then_refill)
            with anyio.fail_after(20):
                result = await RE.resume()
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success"
    assert pre_plans == ["close"]
    assert obj.calls == ["pause", "resume", "pause", "resume"]
    assert [k for k, _ in interruptions(docs)] == ["pause", "suspend", "resume"]


def shutter_plans(shutter: Any, log: list[str]) -> dict[str, Any]:
    """A suspender's pre-plan closing `shutter` and post-plan opening it, logged."""

    def move(to: str):
        def side_plan():
            async def plan():
                log.append(to)
                yield Msg("set", shutter, to, group="shutter")
                yield Msg("wait", None, group="shutter")

            return plan()

        return side_plan

    return {"pre_plan": move("closed"), "post_plan": move("open")}


def paced_scan(det: Any, first: anyio.Event, n: int = 10):
    async def plan():
        yield Msg("open_run")
        for i in range(n):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            if i == 0:
                first.set()
            yield Msg("sleep", None, 0.02)
        yield Msg("close_run")

    return plan()


async def test_a_second_suspender_tripping_during_a_suspension_owes_the_first_its_post_plan(
    RE: RunEngine, docs: Docs
):
    """The beam dumps (its suspender closes the shutter); a cryo fault trips a second
    suspender meanwhile; both clear: the shutter is opened again before the scan goes
    on (only the second suspension's post-plan ran: the scan went on with it closed)."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    cryo_fault = soft_signal_rw(int, 0, "cryo_fault")
    shutter = soft_signal_rw(str, "open", "shutter")
    log: list[str] = []
    RE.install_suspender(
        SuspendFloor(ring, 10.0, resume_thresh=50.0, **shutter_plans(shutter, log))
    )
    RE.install_suspender(SuspendBoolHigh(cryo_fault))
    first = anyio.Event()

    async def faults():
        await first.wait()
        await ring.set(0.0)
        with anyio.fail_after(10):
            while not log:
                await anyio.sleep(0.005)
        await cryo_fault.set(1)
        with anyio.fail_after(10):
            while len(interruptions(docs)) < 2:
                await anyio.sleep(0.005)
        await cryo_fault.set(0)
        await ring.set(100.0)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(faults)
            result = await RE(paced_scan(SimDetector("det", SimMotor("m1")), first))
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success"
    assert log == ["closed", "open"] and await shutter.get_value() == "open"


async def test_a_suspension_paused_by_the_user_runs_its_post_plan_at_resume(
    RE: RunEngine, docs: Docs
):
    """The beam dumps (the shutter is closed), the user pauses while the engine waits
    for it, the beam comes back, the user resumes: the shutter is opened before the
    scan goes on (the resumed scan ran with it closed)."""
    ring = soft_signal_rw(float, 100.0, "ring_current")
    shutter = soft_signal_rw(str, "open", "shutter")
    log: list[str] = []
    RE.install_suspender(
        SuspendFloor(ring, 10.0, resume_thresh=50.0, **shutter_plans(shutter, log))
    )
    first = anyio.Event()
    seen: list[str] = []

    async def watch(name, doc):
        if name == "event" and len(log) == 2:
            seen.append(await shutter.get_value())

    RE.subscribe(watch)

    async def dump_then_pause():
        await first.wait()
        await ring.set(0.0)
        with anyio.fail_after(10):
            while not log:
                await anyio.sleep(0.005)
        RE.request_pause(reason="lunch")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(dump_then_pause)
            with pytest.raises(RunEnginePaused, match="lunch"):
                await RE(paced_scan(SimDetector("det", SimMotor("m1")), first))
        await ring.set(100.0)  # the beam is back while paused
        result = await RE.resume()
    finally:
        RE.clear_suspenders()
    assert result.exit_status == "success"
    assert log == ["closed", "open"] and await shutter.get_value() == "open"
    assert seen and set(seen) == {"open"}  # every event after the resume saw it open

"""What bluesky users do with their RunEngine, on acq's: ``bps.wait_for``, ``bps.input_plan``,
``rewindable``, ``subs_wrapper``, ``SupplementalData`` in ``RE.preprocessors`` (around
bluesky's plans and acq's), ``msg_hook``, ``state_hook``, ``declare_stream``, ``RE_class``,
and plans given as lists of messages.
Devices: acq's hardware-free ones (``devices.sim``), which bluesky's plans accept as they are.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import pytest
from bluesky.suspenders import SuspendBoolHigh
from bluesky.suspenders import SuspendFloor as BlueskySuspendFloor
from bluesky.utils import Msg as BlueskyMsg
from ophyd import Signal

import plans
from acq import RunEngine, RunEnginePaused, WaitTimeout
from acq.plan_stack import PlanAwaited
from acq.suspenders import SuspendFloor
from devices.sim import SimDetector, SimMotor, soft_signal_rw
from plans import stubs as acq_bps
from plans import wrappers as acq_bpp


class Docs:
    def __init__(self) -> None:
        self.all: list[tuple[str, dict]] = []

    def __call__(self, name: str, doc: dict) -> None:
        self.all.append((name, doc))

    def events(self, stream: str = "primary") -> list[dict]:
        uids = {d["uid"] for n, d in self.all if n == "descriptor" and d["name"] == stream}
        return [d for n, d in self.all if n == "event" and d["descriptor"] in uids]


@pytest.fixture
def docs() -> Docs:
    return Docs()


@pytest.fixture
async def RE(tmp_path: Any, docs: Docs) -> Any:
    engine = RunEngine(state_dir=str(tmp_path), waiting_hook=None, handle_sigint=False)
    engine.subscribe(docs)
    yield engine
    await engine.flush(timeout=10)


@pytest.fixture
def motor() -> SimMotor:
    return SimMotor("motor", velocity=1000.0)


@pytest.fixture
def det(motor: SimMotor) -> SimDetector:
    return SimDetector("det", motor, center=0.0, width=1.0, peak=10.0)


async def test_await_RE_of_bluesky_scan_returns_its_run_uid(RE, docs, motor, det):
    result = await RE(bp.scan([det], motor, -1, 1, 11))
    assert result.plan_result == result.run_uids[0]
    assert [e["seq_num"] for e in docs.events()] == list(range(1, 12))
    assert [round(e["data"]["motor"], 6) for e in docs.events()][::5] == [-1.0, 0.0, 1.0]


async def test_wait_for_awaits_the_plans_own_coroutines_in_the_engines_loop(RE, motor):
    loop = asyncio.get_running_loop()
    seen = []

    async def in_the_loop():
        seen.append(asyncio.get_running_loop() is loop)
        return "ready"

    def plan():
        futures = yield from bps.wait_for([in_the_loop])
        return futures[0].result()

    assert (await RE(plan())).plan_result == "ready"
    assert seen == [True]


async def test_wait_for_timeout_fails_the_plan_and_leaves_nothing_running(RE):
    never = asyncio.Event()

    def plan():
        yield from bps.wait_for([never.wait], timeout=0.05)

    with pytest.raises(WaitTimeout, match="not done"):
        await RE(plan())  # the autouse fixture fails the test if a task is left behind


async def test_input_plan_asks_the_input_function(RE):
    RE.input_function = lambda prompt: {"Sample? ": "Si"}[prompt]  # sync: a worker thread

    def plan():
        answer = yield from bps.input_plan("Sample? ")
        return answer

    assert (await RE(plan())).plan_result == "Si"


async def test_rewindable_false_makes_a_pause_abort_instead_of_rewinding(RE, docs, motor, det):
    states = []

    def plan():
        states.append((yield BlueskyMsg("rewindable", None, None)))
        yield from bp.count([det], 5, delay=0.1)  # long enough to be paused on a busy machine

    async def pause_once_running():
        with anyio.fail_after(10):
            while not docs.events():
                await anyio.sleep(0.005)
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_once_running)
        result = await RE(bpp.rewindable_wrapper(plan(), False))
    assert states == [False]  # inside the wrapper
    assert result.exit_status == "abort" and "cannot be resumed" in result.reason
    assert RE.state == "idle"


async def test_rewindable_true_pauses_and_resumes(RE, docs, motor, det):
    async def pause_once_running():
        with anyio.fail_after(10):
            while not docs.events():
                await anyio.sleep(0.005)
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_once_running)
        with pytest.raises(RunEnginePaused):
            await RE(bpp.rewindable_wrapper(bp.count([det], 5, delay=0.1), True))
    result = await RE.resume()
    assert result.exit_status == "success"
    assert [e["seq_num"] for e in docs.events()] == [1, 2, 3, 4, 5]


async def test_subs_wrapper_subscribes_for_the_plan_only(RE, motor, det):
    seen: list[str] = []
    await RE(bpp.subs_wrapper(bp.count([det], 2), {"all": [lambda name, doc: seen.append(name)]}))
    await RE.flush(timeout=10)
    assert seen == ["start", "descriptor", "event", "event", "stop"]
    await RE(bp.count([det], 1))
    await RE.flush(timeout=10)
    assert len(seen) == 5  # unsubscribed when the plan ended


async def test_bluesky_supplemental_data_in_RE_preprocessors(RE, docs, motor, det):
    ring = soft_signal_rw(float, 100.0, "ring")
    RE.preprocessors.append(bpp.SupplementalData(baseline=[motor], monitors=[ring]))
    result = await RE(bp.scan([det], motor, -1, 1, 3))
    assert result.exit_status == "success"
    assert len(docs.events("baseline")) == 2
    assert len(docs.events("ring_monitor")) >= 1
    start = docs.all[0][1]
    assert start["plan_name"] == "scan"


async def test_msg_hook_sees_every_message_and_state_hook_every_change(RE, motor, det):
    commands: list[str] = []
    states: list[tuple[str, str]] = []
    RE.msg_hook = lambda msg: commands.append(msg.command)
    RE.state_hook = lambda new, old: states.append((new, old))
    await RE(bp.count([det]))
    assert commands[0] == "stage" and "open_run" in commands and "unstage" in commands
    assert commands.index("close_run") < commands.index("unstage")
    assert states == [("running", "idle"), ("idle", "running")]


async def test_a_failing_msg_hook_fails_the_step_at_the_plans_yield(RE, det):
    def hook(msg):
        if msg.command == "trigger":
            raise RuntimeError("hook refused the trigger")

    RE.msg_hook = hook
    with pytest.raises(RuntimeError, match="hook refused"):
        await RE(bp.count([det]))
    assert RE.last_result.exit_status == "fail"


async def test_declare_stream_and_RE_class(RE, docs, motor, det):
    classes = []

    @bpp.run_decorator()
    def plan():
        classes.append((yield BlueskyMsg("RE_class")))
        yield from bps.declare_stream(det, motor, name="primary")
        yield from bps.trigger_and_read([det, motor])

    result = await RE(plan())
    assert classes == [RunEngine] and result.plan_result == result.run_uids[0]
    assert len(docs.events()) == 1


async def test_a_list_of_messages_is_a_plan(RE, docs, det):
    await RE(
        [
            BlueskyMsg("open_run"),
            BlueskyMsg("create", name="primary"),
            BlueskyMsg("read", det),
            BlueskyMsg("save"),
            BlueskyMsg("close_run"),
        ]
    )
    assert len(docs.events()) == 1


async def test_bluesky_preprocessors_wrap_acq_plans_through_a_plain_generator_view(
    RE, docs, motor, det
):
    ring = soft_signal_rw(float, 100.0, "ring")
    RE.preprocessors.append(bpp.SupplementalData(baseline=[motor], monitors=[ring]))
    await motor.set(1.0)
    result = await RE(plans.rel_scan([det], motor, -1, 1, 3))
    assert result.exit_status == "success" and result.plan_result == result.run_uids[0]
    assert [round(e["data"]["motor"], 6) for e in docs.events()] == [0.0, 1.0, 2.0]
    assert len(docs.events("baseline")) == 2 and docs.events("ring_monitor")
    assert motor.position == pytest.approx(1.0)  # moved back, by the relative plan


async def test_an_acq_plan_that_awaits_between_messages_needs_acqs_preprocessors(RE, det):
    async def waits_for_analysis():
        yield plans.count([det])
        await anyio.sleep(0.001)  # e.g. asks an analysis service
        yield acq_bps.null()

    RE.preprocessors.append(bpp.SupplementalData(baseline=[det]))
    with pytest.raises(PlanAwaited, match=r"plans\.wrappers"):
        await RE(waits_for_analysis())
    RE.preprocessors[:] = [acq_bpp.SupplementalData(baseline=[det])]  # runs in the loop
    assert (await RE(waits_for_analysis())).exit_status == "success"
    # a plain function using acq's wrappers gets the view, and the wrapper unwraps it
    RE.preprocessors[:] = [lambda plan: acq_bpp.baseline_wrapper(plan, [det])]
    assert (await RE(waits_for_analysis())).exit_status == "success"


async def test_bluesky_suspender_on_an_acq_signal_suspends_and_resumes(RE, docs, det):
    ring = soft_signal_rw(float, 100.0, "ring_current")
    shutter = soft_signal_rw(str, "open", "shutter")
    suspender = BlueskySuspendFloor(
        ring, 10.0, resume_thresh=50.0, pre_plan=lambda: bps.mv(shutter, "closed")
    )
    RE.install_suspender(suspender)

    async def beam_dump_and_refill() -> None:
        with anyio.fail_after(10):
            while not docs.events():
                await anyio.sleep(0.005)
            await ring.set(0.0)
            while await shutter.get_value() != "closed":  # the pre_plan ran
                await anyio.sleep(0.005)
        await ring.set(100.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(beam_dump_and_refill)
        result = await RE(bp.count([det], 8, delay=0.1))  # room for the dump on a busy machine
    assert result.exit_status == "success" and result.interrupted
    assert [e["seq_num"] for e in docs.events()] == list(range(1, 9))
    reasons = [e["data"]["reason"] for e in docs.events("interruptions")]
    assert reasons[0].startswith("SuspendFloor: ring_current = 0.0")
    RE.remove_suspender(suspender)
    assert RE.suspenders == ()


async def test_bluesky_suspend_wrapper_with_a_classic_ophyd_signal(RE, docs, det):
    fault = Signal(name="fault", value=0)
    events_before_fault = 2

    def plan():
        for _ in range(8):
            yield from bps.checkpoint()
            yield from bps.trigger_and_read([det])
            yield from bps.sleep(0.1)

    async def fault_then_clear() -> None:
        with anyio.fail_after(10):
            while len(docs.events()) < events_before_fault:
                await anyio.sleep(0.005)
        await anyio.to_thread.run_sync(fault.put, 1)  # ophyd calls back from this thread
        with anyio.fail_after(10):
            while not docs.events("interruptions"):
                await anyio.sleep(0.005)
        await anyio.to_thread.run_sync(fault.put, 0)

    wrapped = bpp.suspend_wrapper(bpp.run_wrapper(plan()), SuspendBoolHigh(fault, sleep=0.01))
    async with anyio.create_task_group() as tg:
        tg.start_soon(fault_then_clear)
        result = await RE(wrapped)
    assert result.exit_status == "success" and result.interrupted
    assert [e["seq_num"] for e in docs.events()] == list(range(1, 9))
    kinds = [e["data"]["interruption"] for e in docs.events("interruptions")]
    assert kinds == ["suspend", "resume"]
    assert RE.suspenders == ()  # the wrapper removed it


async def test_per_call_subscribers_as_bluesky_takes_them(RE, det):
    everything: list[str] = []
    events: list[int] = []
    await RE(bp.count([det], 2), lambda name, doc: everything.append(name), purpose="test")
    await RE(bp.count([det], 3), {"event": [lambda name, doc: events.append(doc["seq_num"])]})
    await RE(bp.count([det], 1))  # the per-call subscribers are gone
    assert everything == ["start", "descriptor", "event", "event", "stop"]
    assert events == [1, 2, 3]
    with pytest.raises(TypeError, match="not callable"):
        await RE(bp.count([det]), ["not a callback"])


async def test_a_suspender_installed_before_the_loop_on_an_ophyd_signal_resumes_on_the_clear(
    RE, docs, det
):
    """A startup file installs an acq suspender (no loop runs yet) on a classic ophyd
    signal, whose callbacks come from the control layer's threads: the clear, from such
    a thread, resumes the scan. (It set the engine's event from that thread, which does
    not wake a loop with nothing else to do: the scan stayed suspended.)"""
    ring = Signal(name="ring_current", value=100.0)
    suspender = SuspendFloor(ring, 10.0, resume_thresh=50.0)
    await anyio.to_thread.run_sync(RE.install_suspender, suspender)  # no running loop there
    refill = threading.Timer(0.3, ring.put, args=(100.0,))  # the beam is back, from a thread

    async def plan():
        yield acq_bps.open_run()
        for i in range(3):
            yield acq_bps.checkpoint()
            yield acq_bps.trigger_and_read([det])
            if i == 0:
                ring.put(0.0)  # the beam dumps
                refill.start()
        yield acq_bps.close_run()

    try:
        with anyio.fail_after(10):  # nothing else wakes the loop while it is suspended
            result = await RE(plan())
    finally:
        refill.cancel()
        RE.remove_suspender(suspender)
    assert result.exit_status == "success" and result.interrupted
    assert [e["data"]["interruption"] for e in docs.events("interruptions")] == [
        "suspend",
        "resume",
    ]

"""Every built-in command on sim devices: what it does, what the plan gets back."""

from __future__ import annotations

import anyio
import pytest
from acq_helpers import Docs
from acq_plans import count, scan, trigger_and_read

from acq import IllegalMessageSequence, Msg, RunEngine, UnknownCommand, WaitTimeout, plan_return
from devices import soft_signal_rw
from devices.sim import SimDetector, SimMotor


@pytest.fixture
def m1() -> SimMotor:
    return SimMotor("m1")


@pytest.fixture
def det(m1: SimMotor) -> SimDetector:
    return SimDetector("det", m1, center=0.0, width=1.0, peak=100.0)


async def test_count_emits_start_descriptor_events_stop(RE: RunEngine, docs: Docs, det):
    result = await RE(count([det], 3))
    assert docs.names == ["start", "descriptor", "event", "event", "event", "stop"]
    assert result.exit_status == "success" and not result.interrupted
    assert result.run_uids == (docs.of("start")[0]["uid"],)
    assert [e["seq_num"] for e in docs.of("event")] == [1, 2, 3]
    assert docs.of("event")[0]["data"] == {"det": 100.0}
    stop = docs.of("stop")[0]
    assert stop["exit_status"] == "success" and stop["num_events"] == {"primary": 3}


async def test_scan_moves_the_motor_and_reads_it_with_the_detector(RE, docs, m1, det):
    await RE(scan([det], m1, [-1.0, 0.0, 1.0]))
    events = docs.of("event")
    assert [e["data"]["m1"] for e in events] == [-1.0, 0.0, 1.0]
    assert events[1]["data"]["det"] == pytest.approx(100.0)
    assert events[0]["data"]["det"] == pytest.approx(100.0 * 2.718281828**-0.5)
    descriptor = docs.of("descriptor")[0]
    assert descriptor["object_keys"]["m1"][0] == "m1"
    assert "m1" in descriptor["configuration"]  # velocity etc. recorded once
    assert descriptor["hints"]["det"]["fields"] == ["det"]


async def test_read_returns_the_reading_outside_an_event(RE, det):
    async def plan():
        reading = yield Msg("read", det)
        yield plan_return(reading)

    result = await RE(plan())
    assert result.plan_result["det"]["value"] == 100.0


async def test_set_returns_a_status_and_wait_waits_for_its_group(RE, m1):
    m1.velocity  # noqa: B018
    slow = SimMotor("slow", velocity=20.0)

    async def plan():
        status = yield Msg("set", slow, 1.0, group="A")
        assert not status.done
        yield Msg("wait", None, group="A")
        yield plan_return(status.done)

    result = await RE(plan())
    assert result.plan_result is True
    assert slow.position == 1.0


async def test_wait_timeout_names_the_busy_device(RE):
    slow = SimMotor("slow", velocity=1.0)

    async def plan():
        yield Msg("set", slow, 5.0, group="A")
        yield Msg("wait", None, group="A", timeout=0.05)

    with pytest.raises(WaitTimeout, match=r"slow \(set\)"):
        await RE(plan())
    # the engine stopped the motor that was still moving when the plan failed
    assert slow.position < 5.0


async def test_wait_raises_a_failed_status_at_the_plans_yield(RE):
    limited = SimMotor("lim", limits=(-1, 1))
    caught = []

    async def plan():
        try:
            yield Msg("set", limited, 5.0)
        except Exception as error:
            caught.append(type(error).__name__)
        yield Msg("null")

    await RE(plan())
    assert caught == ["MotorLimitError"]


async def test_trigger_of_a_slow_detector_is_waited_for(RE, docs, m1):
    slow_det = SimDetector("sdet", m1, exposure=0.02)

    async def plan():
        yield Msg("open_run")
        status = yield Msg("trigger", slow_det, group="t")
        assert not status.done
        yield Msg("wait", None, group="t")
        yield plan_return(status.done)
        yield Msg("close_run")

    assert (await RE(plan())).plan_result is True


async def test_sleep_sleeps(RE):
    async def plan():
        yield Msg("sleep", None, 0.05)

    start = anyio.current_time()
    await RE(plan())
    assert anyio.current_time() - start >= 0.05


async def test_drop_discards_the_open_event(RE, docs, det):
    async def plan():
        yield Msg("open_run")
        yield Msg("create", None, name="primary")
        yield Msg("read", det)
        yield Msg("drop")
        yield trigger_and_read([det])
        yield Msg("close_run")

    await RE(plan())
    assert len(docs.of("event")) == 1


async def test_save_without_reads_emits_nothing(RE, docs):
    async def plan():
        yield Msg("open_run")
        yield Msg("create", None, name="primary")
        yield Msg("save")
        yield Msg("close_run")

    await RE(plan())
    assert docs.names == ["start", "stop"]


async def test_declare_stream_emits_the_descriptor_up_front(RE, docs, det):
    async def plan():
        yield Msg("open_run")
        descriptor = yield Msg("declare_stream", None, det, name="primary")
        assert descriptor["name"] == "primary"
        yield trigger_and_read([det])
        yield Msg("close_run")

    await RE(plan())
    assert docs.names == ["start", "descriptor", "event", "stop"]


async def test_stage_and_unstage_and_the_engine_unstages_what_the_plan_left(RE, det):
    calls = []

    class Stager:
        name = "stager"

        async def stage(self):
            calls.append("stage")

        async def unstage(self):
            calls.append("unstage")

    stager = Stager()

    async def plan():
        yield Msg("stage", stager)
        yield Msg("stage", stager)  # a second stage is ignored
        yield Msg("unstage", stager)
        yield Msg("stage", stager)  # left staged: the engine unstages it

    await RE(plan())
    assert calls == ["stage", "unstage", "stage", "unstage"]


async def test_stop_locate_configure(RE, docs, m1, det):
    async def plan():
        yield Msg("set", m1, 2.0, group="g")
        yield Msg("wait", None, group="g")
        location = yield Msg("locate", m1)
        both = yield Msg("locate", m1, det.center)
        yield Msg("stop", m1)
        yield plan_return((location, both))

    location, both = (await RE(plan())).plan_result
    assert location == {"setpoint": 2.0, "readback": 2.0}
    assert both[1]["readback"] == 0.0


async def test_configure_makes_a_new_descriptor_with_continued_numbering(RE, docs, det):
    class Configurable:
        name = "conf"

        def __init__(self):
            self.gain = 1

        async def read(self):
            return {"conf": {"value": self.gain, "timestamp": 0.0}}

        async def describe(self):
            return {"conf": {"dtype": "integer", "shape": [], "source": "test"}}

        async def read_configuration(self):
            return {"conf_gain": {"value": self.gain, "timestamp": 0.0}}

        async def describe_configuration(self):
            return {"conf_gain": {"dtype": "integer", "shape": [], "source": "test"}}

        def configure(self, gain):
            old = self.gain
            self.gain = gain
            return ({"gain": old}, {"gain": gain})

    conf = Configurable()

    async def plan():
        yield Msg("open_run")
        yield trigger_and_read([conf])
        yield Msg("configure", conf, 5)
        yield trigger_and_read([conf])
        yield Msg("close_run")

    await RE(plan())
    descriptors = docs.of("descriptor")
    assert [d["configuration"]["conf"]["data"]["conf_gain"] for d in descriptors] == [1, 5]
    assert [e["seq_num"] for e in docs.of("event")] == [1, 2]


async def test_null_and_checkpoint_outside_a_run(RE):
    async def plan():
        yield Msg("null")
        yield Msg("checkpoint")
        yield Msg("clear_checkpoint")

    assert (await RE(plan())).exit_status == "success"


async def test_subscribe_and_unsubscribe_from_a_plan(RE, det):
    got = []

    async def plan():
        token = yield Msg("subscribe", None, lambda name, doc: got.append(name), "event")
        yield count([det], 2)
        yield Msg("unsubscribe", None, token=token)
        yield count([det], 1)

    await RE(plan())
    assert got == ["event", "event"]


async def test_plan_subscriptions_end_with_the_plan(RE, det):
    got = []

    async def plan():
        yield Msg("subscribe", None, lambda name, doc: got.append(name), "start")
        yield count([det], 1)

    await RE(plan())
    await RE(count([det], 1))
    assert got == ["start"]


async def test_custom_commands(RE):
    async def shout(msg: Msg) -> str:
        return str(msg.obj).upper()

    RE.register_command("shout", shout)
    assert "shout" in RE.commands

    async def plan():
        loud = yield Msg("shout", "hello")
        yield plan_return(loud)

    assert (await RE(plan())).plan_result == "HELLO"


async def test_unknown_command_raises_in_the_plan(RE):
    async def plan():
        yield Msg("teleport", None)

    with pytest.raises(UnknownCommand, match=r"teleport.*register_command"):
        await RE(plan())


async def test_illegal_sequences_are_clear(RE, det):
    async def save_without_create():
        yield Msg("open_run")
        yield Msg("save")

    with pytest.raises(IllegalMessageSequence, match="'save' without 'create'"):
        await RE(save_without_create())

    async def create_without_run():
        yield Msg("create", None, name="primary")

    with pytest.raises(IllegalMessageSequence, match="needs an open run"):
        await RE(create_without_run())

    async def checkpoint_in_event():
        yield Msg("open_run")
        yield Msg("create", None, name="primary")
        yield Msg("checkpoint")

    with pytest.raises(IllegalMessageSequence, match="between 'create' and 'save'"):
        await RE(checkpoint_in_event())

    async def different_devices_in_one_stream():
        yield Msg("open_run")
        yield trigger_and_read([det])
        yield trigger_and_read([det, det.center])

    with pytest.raises(IllegalMessageSequence, match="use another stream name"):
        await RE(different_devices_in_one_stream())


async def test_a_signal_with_a_soft_backend_can_be_read_and_set(RE, docs):
    x = soft_signal_rw(float, 1.5, "x")

    async def plan():
        yield Msg("set", x, 2.5, group="s")
        yield Msg("wait", None, group="s")
        yield count([x], 1)

    await RE(plan())
    assert docs.of("event")[0]["data"] == {"x": 2.5}


async def test_wait_can_move_on_after_a_timeout(RE):
    slow = SimMotor("slow", velocity=1.0)

    async def plan():
        yield Msg("set", slow, 2.0, group="A")  # 2 s: the 0.05 s wait ends mid-move
        yield Msg("wait", None, group="A", timeout=0.05, error_on_timeout=False)
        early = slow.position
        yield Msg("wait", None, group="A")  # the move is still in its group
        yield plan_return((early, slow.position))

    early, final = (await RE(plan())).plan_result
    assert 0.0 <= early < 2.0 and final == 2.0


async def test_stop_stops_a_moving_device_and_its_wait_ends(RE):
    slow = SimMotor("slow", velocity=1.0)

    async def plan():
        status = yield Msg("set", slow, 100.0, group="A")
        yield Msg("sleep", None, 0.05)
        yield Msg("stop", slow)
        yield Msg("wait", None, group="A")
        where = yield Msg("locate", slow)
        yield plan_return((status.done, where))

    with anyio.fail_after(30):  # a hang guard: the full move would take 100 s
        result = await RE(plan())
    done, where = result.plan_result
    assert done and result.exit_status == "success"
    assert 0.0 < where["readback"] < 100.0
    assert where["setpoint"] == where["readback"]  # stopped where it was


async def test_the_plan_and_its_commands_run_in_the_callers_task_and_thread(RE, det):
    import asyncio
    import threading

    seen = []

    async def where(msg: Msg) -> None:
        seen.append(("command", asyncio.current_task(), threading.get_ident()))

    RE.register_command("where", where)

    async def plan():
        seen.append(("plan", asyncio.current_task(), threading.get_ident()))
        yield Msg("where")
        yield count([det], 1)
        seen.append(("plan", asyncio.current_task(), threading.get_ident()))

    caller = (asyncio.current_task(), threading.get_ident())
    await RE(plan())
    assert [s[0] for s in seen] == ["plan", "command", "plan"]
    assert all((task, thread) == caller for _, task, thread in seen)

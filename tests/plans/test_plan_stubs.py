"""Plan stubs: the messages each one yields and the value it returns."""

import pytest
from plan_helpers import Done, FakeDetector, FakeMotor, drive

from acq.msg import Msg
from plans import stubs as bps

m1, m2 = FakeMotor("m1"), FakeMotor("m2")


class EveryVerbDetector(FakeDetector):
    """A detector with every method a stub may name (plans never call them themselves)."""

    def _never(self, *args, **kwargs):
        raise AssertionError("plans must not call device methods themselves")

    stop = configure = subscribe = prepare = kickoff = complete = _never
    describe_collect = stage = unstage = _never


class Suspender:
    def install(self, on_trip):
        raise AssertionError("the engine installs suspenders, not the plan")

    def remove(self):
        raise AssertionError("the engine removes suspenders, not the plan")


det = EveryVerbDetector("det")
suspender = Suspender()


async def test_mv_starts_all_moves_in_one_group_then_waits_once():
    rec = await drive(bps.mv(m1, 1, m2, 2, timeout=5))
    assert rec.commands == ["set", "set", "wait"]
    group = rec.msgs[0].kwargs["group"]
    assert rec.msgs[1].kwargs["group"] == group
    assert rec.msgs[2].kwargs == {"group": group, "timeout": 5}
    assert [m.args for m in rec.msgs[:2]] == [(1,), (2,)]
    assert len(rec.result) == 2 and all(isinstance(s, Done) for s in rec.result)


async def test_mvr_locates_each_motor_then_moves_all_together():
    where = {"m1": 10.0, "m2": -3.0}

    def respond(msg):
        if msg.command == "locate":
            return {"setpoint": where[msg.obj.name], "readback": where[msg.obj.name]}
        return Done()

    rec = await drive(bps.mvr(m1, 1, m2, 0.5), respond)
    assert rec.commands == ["locate", "locate", "set", "set", "wait"]
    assert [(m.obj.name, m.args[0]) for m in rec.of("set")] == [("m1", 11.0), ("m2", -2.5)]


async def test_abs_set_and_rel_set_wait_only_when_asked():
    rec = await drive(bps.abs_set(m1, 3, group="g"))
    assert rec.msgs == [Msg("set", m1, 3, group="g")]
    rec = await drive(bps.abs_set(m1, 3, wait=True))
    assert rec.commands == ["set", "wait"]
    assert rec.msgs[1].kwargs["group"] == rec.msgs[0].kwargs["group"] is not None
    rec = await drive(
        bps.rel_set(m1, 2, wait=True),
        lambda msg: {"setpoint": 5.0, "readback": 5.1} if msg.command == "locate" else Done(),
    )
    assert rec.of("set")[0].args == (7.0,)  # relative to the setpoint, not the readback


async def test_trigger_and_read_bundles_one_event_and_returns_the_readings():
    rec = await drive(bps.trigger_and_read([det, m1, det]))
    assert rec.commands == ["trigger", "wait", "create", "read", "read", "save"]
    assert rec.msgs[0].obj is det  # only triggerable devices are triggered, each once
    assert rec.msgs[2].kwargs == {"name": "primary"}
    assert rec.result == {
        "det": {"value": 1.0, "timestamp": 0.0},
        "m1": {"value": 1.0, "timestamp": 0.0},
    }


async def test_trigger_and_read_without_triggerables_does_not_wait():
    rec = await drive(bps.trigger_and_read([m1], name="baseline"))
    assert rec.commands == ["create", "read", "save"]
    assert rec.msgs[0].kwargs["name"] == "baseline"


async def test_trigger_and_read_drops_the_event_when_a_read_fails():
    boom = RuntimeError("det: read timed out")
    rec = await drive(
        bps.trigger_and_read([det, m1]),
        fail=lambda i, msg: boom if msg.command == "read" and msg.obj is m1 else None,
    )
    assert rec.commands == ["trigger", "wait", "create", "read", "read", "drop"]
    assert rec.error is boom


async def test_trigger_and_read_of_nothing_returns_empty_readings():
    rec = await drive(bps.trigger_and_read([]))
    assert rec.commands == ["null"] and rec.result == {}


async def test_read_rd_and_position_of_return_values():
    rec = await drive(bps.read(det))
    assert rec.result == {"det": {"value": 1.0, "timestamp": 0.0}}
    rec = await drive(bps.rd(det))
    assert rec.result == 1.0

    class Plain:  # readable but not locatable: falls back to its main field
        name = "plain"
        parent = None
        hints = {"fields": ["plain_x"]}

        def set(self, value): ...

        async def read(self): ...

        async def describe(self): ...

    rec = await drive(
        bps.position_of(Plain()), lambda msg: {"plain_y": {"value": 9}, "plain_x": {"value": 4}}
    )
    assert rec.commands == ["read"] and rec.result == 4


async def test_run_stubs_return_engine_answers():
    rec = await drive(bps.open_run({"sample": "Si"}))
    assert rec.msgs == [Msg("open_run", sample="Si")] and rec.result == "uid-1"
    rec = await drive(bps.close_run("abort", "beam lost"))
    assert rec.msgs == [Msg("close_run", exit_status="abort", reason="beam lost")]
    rec = await drive(bps.subscribe("event", print), lambda msg: 7)
    assert rec.msgs[0].args == (print, "event") and rec.result == 7


@pytest.mark.parametrize(
    ("stub", "expected"),
    [
        (lambda: bps.null(), Msg("null")),
        (lambda: bps.checkpoint(), Msg("checkpoint")),
        (lambda: bps.clear_checkpoint(), Msg("clear_checkpoint")),
        (lambda: bps.pause(), Msg("pause", None, defer=False)),
        (lambda: bps.deferred_pause(), Msg("pause", None, defer=True)),
        (lambda: bps.sleep(2), Msg("sleep", None, 2)),
        (lambda: bps.wait("g", timeout=3), Msg("wait", None, group="g", timeout=3)),
        (lambda: bps.create("dark"), Msg("create", None, name="dark")),
        (lambda: bps.save(), Msg("save")),
        (lambda: bps.drop(), Msg("drop")),
        (
            lambda: bps.declare_stream(det, name="s"),
            Msg("declare_stream", None, det, name="s", collect=False),
        ),
        (lambda: bps.locate(m1), Msg("locate", m1, squeeze=True)),
        (lambda: bps.stop(det), Msg("stop", det)),
        (lambda: bps.monitor(det), Msg("monitor", det, name="det_monitor")),
        (lambda: bps.unmonitor(det), Msg("unmonitor", det)),
        (lambda: bps.configure(det, {"exposure": 1}), Msg("configure", det, {"exposure": 1})),
        (lambda: bps.unsubscribe(3), Msg("unsubscribe", None, token=3)),
        (lambda: bps.install_suspender(suspender), Msg("install_suspender", suspender)),
        (lambda: bps.remove_suspender(suspender), Msg("remove_suspender", suspender)),
        (lambda: bps.trigger(det, group="g"), Msg("trigger", det, group="g")),
        (lambda: bps.prepare(det, 5, group="g"), Msg("prepare", det, 5, group="g")),
        (lambda: bps.kickoff(det, group="g"), Msg("kickoff", det, group="g")),
        (lambda: bps.complete(det, group="g"), Msg("complete", det, group="g")),
        (
            lambda: bps.collect(det, name="fly"),
            Msg("collect", det, stream=False, return_payload=True, name="fly"),
        ),
        (lambda: bps.stage(det, group="g"), Msg("stage", det, group="g")),
        (lambda: bps.unstage(det, group="g"), Msg("unstage", det, group="g")),
    ],
)
async def test_single_message_stubs(stub, expected):
    rec = await drive(stub())
    assert rec.msgs == [expected]


async def test_verbs_with_wait_add_a_wait_on_their_own_group():
    for stub in (
        bps.trigger(det, wait=True),
        bps.kickoff(det, wait=True),
        bps.complete(det, wait=True),
        bps.stage(det),
        bps.unstage(det),
    ):
        rec = await drive(stub)
        assert rec.commands[1] == "wait"
        assert rec.msgs[1].kwargs["group"] == rec.msgs[0].kwargs["group"] is not None


async def test_repeat_runs_a_plan_with_checkpoints_and_delays():
    rec = await drive(bps.repeat(lambda: bps.trigger_and_read([m1]), num=3, delay=[5, 5]))
    assert rec.commands == ["checkpoint", "create", "read", "save", "sleep"] * 2 + [
        "checkpoint",
        "create",
        "read",
        "save",
    ]
    assert all(4 < m.args[0] <= 5 for m in rec.of("sleep"))


async def test_repeat_accepts_a_list_of_messages_bluesky_style():
    rec = await drive(bps.repeat(lambda: [Msg("null")], num=2))
    assert rec.commands == ["checkpoint", "null", "checkpoint", "null"]


async def test_per_step_defaults():
    cache = {}
    rec = await drive(bps.one_nd_step([det], {m1: 1, m2: 2}, cache))
    assert rec.commands[:4] == ["checkpoint", "set", "set", "wait"]
    assert cache == {m1: 1, m2: 2}
    rec = await drive(bps.one_nd_step([det], {m1: 1, m2: 3}, cache))
    assert [m.obj for m in rec.of("set")] == [m2]  # m1 is already there
    assert rec.result == {
        "det": {"value": 1.0, "timestamp": 0.0},
        "m1": {"value": 1.0, "timestamp": 0.0},
        "m2": {"value": 1.0, "timestamp": 0.0},
    }
    rec = await drive(bps.one_1d_step([det], m1, 4))
    assert rec.commands == [
        "checkpoint",
        "set",
        "wait",
        "trigger",
        "wait",
        "create",
        "read",
        "read",
        "save",
    ]
    rec = await drive(bps.one_shot([det]))
    assert rec.commands[0] == "checkpoint" and rec.commands.count("save") == 1
    rec = await drive(bps.move_per_step({m1: 1}, {}))
    assert rec.commands == ["checkpoint", "set", "wait"]

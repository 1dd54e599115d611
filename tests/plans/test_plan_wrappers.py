"""Wrappers: message rewriting at any depth, and cleanup on success, error, abort, halt."""

import pytest
from plan_helpers import Done, FakeDetector, FakeMotor, drive

from acq import RequestAbort, RequestStop, plan_return
from acq.msg import Msg
from plans import PlanArgumentError
from plans import stubs as bps
from plans import wrappers as bpp

m1, m2 = FakeMotor("m1"), FakeMotor("m2")
det = FakeDetector("det")


async def body(log=None):
    """A small plan: a nested sub-plan move, a read, and a return value."""
    try:
        yield bps.mv(m1, 1)
        yield Msg("set", m2, 2, group="x")
        yield Msg("wait", None, group="x")
        yield bps.read(det)
        yield plan_return("body result")
    finally:
        if log is not None:
            log.append("body finally")


async def cleanup():
    yield Msg("null", None, "cleanup")


def fail_on(command, exc):
    return lambda i, msg: exc if msg.command == command else None


def locate_at(positions):
    def respond(msg):
        if msg.command == "locate":
            p = positions[msg.obj.name]
            return {"setpoint": p, "readback": p}
        if msg.command == "read":
            return {msg.obj.name: {"value": 1.0, "timestamp": 0.0}}
        return Done()

    return respond


async def test_finalize_runs_cleanup_after_success_and_passes_the_result_on():
    rec = await drive(bpp.finalize_wrapper(body(), cleanup))
    assert rec.commands[-1] == "null" and rec.msgs[-1].args == ("cleanup",)
    assert rec.result == "body result"


async def test_finalize_runs_cleanup_when_a_command_fails_then_raises():
    boom = RuntimeError("m2 stalled")
    rec = await drive(bpp.finalize_wrapper(body(), cleanup), fail=fail_on("wait", boom))
    assert rec.commands[-1] == "null"
    assert rec.error is boom


@pytest.mark.parametrize("interrupt", [RequestAbort("beam lost"), RequestStop()])
async def test_finalize_runs_cleanup_when_the_engine_aborts_or_stops(interrupt):
    log = []
    rec = await drive(bpp.finalize_wrapper(body(log), cleanup), fail=fail_on("read", interrupt))
    assert rec.commands[-1] == "null"
    assert rec.error is interrupt
    assert log == ["body finally"]


async def test_finalize_cannot_yield_when_closed_by_halt_but_closes_the_plan():
    log = []
    rec = await drive(
        bpp.finalize_wrapper(body(log), cleanup), close_at=lambda i, msg: msg.command == "read"
    )
    assert rec.closed and "null" not in rec.commands
    assert log == ["body finally"]


async def test_finalize_closes_an_unstarted_plan_too():
    log = []
    plan = bpp.finalize_wrapper(body(log), cleanup)
    await plan.asend(None)  # the wrapper yields the sub-plan, not started yet
    await plan.aclose()
    assert log == []  # never started: nothing to clean up, and no warning either


async def test_finalize_decorator_and_final_plan_instance():
    @bpp.finalize_decorator(cleanup)
    def my_plan():
        return body()

    assert my_plan.__name__ == "my_plan"
    first, second = await drive(my_plan()), await drive(my_plan())
    assert first.commands == second.commands and first.commands[-1] == "null"
    rec = await drive(bpp.finalize_wrapper(body(), cleanup()))
    assert rec.commands[-1] == "null"


async def test_contingency_wrapper_except_else_final():
    seen = []

    def on_error(exc):
        seen.append(exc)
        return bps.null()

    boom = RuntimeError("x")
    rec = await drive(
        bpp.contingency_wrapper(
            body(), except_plan=on_error, else_plan=cleanup, final_plan=bps.checkpoint
        ),
        fail=fail_on("read", boom),
    )
    assert seen == [boom] and rec.error is boom
    assert rec.commands[-2:] == ["null", "checkpoint"]
    rec = await drive(
        bpp.contingency_wrapper(
            body(), except_plan=on_error, else_plan=cleanup, final_plan=bps.checkpoint
        )
    )
    assert rec.commands[-2:] == ["null", "checkpoint"] and rec.result == "body result"
    rec = await drive(
        bpp.contingency_wrapper(body(), except_plan=on_error, auto_raise=False),
        fail=fail_on("read", boom),
    )
    assert rec.error is None


async def test_run_wrapper_closes_the_run_with_the_outcome():
    rec = await drive(bpp.run_wrapper(body(), md={"a": 1}))
    assert rec.msgs[0] == Msg("open_run", a=1)
    assert rec.msgs[-1] == Msg("close_run", exit_status="success", reason="")
    assert rec.result == "uid-1"  # the run uid, not the body's result
    boom = ValueError("bad value")
    rec = await drive(bpp.run_wrapper(body()), fail=fail_on("read", boom))
    assert rec.msgs[-1] == Msg("close_run", exit_status="fail", reason="ValueError: bad value")
    assert rec.error is boom


async def test_run_wrapper_leaves_closing_to_the_engine_on_abort():
    abort = RequestAbort("why")
    rec = await drive(bpp.run_wrapper(body()), fail=fail_on("read", abort))
    assert "close_run" not in rec.commands and rec.error is abort


async def test_stage_wrapper_unstages_in_reverse_order_also_after_failure():
    class Stageable(FakeDetector):
        def stage(self): ...

        def unstage(self): ...

    a, b = Stageable("a"), Stageable("b")
    rec = await drive(bpp.stage_wrapper(body(), [a, b, m1]), fail=fail_on("read", KeyError()))
    assert [(m.command, m.obj) for m in rec.msgs if m.command in ("stage", "unstage")] == [
        ("stage", a),
        ("stage", b),
        ("unstage", b),
        ("unstage", a),
    ]


async def test_relative_set_rewrites_sets_inside_sub_plans():
    rec = await drive(bpp.relative_set_wrapper(body(), [m1, m2]), locate_at({"m1": 10, "m2": 20}))
    sets = [(m.obj.name, m.args[0]) for m in rec.of("set")]
    assert sets == [("m1", 11), ("m2", 22)]
    assert rec.commands.count("locate") == 2
    assert rec.result == "body result"


async def test_relative_set_only_touches_the_listed_devices_and_locates_once():
    async def twice():
        yield bps.mv(m1, 1, m2, 1)
        yield bps.mv(m1, 2, m2, 2)

    rec = await drive(bpp.relative_set_wrapper(twice(), [m1]), locate_at({"m1": 10}))
    assert [(m.obj.name, m.args[0]) for m in rec.of("set")] == [
        ("m1", 11),
        ("m2", 1),
        ("m1", 12),
        ("m2", 2),
    ]
    assert rec.commands.count("locate") == 1


@pytest.mark.parametrize(
    "fail", [None, fail_on("read", RuntimeError("x")), fail_on("read", RequestAbort("beam lost"))]
)
async def test_reset_positions_moves_back_together_whatever_happens(fail):
    rec = await drive(bpp.reset_positions_wrapper(body()), locate_at({"m1": 5, "m2": 6}), fail=fail)
    back = rec.msgs[-3:]
    assert [(m.command, m.obj, m.args) for m in back[:2]] == [("set", m1, (5,)), ("set", m2, (6,))]
    assert back[2].command == "wait"
    assert back[0].kwargs["group"] == back[1].kwargs["group"] == back[2].kwargs["group"]


async def test_relative_and_reset_decorators_compose_like_rel_scan():
    @bpp.reset_positions_decorator([m1])
    @bpp.relative_set_decorator([m1])
    def rel():
        return body()

    rec = await drive(rel(), locate_at({"m1": 5}))
    m1_sets = [m.args[0] for m in rec.of("set") if m.obj is m1]
    assert m1_sets == [6, 5]


async def test_baseline_reads_after_open_and_before_close_and_keeps_the_uid():
    async def a_run():
        uid = yield Msg("open_run")
        yield bps.trigger_and_read([det])
        yield Msg("close_run")
        yield plan_return(uid)

    rec = await drive(bpp.baseline_wrapper(a_run(), [m1, det]))
    creates = [m.kwargs["name"] for m in rec.of("create")]
    assert creates == ["baseline", "primary", "baseline"]
    assert rec.commands[0] == "open_run" and rec.commands[-1] == "close_run"
    assert rec.result == "uid-1"


async def test_baseline_in_each_of_several_runs_and_with_run_keys():
    async def two_runs():
        yield Msg("open_run", run="a")
        yield Msg("close_run", run="a")
        yield Msg("open_run")
        yield Msg("close_run")

    rec = await drive(bpp.baseline_wrapper(two_runs(), [m1]))
    assert rec.commands.count("create") == 4
    assert {m.run for m in rec.msgs[:5]} == {"a"}


async def test_monitor_during_wraps_each_run():
    rec = await drive(bpp.monitor_during_wrapper(bpp.run_wrapper(body()), [det]))
    assert rec.commands[:2] == ["open_run", "monitor"]
    assert rec.msgs[1].kwargs["name"] == "det_monitor"
    assert rec.commands[-2:] == ["unmonitor", "close_run"]


async def test_inject_md_adds_metadata_that_wins():
    @bpp.inject_md_decorator({"operator": "ada", "a": 2})
    def plan():
        return bpp.run_wrapper(body(), md={"a": 1, "b": 1})

    rec = await drive(plan())
    assert rec.msgs[0].kwargs == {"a": 2, "b": 1, "operator": "ada"}


async def test_suspend_installs_and_always_removes():
    rec = await drive(bpp.suspend_wrapper(body(), ["s1", "s2"]), fail=fail_on("read", OSError()))
    assert rec.commands[:2] == ["install_suspender", "install_suspender"]
    assert [m.obj for m in rec.msgs[-2:]] == ["s2", "s1"]
    assert rec.of("remove_suspender")[0].command == "remove_suspender"
    rec = await drive(bpp.suspend_wrapper(body(), "only"))
    assert rec.commands.count("remove_suspender") == 1


async def test_msg_mutator_drops_and_replaces_and_handles_plain_generators():
    def plain():
        yield Msg("checkpoint")
        reply = yield Msg("read", det)
        return reply

    async def outer():
        result = yield plain()
        yield plan_return(result)

    rec = await drive(bpp.msg_mutator(outer(), lambda m: None if m.command == "checkpoint" else m))
    assert rec.commands == ["read"]
    assert rec.result == {"det": {"value": 1.0, "timestamp": 0.0}}


def test_wrappers_refuse_plan_functions():
    for wrapper in (
        bpp.baseline_wrapper,
        bpp.monitor_during_wrapper,
        bpp.stage_wrapper,
        bpp.suspend_wrapper,
        bpp.inject_md_wrapper,
    ):
        with pytest.raises(PlanArgumentError, match=r"not scan|expected a plan"):
            wrapper(body, [])


class _Stageable(FakeDetector):
    def stage(self): ...

    def unstage(self): ...


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("baseline", ([m1],), {}),
        ("monitor_during", ([det],), {}),
        ("relative_set", ([m1],), {}),
        ("reset_positions", ([m1, m2],), {}),
        ("finalize", (cleanup,), {}),
        ("contingency", (), {"final_plan": cleanup}),
        ("inject_md", ({"operator": "ada"},), {}),
        ("suspend", (["s1"],), {}),
        ("stage", ([_Stageable("cam")],), {}),
        ("run", (), {"md": {"a": 1}}),
    ],
)
async def test_every_wrapper_works_as_a_function_and_as_a_decorator(name, args, kwargs):
    wrapper = getattr(bpp, f"{name}_wrapper")
    decorator = getattr(bpp, f"{name}_decorator")

    async def a_run():
        yield Msg("open_run", sample="Si")
        yield body()
        yield Msg("close_run")

    inner = body if name in ("finalize", "contingency", "suspend", "stage", "run") else a_run

    @decorator(*args, **kwargs)
    def decorated():
        return inner()

    located = locate_at({"m1": 5, "m2": 6})

    def respond(msg):
        return "uid-1" if msg.command in ("open_run", "close_run") else located(msg)

    by_function = await drive(wrapper(inner(), *args, **kwargs), respond)
    by_decorator = await drive(decorated(), respond)
    assert decorated.__name__ == "decorated"
    assert by_function.error is None and by_decorator.error is None
    assert _comparable(by_decorator) == _comparable(by_function)
    assert by_decorator.result == by_function.result
    assert _comparable(by_function) != _comparable(await drive(inner(), respond))  # it wraps


def _comparable(rec):
    """Messages without their generated group names (unique per call)."""
    return [
        (m.command, m.obj, m.args, {k: v for k, v in m.kwargs.items() if k != "group"}, m.run)
        for m in rec.msgs
    ]

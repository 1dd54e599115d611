"""One interpreter: the engine, dry_run, the wrappers and suspenders' side plans all walk a
plan with `acq.plan_stack`, so bluesky's `Msg` and plain generators composed with
``yield from`` mean the same to each of them.
"""

from __future__ import annotations

import anyio
import bluesky.plan_stubs as bs_bps
import bluesky.plans as bs_plans
import bluesky.preprocessors as bs_bpp
import pytest
from bluesky.utils import Msg as BlueskyMsg

import plans
from acq import Msg, plan_return
from acq.plan_stack import PlanDone, PlanStack, as_msg, as_sync_plan, drive_plan
from acq.suspenders import SuspendFloor
from devices.sim import SimDetector, SimMotor, soft_signal_rw
from plans import wrappers as bpp


@pytest.fixture
def m1():
    return SimMotor("m1", velocity=100.0, limits=(-10, 10))


@pytest.fixture
def det(m1):
    return SimDetector("det", m1, center=0.0, width=1.0, peak=100.0)


# -- the interpreter itself ------------------------------------------------------------


def test_bluesky_msg_becomes_an_acq_msg_with_the_same_fields():
    msg = as_msg(BlueskyMsg("set", "m1", 5, group="A", run="r"))
    assert type(msg) is Msg
    assert msg == Msg("set", "m1", 5, group="A", run="r")
    assert as_msg(("not", "a", "message")) is None


async def test_plan_stack_hands_out_acq_msgs_and_returns_values_through_yield_from():
    def inner():
        yield BlueskyMsg("read", "det")
        return "inner result"

    def outer():
        got = yield from inner()
        yield BlueskyMsg("null", got)
        return "outer result"

    async def top():
        result = yield outer()
        yield plan_return(result)

    stack = PlanStack(top())
    first = await stack.send(None)
    second = await stack.send({"det": 1})
    assert (type(first), first.command) == (Msg, "read")
    assert (type(second), second.command, second.obj) == (Msg, "null", "inner result")
    with pytest.raises(PlanDone) as done:
        await stack.send(None)
    assert done.value.value == "outer result"


async def test_drive_plan_throws_errors_into_the_plan_and_returns_its_result():
    seen = []

    def plan():
        try:
            yield BlueskyMsg("fail")
        except RuntimeError as error:
            seen.append(str(error))
        reply = yield BlueskyMsg("echo", 7)
        return reply * 2

    async def respond(msg):
        if msg.command == "fail":
            raise RuntimeError("no such device")
        return msg.obj

    assert await drive_plan(plan(), respond) == 14
    assert seen == ["no such device"]


# -- its users ---------------------------------------------------------------------------


async def test_relative_wrapper_around_a_bluesky_plan_moves_relatively(RE, documents, m1, det):
    await m1.set(2.0)
    result = await RE(bpp.relative_set_wrapper(bs_plans.scan([det], m1, -1, 1, 3)))
    assert result.exit_status == "success"
    assert documents.column("m1") == pytest.approx([1.0, 2.0, 3.0])


async def test_relative_wrapper_around_bluesky_stubs_moves_relatively(RE, m1):
    await m1.set(1.5)

    def nudge():
        yield from bs_bps.mv(m1, 0.5)
        yield from bs_bps.mv(m1, 1.0)

    await RE(bpp.relative_set_wrapper(nudge()))
    assert m1.position == pytest.approx(2.5)  # both relative to where it started


async def test_dry_run_accepts_a_bluesky_plan(m1, det):
    report = await plans.dry_run(bs_plans.scan([det], m1, -1, 1, 5), positions={m1: 0.0})
    assert report.positions("m1") == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert report.commands.count("save") == 5
    assert report.runs and report.runs[0]["plan_name"] == "scan"
    assert isinstance(report.result, str)  # bluesky's scan returns the run uid


async def test_dry_run_of_a_bluesky_plan_checks_soft_limits(m1, det):
    with pytest.raises(plans.SoftLimitError, match="m1"):
        await plans.dry_run(bs_plans.scan([det], m1, -1, 20, 5))


async def test_suspender_pre_plan_written_with_bluesky_stubs_runs(RE, documents, m1, det):
    ring = soft_signal_rw(float, 0.0, "ring_current")  # beam down before the plan starts
    shutter = soft_signal_rw(str, "open", "shutter")
    RE.install_suspender(
        SuspendFloor(
            ring,
            10.0,
            pre_plan=lambda: bs_bps.mv(shutter, "closed"),
            post_plan=lambda: bs_bps.mv(shutter, "open"),
        )
    )
    closed = anyio.Event()

    async def refill_once_the_shutter_is_closed():
        with anyio.fail_after(10):
            while await shutter.get_value() != "closed":
                await anyio.sleep(0.01)
        closed.set()
        await ring.set(100.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(refill_once_the_shutter_is_closed)
        result = await RE(bs_plans.count([det], 2))
    assert closed.is_set() and result.exit_status == "success"
    assert await shutter.get_value() == "open"  # the post plan, bluesky's mv too
    assert len(documents.events()) == 2


async def test_a_bluesky_wrapper_around_an_acq_plan_through_the_sync_view(RE, documents, m1, det):
    plan = bs_bpp.baseline_wrapper(as_sync_plan(plans.scan([det], m1, -1, 1, 3)), [m1])
    result = await RE(plan)
    assert result.plan_result == result.run_uids[0]  # the acq plan's return value, through
    assert len(documents.events("baseline")) == 2
    assert documents.column("m1") == pytest.approx([-1.0, 0.0, 1.0])


async def test_the_sync_view_gives_way_to_the_plan_when_acq_gets_it_first(RE, documents, det):
    async def awaits_between_messages():
        yield plans.count([det])
        await anyio.sleep(0.001)  # fine in the loop; a plain-generator driver could not
        yield plans.count([det])

    result = await RE(bpp.baseline_wrapper(as_sync_plan(awaits_between_messages()), [det]))
    assert result.exit_status == "success" and len(documents.starts) == 2

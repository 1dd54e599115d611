"""The plans bluesky users reach for, in acq's library: same semantics as bluesky's, checked
arguments at the call, run on the real RunEngine with hardware-free devices."""

from __future__ import annotations

import anyio
import pytest
from bluesky.plan_patterns import spiral_square_pattern

import plans
from acq import IllegalMessageSequence, Msg, plan_return
from devices.sim import SimDetector, SimFlyer, SimMotor, soft_signal_rw
from plans import stubs as bps
from plans import wrappers as bpp


@pytest.fixture
def m1():
    return SimMotor("m1", velocity=1000.0, limits=(-10, 10))


@pytest.fixture
def m2():
    return SimMotor("m2", velocity=1000.0, limits=(-10, 10))


@pytest.fixture
def det(m1):
    return SimDetector("det", m1, center=0.0, width=1.0, peak=100.0)


def recorder(RE):
    """Every message the engine acts on, through RE.msg_hook."""
    seen: list[Msg] = []
    RE.msg_hook = seen.append
    return seen


# -- scans ---------------------------------------------------------------------------------


async def test_spiral_square_visits_bluesky_s_points_in_bluesky_s_order(RE, documents, m1, m2, det):
    result = await RE(plans.spiral_square([det], m1, m2, 1.0, 2.0, 2.0, 1.0, 4, 3))
    expected = spiral_square_pattern(m1, m2, 1.0, 2.0, 2.0, 1.0, 4, 3).by_key()
    assert documents.column("m1") == pytest.approx(expected[m1])
    assert documents.column("m2") == pytest.approx(expected[m2])
    start = documents.starts[0]
    assert (start["num_points"], start["shape"]) == (12, [4, 3])
    assert result.plan_result == start["uid"]


async def test_rel_spiral_square_centres_on_the_motors_and_returns_them(RE, documents, m1, m2, det):
    await m1.set(1.0)
    await m2.set(-1.0)
    await RE(plans.rel_spiral_square([det], m1, m2, 2.0, 2.0, 3, 3))
    assert documents.column("m1")[0] == pytest.approx(1.0)  # the centre first
    assert sorted(set(round(x, 6) for x in documents.column("m1"))) == [0.0, 1.0, 2.0]
    assert sorted(set(round(y, 6) for y in documents.column("m2"))) == [-2.0, -1.0, 0.0]
    assert (m1.position, m2.position) == pytest.approx((1.0, -1.0))


def test_spiral_square_checks_its_arguments_at_the_call(m1, m2, det):
    with pytest.raises(plans.PlanArgumentError, match="x_num"):
        plans.spiral_square([det], m1, m2, 0, 0, 1, 1, 1, 3)
    with pytest.raises(plans.SoftLimitError, match="m1"):
        plans.spiral_square([det], m1, m2, 9.5, 0, 4, 1, 3, 3)


async def test_x2x_scan_moves_the_second_motor_half_as_far(RE, documents, m1, m2, det):
    await m1.set(2.0)
    await m2.set(1.0)
    await RE(plans.x2x_scan([det], m1, m2, -1.0, 1.0, 3))
    assert documents.column("m1") == pytest.approx([1.0, 2.0, 3.0])
    assert documents.column("m2") == pytest.approx([0.5, 1.0, 1.5])
    assert (m1.position, m2.position) == pytest.approx((2.0, 1.0))
    assert documents.starts[0]["plan_name"] == "x2x_scan"


async def test_tweak_steps_as_the_user_answers(RE, documents, m1, det):
    answers = iter(["", "0.5", "q"])
    prompts = []

    async def user(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    RE.input_function = user
    await m1.set(1.0)
    result = await RE(plans.tweak(det, "det", m1, 0.25))
    assert documents.column("m1") == pytest.approx([1.0, 1.25, 1.75])
    assert len(prompts) == 3 and prompts[0].startswith("m1 = 1, det = ")
    assert result.plan_result == documents.starts[0]["uid"]


def test_tweak_checks_its_arguments_at_the_call(m1, det):
    with pytest.raises(plans.PlanArgumentError, match="step"):
        plans.tweak(det, "det", m1, 0)


async def test_ramp_plan_takes_points_until_the_ramp_is_done(RE, documents, det):
    slow = SimMotor("slow", velocity=5.0)
    result = await RE(
        plans.ramp_plan(
            bps.abs_set(slow, 1.0),
            slow.user_readback,
            lambda: bps.trigger_and_read([det]),
            period=0.02,
        )
    )
    assert result.exit_status == "success"
    assert len(documents.events()) >= 3  # before, during, after
    assert len(documents.events("slow_monitor")) >= 2  # the readback signal is named "slow"
    assert slow.position == pytest.approx(1.0)


async def test_ramp_plan_fails_when_the_ramp_outlasts_its_timeout(RE, det):
    slow = SimMotor("slow", velocity=0.5)
    with pytest.raises(plans.RampFail, match=r"0\.05 s"):
        await RE(
            plans.ramp_plan(
                bps.abs_set(slow, 10.0),
                slow.user_readback,
                lambda: bps.trigger_and_read([det]),
                timeout=0.05,
            )
        )
    assert RE.last_result.exit_status == "fail"


# -- stubs -----------------------------------------------------------------------------------


async def test_repeater_pchain_and_broadcast_return_their_results(RE, documents, m1, det):
    async def outer():
        counts = yield bps.repeater(2, plans.count, [det], 1)
        chained = yield bps.pchain(bps.null(), plans.count([det], 2))
        replies = yield bps.broadcast_msg("locate", [m1, m1])
        yield plan_return((counts, chained, replies))

    result = await RE(outer())
    counts, chained, replies = result.plan_result
    uids = [s["uid"] for s in documents.starts]
    assert counts == uids[:2] and chained == [None, uids[2]]
    assert replies == [{"setpoint": 0.0, "readback": 0.0}] * 2


def test_compose_stubs_check_their_arguments(det):
    with pytest.raises(plans.PlanArgumentError, match="repeater"):
        bps.repeater(-1, plans.count, [det])
    with pytest.raises(plans.PlanArgumentError, match="not a plan"):
        bps.pchain(plans.count)
    with pytest.raises(plans.PlanArgumentError, match="kickoff"):
        bps.kickoff_all(det)


async def test_mov_and_movr_are_mv_and_mvr(RE, m1):
    await RE(bps.mov(m1, 2.0))
    await RE(bps.movr(m1, 0.5))
    assert m1.position == pytest.approx(2.5)


async def test_kickoff_all_complete_all_and_collect_while_completing(RE, documents, m1, det):
    flyer = SimFlyer("flyer", m1, det, period=0.005)
    seen = recorder(RE)

    async def fly():
        yield bps.open_run()
        yield bps.prepare(flyer, {"start": 0.0, "stop": 1.0, "velocity": 20.0}, wait=True)
        statuses = yield bps.kickoff_all(flyer)
        yield bps.collect_while_completing([flyer], [flyer], flush_period=0.01, stream_name="fly")
        collected = sum(m.command == "collect" for m in seen)  # during the sweep; as in
        yield bps.collect(flyer, name="fly")  # bluesky, samples after the last need one more
        yield bps.close_run()
        yield plan_return((statuses, collected))

    result = await RE(fly())
    statuses, collected_while_flying = result.plan_result
    assert len(statuses) == 1 and statuses[0].done
    assert collected_while_flying >= 2  # the sweep takes >= 50 ms, flushed every 10 ms
    assert documents.events("fly")[-1]["data"]["m1"] == pytest.approx(1.0, abs=0.1)


async def test_complete_all_with_wait_waits(RE, m1, det):
    flyer = SimFlyer("flyer", m1, det, period=0.005)

    async def fly():
        yield bps.prepare(flyer, {"start": 0.0, "stop": 0.5, "velocity": 20.0}, wait=True)
        yield bps.kickoff_all(flyer)
        statuses = yield bps.complete_all(flyer, wait=True)
        yield plan_return(statuses[0].done)

    assert (await RE(fly())).plan_result is True
    assert m1.position == pytest.approx(0.5)


async def test_input_plan_and_wait_for(RE):
    RE.input_function = lambda prompt: f"answer to {prompt}"  # sync: runs in a worker thread
    ready = anyio.Event()

    async def arrives():
        ready.set()
        return 42

    async def plan():
        answer = yield bps.input_plan("q?")
        futures = yield bps.wait_for([arrives], timeout=5)
        yield plan_return((answer, futures[0].result()))

    assert (await RE(plan())).plan_result == ("answer to q?", 42)
    assert ready.is_set()


# -- wrappers --------------------------------------------------------------------------------


async def test_fly_during_wrapper_flies_while_the_run_is_open(RE, documents, m1, det):
    m2 = SimMotor("m2", velocity=1000.0)
    flyer = SimFlyer("flyer", m2, SimDetector("det2", m2), period=0.005)
    await flyer.prepare({"start": 0.0, "stop": 0.2, "velocity": 5.0})
    seen = recorder(RE)
    await RE(bpp.fly_during_wrapper(plans.count([det], 2), [flyer]))
    commands = [m.command for m in seen]
    assert commands.index("kickoff") > commands.index("open_run")
    assert commands.index("complete") > commands.index("save")
    assert commands.index("collect") < commands.index("close_run")
    assert len(documents.events("primary")) == 2
    assert len(documents.events("flyer")) + len(documents.events("primary")) > 2


async def test_lazily_stage_wrapper_stages_at_first_use_and_unstages_at_the_end(RE, m1, det):
    seen = recorder(RE)

    async def plan():
        yield Msg("read", det)
        yield Msg("set", m1, 1.0, group="g")
        yield Msg("wait", None, group="g")
        yield Msg("read", det)

    await RE(bpp.lazily_stage_wrapper(plan()))
    steps = [(m.command, m.obj.name if m.obj is not None else None) for m in seen]
    assert steps == [
        ("stage", "det"),
        ("read", "det"),
        ("stage", "m1"),
        ("set", "m1"),
        ("wait", None),
        ("read", "det"),
        ("unstage", "m1"),
        ("unstage", "det"),
    ]


async def test_configure_count_time_wrapper_sets_and_restores_count_time(RE, documents, m1, det):
    det.count_time = soft_signal_rw(float, 1.0, "det_count_time")
    during = []

    async def plan():
        yield Msg("read", det)
        during.append(await det.count_time.get_value())
        yield plan_return("done")

    result = await RE(bpp.configure_count_time_wrapper(plan(), 0.1))
    assert during == [0.1] and result.plan_result == "done"
    assert await det.count_time.get_value() == 1.0


async def test_set_run_key_wrapper_routes_every_message_to_the_run(RE, documents, det):
    seen = recorder(RE)
    await RE(bpp.set_run_key_wrapper(plans.count([det], 2), "a"))
    assert {m.run for m in seen} == {"a"}
    assert len(documents.events()) == 2
    with pytest.raises(plans.PlanArgumentError, match="run key"):
        bpp.set_run_key_wrapper(plans.count([det]), None)


async def test_supplemental_data_preprocessor_adds_baseline_and_monitors(RE, documents, m1, det):
    ring = soft_signal_rw(float, 100.0, "ring")
    sd = bpp.SupplementalData(baseline=[m1], monitors=[ring])
    RE.preprocessors.append(sd)
    result = await RE(plans.scan([det], m1, -1, 1, 3))
    assert result.exit_status == "success"
    assert len(documents.events("baseline")) == 2
    assert len(documents.events("ring_monitor")) >= 1
    assert documents.starts[0]["plan_name"] == "scan"
    assert "baseline=[" in repr(sd)


async def test_collecting_a_flyer_into_a_stream_of_other_devices_fails(RE, m1, det):
    m2 = SimMotor("m2", velocity=1000.0)
    flyer = SimFlyer("flyer", m2, SimDetector("det2", m2), period=0.005)
    await flyer.prepare({"start": 0.0, "stop": 0.1, "velocity": 5.0})

    async def mixes_streams():
        yield bps.open_run()
        yield bps.trigger_and_read([det])  # stream "primary" holds det
        yield bps.kickoff(flyer, wait=True)
        yield bps.complete(flyer, wait=True)
        yield bps.collect(flyer)  # would go to "primary" too
        yield bps.close_run()

    with pytest.raises(IllegalMessageSequence, match="into stream 'primary'"):
        await RE(mixes_streams())

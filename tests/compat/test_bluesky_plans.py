"""Every plan in ``bluesky.plans``, run on bluesky's RunEngine and on acq's, documents compared.

For each public plan of bluesky 1.15 the same plan (built twice, each time on fresh
``ophyd.sim`` devices) runs on both engines, and the runs must agree: start metadata
(plan_name, detectors, motors, num_points, hints, plan_args keys), streams, data keys
(dtype and shape), descriptor hints and object keys, number of events, seq_nums, the data
of every Event, exit status and num_events. uids, times and ``plan_args`` reprs are left
out. acq's documents are also checked against event-model by the suite's autouse checker.

`COMPARED` lists how each plan is called. A plan is left out only with a reason
(`NOT_COMPARED`), and `test_every_bluesky_plan_is_compared_or_has_a_reason` fails when
bluesky grows a plan this file does not know.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import anyio
import bluesky.plan_stubs as bps
import bluesky.plans as bp
import bluesky.preprocessors as bpp
import pytest
from bluesky_runs import differences, run_on_acq, run_on_bluesky, summarize, without_values
from cycler import cycler

from acq import RunEngine


def _ramp(hw: Any) -> Any:
    def go():
        return (yield from bps.abs_set(hw.motor, 1.0))

    return bp.ramp_plan(go(), hw.motor, lambda: bps.trigger_and_read([hw.det]))


def _spirals(plan: Callable[..., Any], *rest: Any) -> Callable[[Any], Any]:
    """Absolute spirals take a centre; relative ones (``rel_*``) do not."""
    centre = () if plan.__name__.startswith("rel") else (0.5, 0.5)
    return lambda hw: plan([hw.det4], hw.motor1, hw.motor2, *centre, 1.0, 1.0, *rest)


def _fermat(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return _spirals(plan, 0.3, 1.0)


def _spiral(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return _spirals(plan, 0.3, 4)


def _square(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return _spirals(plan, 3, 5)


def _adaptive(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return lambda hw: plan([hw.det], "det", hw.motor, -1.0, 1.0, 0.05, 0.5, 0.1, True)


def _list_grid(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return lambda hw: plan(
        [hw.det4], hw.motor1, [1.0, 2.0], hw.motor2, [3.0, 4.0, 5.0], snake_axes=True
    )


def _grid(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return lambda hw: plan(
        [hw.det4], hw.motor1, -1.0, 1.0, 3, hw.motor2, -1.0, 1.0, 2, snake_axes=True
    )


def _inner(plan: Callable[..., Any]) -> Callable[[Any], Any]:
    return lambda hw: plan([hw.det4], 4, hw.motor1, -1.0, 1.0, hw.motor2, 0.0, 3.0)


# name -> (plan built on devices `hw`, answers to Msg('input'), streams whose data depend on timing)
COMPARED: dict[str, tuple[Callable[[Any], Any], tuple[str, ...], tuple[str, ...]]] = {
    "count": (lambda hw: bp.count([hw.det, hw.det1], num=3), (), ()),
    "list_scan": (lambda hw: bp.list_scan([hw.det], hw.motor, [1.0, 2.0, 3.0]), (), ()),
    "rel_list_scan": (lambda hw: bp.rel_list_scan([hw.det], hw.motor, [-1.0, 0.5]), (), ()),
    "relative_list_scan": (
        lambda hw: bp.relative_list_scan([hw.det], hw.motor, [0.1, 0.2]),
        (),
        (),
    ),
    "list_grid_scan": (_list_grid(bp.list_grid_scan), (), ()),
    "rel_list_grid_scan": (_list_grid(bp.rel_list_grid_scan), (), ()),
    "log_scan": (lambda hw: bp.log_scan([hw.det], hw.motor, -1.0, 0.5, 5), (), ()),
    "rel_log_scan": (lambda hw: bp.rel_log_scan([hw.det], hw.motor, -1.0, 0.5, 4), (), ()),
    "relative_log_scan": (
        lambda hw: bp.relative_log_scan([hw.det], hw.motor, 0.0, 0.5, 3),
        (),
        (),
    ),
    "adaptive_scan": (_adaptive(bp.adaptive_scan), (), ()),
    "rel_adaptive_scan": (_adaptive(bp.rel_adaptive_scan), (), ()),
    "relative_adaptive_scan": (_adaptive(bp.relative_adaptive_scan), (), ()),
    "tune_centroid": (
        lambda hw: bp.tune_centroid([hw.det], "det", hw.motor, -1.0, 1.0, 0.05, num=5),
        (),
        (),
    ),
    "scan_nd": (
        lambda hw: bp.scan_nd(
            [hw.det4], cycler(hw.motor1, [1.0, 2.0, 3.0]) * cycler(hw.motor2, [0.0, 1.0])
        ),
        (),
        (),
    ),
    "inner_product_scan": (_inner(bp.inner_product_scan), (), ()),
    "relative_inner_product_scan": (_inner(bp.relative_inner_product_scan), (), ()),
    "scan": (lambda hw: bp.scan([hw.det], hw.motor, -1.0, 1.0, 11), (), ()),
    "rel_scan": (lambda hw: bp.rel_scan([hw.det], hw.motor, -1.0, 1.0, 5), (), ()),
    "relative_scan": (lambda hw: bp.relative_scan([hw.det], hw.motor, -1.0, 1.0, 3), (), ()),
    "grid_scan": (_grid(bp.grid_scan), (), ()),
    "outer_product_scan": (_grid(bp.outer_product_scan), (), ()),
    "rel_grid_scan": (_grid(bp.rel_grid_scan), (), ()),
    "relative_outer_product_scan": (_grid(bp.relative_outer_product_scan), (), ()),
    "tweak": (
        lambda hw: bp.tweak(hw.det, "det", hw.motor, 0.5),
        ("", "0.25", "", "q"),
        (),
    ),
    "spiral_fermat": (_fermat(bp.spiral_fermat), (), ()),
    "rel_spiral_fermat": (_fermat(bp.rel_spiral_fermat), (), ()),
    "relative_spiral_fermat": (_fermat(bp.relative_spiral_fermat), (), ()),
    "spiral": (_spiral(bp.spiral), (), ()),
    "rel_spiral": (_spiral(bp.rel_spiral), (), ()),
    "relative_spiral": (_spiral(bp.relative_spiral), (), ()),
    "spiral_square": (_square(bp.spiral_square), (), ()),
    "rel_spiral_square": (_square(bp.rel_spiral_square), (), ()),
    # ramp_plan polls its status between points: how many there are depends on when the
    # threaded ophyd status finishes, on either engine
    "ramp_plan": (_ramp, (), ("motor_monitor", "primary")),
    "x2x_scan": (lambda hw: bp.x2x_scan([hw.det], hw.motor1, hw.motor2, -1.0, 1.0, 5), (), ()),
    "fly": (lambda hw: bp.fly([hw.flyer1]), (), ()),
}

# Plans left out, and why. Keep this short.
NOT_COMPARED: dict[str, str] = {}

# Names in bluesky.plans that are helpers, not plans.
NOT_PLANS = {"derive_default_hints"}


def bluesky_plan_names() -> list[str]:
    return sorted(
        name
        for name, obj in vars(bp).items()
        if inspect.isfunction(obj)
        and obj.__module__ == "bluesky.plans"
        and not name.startswith("_")
        and name not in NOT_PLANS
    )


@pytest.fixture
def RE(tmp_path: Any) -> RunEngine:
    return RunEngine(state_dir=str(tmp_path), waiting_hook=None, handle_sigint=False)


def test_every_bluesky_plan_is_compared_or_has_a_reason():
    names = set(bluesky_plan_names())
    assert names - set(COMPARED) - set(NOT_COMPARED) == set(), "plans nobody compares"
    assert set(COMPARED) - names == set(), "plans that bluesky no longer has"
    assert len(NOT_COMPARED) <= 2


@pytest.mark.parametrize("name", sorted(COMPARED))
async def test_bluesky_plan_gives_the_same_documents_on_both_engines(RE: RunEngine, name: str):
    factory, answers, timed_streams = COMPARED[name]
    expected_docs = await anyio.to_thread.run_sync(run_on_bluesky, factory, answers)
    got_docs = await run_on_acq(RE, factory, answers)
    expected = without_values(summarize(expected_docs), timed_streams)
    got = without_values(summarize(got_docs), timed_streams)
    assert got == expected, "\n".join(differences(got, expected))
    assert [n for n, _ in got_docs if n != "event"] == [n for n, _ in expected_docs if n != "event"]
    assert expected and all(run["exit_status"] == "success" for run in got)


# -- bluesky's plan stubs and preprocessors, composed with ``yield from`` -----------------


def _stubs(hw: Any) -> Any:
    """Most of bluesky.plan_stubs in one plan, with return values through ``yield from``."""

    @bpp.run_decorator(md={"plan_name": "stubs"})
    def inner():
        yield from bps.declare_stream(hw.det, hw.motor, name="primary")
        for x in (1.0, 2.0):
            yield from bps.mv(hw.motor, x)
            yield from bps.trigger_and_read([hw.det, hw.motor])
        yield from bps.mvr(hw.motor, 0.5)
        here = yield from bps.rd(hw.motor)
        yield from bps.abs_set(hw.motor, here + 1, wait=True)
        yield from bps.rel_set(hw.motor, 1, wait=True)
        yield from bps.mov(hw.motor, 4.0)
        yield from bps.movr(hw.motor, -0.5)
        yield from bps.checkpoint()
        yield from bps.null()
        yield from bps.sleep(0.001)
        yield from bps.repeat(lambda: bps.trigger_and_read([hw.det, hw.motor]), num=2)
        yield from bps.one_1d_step([hw.det], hw.motor, 1.5)
        yield from bps.create("other")
        yield from bps.read(hw.det1)
        yield from bps.save()
        yield from bps.create("other")
        yield from bps.read(hw.det1)
        yield from bps.drop()
        yield from bps.broadcast_msg("trigger", [hw.det, hw.det1], group="b")
        yield from bps.wait(group="b")
        return here

    return inner()


def _pattern_of_plans(hw: Any) -> Any:
    def twice():
        uids = yield from bps.repeater(2, bp.count, [hw.det])
        more = yield from bpp.pchain(bp.count([hw.det1]), bp.scan([hw.det], hw.motor, 0, 1, 2))
        return (uids, more)

    return twice()


def _mutated(hw: Any) -> Any:
    def double_moves(msg: Any) -> Any:
        if msg.command == "set":
            return msg._replace(args=(msg.args[0] * 2, *msg.args[1:]))
        return msg

    return bpp.msg_mutator(bp.scan([hw.det], hw.motor, 0.0, 1.0, 3), double_moves)


def _unstaged(hw: Any) -> Any:
    """A run that stages nothing itself (bluesky's count does: wrapping it stages twice)."""

    @bpp.run_decorator(md={"plan_name": "unstaged"})
    def inner():
        yield from bps.trigger_and_read([hw.det])
        yield from bps.mv(hw.motor, 1.0)
        yield from bps.trigger_and_read([hw.det])

    return inner()


def _with_subscription(hw: Any) -> Any:
    return bpp.subs_wrapper(bp.count([hw.det], 2), {"all": [lambda name, doc: None]})


COMPOSED: dict[str, tuple[Callable[[Any], Any], tuple[str, ...], tuple[str, ...]]] = {
    "plan_stubs": (_stubs, (), ()),
    "repeater_and_pchain": (_pattern_of_plans, (), ()),
    "baseline_wrapper": (
        lambda hw: bpp.baseline_wrapper(bp.count([hw.det], 2), [hw.motor1, hw.motor2]),
        (),
        (),
    ),
    "inject_md_wrapper": (
        lambda hw: bpp.inject_md_wrapper(bp.count([hw.det]), {"sample": "Si"}),
        (),
        (),
    ),
    "relative_set_wrapper": (
        lambda hw: bpp.relative_set_wrapper(bp.list_scan([hw.det], hw.motor, [0.5, 1.0])),
        (),
        (),
    ),
    "reset_positions_wrapper": (
        lambda hw: bpp.reset_positions_wrapper(bp.scan([hw.det], hw.motor, 1.0, 2.0, 2)),
        (),
        (),
    ),
    "stage_wrapper": (lambda hw: bpp.stage_wrapper(_unstaged(hw), [hw.det]), (), ()),
    "lazily_stage_wrapper": (lambda hw: bpp.lazily_stage_wrapper(_unstaged(hw)), (), ()),
    "finalize_wrapper": (
        lambda hw: bpp.finalize_wrapper(bp.count([hw.det]), bps.mv(hw.motor, 0.0)),
        (),
        (),
    ),
    "contingency_wrapper": (
        lambda hw: bpp.contingency_wrapper(
            bp.count([hw.det]), final_plan=lambda: bps.mv(hw.motor, 1.0)
        ),
        (),
        (),
    ),
    "subs_wrapper": (_with_subscription, (), ()),
    "rewindable_wrapper": (lambda hw: bpp.rewindable_wrapper(bp.count([hw.det], 2), False), (), ()),
    "set_run_key_wrapper": (lambda hw: bpp.set_run_key_wrapper(bp.count([hw.det]), "a"), (), ()),
    "configure_count_time_wrapper": (
        lambda hw: bpp.configure_count_time_wrapper(bp.count([hw.det_with_count_time]), 0.2),
        (),
        (),
    ),
    "msg_mutator": (_mutated, (), ()),
    "SupplementalData": (
        lambda hw: bpp.SupplementalData(baseline=[hw.motor1])(bp.scan([hw.det], hw.motor, 0, 1, 2)),
        (),
        (),
    ),
    "print_summary_wrapper": (lambda hw: bpp.print_summary_wrapper(bp.count([hw.det])), (), ()),
    "fly_trivial_flyer": (lambda hw: bp.fly([hw.trivial_flyer]), (), ()),
    "fly_new_trivial_flyer": (lambda hw: bp.fly([hw.new_trivial_flyer]), (), ()),
    "fly_during_wrapper": (
        lambda hw: bpp.fly_during_wrapper(bp.count([hw.det], 2), [hw.flyer1]),
        (),
        (),
    ),
}


@pytest.mark.parametrize("name", sorted(COMPOSED))
async def test_bluesky_stubs_and_preprocessors_give_the_same_documents(RE: RunEngine, name: str):
    factory, answers, timed_streams = COMPOSED[name]
    expected_docs = await anyio.to_thread.run_sync(run_on_bluesky, factory, answers)
    got_docs = await run_on_acq(RE, factory, answers)
    expected = without_values(summarize(expected_docs), timed_streams)
    got = without_values(summarize(got_docs), timed_streams)
    assert got == expected, "\n".join(differences(got, expected))
    assert expected and all(run["exit_status"] == "success" for run in got)


# -- patterns from beamline plans: custom per_step hooks, decorators, configure, sub-signals,
# monitors, concurrent runs by run key, contingency, explicit staging, flyer stubs, ... --


def custom_step(detectors, step, pos_cache):
    yield from bps.move_per_step(step, pos_cache)
    yield from bps.sleep(0.001)
    yield from bps.trigger_and_read(list(detectors) + list(step.keys()))


def p_custom(hw):
    return bp.grid_scan([hw.det4], hw.motor1, -1, 1, 3, hw.motor2, -1, 1, 2, per_step=custom_step)


def p_decorated(hw):
    @bpp.baseline_decorator([hw.motor1])
    @bpp.run_decorator(md={"purpose": "alignment"})
    def inner():
        yield from bps.configure(hw.det, {"sigma": 2})
        for x in (0.0, 0.5):
            yield from bps.checkpoint()
            yield from bps.mv(hw.motor, x, hw.motor2, x * 2)
            yield from bps.trigger_and_read([hw.det, hw.motor])
        v = yield from bps.rd(hw.det.Imax)
        yield from bps.abs_set(hw.det.Imax, v * 2, wait=True)
        yield from bps.trigger_and_read([hw.det, hw.motor])

    return inner()


def p_repeat(hw):
    @bpp.run_decorator()
    def inner():
        yield from bps.repeat(functools.partial(bps.trigger_and_read, [hw.det1]), num=3, delay=0.01)

    return inner()


def p_monitor(hw):
    @bpp.run_decorator()
    def inner():
        yield from bps.monitor(hw.motor.readback, name="mon")
        yield from bps.mv(hw.motor, 1)
        yield from bps.trigger_and_read([hw.det])
        yield from bps.unmonitor(hw.motor.readback)

    return inner()


def p_runkeys(hw):
    def one(det, key):
        @bpp.set_run_key_decorator(key)
        @bpp.run_decorator(md={"key": key})
        def inner():
            yield from bps.trigger_and_read([det])

        return inner()

    def outer():
        yield from one(hw.det1, "a")
        yield from one(hw.det2, "b")

    return outer()


def p_interleaved(hw):
    def outer():
        yield from bpp.set_run_key_wrapper(bps.open_run(md={"k": "a"}), "a")
        yield from bpp.set_run_key_wrapper(bps.open_run(md={"k": "b"}), "b")
        for _ in range(2):
            yield from bpp.set_run_key_wrapper(bps.trigger_and_read([hw.det1]), "a")
            yield from bpp.set_run_key_wrapper(bps.trigger_and_read([hw.det2]), "b")
        yield from bpp.set_run_key_wrapper(bps.close_run(), "b")
        yield from bpp.set_run_key_wrapper(bps.close_run(), "a")

    return outer()


def p_contingency(hw):
    def failing():
        yield from bps.open_run()
        yield from bps.trigger_and_read([hw.det])
        raise ValueError("boom")

    return bpp.contingency_wrapper(
        failing(), except_plan=lambda e: bps.mv(hw.motor, 0), auto_raise=False
    )


def p_stage_all(hw):
    @bpp.run_decorator()
    def inner():
        yield from bps.stage_all(hw.det, hw.motor)
        yield from bps.declare_stream(hw.det, name="primary")
        yield from bps.trigger_and_read([hw.det])
        yield from bps.unstage_all(hw.det, hw.motor)

    return inner()


def p_fly_stubs(hw):
    @bpp.run_decorator()
    def inner():
        yield from bps.kickoff(hw.flyer1, wait=True)
        yield from bps.complete(hw.flyer1, wait=True)
        yield from bps.collect(hw.flyer1)

    return inner()


def p_count_delay(hw):
    return bp.count([hw.det], 3, delay=[0.01, 0.02])


def p_close_reason(hw):
    def inner():
        yield from bps.open_run(md={"sample": "x"})
        yield from bps.trigger_and_read([hw.det])
        yield from bps.close_run(exit_status="success", reason="done")

    return inner()


def p_clear_checkpoint(hw):
    @bpp.run_decorator()
    def inner():
        yield from bps.clear_checkpoint()
        yield from bps.trigger_and_read([hw.det])
        yield from bps.checkpoint()
        yield from bps.mv(hw.motor, 2, group="g")
        yield from bps.wait("g")
        yield from bps.trigger_and_read([hw.det])

    return inner()


def p_list_per_step(hw):
    return bp.list_scan([hw.det], hw.motor, [1, 2, 3], per_step=bps.one_1d_step)


def p_pseudo(hw):
    return bp.scan([hw.det], hw.pseudo3x3.pseudo1, 0, 1, 3)


def p_img(hw):
    return bp.count([hw.img], 2)


REAL_WORLD: dict[str, Callable[[Any], Any]] = {
    "custom": p_custom,
    "decorated": p_decorated,
    "repeat": p_repeat,
    "monitor": p_monitor,
    "runkeys": p_runkeys,
    "interleaved": p_interleaved,
    "contingency": p_contingency,
    "stage_all": p_stage_all,
    "fly_stubs": p_fly_stubs,
    "count_delay": p_count_delay,
    "close_reason": p_close_reason,
    "clear_checkpoint": p_clear_checkpoint,
    "list_per_step": p_list_per_step,
    "pseudo": p_pseudo,
    "img": p_img,
}


# Streams compared by their descriptors only (none now: the classic-ophyd monitor's update
# from a move, arriving from ophyd's thread just before unmonitor, is kept as bluesky keeps it).
TIMED_IN_REAL_WORLD: dict[str, tuple[str, ...]] = {}


@pytest.mark.parametrize("name", sorted(REAL_WORLD))
async def test_beamline_plan_patterns_give_the_same_documents(RE: RunEngine, name: str):
    factory = REAL_WORLD[name]
    expected_docs = await anyio.to_thread.run_sync(run_on_bluesky, factory)
    got_docs = await run_on_acq(RE, factory)
    timed = TIMED_IN_REAL_WORLD.get(name, ())
    got = without_values(summarize(got_docs), timed)
    expected = without_values(summarize(expected_docs), timed)
    assert got == expected, "\n".join(differences(got, expected))
    assert expected

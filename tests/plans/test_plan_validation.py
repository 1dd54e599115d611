"""Bad arguments fail when the plan function is called: before any message, before a run."""

import pytest
from plan_helpers import FakeDetector, FakeMotor, drive

import plans
from plans import PlanArgumentError, SoftLimitError
from plans import stubs as bps
from plans import wrappers as bpp

m1, m2 = FakeMotor("m1"), FakeMotor("m2")
limited = FakeMotor("lim", limits=(-1, 1))
det = FakeDetector("det")


def raises(match, call, *args, **kwargs):
    with pytest.raises(PlanArgumentError, match=match) as info:
        call(*args, **kwargs)
    return info.value


def test_a_string_as_motor_is_refused_at_call_time_naming_it():
    err = raises("not movable", plans.scan, [det], "not a motor", -1, 1, 5)
    assert "'not a motor' (str)" in str(err)
    assert isinstance(err, TypeError) and isinstance(err, ValueError)


def test_a_non_readable_detector_is_refused_with_its_index():
    raises(
        r"detectors\[1\] is 'm' \(object|detectors\[1\] is <object", plans.count, [det, object()]
    )
    raises("not readable", plans.scan, [det, 42], m1, 0, 1, 3)


def test_a_single_detector_gets_a_hint_to_wrap_it_in_a_list():
    raises(r"single device 'det'.*write \[det\]", plans.count, det)


def test_odd_motor_start_stop_lists():
    raises("groups of 3", plans.scan, [det], m1, 0, 1, m2, 0, num=5)
    raises("motor, start, stop for each motor and then num", plans.scan, [det], m1, 0, 1)
    raises("groups of 4", plans.grid_scan, [det], m1, 0, 1, 3, m2, 0, 1)
    raises("groups of 2", plans.list_scan, [det], m1, [1, 2], m2)


@pytest.mark.parametrize("num", [0, -3, 2.5, "5", True])
def test_num_must_be_a_whole_number_at_least_one(num):
    raises("num", plans.scan, [det], m1, 0, 1, num)


def test_num_as_integral_float_is_accepted():
    plans.scan([det], m1, 0, 1, 5.0)


def test_grid_num_per_axis_is_checked_and_named():
    raises("num of m2 must be at least 1", plans.grid_scan, [det], m1, 0, 1, 3, m2, 0, 1, 0)


def test_mismatched_list_lengths_name_each_motor():
    raises(r"same length.*'m1': 3, 'm2': 2", plans.list_scan, [det], m1, [1, 2, 3], m2, [1, 2])


def test_empty_position_list():
    raises("position list of m1 is empty", plans.list_scan, [det], m1, [])


def test_positions_outside_soft_limits_name_motor_target_and_limits():
    with pytest.raises(SoftLimitError) as info:
        plans.scan([det], limited, -2, 1, 5)
    assert info.value.motor_name == "lim"
    assert info.value.target == -2
    assert (info.value.low, info.value.high) == (-1, 1)
    assert "lim would move to -2.0, outside its soft limits [-1.0, 1.0]" in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: plans.list_scan([det], limited, [0, 2]),
        lambda: plans.grid_scan([det], m1, 0, 1, 2, limited, 0, 3, 2),
        lambda: plans.list_grid_scan([det], limited, [0, 5], m1, [0, 1]),
        lambda: plans.log_scan([det], limited, 0.1, 10, 3),
        lambda: plans.spiral([det], limited, m1, 0, 0, 5, 5, 0.5, 3),
        lambda: plans.spiral_fermat([det], m1, limited, 0, 0, 5, 5, 0.5, 1),
        lambda: plans.scan_nd([det], [{limited: 0}, {limited: 7}]),
        lambda: plans.adaptive_scan([det], "det", limited, 0, 3, 0.1, 1, 1, False),
        lambda: plans.tune_centroid([det], "det", limited, -3, 0, 0.1),
    ],
)
def test_every_absolute_plan_checks_soft_limits(make):
    with pytest.raises(SoftLimitError, match="lim would move to"):
        make()


def test_limits_zero_zero_mean_no_limits():
    free = FakeMotor("free", limits=(0, 0))
    plans.scan([det], free, -100, 100, 3)


def test_the_same_motor_twice_is_refused():
    raises("m1' is given more than once", plans.grid_scan, [det], m1, 0, 1, 2, m1, 0, 1, 2)


def test_snake_axes_must_not_include_the_slow_motor_or_strangers():
    raises(
        "first \\(slowest\\) motor",
        plans.grid_scan,
        [det],
        m1,
        0,
        1,
        2,
        m2,
        0,
        1,
        2,
        snake_axes=[m1],
    )
    raises("does not move", plans.grid_scan, [det], m1, 0, 1, 2, m2, 0, 1, 2, snake_axes=[limited])
    raises(
        "True, False or a list", plans.grid_scan, [det], m1, 0, 1, 2, m2, 0, 1, 2, snake_axes="m2"
    )


def test_per_step_signature_is_checked():
    def bad(a, b):
        yield

    def one_d(detectors, motor, step):
        yield

    raises("per_step must take", plans.scan, [det], m1, 0, 1, 3, per_step=bad)
    raises("moves one motor", plans.scan, [det], m1, 0, 1, m2, 0, 1, num=3, per_step=one_d)
    plans.scan([det], m1, 0, 1, 3, per_step=one_d)  # one motor: fine


def test_log_scan_needs_positions_of_one_sign():
    raises("non-zero and of the same sign", plans.log_scan, [det], m1, -1, 10, 5)
    raises("non-zero", plans.log_scan, [det], m1, 0, 10, 5)


def test_spiral_arguments():
    raises("dr must be positive", plans.spiral, [det], m1, m2, 0, 0, 1, 1, 0, 5)
    raises("no points", plans.spiral, [det], m1, m2, 0, 0, 0.1, 0.1, 1, 5)
    raises("x_motor is", plans.spiral_fermat, [det], "x", m2, 0, 0, 1, 1, 0.1, 1)


def test_adaptive_and_tune_arguments():
    raises("0 < min_step < max_step", plans.adaptive_scan, [det], "det", m1, 0, 1, 1, 0.5, 1, False)
    raises(
        "target_delta must be positive",
        plans.adaptive_scan,
        [det],
        "det",
        m1,
        0,
        1,
        0.1,
        0.5,
        0,
        False,
    )
    raises(
        "step_factor must be greater than 1",
        plans.tune_centroid,
        [det],
        "det",
        m1,
        0,
        1,
        0.1,
        step_factor=1,
    )
    raises("num must be at least 2", plans.tune_centroid, [det], "det", m1, 0, 1, 0.1, num=1)
    raises("signal must be a data key", plans.tune_centroid, [det], det, m1, 0, 1, 0.1)


def test_count_arguments():
    raises("count: num must be at least 1", plans.count, [det], 0)
    raises("needs? 2 delays|need 2 delays", plans.count, [det], 3, delay=[1])
    raises("delay must not be negative", plans.count, [det], 3, delay=-1)


def test_scan_nd_trajectory_shapes():
    raises("no points", plans.scan_nd, [det], [])
    raises("every step must give every motor", plans.scan_nd, [det], [{m1: 0}, {m2: 1}])
    raises("not a {motor: position} dict", plans.scan_nd, [det], [5])
    raises("differ in length", plans.scan_nd, [det], {m1: [0, 1], m2: [0]})


def test_fly_needs_flyers():
    raises("not flyable", plans.fly, [det])
    raises("no flyers", plans.fly, [])


def test_temperature_scan_arguments():
    tc = FakeMotor("tc", limits=(4, 400))
    raises(
        "temperatures is empty", plans.temperature_theta_2theta_scan, [det], tc, [], m1, m2, 0, 1, 3
    )
    with pytest.raises(SoftLimitError, match="tc would move to 500"):
        plans.temperature_theta_2theta_scan([det], tc, [300, 500], m1, m2, 0, 1, 3)


def test_stubs_check_motor_value_pairs_when_called():
    raises("motor, value pairs", bps.mv, m1, 1, m2)
    raises("mv: argument 1 is 'nope'", bps.mv, "nope", 1)
    raises("mvr: expected motor, value pairs", bps.mvr)
    raises("repeat: plan must be a callable", bps.repeat, bps.null())


def test_wrappers_want_a_plan_not_a_plan_function():
    raises(r"pass scan\(...\), not scan", bpp.finalize_wrapper, plans.scan, bps.null)
    raises("final_plan must be a plan or a function", bpp.finalize_wrapper, bps.null(), 5)
    raises("not readable", bpp.baseline_wrapper, bps.null(), [object()])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: bps.mv(m1), "mv: expected motor, value pairs"),
        (lambda: bps.mv(m1, None), "mv: argument 2 should be a position for m1, got None"),
        (lambda: bps.mv(m1, m2), "mv: argument 2 should be a position for m1, got 'm2'"),
        (lambda: bps.mv(limited, "abc"), r"mv: argument 2 \(lim\) must be a number, got 'abc'"),
        (lambda: bps.mv(m1, float("nan")), "mv: argument 2 .* must be finite"),
        (lambda: bps.mv(m1, 1, m1, 2), "mv: motor 'm1' is given more than once"),
        (lambda: bps.mv(m1, 1, timeout=-1), "mv: timeout must be 0 s or more"),
        (lambda: bps.mvr(m1, "1"), r"mvr: argument 2 \(the offset of m1\) must be a number"),
        (lambda: bps.abs_set(None, 1), "abs_set: motor is None .* not movable"),
        (lambda: bps.abs_set(m1, 1, wait="yes"), "abs_set: wait must be True or False"),
        (lambda: bps.abs_set(m1, 1, group=["g"]), "abs_set: group must be a name"),
        (lambda: bps.rel_set(m1, "a"), "rel_set: value .* must be a number"),
        (lambda: bps.wait(2.0), r"wait: group must be a name .* use sleep\(2.0\)"),
        (lambda: bps.wait(group=["g"]), "wait: group must be a name"),
        (lambda: bps.wait("g", timeout=-1), "wait: timeout must be 0 s or more"),
        (lambda: bps.sleep(-1), "sleep: seconds must be 0 s or more, got -1"),
        (lambda: bps.sleep("1"), r"sleep: seconds \(seconds\) must be a number, got '1'"),
        (lambda: bps.read("det"), "read: device is 'det' .* not readable"),
        (lambda: bps.rd(None), "rd: device is None .* not readable"),
        (lambda: bps.locate(), "locate: no devices given"),
        (lambda: bps.locate(det), "locate: argument 1 is 'det' .* no locate"),
        (lambda: bps.stop("m1"), r"stop: device is 'm1' \(str\), which has no stop\(\) method"),
        (lambda: bps.trigger(m1), r"trigger: device is 'm1' .* no trigger\(\) method"),
        (lambda: bps.trigger(det, wait=1), "trigger: wait must be True or False"),
        (lambda: bps.kickoff(det), r"kickoff: .* no kickoff\(\) method"),
        (lambda: bps.stage(object()), r"stage: .* no stage\(\) method"),
        (lambda: bps.stage_all([det]), r"stage_all: pass the devices themselves"),
        (lambda: bps.create(""), "create: stream name must be a non-empty string"),
        (lambda: bps.declare_stream(name="dark"), "declare_stream: no devices given"),
        (lambda: bps.monitor(object()), "monitor: device is .* not readable"),
        (lambda: bps.configure(det, {}), r"configure: .* no configure\(\) method"),
        (lambda: bps.subscribe(print, "event"), r"subscribe\(name, func\)"),
        (lambda: bps.subscribe("event", 5), "subscribe: func must be a callable"),
        (lambda: bps.unsubscribe(None), "unsubscribe: token is None"),
        (lambda: bps.install_suspender("s"), "install_suspender: 's' .* is not a suspender"),
        (lambda: bps.open_run("Si"), "open_run: md must be a dict"),
        (lambda: bps.close_run("ok"), "close_run: exit_status must be"),
        (lambda: bps.trigger_and_read(det), r"trigger_and_read: .* write \[det\]"),
        (lambda: bps.trigger_and_read([det], name=""), "trigger_and_read: stream name"),
        (lambda: bps.one_shot([det], take_reading=5), "one_shot: take_reading must be"),
        (lambda: bps.move_per_step([m1], {}), "move_per_step: step must map each motor"),
        (lambda: bps.one_nd_step([det], {"m1": 1}, {}), "one_nd_step: step motor 1 is 'm1'"),
        (lambda: bps.one_1d_step([det], "m1", 1), "one_1d_step: motor is 'm1' .* not movable"),
    ],
)
def test_every_stub_checks_its_arguments_when_called(call, match):
    raises(match, call)


def test_mv_checks_soft_limits_when_called():
    error = raises("lim would move to 5", bps.mv, m1, 0, limited, 5)
    assert isinstance(error, SoftLimitError) and "(mv)" in str(error)


async def test_stubs_accept_text_for_signals_without_limits_and_any_named_group():
    """``mv(shutter, "Open")``: a signal may take text, only motors with limits need numbers."""
    rec = await drive(bps.mv(m1, "Open"))
    assert rec.of("set")[0].args == ("Open",)
    rec = await drive(bps.wait(("fly", 1), timeout=0))
    assert rec.msgs[0].kwargs == {"group": ("fly", 1), "timeout": 0}

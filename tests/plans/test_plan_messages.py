"""What each plan asks the engine to do, driven without an engine or devices."""

import itertools
import json
import math

import pytest
from cycler import cycler
from plan_helpers import FakeDetector, FakeMotor, drive

import plans
from plans import dry_run
from plans import stubs as bps

m1, m2, m3 = FakeMotor("m1"), FakeMotor("m2"), FakeMotor("m3")
det = FakeDetector("det")


def event_positions(report, motor):
    """The motor's position at each 'save', from the dry run's simulated moves."""
    positions, here = [], None
    moves = {mv.index: mv for mv in report.moves}
    for i, msg in enumerate(report.messages):
        if i in moves and moves[i].device == motor:
            here = moves[i].target
        if msg.command == "save":
            positions.append(here)
    return positions


async def test_scan_moves_then_reads_detector_and_motor_at_each_point():
    report = await dry_run(plans.scan([det], m1, -1, 1, 3))
    step = ["checkpoint", "set", "wait", "trigger", "wait", "create", "read", "read", "save"]
    assert report.commands == ["open_run", *step * 3, "close_run"]
    assert report.positions("m1") == [-1.0, 0.0, 1.0]
    reads = [m.obj for m in report.messages if m.command == "read"]
    assert reads[:2] == [det, m1]
    assert report.result == "dry-run-1"  # the plan returns the run uid


async def test_scan_start_document_metadata_is_complete_and_json():
    report = await dry_run(plans.scan([det], m1, -1, 1, m2, 0, 4, num=5, md={"sample": "Si"}))
    (md,) = report.runs
    json.dumps(md)  # everything recorded must be JSON-serialisable
    assert md["plan_name"] == "scan"
    assert md["detectors"] == ["det"]
    assert md["motors"] == ["m1", "m2"]
    assert md["num_points"] == 5 and md["num_intervals"] == 4
    assert md["plan_args"] == {
        "detectors": ["det"],
        "num": 5,
        "args": ["m1", -1.0, 1.0, "m2", 0.0, 4.0],
        "per_step": None,
    }
    # motors moving together are one dimension
    assert md["hints"]["dimensions"] == [[["m1", "m2"], "primary"]]
    assert md["sample"] == "Si"


async def test_user_hints_merge_with_computed_dimensions():
    report = await dry_run(plans.scan([det], m1, 0, 1, 2, md={"hints": {"extra": 1}}))
    assert report.runs[0]["hints"] == {"dimensions": [[["m1"], "primary"]], "extra": 1}
    report = await dry_run(
        plans.scan([det], m1, 0, 1, 2, md={"hints": {"dimensions": [[["x"], "primary"]]}})
    )
    assert report.runs[0]["hints"]["dimensions"] == [[["x"], "primary"]]


async def test_several_motors_move_concurrently_in_one_group_per_step():
    report = await dry_run(plans.scan([det], m1, 0, 1, m2, 0, 2, num=2))
    first_step = report.messages[1:5]
    assert [m.command for m in first_step] == ["checkpoint", "set", "set", "wait"]
    groups = {m.kwargs["group"] for m in first_step[1:]}
    assert len(groups) == 1


async def test_grid_scan_fills_the_grid_in_snake_order_and_records_its_shape():
    report = await dry_run(plans.grid_scan([det], m1, 0, 2, 3, m2, 10, 20, 2, snake_axes=True))
    assert list(zip(event_positions(report, "m1"), event_positions(report, "m2"), strict=True)) == [
        (0, 10),
        (0, 20),
        (1, 20),
        (1, 10),
        (2, 10),
        (2, 20),
    ]
    (md,) = report.runs
    assert md["shape"] == [3, 2]
    assert md["extents"] == [[0, 2], [10, 20]]
    assert md["snaking"] == [False, True]
    assert md["num_points"] == 6
    assert md["hints"]["dimensions"] == [[["m1"], "primary"], [["m2"], "primary"]]
    assert md["hints"]["gridding"] == "rectilinear"
    assert md["plan_args"]["args"] == ["m1", 0.0, 2.0, 3, "m2", 10.0, 20.0, 2]
    # a motor that stays put is not sent a set again (pos_cache)
    assert report.positions("m1") == [0, 1, 2]


async def test_grid_scan_snake_axes_as_list_and_no_snake_by_default():
    plain = await dry_run(plans.grid_scan([det], m1, 0, 1, 2, m2, 0, 1, 2))
    assert event_positions(plain, "m2") == [0, 1, 0, 1]
    chosen = await dry_run(
        plans.grid_scan([det], m1, 0, 1, 2, m2, 0, 1, 2, m3, 0, 1, 2, snake_axes=[m3])
    )
    assert chosen.runs[0]["snaking"] == [False, False, True]
    assert event_positions(chosen, "m3") == [0, 1, 1, 0, 0, 1, 1, 0]


async def test_list_grid_scan_with_non_numeric_positions():
    report = await dry_run(
        plans.list_grid_scan([det], m1, [1, 2], m2, ["Al", "Cu"], snake_axes=True)
    )
    assert event_positions(report, "m2") == ["Al", "Cu", "Cu", "Al"]
    assert report.runs[0]["extents"] == [[1, 2], [None, None]]
    json.dumps(report.runs[0])


async def test_list_scan_and_log_scan_positions():
    report = await dry_run(plans.list_scan([det], m1, [3, 1, 2], m2, [0, 0, 5]))
    assert event_positions(report, "m1") == [3, 1, 2]
    assert report.runs[0]["plan_pattern"] == "inner_list_product"
    report = await dry_run(plans.log_scan([det], m1, 1, 100, 3))
    assert event_positions(report, "m1") == pytest.approx([1, 10, 100])
    assert report.runs[0]["plan_name"] == "log_scan"


async def test_scan_nd_accepts_list_of_dicts_dict_of_lists_and_cycler():
    steps = [{m1: 0, m2: 5}, {m1: 1, m2: 4}]
    a = await dry_run(plans.scan_nd([det], steps))
    b = await dry_run(plans.scan_nd([det], {m1: [0, 1], m2: [5, 4]}))
    c = await dry_run(plans.scan_nd([det], cycler(m1, [0, 1]) + cycler(m2, [5, 4])))
    for report in (a, b, c):
        assert event_positions(report, "m1") == [0, 1]
        assert event_positions(report, "m2") == [5, 4]
        assert report.runs[0]["plan_args"]["trajectory"] == {"m1": [0, 1], "m2": [5, 4]}
    d = await dry_run(plans.scan_nd([det], cycler(m1, [0, 1]) * cycler(m2, [5, 4])))
    assert event_positions(d, "m2") == [5, 4, 5, 4]


async def test_spiral_plans_record_extents_and_visit_each_point_once():
    report = await dry_run(plans.spiral([det], m1, m2, 1, 1, 2, 2, 0.5, 4))
    xs, ys = event_positions(report, "m1"), event_positions(report, "m2")
    assert len(set(zip(xs, ys, strict=True))) == len(xs) == report.runs[0]["num_points"]
    assert report.runs[0]["extents"] == [[0, 2], [0, 2]]
    assert report.runs[0]["plan_pattern"] == "spiral"
    fermat = await dry_run(plans.spiral_fermat([det], m1, m2, 0, 0, 2, 2, 0.5, 2))
    assert fermat.runs[0]["plan_name"] == "spiral_fermat"
    assert len(fermat.moves) > 10


async def test_count_reads_num_times_with_delays_between_not_after():
    report = await dry_run(plans.count([det], 3, delay=0.5))
    assert report.commands.count("save") == 3
    assert report.commands.count("sleep") == 2
    assert report.commands[-3:] == ["read", "save", "close_run"]
    (md,) = report.runs
    assert md["hints"]["dimensions"] == [[["time"], "primary"]]
    assert "motors" not in md
    assert md["num_points"] == 3


async def test_count_forever_is_listed_up_to_a_limit():
    with pytest.raises(plans.PlanError, match="does not end by itself"):
        await dry_run(plans.count([det], None), max_messages=200)


async def test_per_step_hooks_nd_and_1d():
    seen = []

    async def nd(detectors, step, pos_cache):
        seen.append(dict(step))
        yield bps.one_nd_step(detectors, step, pos_cache)

    async def one_d(detectors, motor, step):
        seen.append((motor.name, step))
        yield bps.one_1d_step(detectors, motor, step)

    report = await dry_run(plans.scan([det], m1, 0, 1, 2, per_step=nd))
    assert seen == [{m1: 0.0}, {m1: 1.0}]
    assert report.runs[0]["plan_args"]["per_step"].endswith("nd")
    seen.clear()
    report = await dry_run(plans.rel_scan([det], m1, 0, 1, 2, per_step=one_d), positions={"m1": 10})
    assert seen == [("m1", 10.0), ("m1", 11.0)]
    assert report.commands.count("save") == 2


async def test_bluesky_style_plain_generator_per_step_works():
    def plain(detectors, step, pos_cache):
        yield from ()
        return (yield bps.one_nd_step(detectors, step, pos_cache))

    report = await dry_run(plans.scan([det], m1, 0, 1, 2, per_step=plain))
    assert report.commands.count("save") == 2


async def test_count_per_shot_hook():
    async def shot(detectors):
        yield bps.trigger_and_read(detectors, name="custom")

    report = await dry_run(plans.count([det], 2, per_shot=shot))
    creates = [m for m in report.messages if m.command == "create"]
    assert [m.kwargs["name"] for m in creates] == ["custom", "custom"]


async def test_relative_scan_reads_origin_offsets_and_moves_back():
    report = await dry_run(plans.rel_scan([det], m1, -1, 1, 3), positions={"m1": 5.0})
    assert report.commands[0] == "locate"
    assert report.positions("m1") == [4.0, 5.0, 6.0, 5.0]
    assert report.commands[-2:] == ["set", "wait"]
    assert report.runs[0]["plan_name"] == "rel_scan"
    assert report.runs[0]["plan_args"]["args"] == ["m1", -1.0, 1.0]


async def test_relative_plans_check_limits_once_the_origin_is_known():
    limited = FakeMotor("lim", limits=(-10, 10))
    plan = plans.rel_grid_scan([det], limited, -2, 2, 3, m2, 0, 1, 2)  # fine at call time
    with pytest.raises(plans.SoftLimitError, match=r"lim would move to 11\.0.*rel_grid_scan"):
        await dry_run(plan, positions={"lim": 9.0})
    rec = await drive(
        plans.rel_scan([det], limited, -2, 2, 3), lambda msg: {"setpoint": 9.0, "readback": 9.0}
    )
    assert isinstance(rec.error, plans.SoftLimitError)
    assert "open_run" not in rec.commands  # refused before the run opened


@pytest.mark.parametrize(
    "make",
    [
        lambda: plans.rel_list_scan([det], m1, [-1, 1]),
        lambda: plans.rel_grid_scan([det], m1, -1, 1, 2, m2, -1, 1, 2),
        lambda: plans.rel_list_grid_scan([det], m1, [-1, 1], m2, [0, 1]),
        lambda: plans.rel_log_scan([det], m1, 1, 2, 2),
        lambda: plans.rel_spiral([det], m1, m2, 1, 1, 0.3, 3),
        lambda: plans.rel_spiral_fermat([det], m1, m2, 1, 1, 0.3, 2),
        lambda: plans.rel_adaptive_scan([det], "det", m1, -1, 1, 0.1, 0.5, 1, False),
    ],
)
async def test_every_relative_plan_returns_motors_to_the_origin(make):
    report = await dry_run(make(), positions={"m1": 3.0, "m2": -2.0})
    assert report.moves[-1].target in (3.0, -2.0)
    last = {mv.device: mv.target for mv in report.moves}
    assert last["m1"] == 3.0
    if "m2" in last:
        assert last["m2"] == -2.0
    assert report.runs[0]["plan_name"].startswith("rel_")


def gaussian(center, width=0.3, peak=1000.0, background=0.0):
    def value(device, positions):
        x = positions.get("m1", 0.0)
        return peak * math.exp(-((x - center) ** 2) / (2 * width**2)) + background

    return value


async def test_tune_centroid_converges_and_leaves_the_motor_at_the_peak():
    report = await dry_run(
        plans.tune_centroid([det], "det", m1, -2, 2, 0.01, num=11), readings=gaussian(0.37)
    )
    assert report.moves[-1].target == pytest.approx(0.37, abs=0.01)
    last_set = max(i for i, c in enumerate(report.commands) if c == "set")
    assert last_set < report.commands.index("close_run")  # it moves there inside the run
    # each pass narrows the range around the centroid
    targets = report.positions("m1")
    assert min(targets) >= -2 and max(targets) <= 2
    assert report.runs[0]["plan_args"]["signal"] == "det"


async def test_tune_centroid_with_no_signal_ends_without_moving_to_a_centroid():
    report = await dry_run(plans.tune_centroid([det], "det", m1, -1, 1, 0.1, num=5))
    assert report.positions("m1") == [-1.0, -0.5, 0.0, 0.5, 1.0]


async def test_tune_centroid_snake_alternates_direction():
    report = await dry_run(
        plans.tune_centroid([det], "det", m1, -2, 2, 0.05, num=5, snake=True),
        readings=gaussian(0.2, width=0.6),
    )
    targets = report.positions("m1")
    first, second = targets[:5], targets[5:10]
    assert first == sorted(first) and second == sorted(second, reverse=True)


async def test_adaptive_scan_takes_small_steps_where_the_signal_changes_fast():
    report = await dry_run(
        plans.adaptive_scan([det], "det", m1, -3, 3, 0.02, 0.5, 20, backstep=True),
        readings=gaussian(0.0, width=0.3),
    )
    xs = event_positions(report, "m1")
    assert xs[0] == -3 and xs[-1] < 3
    steps = [(b - a, (a + b) / 2) for a, b in itertools.pairwise(xs) if b > a]
    near = [s for s, x in steps if abs(x) < 0.6]
    far = [s for s, x in steps if abs(x) > 2]
    assert sum(near) / len(near) < sum(far) / len(far) / 3
    assert report.runs[0]["plan_name"] == "adaptive_scan"


async def test_adaptive_scan_names_a_missing_target_field():
    plan = plans.adaptive_scan([det], "nope", m1, 0, 1, 0.1, 0.5, 1, False)
    with pytest.raises(
        plans.PlanError, match="no field 'nope' among the readings; fields read: det, m1"
    ):
        await dry_run(plan)


async def test_adaptive_scan_runs_backwards_when_stop_is_below_start():
    report = await dry_run(
        plans.adaptive_scan([det], "det", m1, 2, -2, 0.05, 0.5, 50, False), readings=gaussian(0.0)
    )
    xs = event_positions(report, "m1")
    assert xs[0] == 2
    assert all(b < a for a, b in itertools.pairwise(xs))
    assert xs[-1] > -2


async def test_fly_kicks_off_completes_and_collects_in_one_run():
    class Flyer:
        parent = None

        def __init__(self, name):
            self.name = name

        def kickoff(self): ...

        def complete(self): ...

    a, b = Flyer("fa"), Flyer("fb")
    rec = await drive(plans.fly([a, b]))
    assert rec.commands == [
        "open_run",
        "kickoff",
        "kickoff",
        "wait",
        "complete",
        "complete",
        "wait",
        "collect",
        "collect",
        "close_run",
    ]
    assert rec.result == "uid-1"
    assert rec.msgs[0].kwargs["plan_args"] == {"flyers": ["fa", "fb"]}


async def test_a_plan_object_is_created_eagerly_but_runs_lazily():
    plan = plans.scan([det], m1, 0, 1, 3)
    assert hasattr(plan, "asend")  # an async generator: nothing has run yet
    await plan.aclose()


def test_plans_carry_their_names_for_the_engine_plan_stack():
    assert plans.scan([det], m1, 0, 1, 2).__name__ == "scan"
    assert plans.rel_grid_scan([det], m1, 0, 1, 2, m2, 0, 1, 2).__name__ == "rel_grid_scan"
    assert plans.count([det]).__name__ == "count"
    assert bps.mv(m1, 1).__name__ == "mv"
    assert bps.trigger_and_read([det]).__name__ == "trigger_and_read"


async def test_a_failed_read_in_a_scan_drops_the_event_and_closes_the_run_as_failed():
    boom = OSError("m1: no response")
    rec = await drive(
        plans.scan([det], m1, 0, 1, 3),
        fail=lambda i, msg: boom if msg.command == "read" and msg.obj is m1 else None,
    )
    assert rec.commands[-3:] == ["read", "drop", "close_run"]
    assert rec.msgs[-1].kwargs == {"exit_status": "fail", "reason": "OSError: m1: no response"}
    assert rec.error is boom


async def test_count_with_a_delay_per_gap():
    report = await dry_run(plans.count([det], 3, delay=[0.5, 2.0]))
    sleeps = [m.args[0] for m in report.messages if m.command == "sleep"]
    assert len(sleeps) == 2 and 0.4 < sleeps[0] <= 0.5 and 1.9 < sleeps[1] <= 2.0

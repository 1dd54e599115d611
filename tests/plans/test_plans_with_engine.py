"""Every plan, stub and wrapper through the real RunEngine, against hardware-free devices.

Each test's documents are validated against event-model's schemas as they are emitted
(the `documents` fixture).
"""

import asyncio
import itertools
import math

import pytest
from cycler import cycler

import plans
from acq import plan_return
from acq.msg import Msg
from devices.sim import SimDetector, SimMotor, soft_signal_rw
from plans import stubs as bps
from plans import wrappers as bpp


async def events_reach(documents, n: int, timeout: float = 10.0) -> None:
    """Wait until `n` events have been emitted, failing fast if they never come."""
    async with asyncio.timeout(timeout):
        while len(documents.of("event")) < n:
            await asyncio.sleep(0.001)


@pytest.fixture
def m1():
    return SimMotor("m1", limits=(-10, 10))


@pytest.fixture
def m2():
    return SimMotor("m2", limits=(-10, 10))


@pytest.fixture
def det(m1):
    return SimDetector("det", m1, center=0.3, width=0.5, peak=1000.0)


async def test_scan_records_one_event_per_point_and_returns_the_run_uid(RE, documents, m1, det):
    result = await RE(plans.scan([det], m1, -1, 1, 5), sample="Si")
    assert result.exit_status == "success"
    assert result.plan_result == result.run_uids[0] == documents.starts[0]["uid"]
    assert documents.column("m1") == pytest.approx([-1, -0.5, 0, 0.5, 1])
    expected = [1000 * math.exp(-((x - 0.3) ** 2) / 0.5) for x in (-1, -0.5, 0, 0.5, 1)]
    assert documents.column("det") == pytest.approx(expected)
    start = documents.starts[0]
    assert start["plan_name"] == "scan" and start["sample"] == "Si"
    assert start["hints"]["dimensions"] == [[["m1"], "primary"]]
    assert start["num_points"] == 5
    assert documents.stops[0]["num_events"] == {"primary": 5}


async def test_rel_scan_returns_the_motor_after_success_failure_and_abort(RE, documents, m1, det):
    await m1.set(2.0)
    await RE(plans.rel_scan([det], m1, -1, 1, 3))
    assert documents.column("m1") == pytest.approx([1, 2, 3])
    assert m1.position == 2.0

    class Flaky(SimDetector):
        reads = 0

        async def read(self):
            self.reads += 1
            if self.reads == 2:
                raise OSError("det: no response")
            return await super().read()

    with pytest.raises(OSError, match="no response"):
        await RE(plans.rel_scan([Flaky("flaky", m1)], m1, -1, 1, 3))
    assert m1.position == 2.0
    assert documents.stops[-1]["exit_status"] == "fail"
    assert "no response" in documents.stops[-1]["reason"]

    async def abort_soon():
        await events_reach(documents, 5)
        await RE.abort("beam lost")

    slow = SimMotor("slow", velocity=20.0)
    task = asyncio.create_task(abort_soon())
    result = await RE(plans.rel_scan([SimDetector("d2", slow)], slow, 0, 2, 21))
    await task
    assert result.exit_status == "abort"
    assert documents.stops[-1]["exit_status"] == "abort"
    assert slow.position == 0.0  # moved back by the plan's cleanup


async def test_relative_range_beyond_limits_fails_before_a_run_opens(RE, documents, m1, det):
    await m1.set(9.0)
    with pytest.raises(plans.SoftLimitError, match=r"m1 would move to 11\.0"):
        await RE(plans.rel_scan([det], m1, -1, 2, 4))
    assert documents.starts == []
    assert m1.position == 9.0


async def test_grid_scan_events_fill_the_grid_in_snake_order(RE, documents, m1, m2):
    det = SimDetector("det", m1)
    result = await RE(plans.grid_scan([det], m1, 0, 2, 3, m2, -1, 1, 3, snake_axes=True))
    assert result.exit_status == "success"
    got = list(zip(documents.column("m1"), documents.column("m2"), strict=True))
    assert got == [(0, -1), (0, 0), (0, 1), (1, 1), (1, 0), (1, -1), (2, -1), (2, 0), (2, 1)]
    start = documents.starts[0]
    assert start["shape"] == [3, 3] and start["snaking"] == [False, True]
    assert start["extents"] == [[0, 2], [-1, 1]]


@pytest.mark.parametrize(
    "make",
    [
        lambda d, a, b: plans.count([d], 3),
        lambda d, a, b: plans.list_scan([d], a, [0, 1, 3], b, [1, 1, 2]),
        lambda d, a, b: plans.rel_list_scan([d], a, [0, 1]),
        lambda d, a, b: plans.list_grid_scan([d], a, [0, 1], b, [2, 3], snake_axes=True),
        lambda d, a, b: plans.rel_list_grid_scan([d], a, [0, 1], b, [2, 3]),
        lambda d, a, b: plans.rel_grid_scan([d], a, 0, 1, 2, b, 0, 1, 2),
        lambda d, a, b: plans.log_scan([d], a, 0.1, 5, 4),
        lambda d, a, b: plans.rel_log_scan([d], a, 0.1, 5, 4),
        lambda d, a, b: plans.scan_nd([d], [{a: 0, b: 1}, {a: 1, b: 0}]),
        lambda d, a, b: plans.spiral([d], a, b, 0, 0, 1, 1, 0.3, 4),
        lambda d, a, b: plans.rel_spiral([d], a, b, 1, 1, 0.3, 4),
        lambda d, a, b: plans.spiral_fermat([d], a, b, 0, 0, 1, 1, 0.3, 2),
        lambda d, a, b: plans.rel_spiral_fermat([d], a, b, 1, 1, 0.3, 2),
        lambda d, a, b: plans.adaptive_scan([d], "det", a, -1, 1, 0.05, 0.5, 100, True),
        lambda d, a, b: plans.rel_adaptive_scan([d], "det", a, -1, 1, 0.05, 0.5, 100, False),
        lambda d, a, b: plans.tune_centroid([d], "det", a, -1, 1, 0.05, num=6),
    ],
)
async def test_every_plan_runs_to_success_with_one_run_and_num_points_events(
    RE, documents, m1, m2, det, make
):
    plan = make(det, m1, m2)
    name = plan.__name__
    result = await RE(plan)
    assert result.exit_status == "success"
    assert result.plan_result == result.run_uids[0]
    (start,) = documents.starts
    assert start["plan_name"] == name
    assert start["detectors"] == ["det"] and isinstance(start["plan_args"], dict)
    dimensions = start["hints"]["dimensions"]
    if name == "count":
        assert dimensions == [[["time"], "primary"]] and "motors" not in start
    else:
        assert start["motors"] and set(start["motors"]) <= {"m1", "m2"}
        assert sorted(f for fields, _ in dimensions for f in fields) == sorted(start["motors"])
    if "grid" in name:
        assert start["shape"] == [2, 2] and len(start["extents"]) == 2
    if "spiral" in name:
        assert len(start["extents"]) == 2
    events = documents.events()
    assert len(events) >= 2
    if "num_points" in start:
        assert len(events) == start["num_points"]
    if name.startswith("rel_"):
        assert (m1.position, m2.position) == (0.0, 0.0)
    assert documents.stops[0]["exit_status"] == "success"


async def test_scan_nd_with_a_cycler(RE, documents, m1, m2, det):
    await RE(plans.scan_nd([det], cycler(m1, [0, 1]) * cycler(m2, [5, 6, 7])))
    assert documents.column("m2") == [5, 6, 7, 5, 6, 7]


async def test_tune_centroid_finds_the_peak(RE, documents, m1, det):
    await RE(plans.tune_centroid([det], "det", m1, -2, 2, 0.01, num=11))
    assert m1.position == pytest.approx(0.3, abs=0.02)
    passes = len(documents.events()) / 11
    assert passes >= 3


async def test_adaptive_scan_densifies_where_the_signal_changes(RE, documents, m1, det):
    await RE(plans.adaptive_scan([det], "det", m1, -3, 3, 0.02, 0.6, 40, backstep=True))
    xs = documents.column("m1")
    steps = [(b - a, (a + b) / 2) for a, b in itertools.pairwise(xs) if b > a]
    near = [s for s, x in steps if abs(x - 0.3) < 0.7]
    far = [s for s, x in steps if abs(x - 0.3) > 2]
    assert near and far and max(near) < min(far)


async def test_count_per_shot_and_delay(RE, documents, det):
    async def shot(detectors):
        yield bps.trigger_and_read(detectors, name="shots")

    await RE(plans.count([det], 2, delay=0.01, per_shot=shot))
    assert len(documents.events("shots")) == 2


async def test_fly_collects_pages_from_a_flyer(RE, documents):
    class Flyer:
        parent = None
        name = "flyer"

        def kickoff(self):
            return asyncio.sleep(0)

        def complete(self):
            return asyncio.sleep(0.01)

        async def describe_collect(self):
            return {"flyer_x": {"source": "sim", "dtype": "number", "shape": []}}

        async def collect_pages(self):
            yield {
                "data": {"flyer_x": [1.0, 2.0, 3.0]},
                "timestamps": {"flyer_x": [1.0, 2.0, 3.0]},
                "time": [1.0, 2.0, 3.0],
            }

    result = await RE(plans.fly([Flyer()]))
    assert result.plan_result == result.run_uids[0]
    assert documents.column("flyer_x") == [1.0, 2.0, 3.0]


async def test_mv_and_mvr_move_motors_concurrently(RE):
    a, b = SimMotor("a", velocity=2.0), SimMotor("b", velocity=2.0)
    updates: list[tuple[str, float]] = []  # every readback update of both, in order
    watchers = {m: (lambda v, name=m.name: updates.append((name, v))) for m in (a, b)}
    for motor, watch in watchers.items():
        motor.user_readback.subscribe_value(watch)
    try:
        await RE(bps.mv(a, 1.0, b, 1.0))
    finally:
        for motor, watch in watchers.items():
            motor.user_readback.clear_sub(watch)
    assert (a.position, b.position) == (1.0, 1.0)
    a_arrived = updates.index(("a", 1.0))
    b_on_the_way = next(i for i, (name, v) in enumerate(updates) if name == "b" and 0 < v < 1)
    assert b_on_the_way < a_arrived, "the moves should overlap, not run one after the other"
    result = await RE(bps.mvr(a, -0.5, b, 0.5))
    assert (a.position, b.position) == (0.5, 1.5)
    assert len(result.plan_result) == 2


async def test_trigger_and_read_returns_readings_to_the_plan(RE, documents, m1, det):
    async def plan():
        yield Msg("open_run")
        readings = yield bps.trigger_and_read([det, m1])
        yield Msg("close_run")
        yield plan_return(readings["det"]["value"])

    result = await RE(plan())
    assert result.plan_result == documents.column("det")[0]


async def test_baseline_and_monitor_during_and_inject_md(RE, documents, m1, m2, det):
    temperature = soft_signal_rw(float, 295.0, "temperature")

    async def warm_up_after_first_point(detectors, step, pos_cache):
        if step[m1] > 0:
            yield bps.mv(temperature, 300.0)
        yield bps.one_nd_step(detectors, step, pos_cache)

    @bpp.baseline_decorator([m2, temperature])
    @bpp.monitor_during_decorator([temperature])
    @bpp.inject_md_decorator({"operator": "ada"})
    def measured():
        return plans.scan([det], m1, 0, 1, 3, per_step=warm_up_after_first_point)

    await RE(measured())
    assert documents.starts[0]["operator"] == "ada"
    assert documents.column("temperature", "baseline") == [295.0, 300.0]
    assert 300.0 in documents.column("temperature", "temperature_monitor")
    assert len(documents.events("primary")) == 3


async def test_suspend_wrapper_installs_an_engine_suspender(RE, documents, m1, det):
    from acq.suspenders import SuspendFloor

    current = soft_signal_rw(float, 100.0, "current")
    suspender = SuspendFloor(current, 10)
    await RE(bpp.suspend_wrapper(plans.count([det], 2), suspender))
    assert len(documents.events()) == 2


async def test_finalize_cleanup_runs_on_abort_through_the_engine(RE, documents, m1, det):
    cleaned = []

    async def cleanup():
        cleaned.append(True)
        yield bps.mv(m1, -5)

    async def abort_at_second_event():
        await events_reach(documents, 2)
        await RE.abort("testing")

    m1_slow = SimMotor("m1s", velocity=50.0)
    task = asyncio.create_task(abort_at_second_event())
    result = await RE(
        bpp.finalize_wrapper(plans.scan([SimDetector("d", m1_slow)], m1_slow, 0, 5, 51), cleanup)
    )
    await task
    assert result.exit_status == "abort"
    assert cleaned == [True] and m1.position == -5


async def test_the_nested_temperature_scan_one_run_per_temperature(RE, documents, det):
    tc = SimMotor("tc", limits=(4, 500), initial=295)
    th, tth = SimMotor("th"), SimMotor("tth")
    result = await RE(plans.temperature_theta_2theta_scan([det], tc, [300, 320], th, tth, 1, 2, 3))
    assert result.plan_result == list(result.run_uids) and len(result.run_uids) == 2
    assert [s["temperature"] for s in documents.starts] == [300, 320]
    for run in (0, 1):
        assert documents.column("tth", run=run) == pytest.approx([2, 3, 4])
    assert documents.column("tc", run=1) == [320, 320, 320]


async def test_the_nested_temperature_scan_as_one_run_with_a_stream_each(RE, documents, det):
    tc = SimMotor("tc", initial=295)
    th, tth = SimMotor("th"), SimMotor("tth")
    result = await RE(
        plans.temperature_theta_2theta_scan([det], tc, [300, 320], th, tth, 1, 2, 3, one_run=True)
    )
    assert len(result.run_uids) == 1
    assert documents.starts[0]["temperature_streams"] == {
        "temperature_0": 300,
        "temperature_1": 320,
    }
    assert documents.column("tc", "temperature_1") == [320, 320, 320]
    assert sorted(documents.streams()) == ["temperature_0", "temperature_1"]


async def test_count_forever_until_stopped_ends_with_success(RE, documents, det):
    async def stop_after_ten_events():
        await events_reach(documents, 10)
        await RE.stop()

    task = asyncio.create_task(stop_after_ten_events())
    result = await RE(plans.count([det], None, delay=0.001))
    await task
    assert result.exit_status == "success"
    assert len(documents.events()) >= 10
    assert documents.stops[0]["exit_status"] == "success"

"""The dry run: messages and moves without hardware; soft limits checked before a real run."""

import asyncio

import pytest

import plans
from acq import plan_return
from acq.msg import Msg
from devices.sim import SimDetector, SimMotor
from plans import SoftLimitError, dry_run, dry_run_sync
from plans import stubs as bps


def sim():
    m1 = SimMotor("m1", limits=(-5, 5), initial=1.0)
    m2 = SimMotor("m2")
    det = SimDetector("det", m1, center=0.0, width=1.0, peak=100.0)
    return m1, m2, det


async def test_a_relative_range_outside_the_limits_is_refused_before_the_run_opens():
    m1, _m2, det = sim()
    plan = plans.rel_scan([det], m1, -2, 6, 5)  # fine at call time: offsets, not positions
    with pytest.raises(SoftLimitError) as info:
        await dry_run(plan)
    # origin 1.0 (the sim motor's position) + offsets -2 .. 6: 7.0 is refused
    err = info.value
    assert (err.motor_name, err.target, err.low, err.high) == ("m1", 7.0, -5.0, 5.0)
    assert "rel_scan, point 4" in str(err)
    assert m1.position == 1.0  # the real (simulated) motor never moved


async def test_any_set_outside_the_limits_is_named_with_its_message():
    m1, m2, _det = sim()

    async def hand_written():  # raw messages: bps.mv itself would refuse 9 when called
        yield bps.mv(m1, 2)
        yield Msg("set", m1, 9, group="g")
        yield Msg("set", m2, 1, group="g")
        yield Msg("wait", None, group="g")

    with pytest.raises(SoftLimitError) as info:
        await dry_run(hand_written())
    assert "m1 would move to 9, outside its soft limits [-5.0, 5.0]" in str(info.value)
    assert "(message 2: Msg('set', m1, 9, group=" in str(info.value)


async def test_starting_positions_by_device_or_name_and_position_attribute():
    m1, _m2, det = sim()
    by_device = await dry_run(plans.rel_scan([det], m1, 0, 1, 2), positions={m1: -1.0})
    by_name = await dry_run(plans.rel_scan([det], m1, 0, 1, 2), positions={"m1": -1.0})
    default = await dry_run(plans.rel_scan([det], m1, 0, 1, 2))
    assert by_device.positions("m1") == by_name.positions("m1") == [-1.0, 0.0, -1.0]
    assert default.positions("m1") == [1.0, 2.0, 1.0]


async def test_limits_from_describe_control_limits():
    class Described:
        name, parent, hints = "th", None, {"fields": ["th"]}

        def set(self, value): ...

        async def read(self): ...

        async def describe(self):
            return {
                "th": {
                    "source": "x",
                    "dtype": "number",
                    "shape": [],
                    "limits": {"control": {"low": -10.0, "high": 190.0}},
                }
            }

    th = Described()
    report = await dry_run(plans.list_scan([], th, [0, 100]))
    assert report.positions("th") == [0, 100]
    with pytest.raises(SoftLimitError, match=r"th would move to 200.*\[-10.0, 190.0\]"):
        await dry_run(plans.list_scan([], th, [0, 200]))
    report = await dry_run(plans.list_scan([], th, [0, 200]), check_limits=False)
    assert report.positions("th") == [0, 200]


async def test_reads_follow_simulated_positions_and_readings_spec():
    m1, m2, det = sim()

    async def probe():
        yield bps.mv(m1, 3.0)
        here = yield bps.rd(m1)
        counts = yield bps.rd(det)
        where = yield bps.locate(m1, m2, squeeze=False)
        yield plan_return((here, counts, where))

    report = await dry_run(probe(), readings={"det": lambda pos: pos["m1"] * 10})
    here, counts, where = report.result
    assert here == 3.0 and counts == 30.0
    assert where == [{"setpoint": 3.0, "readback": 3.0}, {"setpoint": 0.0, "readback": 0.0}]
    report = await dry_run(probe(), readings=lambda dev, pos: {"det": 7})
    assert report.result[1] == 7


async def test_report_lists_messages_and_moves_readably():
    m1, m2, det = sim()
    report = await dry_run(plans.grid_scan([det], m1, 0, 1, 2, m2, 0, 1, 2, snake_axes=True))
    text = str(report)
    assert text.splitlines()[0].startswith("dry run: 1 run(s), ")
    assert "Msg('set', m2, 1.0" in text and "# m2: 0.0 -> 1.0" in text
    assert [str(mv) for mv in report.moves][:2] == ["m1: 1.0 -> 0.0", "m2: 0.0 -> 0.0"]
    assert report.commands[0] == "stage"  # sim devices are stageable
    assert report.runs[0]["shape"] == [2, 2]


async def test_the_nested_temperature_scan_lists_one_run_per_temperature():
    m1, m2, det = sim()
    tc = SimMotor("tc", limits=(4, 400), initial=295)
    report = await dry_run(
        plans.temperature_theta_2theta_scan([det], tc, [300, 320, 340], m1, m2, 1, 2, 3)
    )
    assert [run["temperature"] for run in report.runs] == [300, 320, 340]
    assert report.positions("tc") == [300, 320, 340]
    assert report.positions("m2")[:3] == [2.0, 3.0, 4.0]  # two-theta is twice theta
    assert report.result == ["dry-run-1", "dry-run-2", "dry-run-3"]


def test_dry_run_sync_from_code_without_a_loop():
    _m1, _m2, det = sim()
    report = dry_run_sync(plans.count([det], 2))
    assert report.commands.count("save") == 2


async def test_an_error_inside_the_plan_propagates_and_the_plan_is_closed():
    closed = []

    async def broken():
        try:
            yield bps.null()
            raise RuntimeError("plan bug")
        finally:
            closed.append(True)

    with pytest.raises(RuntimeError, match="plan bug"):
        await dry_run(broken())
    assert closed == [True]
    await asyncio.sleep(0)

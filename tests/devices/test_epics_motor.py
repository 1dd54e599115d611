"""EpicsMotor against the simulated beamline's motor record."""

from __future__ import annotations

import asyncio

import pytest

from acq.protocols import Configurable, Locatable, Movable, Pausable, Readable, Stoppable
from devices import (
    MotorLimitError,
    MotorStoppedError,
    SignalValueError,
    StatusTimeoutError,
    connect,
)
from devices.epics import EpicsMotor


@pytest.fixture
async def m3(sim_ioc):
    """m3 of the sim IOC (the other packages' tests use m1/m2), fast, back at 0 after."""
    motor = EpicsMotor(sim_ioc.pv("m3"), name="m3")
    await connect(motor, timeout=10)
    await motor.velocity.set(10.0)
    await motor.set(0.0).wait(timeout=30)  # the IOC tests may have left it anywhere
    yield motor
    await motor.stop()
    await motor.set(0.0).wait(timeout=30)


async def test_motor_reads_under_its_own_name_and_describes_itself(m3, sim_ioc) -> None:
    assert isinstance(m3, Movable | Locatable | Readable | Stoppable | Configurable)
    reading = await m3.read()
    assert set(reading) == {"m3", "m3_user_setpoint"}
    assert m3.hints == {"fields": ["m3"]}
    key = (await m3.describe())["m3"]
    assert key["source"] == f"ca://{sim_ioc.pv('m3')}.RBV"
    assert key["units"] == "mm" and key["precision"] == 4
    config = await m3.read_configuration()
    assert set(config) == {"m3_velocity", "m3_acceleration", "m3_motor_egu", "m3_user_offset"}
    assert config["m3_motor_egu"]["value"] == "mm"


async def test_move_completes_on_the_put_callback_with_progress(m3) -> None:
    updates = []
    status = m3.set(1.5)
    status.watch(updates.append)
    await status.wait(timeout=20)
    assert (await m3.read())["m3"]["value"] == pytest.approx(1.5)
    assert await m3.locate() == {"setpoint": 1.5, "readback": pytest.approx(1.5)}
    assert updates[-1].current == 1.5 and updates[-1].fraction == 1.0
    assert updates[-1].unit == "mm" and updates[-1].initial == pytest.approx(0.0)
    assert updates[-1].time_elapsed >= 1.5 / 10.0  # distance / VELO
    assert any(0.0 < u.current < 1.5 for u in updates), (
        "progress during the move, not only at its end"
    )
    assert all(u.time_remaining is not None for u in updates)


async def test_readback_is_fresh_after_every_move(m3) -> None:
    for target in (0.2, 0.4, 0.6):
        await m3.set(target).wait(timeout=20)
        assert (await m3.read())["m3"]["value"] == pytest.approx(target)


async def test_move_beyond_limits_is_refused_and_does_not_move(m3) -> None:
    before = (await m3.locate())["readback"]
    with pytest.raises(
        MotorLimitError, match=r"m3: target 150 is outside the limits \[-100, 100\]"
    ):
        m3.set(150.0)
    assert (await m3.locate())["readback"] == before
    await m3.high_limit_travel.set(2.0)
    try:
        await _until(lambda: m3.limits == (-100.0, 2.0), timeout=5)
        with pytest.raises(MotorLimitError, match=r"\[-100, 2\]"):
            m3.set(3.0)
    finally:
        await m3.high_limit_travel.set(100.0)
    with pytest.raises(SignalValueError, match="m3: expected float"):
        m3.set("home")


async def test_stop_halts_a_move_where_it_is(m3) -> None:
    await m3.velocity.set(2.0)
    status = m3.set(50.0)
    await _until(lambda: status.progress is not None and status.progress.current > 0.1, timeout=10)
    await m3.stop(success=False)
    with pytest.raises(MotorStoppedError, match="m3: the move to 50 was stopped"):
        await status.wait(timeout=10)
    position = (await m3.read())["m3"]["value"]
    assert 0.1 < position < 50.0
    assert await m3.motor_done_move.get_value() == 1


async def _until(condition, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_pause_holds_the_move_and_resume_finishes_it(sim_ioc) -> None:
    m4 = EpicsMotor(sim_ioc.pv("m4"), name="m4")
    await connect(m4, timeout=10)
    assert isinstance(m4, Pausable)
    await m4.velocity.set(10.0)
    await m4.set(0.0).wait(timeout=30)  # the IOC tests may have left it anywhere
    await m4.velocity.set(1.0)
    try:
        status = m4.set(3.0)  # 3 s: the pause lands mid-move even on a loaded machine
        await _until(
            lambda: status.progress is not None and status.progress.current > 0.1, timeout=10
        )
        await m4.pause()
        held = (await m4.read())["m4"]["value"]
        with pytest.raises(StatusTimeoutError):  # paused: the move stays pending
            await status.wait(timeout=1.0)
        assert (await m4.read())["m4"]["value"] == pytest.approx(held, abs=0.05), "it moved on"
        assert 0.1 < held < 3.0
        await m4.resume()
        await status.wait(timeout=30)
        assert (await m4.read())["m4"]["value"] == pytest.approx(3.0)
    finally:
        await m4.resume()
        await m4.velocity.set(10.0)
        await m4.set(0.0).wait(timeout=30)


async def test_signal_set_with_a_timeout_fails_when_the_put_takes_longer(m3) -> None:
    await m3.velocity.set(1.0)
    with pytest.raises(StatusTimeoutError, match=r"did not finish within 0\.2 s"):
        await m3.user_setpoint.set(5.0, wait=True, timeout=0.2)
    await m3.stop()
    assert (await m3.read())["m3"]["value"] < 5.0, "stop should end the move short of 5"


async def test_a_limit_violation_left_by_an_earlier_put_does_not_fail_the_next_move(m3) -> None:
    # someone else's put beyond the limits: the IOC refuses it and sets LVIO=1
    await m3.user_setpoint.set(150.0)
    assert await m3.limit_violation.get_value() == 1
    await _until(lambda: m3._watched.get("lvio") == 1, timeout=5)
    here = (await m3.locate())["readback"]
    await m3.set(here).wait(timeout=10)  # a move of nothing clears LVIO at once
    assert await m3.limit_violation.get_value() == 0

"""Every put with callback is bounded: a callback that never comes ends with an error that
names the PV and the bound, never a hang. Records `stuck` (processing never ends) and
`slow` (ends 1 s after each put) are in records.db; motor moves are bounded by their travel.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

import devices.epics.motor as motor_module
from devices import connect
from devices.epics import (
    CaBackend,
    EpicsMotor,
    EpicsSignalRW,
    EpicsSignalX,
    set_default_put_timeout,
)
from devices.errors import StatusTimeoutError


@pytest.fixture
def default_put_timeout():
    before = CaBackend.default_put_timeout
    yield set_default_put_timeout
    CaBackend.default_put_timeout = before


async def test_default_bound_of_a_put_with_callback_is_ten_seconds() -> None:
    assert CaBackend.default_put_timeout == 10.0


async def test_a_put_whose_callback_never_comes_fails_naming_the_pv_and_the_bound(
    base_ioc: Any, default_put_timeout: Any
) -> None:
    default_put_timeout(0.5)  # everywhere, for signals without a bound of their own
    stuck = EpicsSignalX(base_ioc.pv("stuck.PROC"), name="stuck")
    await connect(stuck, timeout=10)
    started = time.monotonic()
    with anyio.fail_after(10):  # the test's own guard: a hang fails here, not in 30 s
        with pytest.raises(StatusTimeoutError) as caught:
            await stuck.trigger()
    assert time.monotonic() - started >= 0.5  # waited its bound, then gave up
    message = str(caught.value)
    assert base_ioc.pv("stuck.PROC") in message and "0.5 s" in message


async def test_a_signal_bound_beats_the_default_and_a_call_bound_beats_both(
    base_ioc: Any, default_put_timeout: Any
) -> None:
    default_put_timeout(0.2)
    slow = EpicsSignalX(base_ioc.pv("slow.PROC"), name="slow", put_timeout=5.0)
    await connect(slow, timeout=10)
    with anyio.fail_after(10):
        await slow.trigger()  # 1 s of processing fits the signal's 5 s
        with pytest.raises(StatusTimeoutError, match=r"slow\.PROC.*within 0\.3 s"):
            await slow.trigger(timeout=0.3)


def test_a_put_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="> 0"):
        set_default_put_timeout(0)


async def test_a_put_without_callback_is_bounded_too(base_ioc: Any) -> None:
    ao = EpicsSignalRW(base_ioc.pv("ao"), name="ao")
    await connect(ao, timeout=10)
    with anyio.fail_after(10):
        await ao.set(1.25, wait=False)
    assert await ao.get_value() == pytest.approx(1.25)


async def test_a_motor_move_is_bounded_by_its_travel_and_ramps_plus_a_margin(
    sim_ioc: Any,
) -> None:
    m3 = EpicsMotor(sim_ioc.pv("m3"), name="m3")
    await connect(m3, timeout=20)
    await m3.velocity.set(2.0)
    await m3.acceleration.set(0.1)
    await m3.set(0.0)
    expected = 4.0 / 2.0 + 2 * 0.1 + motor_module.MOVE_TIMEOUT_MARGIN
    with anyio.fail_after(5):  # VELO and ACCL reach the motor by monitor
        while m3.move_timeout(4.0) != pytest.approx(expected):
            await anyio.sleep(0.02)


async def test_a_motor_move_that_overruns_its_bound_is_stopped_and_says_so(
    sim_ioc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    m3 = EpicsMotor(sim_ioc.pv("m3"), name="m3")
    await connect(m3, timeout=20)
    await m3.velocity.set(10.0)
    await m3.set(0.0)
    await m3.velocity.set(1.0)
    # a motor that is slower than its VELO says (a stalled axis) looks like this:
    monkeypatch.setattr(motor_module, "MOVE_TIMEOUT_MARGIN", -0.7)  # 1 mm allowed 0.4 s
    try:
        with anyio.fail_after(10):
            with pytest.raises(StatusTimeoutError, match=r"m3: the move to 1 did not finish"):
                await m3.set(1.0)
            with anyio.fail_after(5):
                while await m3.motor_done_move.get_value() != 1:
                    await anyio.sleep(0.05)
        stopped_at = await m3.user_readback.get_value()
        assert 0.0 < stopped_at < 1.0  # stopped on the way, not left to run on
        await anyio.sleep(0.3)
        assert await m3.user_readback.get_value() == pytest.approx(stopped_at)
    finally:
        monkeypatch.undo()
        await m3.velocity.set(10.0)
        await m3.set(0.0)

"""Soft signals: values, type checks, subscriptions, waiting on values."""

from __future__ import annotations

import asyncio
import contextlib
import enum

import numpy as np
import pytest

from devices import (
    SignalR,
    SignalRW,
    SignalValueError,
    SoftBackend,
    StatusTimeoutError,
    set_and_wait_for_other_value,
    soft_signal_r_and_setter,
    soft_signal_rw,
    soft_signal_w,
    soft_signal_x,
    wait_for_value,
)


class Mode(enum.StrEnum):
    FAST = "Fast"
    SLOW = "Slow"


async def test_set_then_read_returns_the_new_value_with_a_timestamp() -> None:
    x = soft_signal_rw(float, 1.0, "x", units="mm", precision=3)
    await x.set(2.5)
    reading = (await x.read())["x"]
    assert reading["value"] == 2.5 and reading["timestamp"] > 0
    assert await x.get_value() == 2.5
    assert (await x.describe())["x"] == {
        "source": "soft://x",
        "dtype": "number",
        "dtype_numpy": "<f8",
        "shape": [],
        "units": "mm",
        "precision": 3,
    }
    assert await x.locate() == {"setpoint": 2.5, "readback": 2.5}


@pytest.mark.parametrize(
    ("datatype", "bad"),
    [
        (float, "1.0"),
        (int, 1.5),
        (bool, 2),
        (str, 3),
        (np.ndarray, "abc"),
        (Mode, "Medium"),
    ],
)
async def test_wrong_value_type_is_refused_before_anything_is_stored(datatype, bad) -> None:
    sig = soft_signal_rw(datatype, None, "sig")
    before = await sig.get_value()
    with pytest.raises(SignalValueError, match="sig"):
        sig.set(bad)
    assert np.array_equal(await sig.get_value(), before)


async def test_enum_signal_takes_labels_and_lists_the_choices() -> None:
    mode = soft_signal_rw(Mode, Mode.FAST, "mode")
    await mode.set("Slow")
    assert await mode.get_value() is Mode.SLOW
    assert (await mode.describe())["mode"]["choices"] == ["Fast", "Slow"]
    with pytest.raises(SignalValueError, match="'Fast', 'Slow'"):
        mode.set("Medium")


async def test_array_signal_describes_its_shape() -> None:
    wave = soft_signal_rw(np.ndarray, np.arange(5.0), "wave")
    key = (await wave.describe())["wave"]
    assert key["dtype"] == "array" and key["shape"] == [5]
    await wave.set([1, 2, 3])
    assert list(await wave.get_value()) == [1, 2, 3]


async def test_subscribers_get_the_current_value_then_each_update() -> None:
    x = soft_signal_rw(float, 0.0, "x")
    readings: list[dict] = []
    values: list[float] = []
    x.subscribe(readings.append)
    x.subscribe_value(values.append)
    await x.set(1.0)
    await x.set(2.0)
    assert values == [0.0, 1.0, 2.0]
    assert [r["x"]["value"] for r in readings] == [0.0, 1.0, 2.0]
    x.clear_sub(values.append)
    x.clear_sub(readings.append)
    await x.set(3.0)
    assert values == [0.0, 1.0, 2.0]


async def test_async_iteration_yields_updates() -> None:
    sig, setter = soft_signal_r_and_setter(int, 0, "counter")
    assert isinstance(sig, SignalR)
    seen: list[int] = []
    async with contextlib.aclosing(sig.updates()) as updates:
        async for value in updates:
            seen.append(value)
            if value == 3:
                break
            setter(value + 1)
    assert seen == [0, 1, 2, 3]


async def test_wait_for_value_with_a_predicate_and_a_timeout() -> None:
    sig, setter = soft_signal_r_and_setter(float, 0.0, "temp")
    asyncio.get_running_loop().call_later(0.01, setter, 5.0)
    assert await wait_for_value(sig, lambda v: v > 4, timeout=5) == 5.0
    with pytest.raises(StatusTimeoutError, match=r"temp did not reach 9.0 .*last value 5.0"):
        await wait_for_value(sig, 9.0, timeout=0.02)


async def test_set_and_wait_for_other_value() -> None:
    acquire = soft_signal_rw(int, 0, "acquire")
    busy, set_busy = soft_signal_r_and_setter(int, 0, "busy")
    acquire.subscribe_value(set_busy)  # the "IOC" mirrors the command into a readback
    status = await set_and_wait_for_other_value(acquire, 1, busy, 1, timeout=5)
    assert status.success and await busy.get_value() == 1


async def test_executable_signal_runs_its_action() -> None:
    calls: list[int] = []
    go = soft_signal_x(lambda: calls.append(1), "go")
    await go.trigger()
    assert calls == [1]


async def test_a_failing_subscriber_does_not_stop_the_others(caplog) -> None:
    x = soft_signal_rw(float, 0.0, "x")
    seen: list[float] = []

    def broken(value: float) -> None:
        raise RuntimeError("plot window closed")

    x.subscribe_value(broken)
    x.subscribe_value(seen.append)
    await x.set(1.0)
    assert seen == [0.0, 1.0]
    assert "x: subscriber" in caplog.text and "plot window closed" in caplog.text


async def test_soft_backend_with_a_getter_and_an_async_setter() -> None:
    sent: list[float] = []

    async def setter(value: float) -> None:
        await asyncio.sleep(0)
        sent.append(value)

    model = {"x": 1.0}
    gain = SignalRW(SoftBackend(float, 0.0, getter=lambda: 2 * model["x"], setter=setter), name="g")
    assert await gain.get_value() == 2.0
    model["x"] = 3.0  # the getter is asked at every read
    assert (await gain.read())["g"]["value"] == 6.0
    await gain.set(4.0)
    assert sent == [4.0]
    with pytest.raises(SignalValueError, match="g"):
        gain.set("four")
    assert sent == [4.0]


async def test_write_only_soft_signal_checks_and_stores() -> None:
    command = soft_signal_w(int, 0, "command")
    assert not hasattr(command, "read")
    await command.set(3)
    assert await command.backend.get_value() == 3
    with pytest.raises(SignalValueError, match=r"command .*expected int"):
        command.set(3.5)

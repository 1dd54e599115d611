"""CA signals against EPICS base records: types, enums, alarms, units, precision, errors."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time

import numpy as np
import pytest

from devices import (
    Format,
    NotConnectedError,
    SignalAccessError,
    SignalValueError,
    StandardReadable,
    connect,
    wait_for_value,
)
from devices.epics import (
    EpicsMotor,
    EpicsSignalRO,
    EpicsSignalRW,
    EpicsSignalWO,
    EpicsSignalX,
    IncompatibleTypeError,
)


class State(enum.StrEnum):
    IDLE = "Idle"
    ACQUIRE = "Acquire"


async def test_float_record_reads_with_units_precision_and_limits(base_ioc) -> None:
    ai = EpicsSignalRO(base_ioc.pv("ai"), name="ai")
    await connect(ai, timeout=5)
    reading = (await ai.read())["ai"]
    assert reading["value"] == 1.5 and type(reading["value"]) is float
    assert reading["alarm_severity"] == 0
    assert abs(reading["timestamp"] - time.time()) < 3600
    key = (await ai.describe())["ai"]
    assert key["source"] == f"ca://{base_ioc.pv('ai')}"
    assert key["dtype"] == "number" and key["dtype_numpy"] == "<f8" and key["shape"] == []
    assert key["units"] == "mm" and key["precision"] == 3
    assert key["limits"]["display"] == {"low": -10.0, "high": 10.0}
    assert key["limits"]["alarm"] == {"low": -8.0, "high": 8.0}
    assert key["limits"]["warning"] == {"low": -5.0, "high": 5.0}


async def test_put_then_read_sees_the_new_value_and_its_alarm(base_ioc) -> None:
    ao = EpicsSignalRW(base_ioc.pv("ao"), name="ao", datatype=float)
    calc = EpicsSignalRO(base_ioc.pv("calc"), name="calc")
    await connect(ao, calc, timeout=5)
    await ao.set(6.0)
    reading = (await ao.read())["ao"]
    assert reading["value"] == 6.0 and reading["alarm_severity"] == 1  # HIGH: MINOR
    await ao.set(1.25)
    assert (await ao.read())["ao"]["alarm_severity"] == 0
    assert await calc.get_value() == 1.25 + 7
    key = (await ao.describe())["ao"]
    assert key["limits"]["control"] == {"low": -10.0, "high": 10.0} and key["units"] == "V"


async def test_integer_string_and_bool_records(base_ioc) -> None:
    long = EpicsSignalRW(base_ioc.pv("long"), name="long")
    text = EpicsSignalRW(base_ioc.pv("str"), name="text")
    flag = EpicsSignalRW(base_ioc.pv("bo"), name="flag", datatype=bool)
    await connect(long, text, flag, timeout=5)
    await long.set(42)
    assert await long.get_value() == 42 and type(await long.get_value()) is int
    assert (await long.describe())["long"]["dtype"] == "integer"
    await text.set("sample Si(111)")
    assert await text.get_value() == "sample Si(111)"
    assert (await text.describe())["text"]["dtype"] == "string"
    await flag.set(True)
    assert await flag.get_value() is True
    assert (await flag.describe())["flag"]["dtype"] == "boolean"


async def test_enum_by_label_with_choices_from_the_record(base_ioc) -> None:
    mbbo = EpicsSignalRW(base_ioc.pv("mbbo"), name="mode")
    await connect(mbbo, timeout=5)
    key = (await mbbo.describe())["mode"]
    assert key["choices"] == ["Idle", "Acquire", "Readout", "Error"]
    await mbbo.set("Readout")
    assert await mbbo.get_value() == "Readout"
    await mbbo.set("Error")
    assert (await mbbo.read())["mode"]["alarm_severity"] == 2  # THSV MAJOR
    await mbbo.set("Idle")


async def test_enum_class_must_match_the_choices_at_connect(base_ioc) -> None:
    good = EpicsSignalRW(base_ioc.pv("mbbo"), name="good", datatype=State)
    await connect(good, timeout=5)
    await good.set(State.ACQUIRE)
    assert await good.get_value() is State.ACQUIRE

    class Wrong(enum.StrEnum):
        IDLE = "Idle"
        BUSY = "Busy"

    wrong = EpicsSignalRW(base_ioc.pv("bo"), name="wrong", datatype=Wrong)
    with pytest.raises(NotConnectedError, match=r"'Idle', 'Busy'.*choices are 'Off', 'On'"):
        await connect(wrong, timeout=5)


async def test_enum_label_not_among_the_choices_lists_them(base_ioc) -> None:
    mbbo = EpicsSignalRW(base_ioc.pv("mbbo"), name="mode")
    await connect(mbbo, timeout=5)
    with pytest.raises(
        SignalValueError,
        match=r"'Paused' is not one of the choices .*'Idle', 'Acquire', "
        r"'Readout', 'Error'",
    ):
        mbbo.set("Paused")


async def test_arrays_and_char_waveforms(base_ioc) -> None:
    wave = EpicsSignalRW(base_ioc.pv("wave"), name="wave")
    chars = EpicsSignalRW(base_ioc.pv("chars"), name="chars", datatype=str)
    await connect(wave, chars, timeout=5)
    await wave.set(np.array([1.0, 2.0, 3.0]))
    value = await wave.get_value()
    assert type(value) is np.ndarray and list(value) == [1.0, 2.0, 3.0]
    key = (await wave.describe())["wave"]
    assert key["dtype"] == "array" and key["shape"] == [10] and key["dtype_numpy"] == "<f8"
    long_text = "a file name longer than forty characters, kept in a waveform"
    await chars.set(long_text)
    assert await chars.get_value() == long_text
    with pytest.raises(SignalValueError, match="at most 10 elements"):
        wave.set(np.zeros(11))


async def test_wrong_value_type_is_refused_before_anything_is_sent(base_ioc) -> None:
    ao = EpicsSignalRW(base_ioc.pv("ao"), name="ao")
    long = EpicsSignalRW(base_ioc.pv("long"), name="long")
    await connect(ao, long, timeout=5)
    await ao.set(2.0)
    with pytest.raises(SignalValueError, match=r"ao \(ca://.*ao\): expected float, got str"):
        ao.set("3.0")
    with pytest.raises(SignalValueError, match=r"expected int, got float 1\.5"):
        long.set(1.5)
    assert await ao.get_value() == 2.0


async def test_incompatible_datatype_is_refused_at_connect(base_ioc) -> None:
    text_as_float = EpicsSignalRO(base_ioc.pv("str"), name="x", datatype=float)
    with pytest.raises(NotConnectedError, match="holds string, which cannot be used as float"):
        await connect(text_as_float, timeout=5)
    assert issubclass(IncompatibleTypeError, SignalValueError)


async def test_put_to_a_pv_without_write_access_says_so(base_ioc) -> None:
    locked = EpicsSignalRW(base_ioc.pv("locked"), name="locked")
    await connect(locked, timeout=5)
    with pytest.raises(SignalAccessError, match=r"locked refused the put of 5.0"):
        await locked.set(5.0)
    assert await locked.get_value() == 3.0


async def test_read_only_signal_has_no_set(base_ioc) -> None:
    ai = EpicsSignalRO(base_ioc.pv("ai"), name="ai")
    assert not hasattr(ai, "set")


async def test_unknown_pv_is_named_within_the_timeout(base_ioc) -> None:
    good = EpicsSignalRO(base_ioc.pv("ai"), name="good")
    missing = EpicsSignalRO(base_ioc.pv("no_such_pv"), name="missing")
    with pytest.raises(NotConnectedError) as info:
        async with asyncio.timeout(30):  # a hang guard, far above the 0.5 s asked for
            await connect(good, missing, timeout=0.5)
    assert str(info.value).splitlines() == [
        "1 signal did not connect:",
        f"missing: ca://{base_ioc.pv('no_such_pv')} did not connect within 0.5 s",
    ]


async def test_subscription_delivers_current_value_then_updates(base_ioc) -> None:
    ao = EpicsSignalRW(base_ioc.pv("ao"), name="ao")
    long = EpicsSignalRW(base_ioc.pv("long"), name="long")
    calc = EpicsSignalRO(base_ioc.pv("calc"), name="calc")
    await connect(ao, long, calc, timeout=5)
    await long.set(7)
    await ao.set(0.5)
    seen: list[float] = []
    calc.subscribe_value(seen.append)
    try:
        await wait_for_value(calc, 7.5, timeout=5)
        await ao.set(1.5)
        await wait_for_value(calc, 8.5, timeout=5)
    finally:
        calc.clear_sub(seen.append)
    assert seen[0] == 7.5 and seen[-1] == 8.5


async def test_write_only_and_executable_signals(base_ioc) -> None:
    setpoint = EpicsSignalWO(base_ioc.pv("long"), name="setpoint")
    readback = EpicsSignalRO(base_ioc.pv("long"), name="readback")
    process = EpicsSignalX(base_ioc.pv("ai.PROC"), name="process")
    ai = EpicsSignalRO(base_ioc.pv("ai"), name="ai")
    await connect(setpoint, readback, process, ai, timeout=5)
    await setpoint.set(9)
    assert await readback.get_value() == 9
    before = (await ai.read())["ai"]["timestamp"]
    await process.trigger()
    assert (await ai.read())["ai"]["timestamp"] > before


async def test_device_read_batches_its_ca_signals(base_ioc) -> None:
    class Three(StandardReadable):
        def __init__(self, name: str = "") -> None:
            self.a = EpicsSignalRO(base_ioc.pv("ai"))
            self.b = EpicsSignalRO(base_ioc.pv("calc"))
            self.c = EpicsSignalRO(base_ioc.pv("long"))
            self.add_readables([self.a, self.b], Format.HINTED)
            self.add_readables([self.c])
            super().__init__(name=name)

    three = Three(name="three")
    await connect(three, timeout=5)
    reading = await three.read()
    assert set(reading) == {"three_a", "three_b", "three_c"}
    assert reading["three_a"]["value"] == 1.5
    description = await three.describe()
    assert description["three_c"]["dtype"] == "integer"
    results = await asyncio.gather(*(three.read() for _ in range(5)))
    assert all(set(r) == set(reading) for r in results)


async def test_a_signal_in_two_trees_connects_once(base_ioc) -> None:
    ai = EpicsSignalRO(base_ioc.pv("ai"), name="ai")
    await asyncio.gather(connect(ai, timeout=5), connect(ai, timeout=5))
    subscription = ai.backend._property_sub
    await connect(ai, timeout=5)
    assert ai.backend._property_sub is subscription
    assert (await ai.read())["ai"]["value"] == 1.5


async def test_describe_follows_a_metadata_change_without_asking_the_ioc(base_ioc) -> None:
    long = EpicsSignalRO(base_ioc.pv("long"), name="long")
    units = EpicsSignalRW(base_ioc.pv("long.EGU"), name="units", datatype=str)
    await connect(long, units, timeout=5)
    assert (await long.describe())["long"]["units"] == "counts"
    await units.set("cts/s")
    try:
        # the property monitor brings the change; describe() only looks at what it brought
        async with asyncio.timeout(5):
            while (await long.describe())["long"]["units"] != "cts/s":
                await asyncio.sleep(0.01)
    finally:
        await units.set("counts")


async def test_ca_subscription_gives_readings_and_async_iteration_gives_values(base_ioc) -> None:
    long = EpicsSignalRW(base_ioc.pv("long"), name="long")
    await connect(long, timeout=5)
    await long.set(10)
    readings: list[dict] = []
    long.subscribe(readings.append)
    try:
        async with contextlib.aclosing(long.updates()) as updates:
            async with asyncio.timeout(5):
                async for value in updates:
                    if value == 12:
                        break
                    await long.set(value + 1)
        await _until(lambda: readings and readings[-1]["long"]["value"] == 12, timeout=5)
    finally:
        long.clear_sub(readings.append)
    assert [r["long"]["value"] for r in readings] == [10, 11, 12]
    assert all(r["long"]["alarm_severity"] == 0 and r["long"]["timestamp"] > 0 for r in readings)


async def test_put_to_a_read_only_pv_is_refused_before_sending(sim_ioc) -> None:
    readback = EpicsSignalRW(sim_ioc.pv("m4.RBV"), name="readback")
    await connect(readback, timeout=10)
    before = await readback.get_value()
    with pytest.raises(SignalAccessError, match=r"m4\.RBV: no write access"):
        readback.set(before + 1.0)
    assert await readback.get_value() == before


async def test_a_device_that_does_not_connect_is_reported_pv_by_pv_within_the_timeout(
    base_ioc,
) -> None:
    ghost = EpicsMotor(f"{base_ioc.prefix}ghost", name="ghost")
    ai = EpicsSignalRO(base_ioc.pv("ai"), name="ai")
    missing = EpicsSignalRO(base_ioc.pv("nothing"), name="missing")
    start = time.monotonic()
    with pytest.raises(NotConnectedError) as info:
        await connect(ghost, ai, missing, timeout=0.5)
    elapsed = time.monotonic() - start
    lines = str(info.value).splitlines()
    assert lines[0] == "16 signals did not connect:"
    # overlap: waiting for the 16 PVs one after the other would take 16 x 0.5 s at least
    assert elapsed < 16 * 0.5, f"the PVs should be waited for concurrently ({elapsed:.1f} s)"
    assert "ghost:" in lines
    assert f"  user_readback: ca://{base_ioc.pv('ghost')}.RBV did not connect within 0.5 s" in (
        lines
    )
    assert lines[-1] == f"missing: ca://{base_ioc.pv('nothing')} did not connect within 0.5 s"
    assert len(info.value.leaves) == 16
    assert all(leaf.startswith(("ghost.", "missing: ")) for leaf in info.value.leaves)


async def _until(condition, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)

"""Device trees: names, hints, configuration, connect errors as a tree."""

from __future__ import annotations

import pytest

from acq.protocols import Configurable, HasHints, Readable, Stageable
from devices import (
    Device,
    DeviceVector,
    Format,
    NotConnectedError,
    SoftBackend,
    StandardReadable,
    connect,
    soft_signal_rw,
)
from devices.signal import SignalR


class Stage(StandardReadable):
    def __init__(self, name: str = "") -> None:
        self.x = soft_signal_rw(float, 1.0)
        self.y = soft_signal_rw(float, 2.0)
        self.speed = soft_signal_rw(float, 3.0)
        self.add_readables([self.x], Format.HINTED)
        self.add_readables([self.y])
        self.add_readables([self.speed], Format.CONFIG)
        super().__init__(name=name)


class Table(StandardReadable):
    def __init__(self, name: str = "") -> None:
        self.top = Stage()
        self.temperature = soft_signal_rw(float, 295.0)
        self.add_readables([self.top], Format.CHILD)
        self.add_readables([self.temperature], Format.HINTED)
        super().__init__(name=name)


async def test_children_are_named_parent_underscore_attribute() -> None:
    table = Table(name="t")
    assert table.top.x.name == "t_top_x"
    assert table.top.parent is table
    assert [attr for attr, _ in table.children()] == ["top", "temperature"]
    table.set_name("table")
    assert table.top.speed.name == "table_top_speed"


async def test_readable_tree_reads_hints_and_configuration() -> None:
    table = Table(name="t")
    await connect(table)
    assert isinstance(table, Readable | Configurable | HasHints | Stageable)
    reading = await table.read()
    assert set(reading) == {"t_top_x", "t_top_y", "t_temperature"}
    assert set(await table.describe()) == set(reading)
    assert table.hints == {"fields": ["t_top_x", "t_temperature"]}
    assert set(await table.read_configuration()) == {"t_top_speed"}
    assert set(await table.describe_configuration()) == {"t_top_speed"}
    await table.stage()


async def test_device_vector_names_its_members_by_number() -> None:
    class Bank(Device):
        def __init__(self, name: str = "") -> None:
            self.channels = DeviceVector({i: soft_signal_rw(int, i) for i in (1, 2)})
            super().__init__(name=name)

    bank = Bank(name="bank")
    assert bank.channels[2].name == "bank_channels_2"
    assert len(bank.channels) == 2


class _Unreachable(SoftBackend[float]):
    def __init__(self, address: str) -> None:
        super().__init__(float)
        self.address = address

    def source(self, name: str) -> str:
        return f"test://{self.address}"

    async def connect(self, timeout: float) -> None:
        raise NotConnectedError(f"test://{self.address} did not connect within {timeout} s")


async def test_connect_raises_one_error_listing_every_failure_as_a_tree() -> None:
    class Motor(Device):
        def __init__(self, name: str = "") -> None:
            self.readback = SignalR(_Unreachable("m1.RBV"))
            self.setpoint = soft_signal_rw(float)
            self.velocity = SignalR(_Unreachable("m1.VELO"))
            super().__init__(name=name)

    m1 = Motor(name="m1")
    det = SignalR(_Unreachable("det"), name="det")
    ok = soft_signal_rw(float, name="ok")
    with pytest.raises(NotConnectedError) as info:
        await connect(m1, det, ok, timeout=0.5)
    message = str(info.value)
    assert message.splitlines() == [
        "3 signals did not connect:",
        "m1:",
        "  readback: test://m1.RBV did not connect within 0.5 s",
        "  velocity: test://m1.VELO did not connect within 0.5 s",
        "det: test://det did not connect within 0.5 s",
    ]
    assert info.value.leaves[0] == "m1.readback: test://m1.RBV did not connect within 0.5 s"

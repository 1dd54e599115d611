"""APS devices against the simulated beamline: ring current, PSS shutter, undulator."""

from __future__ import annotations

import pytest

from acq.protocols import Movable, Readable
from devices import SignalValueError, connect, wait_for_value
from devices.aps import PssShutter, StorageRing, Undulator


async def test_storage_ring_current_reads_and_follows_a_dump(sim_ioc) -> None:
    ring = StorageRing(sim_ioc.pv("ring:"), name="ring")
    await connect(ring, timeout=10)
    assert isinstance(ring, Readable)
    assert (await ring.read())["ring"]["value"] > 50
    assert (await ring.describe())["ring"]["units"] == "mA"
    await ring.refill_time.set(0.2)
    try:
        await ring.dump.trigger()
        await wait_for_value(ring.current, lambda mA: mA < 1, timeout=10)
    finally:
        await ring.refill.trigger()
        await wait_for_value(ring.current, lambda mA: mA > 90, timeout=20)
        await ring.refill_time.set(2.0)


async def test_shutter_set_completes_when_the_state_says_so(sim_ioc) -> None:
    shutter = PssShutter(sim_ioc.pv("shutter:"), name="shutter")
    await connect(shutter, timeout=10)
    assert isinstance(shutter, Movable | Readable)
    await shutter.delay.set(0.05)
    try:
        await shutter.set("close").wait(timeout=10)
        assert (await shutter.read())["shutter"]["value"] == "Closed"
        assert not await shutter.is_open()
        with pytest.raises(SignalValueError, match="use 'open' or 'close'"):
            shutter.set("ajar")
    finally:
        await shutter.open().wait(timeout=10)
        await shutter.delay.set(0.5)
    assert await shutter.is_open()


async def test_undulator_moves_in_energy(sim_ioc) -> None:
    und = Undulator(sim_ioc.pv("und:"), name="und")
    await connect(und, timeout=10)
    await und.gap_speed.set(50.0)
    start = (await und.locate())["readback"]
    try:
        await und.set(start + 0.1).wait(timeout=20)
        assert (await und.read())["und"]["value"] == pytest.approx(start + 0.1, abs=1e-3)
        assert await und.busy.get_value() == 0
    finally:
        await und.set(start).wait(timeout=20)
        await und.gap_speed.set(5.0)

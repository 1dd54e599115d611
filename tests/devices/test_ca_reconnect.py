"""An IOC restart mid-test: signals read again, subscriptions resume, metadata refreshes,
all without user action."""

from __future__ import annotations

import asyncio

import pytest

from devices import NotConnectedError, connect, wait_for_value
from devices.epics import EpicsSignalRW


@pytest.mark.slow  # libca searches again on its own schedule: ~5-9 s after a restart
async def test_signal_recovers_after_an_ioc_restart(restartable_ioc) -> None:
    restartable_ioc.start(value=1.0, units="mm")
    x = EpicsSignalRW(restartable_ioc.pv("x"), name="x", io_timeout=0.5)
    await connect(x, timeout=30)
    seen: list[float] = []
    x.subscribe_value(seen.append)
    try:
        await wait_for_value(x, 1.0, timeout=10)
        await x.set(2.0)
        await wait_for_value(x, 2.0, timeout=10)

        restartable_ioc.stop()
        with pytest.raises(NotConnectedError, match=r"no answer within 0\.5 s"):
            await x.read()
        # describe() asks nothing of the IOC: it works while the IOC is down
        assert (await x.describe())["x"]["units"] == "mm"

        restartable_ioc.start(5.0, "um")
        # the subscription resumes by itself: the restarted IOC's value arrives
        await wait_for_value(x, 5.0, timeout=30)
        assert (await x.read())["x"]["value"] == 5.0
        # metadata comes again with the reconnection
        await _until(lambda: x.backend.metadata.units == "um", timeout=10)
        assert (await x.describe())["x"]["units"] == "um"
        await x.set(6.0)
        await wait_for_value(x, 6.0, timeout=10)
    finally:
        x.clear_sub(seen.append)
    assert seen[:2] == [1.0, 2.0] and seen[-1] == 6.0


async def _until(condition, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)

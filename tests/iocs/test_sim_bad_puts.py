"""Bad puts get a Channel Access error, change nothing, and leave the IOC serving."""

from __future__ import annotations

import pytest
from aioca import FORMAT_TIME, CANothing
from epicscorelibs.ca.cadef import CAException

# the IOC refuses with ECA_PUTFAIL (CANothing); libca itself refuses a put to a read-only
# channel before sending it (CAException)
REFUSED = (CANothing, CAException)

BAD_PUTS = [
    pytest.param("m4.VELO", "fast", id="text-to-a-number"),
    pytest.param("m4.VELO", 100.0, id="velocity-above-VMAX"),
    pytest.param("m4.VELO", 0.0, id="zero-velocity"),
    pytest.param("m4.SPMG", "Sideways", id="unknown-menu-choice"),
    pytest.param("m4.RBV", 3.0, id="read-only-readback"),
    pytest.param("scaler1.TP", 0.0, id="zero-preset-time"),
    pytest.param("ad1:cam1:SizeX", 100000, id="frame-too-wide"),
    pytest.param("und:EnergySet", 50.0, id="energy-beyond-the-undulator"),
    pytest.param("model:det_width", -1.0, id="negative-width"),
]


@pytest.mark.parametrize(("suffix", "value"), BAD_PUTS)
async def test_bad_put_is_refused_and_the_ioc_keeps_serving(sim, suffix, value):
    before = await sim.get(suffix)

    with pytest.raises(REFUSED):
        await sim.put(suffix, value)

    assert await sim.get(suffix) == before
    reading = await sim.get(suffix, format=FORMAT_TIME)
    assert reading.severity == 0, "a refused put should not leave an alarm behind"
    assert await sim.get("m1.RBV") is not None


async def test_a_refused_put_leaves_the_motor_usable(sim):
    start = await sim.prepare_motor("m4", velo=5.0)
    with pytest.raises(CANothing):
        await sim.put("m4.VELO", -1.0)
    await sim.put("m4", start + 0.1)
    assert await sim.get("m4.RBV") == pytest.approx(start + 0.1)
    assert (await sim.get("m4.RBV", format=FORMAT_TIME)).severity == 0

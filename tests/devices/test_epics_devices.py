"""Scaler, area detector, temperature controller against the simulated beamline."""

from __future__ import annotations

import numpy as np
import pytest

from acq.protocols import Configurable, Locatable, Movable, Readable, Triggerable
from devices import connect
from devices.epics import AreaDetector, Scaler, TemperatureController


async def test_scaler_channels_are_named_and_counts_are_fresh(sim_ioc) -> None:
    scaler = Scaler(sim_ioc.pv("scaler1"), name="scaler1")
    await connect(scaler, timeout=10)
    assert isinstance(scaler, Triggerable | Readable | Configurable)
    assert scaler.channel_names == {1: "clock", 2: "I0", 3: "det", 4: "diff"}
    assert scaler.hints == {"fields": ["clock", "I0", "det", "diff"]}
    await scaler.preset_time.set(0.1)
    for _ in range(2):
        await scaler.trigger().wait(timeout=10)
        reading = await scaler.read()
        assert set(reading) == {"scaler1_elapsed_time", "clock", "I0", "det", "diff"}
        # counts read after the trigger are those of the finished count: clock = FREQ * TP
        assert reading["clock"]["value"] == pytest.approx(1e7 * 0.1, rel=1e-6)
        assert reading["scaler1_elapsed_time"]["value"] == pytest.approx(0.1)
    config = await scaler.read_configuration()
    assert config["scaler1_preset_time"]["value"] == 0.1
    assert (await scaler.describe())["det"]["source"] == f"ca://{sim_ioc.pv('scaler1')}.S3"
    scaler.set_name("sc")
    assert "det" in await scaler.read()


async def test_a_scaler_count_reports_its_progress(sim_ioc) -> None:
    """What a progress bar shows during a count: elapsed time rising to the preset."""
    scaler = Scaler(sim_ioc.pv("scaler1"), name="scaler1")
    await connect(scaler, timeout=10)
    await scaler.preset_time.set(0.5)
    seen = []
    status = scaler.trigger()
    status.watch(seen.append)
    await status.wait(timeout=10)

    assert seen, "the count reported no progress"
    assert {p.name for p in seen} == {"scaler1"} and {p.target for p in seen} == {0.5}
    fractions = [p.fraction for p in seen]
    assert any(0 < f < 1 for f in fractions)  # updates while counting, not only at the end
    assert fractions[-1] == pytest.approx(1.0)
    assert seen[-1].time_remaining == 0.0 and seen[-1].unit == "s"


async def test_area_detector_reads_a_2d_image_after_trigger(sim_ioc) -> None:
    ad = AreaDetector(sim_ioc.pv("ad1:"), name="ad1")
    await connect(ad, timeout=10)
    await ad.cam.acquire_time.set(0.01)
    await ad.cam.size_x.set(32)
    try:
        before = await ad.image.array_counter.get_value()
        await ad.trigger().wait(timeout=10)
        reading = await ad.read()
        image = reading["ad1_image"]["value"]
        assert image.shape == (64, 32) and image.ndim == 2
        assert reading["ad1_array_counter"]["value"] == before + 1
        key = (await ad.describe())["ad1_image"]
        assert key["shape"] == [64, 32] and key["dtype"] == "array"
        assert ad.hints == {"fields": ["ad1_image"]}
        assert np.asarray(image).sum() > 0
    finally:
        await ad.cam.size_x.set(64)


async def test_temperature_controller_is_done_within_tolerance(sim_ioc) -> None:
    tc = TemperatureController(sim_ioc.pv("tc1:"), name="tc1")
    await connect(tc, timeout=10)
    assert isinstance(tc, Movable | Locatable | Readable)
    await tc.ramp_rate.set(50.0)
    start = (await tc.locate())["readback"]
    target = start + 2.0
    status = tc.set(target)
    updates = []
    status.watch(updates.append)
    try:
        await status.wait(timeout=20)
        reading = (await tc.read())["tc1"]
        tolerance = await tc.tolerance.get_value()
        assert abs(reading["value"] - target) <= tolerance
        assert updates and updates[-1].unit == "K"
        assert (await tc.describe())["tc1"]["units"] == "K"
    finally:
        await tc.set(start).wait(timeout=20)
        await tc.ramp_rate.set(10.0)

"""The area detector: frames on put-callback, a spot that follows the sample stage."""

from __future__ import annotations

import numpy as np
import pytest

PIXELS_PER_MM = 10  # iocs.model.PIXEL_SIZE_MM = 0.1 mm


async def acquire_one(sim, exposure: float = 0.05) -> np.ndarray:
    await sim.put("ad1:cam1:NumImages", 1)
    await sim.put("ad1:cam1:AcquireTime", exposure)
    await sim.put("ad1:cam1:Acquire", 1)
    width = await sim.get("ad1:cam1:ArraySizeX_RBV")
    height = await sim.get("ad1:cam1:ArraySizeY_RBV")
    return np.asarray(await sim.get("ad1:image1:ArrayData")).reshape(height, width)


def centroid(image: np.ndarray) -> tuple[float, float]:
    """(column, row) of the intensity above the median background."""
    signal = np.clip(image - np.median(image), 0, None)
    rows, cols = np.indices(image.shape)
    return float((cols * signal).sum() / signal.sum()), float((rows * signal).sum() / signal.sum())


async def test_acquire_completes_when_all_frames_are_done(sim):
    counter = await sim.get("ad1:cam1:ArrayCounter_RBV")
    await sim.put("ad1:cam1:NumImages", 3)
    await sim.put("ad1:cam1:AcquireTime", 0.05)

    async with sim.monitor("ad1:cam1:ArrayCounter_RBV") as frames:
        elapsed = await sim.timed_put("ad1:cam1:Acquire", 1)
        await frames.wait_for(lambda n: n == counter + 3, timeout=10, what="3 more frames")

    assert elapsed >= 0.14  # three exposures of 0.05 s; no upper bound on a loaded machine
    assert frames.values[-3:] == [counter + 1, counter + 2, counter + 3], "one frame at a time"
    assert await sim.get("ad1:cam1:ArrayCounter_RBV") == counter + 3
    assert await sim.get("ad1:image1:ArrayCounter_RBV") == counter + 3
    assert await sim.get("ad1:cam1:Acquire_RBV") == 0
    assert await sim.get("ad1:cam1:DetectorState_RBV") == 0  # Idle


async def test_frame_is_64_by_64_with_a_bright_spot(sim):
    image = await acquire_one(sim)

    assert image.shape == (64, 64)
    assert image.max() > 50 * np.median(image), "no spot above the background"


async def test_spot_follows_the_sample_stage(sim):
    await sim.prepare_motor("sx", velo=10.0)
    await sim.prepare_motor("sy", velo=10.0)
    await sim.put("sx", 0.0)
    await sim.put("sy", 0.0)
    try:
        before = centroid(await acquire_one(sim))
        await sim.put("sx", 1.0)
        await sim.put("sy", -0.5)
        after = centroid(await acquire_one(sim))
    finally:
        await sim.put("sx", 0.0)
        await sim.put("sy", 0.0)

    assert after[0] - before[0] == pytest.approx(1.0 * PIXELS_PER_MM, abs=1.0)
    assert after[1] - before[1] == pytest.approx(-0.5 * PIXELS_PER_MM, abs=1.0)


async def test_frame_size_is_settable(sim):
    await sim.put("ad1:cam1:SizeX", 32)
    try:
        image = await acquire_one(sim)
    finally:
        await sim.put("ad1:cam1:SizeX", 64)
    assert image.shape == (64, 32)
    assert (await acquire_one(sim)).shape == (64, 64)


async def test_spot_goes_dark_when_the_beam_is_dumped(sim):
    await sim.put("ring:refill_time", 0.2)
    await sim.put("ring:dump", 1)
    try:
        dark = await acquire_one(sim)
    finally:
        await sim.put("ring:refill", 1)
        await sim.put("ring:refill_time", 2.0)
    assert dark.max() < 20, "only background should remain without beam"

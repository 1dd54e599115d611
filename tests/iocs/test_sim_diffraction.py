"""The Bragg peak in th/tth moves with the sample temperature, as d(T) predicts."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest


def predicted_two_theta(
    temperature: float, d0: float, alpha: float, t0: float, wavelength: float
) -> float:
    d = d0 * (1 + alpha * (temperature - t0))
    return 2 * math.degrees(math.asin(wavelength / (2 * d)))


async def peak_two_theta(sim, two_thetas: np.ndarray) -> float:
    """Coupled th/tth scan: the centroid of the diff counts around their maximum."""
    counts = []
    for tth in two_thetas:
        await asyncio.gather(sim.put("tth", float(tth)), sim.put("th", float(tth) / 2))
        counts.append((await sim.count(0.05))[3])
    counts_arr = np.array(counts)
    top = int(np.argmax(counts_arr))
    window = slice(max(top - 3, 0), top + 4)
    weights = counts_arr[window] - counts_arr.min()
    return float(np.sum(two_thetas[window] * weights) / np.sum(weights))


async def test_bragg_peak_moves_to_lower_angle_when_the_sample_warms(sim):
    d0, alpha, t0, wavelength = [
        await sim.get(f"model:{name}") for name in ("d0", "alpha", "T0", "wavelength")
    ]
    cold, warm = 295.0, 395.0
    expected = {t: predicted_two_theta(t, d0, alpha, t0, wavelength) for t in (cold, warm)}
    expected_shift = expected[warm] - expected[cold]
    assert expected_shift < -0.2, "the default model should shift the peak visibly"

    await sim.prepare_motor("th", velo=10.0)
    await sim.prepare_motor("tth", velo=10.0)
    grid = np.arange(expected[warm] - 0.25, expected[cold] + 0.25, 0.05)
    await sim.put("tc1:RATE", 500.0)
    try:
        found = {}
        for temperature in (cold, warm):
            await sim.put("tc1:SP", temperature)
            found[temperature] = await peak_two_theta(sim, grid)
    finally:
        await sim.put("tc1:SP", cold)
        await sim.put("tc1:RATE", 10.0)

    assert found[cold] == pytest.approx(expected[cold], abs=0.03)
    assert found[warm] - found[cold] == pytest.approx(expected_shift, rel=0.15)

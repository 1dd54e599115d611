"""The main plans against the simulated beamline IOC, through the real RunEngine.

EPICS motors, the scaler and the temperature controller of `iocs` (fixture `sim_ioc`,
PVs in docs/reference/sim-beamline-pvs.md). Each test puts back the PVs it changes: the
IOC is shared by the whole session.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from aioca import caget
from pv_values import pv_values

import plans
from devices import connect
from devices.epics import EpicsMotor, Scaler, TemperatureController

pytestmark = pytest.mark.slow


def changed(ioc: Any, **values: float) -> AbstractAsyncContextManager[None]:
    """Put PVs (``model_det_center=0.4`` for ``model:det_center``); restore them after."""
    return pv_values(
        {
            ioc.pv(
                name.replace("_", ":", 1)
                if name.startswith(("model_", "tc1_"))
                else name.replace("_", ".", 1)
            ): value
            for name, value in values.items()
        }
    )


@pytest.fixture
async def beamline(sim_ioc: Any) -> dict[str, Any]:
    devices = {
        "m1": EpicsMotor(sim_ioc.pv("m1"), name="m1"),
        "m2": EpicsMotor(sim_ioc.pv("m2"), name="m2"),
        "th": EpicsMotor(sim_ioc.pv("th"), name="th"),
        "tth": EpicsMotor(sim_ioc.pv("tth"), name="tth"),
        "scaler": Scaler(sim_ioc.pv("scaler1"), name="scaler"),
        "tc": TemperatureController(sim_ioc.pv("tc1:"), name="tc"),
    }
    await connect(*devices.values(), timeout=10)
    return devices


@asynccontextmanager
async def fast(ioc: Any, *motors: str, count_time: float = 0.05) -> AsyncIterator[None]:
    """Quick motors and short counts for the duration of a test."""
    values = {f"{m}_VELO": 10.0 for m in motors} | {f"{m}_ACCL": 0.05 for m in motors}
    async with changed(ioc, **values, scaler1_TP=count_time):
        yield


async def test_scan_records_fresh_counts_of_the_gaussian(RE, documents, sim_ioc, beamline):
    m1, scaler = beamline["m1"], beamline["scaler"]
    async with fast(sim_ioc, "m1"):
        result = await RE(plans.scan([scaler], m1, -1.5, 1.5, 7))
    assert result.exit_status == "success" and result.plan_result == result.run_uids[0]
    assert documents.column("m1") == pytest.approx([-1.5, -1, -0.5, 0, 0.5, 1, 1.5], abs=1e-3)
    counts = documents.column("det")
    assert int(np.argmax(counts)) == 3  # the model's centre, 0.0: no stale point
    expected = [5000 * math.exp(-(x**2) / (2 * 0.5**2)) for x in (-1.5, -1, -0.5, 0)]
    for got, want in zip(counts[:4], expected, strict=True):  # Poisson: within 5 sigma
        assert abs(got - want) < 5 * math.sqrt(want) + 2
    start = documents.starts[0]
    assert start["detectors"] == ["scaler"] and start["motors"] == ["m1"]
    assert start["hints"]["dimensions"] == [[["m1"], "primary"]]


async def test_grid_scan_fills_the_grid_in_snake_order(RE, documents, sim_ioc, beamline):
    m1, m2, scaler = beamline["m1"], beamline["m2"], beamline["scaler"]
    async with fast(sim_ioc, "m1", "m2", count_time=0.02):
        await RE(plans.grid_scan([scaler], m1, -0.5, 0.5, 3, m2, 1, 2, 3, snake_axes=True))
    got = [
        (round(a, 3), round(b, 3))
        for a, b in zip(documents.column("m1"), documents.column("m2"), strict=True)
    ]
    assert got == [
        (-0.5, 1),
        (-0.5, 1.5),
        (-0.5, 2),
        (0, 2),
        (0, 1.5),
        (0, 1),
        (0.5, 1),
        (0.5, 1.5),
        (0.5, 2),
    ]
    start = documents.starts[0]
    assert (start["shape"], start["extents"], start["snaking"]) == (
        [3, 3],
        [[-0.5, 0.5], [1, 2]],
        [False, True],
    )


async def test_tune_centroid_finds_the_ioc_gaussian_centre(RE, documents, sim_ioc, beamline):
    m1, scaler = beamline["m1"], beamline["scaler"]
    async with fast(sim_ioc, "m1"), changed(sim_ioc, model_det_center=0.37):
        await RE(plans.tune_centroid([scaler], "det", m1, -2, 2, 0.02, num=11))
        where = (await m1.locate())["readback"]
    assert where == pytest.approx(0.37, abs=0.03)
    assert len(documents.events()) >= 22  # it narrowed the range at least twice


async def test_adaptive_scan_steps_densely_on_the_flanks(RE, documents, sim_ioc, beamline):
    m1, scaler = beamline["m1"], beamline["scaler"]
    async with fast(sim_ioc, "m1"):
        await RE(plans.adaptive_scan([scaler], "det", m1, -2.5, 2.5, 0.04, 0.5, 400, backstep=True))
    xs = documents.column("m1")
    steps = [(b - a, (a + b) / 2) for a, b in pairwise(xs) if b > a]
    flanks = [s for s, x in steps if 0.2 < abs(x) < 0.8]
    tails = [s for s, x in steps if abs(x) > 1.8]
    assert flanks and tails
    assert np.mean(flanks) < np.mean(tails) / 2


async def test_the_nested_temperature_scan_sees_the_bragg_peak_move(
    RE, documents, sim_ioc, beamline
):
    th, tth, tc, scaler = (beamline[k] for k in ("th", "tth", "tc", "scaler"))
    d0, alpha, t0, wavelength = [
        await caget(sim_ioc.pv(f"model:{p}"), timeout=5)
        for p in ("d0", "alpha", "T0", "wavelength")
    ]

    def bragg_theta(t: float) -> float:
        return math.degrees(math.asin(wavelength / (2 * d0 * (1 + alpha * (t - t0)))))

    cold, warm = 295.0, 395.0
    async with fast(sim_ioc, "th", "tth"), changed(sim_ioc, tc1_RATE=500.0):
        result = await RE(
            plans.temperature_theta_2theta_scan(
                [scaler], tc, [cold, warm], th, tth, 8.8, 9.3, 26, md={"sample": "Si"}
            )
        )
        await RE(plans.stubs.mv(tc, cold))
    assert len(result.run_uids) == 2 and result.plan_result == list(result.run_uids)
    peaks = {}
    for run, temperature in enumerate((cold, warm)):
        start = documents.starts[run]
        assert start["temperature"] == temperature and start["sample"] == "Si"
        assert start["plan_name"] == "scan" and start["motors"] == ["th", "tth"]
        theta = np.array(documents.column("th", run=run))
        counts = np.array(documents.column("diff", run=run))
        top = int(np.argmax(counts))
        window = slice(max(top - 2, 0), top + 3)
        peaks[temperature] = float(np.sum(theta[window] * counts[window]) / np.sum(counts[window]))
        assert np.mean(documents.column("tc", run=run)) == pytest.approx(temperature, abs=0.5)
    assert peaks[cold] == pytest.approx(bragg_theta(cold), abs=0.015)
    assert peaks[warm] == pytest.approx(bragg_theta(warm), abs=0.015)
    assert peaks[warm] - peaks[cold] == pytest.approx(
        bragg_theta(warm) - bragg_theta(cold), rel=0.15
    )


async def test_a_range_beyond_the_motor_records_limits_fails_before_any_run(
    RE, documents, beamline
):
    m1, scaler = beamline["m1"], beamline["scaler"]
    with pytest.raises(
        plans.SoftLimitError,
        match=r"m1 would move to -150\.0, outside its "
        r"soft limits \[-100\.0, 100\.0\]",
    ):
        plans.scan([scaler], m1, -150, 0, 4)
    report = await plans.dry_run(plans.rel_scan([scaler], m1, -1, 1, 3), positions={m1: 99.0})
    assert report.positions("m1") == [98.0, 99.0, 100.0, 99.0]  # up to the limit: fine
    with pytest.raises(plans.SoftLimitError, match=r"m1 would move to 100\.5"):
        await plans.dry_run(plans.rel_scan([scaler], m1, -1, 1, 3), positions={m1: 99.5})
    assert documents.starts == []

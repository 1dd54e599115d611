"""What the live plots keep of each run, fed by the real engine and plans (no browser):
how each plan is drawn, heat-map order, bounded memory, images, per-run peak statistics,
and the server's life cycle (lazy start, close, no loop)."""

from __future__ import annotations

import asyncio
import urllib.request

import numpy as np
import pytest

import plans
from devices.sim import SimDetector, SimImageDetector, SimMotor
from viz import LivePlots, PeakStatsCallback, PlotServerError, peak_stats
from viz.runs import Runs


@pytest.fixture
def devices():
    m1 = SimMotor("m1", velocity=1000.0)
    m2 = SimMotor("m2", velocity=1000.0)
    return m1, m2, SimDetector("det", m1, center=0.2, width=0.5)


async def test_each_plan_is_drawn_the_way_a_scientist_expects(RE, devices) -> None:
    m1, m2, det = devices
    runs = Runs()
    RE.subscribe(runs)
    await RE(plans.count([det], 3))
    await RE(plans.scan([det], m1, -1, 1, 5))
    await RE(plans.scan([det], m1, -1, 1, m2, 0, 1, 5))  # two motors moved together
    await RE(plans.grid_scan([det], m2, 0, 1, 2, m1, -1, 1, 3))
    await RE(plans.spiral([det], m1, m2, 0, 0, 1, 1, 0.3, 4))
    await RE.flush()
    drawn = [(r.plan_name, r.kind, r.x, r.y) for r in runs.runs.values()]
    assert drawn == [
        ("count", "line", "elapsed", None),  # a time series
        ("scan", "line", "m1", None),
        ("scan", "line", "m1", None),
        ("grid_scan", "grid", "m1", "m2"),  # fast motor across, slow one up
        ("spiral", "scatter", "m1", "m2"),
    ]
    assert all(r.fields == ["det"] for r in runs.runs.values())


async def test_a_snaking_grid_fills_each_cell_from_its_own_point(RE, devices) -> None:
    m1, m2, det = devices
    runs = Runs()
    RE.subscribe(runs)
    events = []
    RE.subscribe(lambda name, doc: events.append(doc) if name == "event" else None)
    await RE(plans.grid_scan([det], m2, 0, 1, 3, m1, -1, 1, 4, snake_axes=True))
    await RE.flush()
    grid = runs.latest.grids["det"]
    m1_axis, m2_axis = np.linspace(-1, 1, 4), np.linspace(0, 1, 3)
    for event in events:
        row = int(np.argmin(abs(m2_axis - event["data"]["m2"])))
        col = int(np.argmin(abs(m1_axis - event["data"]["m1"])))
        assert grid[row, col] == event["data"]["det"]
    assert not np.isnan(grid).any()


async def test_a_long_run_keeps_its_last_points_and_counts_the_rest(RE, devices) -> None:
    det = devices[2]
    runs = Runs(max_runs=2, max_points=100)
    RE.subscribe(runs)
    await RE(plans.count([det], 1000))
    await RE(plans.count([det], 5))
    await RE(plans.count([det], 7))
    await RE.flush()
    assert len(runs.runs) == 2  # the oldest run is gone
    long_run = Runs(max_points=100)
    RE.subscribe(long_run)
    await RE(plans.count([det], 1000))
    await RE.flush()
    run = long_run.latest
    assert run.total == 1000 and len(run.columns["seq_num"]) <= 110
    first, rows = run.rows(0)
    assert first == 900 and rows["seq_num"] == list(range(901, 1001))  # the last 100


async def test_an_area_detector_keeps_its_latest_image_and_a_sum_trace(RE, devices) -> None:
    m1, m2, _ = devices
    cam = SimImageDetector("cam", m1, m2, shape=(16, 24), seed=3)
    runs = Runs()
    RE.subscribe(runs)
    images = []
    RE.subscribe(lambda n, d: images.append(d["data"]["cam_image"]) if n == "event" else None)
    await RE(plans.scan([cam], m1, -4, 4, 5))
    await RE.flush()
    run = runs.latest
    assert run.image_fields == ["cam_image"]
    np.testing.assert_array_equal(run.images["cam_image"], images[-1])
    assert run.columns["cam_image_sum"] == [float(np.sum(i)) for i in images]
    assert run.columns["cam_total"] == run.columns["cam_image_sum"]


async def test_peak_statistics_per_run_as_a_subscriber(RE, devices) -> None:
    m1, _, det = devices
    stats = PeakStatsCallback()
    RE.subscribe(stats)
    events = []
    RE.subscribe(lambda name, doc: events.append(doc) if name == "event" else None)
    result = await RE(plans.scan([det], m1, -2, 2, 41))
    await RE.flush()
    x = [e["data"]["m1"] for e in events]
    y = [e["data"]["det"] for e in events]
    assert stats.latest["det"] == peak_stats(x, y)
    assert stats[result.run_uids[0]]["det"].cen == pytest.approx(0.2, abs=0.01)
    assert stats.x == "m1"


async def test_plots_start_with_the_first_document_and_serve_the_page(RE, devices) -> None:
    plots = await asyncio.to_thread(LivePlots, port=0, announce=None)  # built without a loop
    assert not plots.running
    RE.subscribe(plots)
    try:
        await RE(plans.count([devices[2]], 2))
        assert plots.running
        page = await asyncio.to_thread(_get, plots.url)
        assert "<title>acq live plots</title>" in page and "bokeh" in page
    finally:
        await plots.close()
    assert not plots.running
    with pytest.raises(PlotServerError, match="closed"):
        plots.start()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode()


def test_starting_without_a_loop_says_where_to_call_it() -> None:
    plots = LivePlots(port=0, announce=None)
    with pytest.raises(PlotServerError, match="running asyncio loop"):
        plots.start()

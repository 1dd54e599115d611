"""The live plot page in headless chromium while scans run against the simulated IOC.

The tests read back what Bokeh's document in the browser holds (the data the plots draw)
and compare it with the events the engine emitted. Screenshots are written to a
temporary folder (printed); ``ACQ_DOC_IMAGES=1`` refreshes docs/images/.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from aioca import caget, caput
from browser import JS_READY, Browser, js_source, wait_for

import plans
from devices import connect
from devices.epics import EpicsMotor, Scaler
from viz import LivePlots, peak_stats

pytestmark = pytest.mark.slow


class Events:
    """The primary-stream events of the engine, by run."""

    def __init__(self) -> None:
        self.primary: set[str] = set()
        self.events: list[dict[str, Any]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "descriptor" and doc["name"] == "primary":
            self.primary.add(doc["uid"])
        elif name == "event" and doc["descriptor"] in self.primary:
            self.events.append(doc)

    def column(self, key: str) -> list[Any]:
        return [e["data"][key] for e in self.events]


@asynccontextmanager
async def fast_beamline(sim_ioc: Any) -> AsyncIterator[dict[str, Any]]:
    """m1, m2 and the scaler, with quick motors and 50 ms counts; PVs restored after."""
    pvs = {
        sim_ioc.pv("m1.VELO"): 10.0,
        sim_ioc.pv("m1.ACCL"): 0.05,
        sim_ioc.pv("m2.VELO"): 10.0,
        sim_ioc.pv("m2.ACCL"): 0.05,
        sim_ioc.pv("scaler1.TP"): 0.05,
    }
    before = {pv: await caget(pv, timeout=5) for pv in pvs}
    for pv, value in pvs.items():
        await caput(pv, value, wait=True, timeout=10)
    devices = {
        "m1": EpicsMotor(sim_ioc.pv("m1"), name="m1"),
        "m2": EpicsMotor(sim_ioc.pv("m2"), name="m2"),
        "scaler": Scaler(sim_ioc.pv("scaler1"), name="scaler"),
    }
    await connect(*devices.values(), timeout=10)
    try:
        yield devices
    finally:
        for pv, value in before.items():
            await caput(pv, value, wait=True, timeout=30)


async def points_in(browser: Browser) -> dict[str, list[Any]] | None:
    return await browser.evaluate(js_source("points"))


async def wait_points(browser: Browser, n: int, timeout: float = 30) -> dict[str, list[Any]]:
    async def enough() -> dict[str, list[Any]] | None:
        data = await points_in(browser)
        return data if data and len(data.get("seq_num", [])) >= n else None

    return await wait_for(enough, timeout, f"{n} points in the page")


async def test_a_scan_is_plotted_live_and_a_late_browser_sees_it_all(
    RE, sim_ioc, plots: LivePlots, browsers, artifacts, doc_image
) -> None:
    events = Events()
    RE.subscribe(events)
    RE.subscribe(plots)
    first = await browsers(plots.url)
    await wait_for(lambda: first.evaluate(JS_READY), 30, "Bokeh in the first page")
    async with fast_beamline(sim_ioc) as dev, asyncio.TaskGroup() as tg:
        scan = tg.create_task(RE(plans.scan([dev["scaler"]], dev["m1"], -1.5, 1.5, 25)))
        early = await wait_points(first, 3)
        assert not scan.done()  # the page had points while the scan still ran
        assert len(early["seq_num"]) < 25
        late = await browsers(plots.url)  # joins mid-run
        result = await scan
    assert result.exit_status == "success"

    expected = {key: events.column(key) for key in ("m1", "det", "I0")}
    for browser in (first, late):
        data = await wait_points(browser, 25)
        assert data["seq_num"] == list(range(1, 26))
        for key, values in expected.items():
            assert data[key] == pytest.approx(values)
        stats = await wait_for(
            lambda b=browser: _with_rows(b.evaluate(js_source("peak_stats"))), 10, "stats rows"
        )
        row = stats["field"].index("det")
        want = peak_stats(expected["m1"], expected["det"])
        assert stats["cen"][row] == pytest.approx(want.cen)
        assert stats["fwhm"][row] == pytest.approx(want.fwhm)
        assert stats["max_x"][row] == pytest.approx(want.max[0])
        assert abs(want.cen) < 0.3  # the model's Gaussian is centred on m1 = 0

    png = await first.screenshot(artifacts / "scan.png")
    print(f"screenshot: {png}")
    doc_image(png, "live-plots-scan.png")


async def _with_rows(data: Any) -> Any:
    value = await data
    return value if value and value.get("field") else None


async def test_a_grid_scan_fills_a_heat_map_in_snake_order(
    RE, sim_ioc, plots: LivePlots, browsers, artifacts, doc_image
) -> None:
    events = Events()
    RE.subscribe(events)
    RE.subscribe(plots)
    page = await browsers(plots.url)
    async with fast_beamline(sim_ioc) as dev:
        result = await RE(
            plans.grid_scan(
                [dev["scaler"]], dev["m2"], -1, 1, 4, dev["m1"], 1.5, -1.5, 7, snake_axes=True
            )
        )
    assert result.exit_status == "success"

    # where each event belongs, from the motors' own readings (not from the scan order)
    m1_axis, m2_axis = np.linspace(-1.5, 1.5, 7), np.linspace(-1, 1, 4)
    expected = np.full((4, 7), np.nan)
    for event in events.events:
        col = int(np.argmin(abs(m1_axis - event["data"]["m1"])))
        row = int(np.argmin(abs(m2_axis - event["data"]["m2"])))
        expected[row, col] = event["data"]["det"]
    assert not np.isnan(expected).any()

    async def heat_map() -> Any:
        data = await page.evaluate(js_source("grid:det"))
        if not data:
            return None
        image = np.array(data["image"][0], dtype=float).reshape(4, 7)
        return image if not np.isnan(image).any() else None

    image = await wait_for(heat_map, 30, "a full heat map")
    np.testing.assert_allclose(image, expected)
    png = await page.screenshot(artifacts / "grid.png")
    print(f"screenshot: {png}")
    doc_image(png, "live-plots-grid.png")


async def test_a_browser_that_leaves_mid_run_costs_nothing(
    RE, sim_ioc, plots: LivePlots, browsers
) -> None:
    events = Events()
    RE.subscribe(events)
    RE.subscribe(plots)
    leaving = await browsers(plots.url)
    async with fast_beamline(sim_ioc) as dev, asyncio.TaskGroup() as tg:
        scan = tg.create_task(RE(plans.scan([dev["scaler"]], dev["m1"], -1, 1, 15)))
        await wait_points(leaving, 2)
        assert plots.browsers == 1
        await leaving.close()  # gone, without saying goodbye
        await wait_for(lambda: plots.browsers == 0, 10, "the server to notice")
        result = await scan
    assert result.exit_status == "success" and not result.subscriber_errors
    assert len(events.events) == 15
    newcomer = await browsers(plots.url)
    data = await wait_points(newcomer, 15)
    assert plots.browsers == 1
    assert data["det"] == pytest.approx(events.column("det"))


async def test_many_events_per_second_reach_the_page_in_few_updates(
    RE, plots: LivePlots, browsers
) -> None:
    from devices.sim import SimDetector

    det = SimDetector("noise", noise=0.1, seed=1)
    events = Events()
    RE.subscribe(events)
    RE.subscribe(plots)
    page = await browsers(plots.url)
    await wait_for(lambda: page.evaluate(JS_READY), 30, "Bokeh in the page")
    await page.evaluate(
        """(() => { window.streamed = 0;
            Bokeh.documents[0].on_change((e) => {
                if (e.kind === 'ColumnsStreamed' || e.constructor.name === 'ColumnsStreamedEvent')
                    window.streamed += 1; });
            return true; })()"""
    )
    result = await RE(plans.count([det], 3000))
    assert result.exit_status == "success"
    data = await wait_points(page, 3000)
    assert data["noise"] == pytest.approx(events.column("noise"))
    streamed = await page.evaluate("window.streamed")
    assert 0 < streamed < 300  # coalesced: one update per interval, not one per event


async def test_a_taken_port_is_one_clear_error_naming_it(plots: LivePlots) -> None:
    from viz import PlotServerError

    with pytest.raises(PlotServerError, match=rf"port {plots.port} .* already in use"):
        LivePlots(port=plots.port, announce=None)


async def test_the_page_lists_recent_runs_and_shows_an_older_one_on_request(
    RE, plots: LivePlots, browsers
) -> None:
    from devices.sim import SimDetector, SimMotor

    motor = SimMotor("mx", velocity=1000.0)
    det = SimDetector("dx", motor)
    RE.subscribe(plots)
    first = await RE(plans.scan([det], motor, 0, 1, 5))
    await RE(plans.scan([det], motor, 0, 1, 9))
    page = await browsers(plots.url)
    await wait_points(page, 9)
    options = await page.evaluate(
        """Bokeh.documents[0].get_model_by_name('run_selector')
               .options.map(o => Array.isArray(o) ? o[0] : o)"""
    )
    assert options[1:] == [plots.runs.latest.uid, first.run_uids[0]]
    await page.evaluate(
        f"Bokeh.documents[0].get_model_by_name('run_selector').value = '{first.run_uids[0]}'"
    )

    async def five() -> Any:
        data = await points_in(page)
        return data if data and len(data["seq_num"]) == 5 else None

    data = await wait_for(five, 10, "the first run's 5 points")
    assert data["mx"] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert not math.isnan(data["dx"][0])


async def test_an_area_detector_shows_its_latest_image_and_the_sum_trace(
    RE, plots: LivePlots, browsers, artifacts
) -> None:
    from devices.sim import SimImageDetector, SimMotor

    mx, my = SimMotor("mx", velocity=1000.0), SimMotor("my", velocity=1000.0)
    cam = SimImageDetector("cam", mx, my, shape=(24, 32), seed=5)
    events = Events()
    RE.subscribe(events)
    RE.subscribe(plots)
    page = await browsers(plots.url)
    await RE(plans.scan([cam], mx, -8, 8, 9))

    last = events.events[-1]["data"]["cam_image"]

    async def latest_image() -> Any:
        data = await page.evaluate(js_source("image:cam_image"))
        if not data or data["dw"][0] != 32:
            return None
        image = np.array(data["image"][0], dtype=float).reshape(24, 32)
        return image if image.sum() == last.sum() else None

    image = await wait_for(latest_image, 20, "the last image in the page")
    np.testing.assert_array_equal(image, last)
    data = await wait_points(page, 9)
    assert data["cam_image_sum"] == [float(e["data"]["cam_image"].sum()) for e in events.events]
    png = await page.screenshot(artifacts / "image.png")
    print(f"screenshot: {png}")


async def test_a_spiral_is_a_scatter_of_both_motors(RE, plots: LivePlots, browsers) -> None:
    from devices.sim import SimDetector, SimMotor

    mx, my = SimMotor("mx", velocity=1000.0), SimMotor("my", velocity=1000.0)
    det = SimDetector("det", mx)
    events = Events()
    RE.subscribe(events)
    RE.subscribe(plots)
    page = await browsers(plots.url)
    await RE(plans.spiral([det], mx, my, 0, 0, 2, 2, 0.4, 5))
    n = len(events.events)
    data = await wait_points(page, n)
    assert data["mx"] == pytest.approx(events.column("mx"))
    assert data["my"] == pytest.approx(events.column("my"))
    assert data["det"] == pytest.approx(events.column("det"))
    kind = await page.evaluate("Bokeh.documents[0].get_model_by_name('plot:det').title.text")
    assert kind == "det (scatter)"


async def test_a_long_run_keeps_only_the_last_points_in_the_page(RE, browsers) -> None:
    from devices.sim import SimDetector

    det = SimDetector("noise", noise=0.1, seed=2)
    plots = LivePlots(port=0, max_points=200, announce=None)
    try:
        RE.subscribe(plots)
        page = await browsers(plots.url)
        await wait_for(lambda: page.evaluate(JS_READY), 30, "Bokeh in the page")
        await RE(plans.count([det], 2000))

        async def last_point() -> Any:
            data = await points_in(page)
            return data if data and data["seq_num"] and data["seq_num"][-1] == 2000 else None

        data = await wait_for(last_point, 20, "the run's last point in the page")
        assert len(data["seq_num"]) == 200  # rolled over: memory bounded in the page too
        assert data["seq_num"] == list(range(2001 - len(data["seq_num"]), 2001))
    finally:
        await plots.close()


async def test_a_repeated_scan_reuses_the_plots_and_clears_the_last_runs_marks(
    RE, plots: LivePlots, browsers
) -> None:
    """Same fields, same axes: the page keeps its plot (no new layout, which stalls a fast
    scan) but shows only the new run, with fresh ranges and its own peak; other fields:
    a new plot."""
    from devices.sim import SimDetector, SimMotor

    motor = SimMotor("mr", velocity=1000.0)
    det = SimDetector("dr", motor, center=0.0, width=0.3)
    other = SimDetector("dq", motor, center=0.5, width=0.3)
    RE.subscribe(plots)
    page = await browsers(plots.url)
    await wait_for(lambda: page.evaluate(JS_READY), 30, "Bokeh in the page")
    model = """(() => {{ const p = Bokeh.documents[0].get_model_by_name('plot:{0}');
        return p ? [p.id, p.x_range.id, p.y_range.id, p.title.text] : null; }})()"""

    async def plot_after(scan: Any, field: str, n: int) -> list[str]:
        await RE(scan)
        await wait_for(lambda: _points_of(page, field, n), 10, f"{n} points of {field}")
        return await wait_for(
            lambda: _titled(page.evaluate(model.format(field))), 10, f"{field}'s peak title"
        )

    first = await plot_after(plans.scan([det], motor, -1, 1, 21), "dr", 21)
    second = await plot_after(plans.scan([det], motor, -0.5, 1.5, 31), "dr", 31)
    assert second[0] == first[0]  # the same plot
    assert second[1:3] != first[1:3]  # with new ranges
    data = await points_in(page)
    assert data is not None and data["mr"][0] == pytest.approx(-0.5)  # only the new run
    assert first[3] != second[3]  # the title holds this run's peak

    third = await plot_after(plans.scan([other], motor, -1, 1, 11), "dq", 11)
    assert third[0] != first[0]


async def _points_of(page: Browser, field: str, n: int) -> bool | None:
    data = await points_in(page)
    return True if data and len(data.get(field, [])) == n else None


async def _titled(found: Any) -> Any:
    value = await found
    return value if value and "cen" in value[3] else None

"""Live plots under a 1 kHz event stream: scan slowdown and browser lag.

    python -m bench.viz_liveplots [--n 3000] [--runs 5]

A soft ``count`` with ``delay=0.001`` (about 1,000 events per second), alternately without
and with `viz.LivePlots` subscribed and one headless chromium showing the page. Figures:
time per point in both cases (medians over runs) and the slowdown (goal <= 5 %); the lag
from an event's creation (its ``time``) to the moment its row is in Bokeh's document in
the browser (median over every event, goal <= 250 ms). Needs Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "viz"))  # the CDP driver the tests use

from browser import JS_READY, Browser, find_chromium, wait_for  # noqa: E402

from bench._result import Result, emit  # noqa: E402

SLOWDOWN_GOAL = 0.05
LAG_GOAL_MS = 250.0

# In the page: for every row that arrives in the `points` source, now minus its event time.
JS_LAG_PROBE = """(() => {
    window.lags = []; window.seen = 0;
    const doc = Bokeh.documents[0];
    doc.on_change(() => {
        const src = doc.get_model_by_name('points');
        if (!src) return;
        const times = src.data.get ? src.data.get('time') : src.data.time;
        if (!times) return;
        if (times.length < window.seen) window.seen = 0;   // a new run
        const now = Date.now() / 1000;
        for (let i = window.seen; i < times.length; i++) window.lags.push(now - times[i]);
        window.seen = times.length;
    });
    return true;
})()"""


def cpu_seconds(marker: str) -> float:
    """CPU time (user + system) of every process whose command line contains `marker`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "cmdline").read_text():
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def one_run(RE, plan_factory, n: int) -> float:
    start = time.perf_counter()
    result = await RE(plan_factory())
    assert result.exit_status == "success", result
    return (time.perf_counter() - start) / n


async def measure(n: int, runs: int, with_browser: bool = True) -> dict[str, float]:
    import plans
    from acq import RunEngine
    from devices.sim import SimDetector
    from viz import LivePlots

    chromium = find_chromium()
    if chromium is None and with_browser:
        raise SystemExit("bench.viz_liveplots needs chromium (apt-get install chromium)")
    det = SimDetector("det", noise=0.1, seed=1)
    RE = RunEngine(waiting_hook=None, handle_sigint=False)
    await RE(plans.count([det], 200, delay=0.001))  # warm up

    plots = LivePlots(port=0, announce=None)
    profile = Path(tempfile.mkdtemp(prefix="acq-bench-chromium-"))
    browser = Browser(chromium or "chromium", profile)
    bare, plotted, lags, browser_cpu = [], [], [], []
    try:
        if with_browser:
            await browser.start(plots.url)
            await wait_for(lambda: browser.evaluate(JS_READY), 30, "Bokeh in the page")
            await browser.evaluate(JS_LAG_PROBE)
        for _ in range(runs):
            bare.append(await one_run(RE, lambda: plans.count([det], n, delay=0.001), n))
            token = RE.subscribe(plots)
            cpu = cpu_seconds(str(profile))
            plotted.append(await one_run(RE, lambda: plans.count([det], n, delay=0.001), n))
            browser_cpu.append((cpu_seconds(str(profile)) - cpu) / (plotted[-1] * n))
            await RE.flush()
            RE.unsubscribe(token)
            if with_browser:
                await wait_for(
                    lambda: browser.evaluate(f"window.seen >= {n} || null"), 30, "all rows shown"
                )
                lags += await browser.evaluate("window.lags.splice(0)")
    finally:
        await browser.close()
        await plots.close()
    return {
        "bare_ms": statistics.median(bare) * 1e3,
        "plotted_ms": statistics.median(plotted) * 1e3,
        "lag_ms": statistics.median(lags) * 1e3 if lags else float("nan"),
        "lag_p95_ms": statistics.quantiles(lags, n=20)[-1] * 1e3 if lags else float("nan"),
        "events": float(len(lags)),
        "browser_cpu": statistics.median(browser_cpu),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="points per count")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-browser", action="store_true", help="plots without a browser (no lag figure)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))
    r = asyncio.run(measure(args.n, args.runs, with_browser=not args.no_browser))
    slowdown = r["plotted_ms"] / r["bare_ms"] - 1
    print(f"  count, no plots          {r['bare_ms']:8.4f} ms/point (median of {args.runs})")
    print(f"  count, LivePlots+browser {r['plotted_ms']:8.4f} ms/point (median of {args.runs})")
    print(f"  slowdown                 {slowdown * 100:8.2f} %")
    print(f"  browser CPU while plots  {r['browser_cpu'] * 100:8.1f} % of one core")
    print(
        f"  browser lag              {r['lag_ms']:8.1f} ms median, {r['lag_p95_ms']:.1f} ms p95 "
        f"(over {int(r['events'])} events)"
    )
    met = slowdown <= SLOWDOWN_GOAL and r["lag_ms"] <= LAG_GOAL_MS
    print(
        f"SUMMARY viz_liveplots: 1 kHz count {slowdown * 100:+.1f} % per point with live plots "
        f"(goal <= {SLOWDOWN_GOAL * 100:.0f} %), browser lag {r['lag_ms']:.0f} ms median "
        f"(goal <= {LAG_GOAL_MS:.0f} ms): {'met' if met else 'NOT met'}"
    )
    emit(
        Result(
            "viz_liveplots",
            "1 kHz soft count with live plots"
            + ("" if args.no_browser else " + 1 browser")
            + ", per point",
            "ms",
            r["plotted_ms"],
            floor=r["bare_ms"],
            floor_name="no plots",
            target=f"<= +{SLOWDOWN_GOAL * 100:.0f} %",
            met=slowdown <= SLOWDOWN_GOAL,
            note="" if args.no_browser else "headless chromium on the same machine",
        )
    )
    if r["lag_ms"] == r["lag_ms"]:  # not NaN: a browser was attached
        emit(
            Result(
                "viz_liveplots",
                "live plots: lag from event to data in the page (median)",
                "ms",
                r["lag_ms"],
                target=f"<= {LAG_GOAL_MS:.0f} ms",
                met=r["lag_ms"] <= LAG_GOAL_MS,
                note=f"p95 {r['lag_p95_ms']:.0f} ms",
            )
        )


if __name__ == "__main__":
    main()

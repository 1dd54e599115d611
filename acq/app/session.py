"""The demo session: what a scientist would type at the beamline, one step after another.

It wires the parts the way a beamline's startup file does: devices, one `RunEngine`,
the catalog writer (critical: a document that cannot be kept fails the run), a
`LiveTable` on the terminal, `LivePlots` in the browser, and the engine's default
progress bars. Then it runs the steps, reads every run back from the catalog into a
summary table and exports the last run. Each step is short: the whole session takes
well under a minute of acquisition.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aioca

from acq import RunEngine, RunEnginePaused, RunResult
from acq.suspenders import SuspendFloor
from plans import count, grid_scan, scan, temperature_theta_2theta_scan, tune_centroid
from plans.stubs import mv
from plans.wrappers import baseline_wrapper
from storage import Catalog, Run, open_catalog
from storage.export import export_csv, export_nexus
from viz import LivePlots, LiveTable

from .beamline import SimBeamline, connect_sim_beamline, demo_speeds
from .errors import CommandError
from .plots import start_plots
from .summary import format_table, summarize

__all__ = ["DemoError", "DemoOptions", "run_demo"]

INTERRUPTED = 130
BEAM_DUMP_TIMEOUT = 60.0  # s: bounds every wait of the beam-dump choreography


class DemoError(CommandError):
    """A demo step did not do what it shows (its run failed, the dump did not suspend)."""


@dataclass(frozen=True)
class DemoOptions:
    prefix: str
    catalog: str
    data_dir: Path
    plots_port: int = 0
    keep_plots: bool = False


def say(text: str = "") -> None:
    print(text, flush=True)


def masked(uri: str) -> str:
    """The URI with its password replaced, for printing."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


async def run_demo(options: DemoOptions) -> int:
    """Connect, run every step, summarise from the catalog, export; the exit status."""
    images = options.data_dir / "images"
    images.mkdir(parents=True, exist_ok=True)  # the IOC writes the camera's files here
    say("connecting devices ...")
    began = time.monotonic()
    try:
        bl = await connect_sim_beamline(options.prefix, images)
        await demo_speeds(bl)
        say(f"connected {len(bl.devices)} devices in {time.monotonic() - began:.1f} s")
        catalog = await open_catalog(options.catalog)
        say(f"catalog: {masked(options.catalog)}")
        try:
            return await _session(options, bl, catalog)
        finally:
            await catalog.close()
    finally:
        aioca.purge_channel_caches()


async def _session(options: DemoOptions, bl: SimBeamline, catalog: Catalog) -> int:
    plots = start_plots(options.plots_port, option="--plots-port")  # prints its URL
    try:
        RE = RunEngine(md={"beamline_id": "sim", "operator": "demo"})
        RE.subscribe(catalog.writer, critical=True)
        RE.subscribe(LiveTable())
        RE.subscribe(plots)
        try:
            uids = await _steps(RE, bl)
        except RunEnginePaused:
            say("\nCtrl-C: aborting the run and ending the demo")
            await RE.abort("the demo was interrupted with Ctrl-C")
            return INTERRUPTED
        await RE.flush(timeout=30)
        await catalog.writer.flush(timeout=30)

        runs = [await catalog.run(uid) for uid in uids]
        say(f"\nThe session's {len(runs)} runs, read back from the catalog:")
        say(format_table([await summarize(run) for run in runs]))
        await _export(runs[-1], options.data_dir / "export")
        if options.keep_plots:
            await _serve_until_ctrl_c(plots)
        return 0
    finally:
        await plots.close()


async def _steps(RE: RunEngine, bl: SimBeamline) -> list[str]:
    """The demo's plans, in order; the uids of the runs they made."""
    uids: list[str] = []

    async def step(title: str, plan: Any, **md: Any) -> RunResult:
        say(f"\n== {title}")
        result = await RE(plan, **md)
        if result.exit_status != "success":
            raise DemoError(f"{title}: the run ended {result.exit_status}: {result.reason}")
        uids.extend(result.run_uids)
        return result

    scaler, m1, th, tth = bl.scaler, bl.m1, bl.th, bl.tth
    await bl.det_center.set(0.3)  # the slit is a little off: the scans will find it
    await step("1-D scan of the slit detector's Gaussian: det vs m1", scan([scaler], m1, -2, 2, 21))
    await step(
        "tune_centroid: find the Gaussian's centre and leave m1 there",
        tune_centroid([scaler], "det", m1, -2, 2, min_step=0.05, num=10),
    )
    say(f"m1 is now at {await m1.user_readback.get_value():.3f} mm (the centre is at 0.300)")

    await scaler.preset_time.set(1.0)
    await step("count: two 1-second counts of the scaler (progress bars)", count([scaler], 2))
    await scaler.preset_time.set(0.05)

    say("\n== moving the diffractometer to the Si(111) reflection (progress bars)")
    await RE(mv(th, 9.05, tth, 18.15))
    await step(
        "grid scan: a th/tth map of the Si(111) Bragg peak (snaking)",
        grid_scan([scaler], th, 9.05, 9.30, 6, tth, 18.15, 18.55, 9, snake_axes=True),
        sample="Si",
    )
    await step(
        "temperature scan: a theta/two-theta scan at 295, 345, 395 K (the Bragg peak moves)",
        temperature_theta_2theta_scan(
            [scaler], bl.temperature, [295, 345, 395], th, tth, 8.80, 9.32, 27
        ),
        sample="Si",
    )
    await step(
        "count of the area detector: frames go to an HDF5 file, the documents reference them",
        count([bl.camera], num=5),
    )
    await _beam_dump_scan(step, RE, bl)
    return uids


async def _beam_dump_scan(step: Callable[..., Any], RE: RunEngine, bl: SimBeamline) -> None:
    """A scan that survives a beam dump: a SuspendFloor on the ring current pauses it,
    the refill clears it, and the engine re-does the interrupted point by itself."""
    suspender = SuspendFloor(bl.ring.current, 10.0, resume_thresh=90.0, sleep=0.5)
    RE.install_suspender(suspender)
    fourth_point = asyncio.Event()

    def watch(name: str, doc: dict[str, Any]) -> None:
        if name == "event" and doc.get("seq_num") == 4:
            fourth_point.set()

    async def dump_and_refill() -> None:
        async with asyncio.timeout(BEAM_DUMP_TIMEOUT):
            await fourth_point.wait()
            say("   ** beam dump: the ring current drops to 0 mA **")
            await bl.ring.dump.trigger()
            while not suspender.tripped:
                await asyncio.sleep(0.05)
            say("   ** the scan is suspended (ring current < 10 mA); refilling the ring **")
            await bl.ring.refill.trigger()  # done when the ring is full again
            say("   ** beam is back: the scan resumes and re-does the interrupted point **")

    plan = baseline_wrapper(scan([bl.scaler, bl.ring], bl.m1, -1, 1, 11), bl.motors.values())
    token = RE.subscribe(watch, "event")
    try:
        async with asyncio.TaskGroup() as tg:
            dump = tg.create_task(dump_and_refill())
            result = await step(
                "a scan that survives a beam dump (suspender), with a baseline of all motors",
                plan,
            )
            if not dump.done():
                dump.cancel()
                raise DemoError("the beam-dump scan ended before the beam was dumped")
    finally:
        RE.unsubscribe(token)
        RE.clear_suspenders()
    if not result.interrupted:
        raise DemoError("the beam dump did not suspend the scan; is the ring PV updating?")


async def _export(run: Run, directory: Path) -> None:
    documents = await run.documents()
    stem = f"scan{run.scan_id}_{run.uid[:8]}"
    csv_files = await asyncio.to_thread(export_csv, documents, directory / "csv")
    nexus = await asyncio.to_thread(export_nexus, documents, directory / f"{stem}.nxs")
    say(f"\nThe last run (scan {run.scan_id}) exported:")
    for path in [*csv_files, nexus]:
        say(f"  {path}")


async def _serve_until_ctrl_c(plots: LivePlots) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        say(f"\nLive plots keep serving at {plots.url} ; press Ctrl-C to end.")
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGINT)

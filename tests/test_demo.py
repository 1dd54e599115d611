"""``acq demo`` end to end, as a newcomer runs it: a subprocess with its own IOC.

One demo run (about a minute) feeds every test of the module: what it printed, the files
it exported and what its catalog holds afterwards, read back by this process.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from iocs.processes import busy_protocols
from storage import open_catalog

pytestmark = pytest.mark.slow

PLANS = ["scan", "tune_centroid", "count", "grid_scan", "scan", "scan", "scan", "count", "scan"]
MOTORS = {"m1", "m2", "m3", "m4", "sx", "sy", "th", "tth"}


def clean_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EPICS_", "ACQ_"))}
    env["ACQ_STATE_DIR"] = str(state)  # scan ids and journals of this test only
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo with ``--keep-plots``: the page is read while it serves, then Ctrl-C."""
    root = tmp_path_factory.mktemp("demo")
    data, uri = root / "data", f"sqlite:///{root}/demo-catalog.db"
    argv = ["demo", "--catalog", uri, "--data-dir", str(data), "--keep-plots"]
    with (root / "stderr.txt").open("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "acq.cli", *argv],
            env=clean_env(root / "state"),
            text=True,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
        lines, page = [], None
        try:
            assert process.stdout is not None
            for line in process.stdout:  # EOF if the demo fails; the test timeout bounds it
                lines.append(line)
                if line.startswith("Live plots keep serving at "):
                    page = served_points(line.split()[5])
                    process.send_signal(signal.SIGINT)
                    break
            rest, _ = process.communicate(timeout=170)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        stderr.seek(0)
        result = subprocess.CompletedProcess(
            argv, process.returncode, "".join(lines) + rest, stderr.read()
        )
    return {"result": result, "data": data, "uri": uri, "page": page}


def served_points(url: str) -> dict[str, list[Any]]:
    """The data of the page's latest run, as a browser session gets it."""
    from bokeh.client import pull_session

    with pull_session(url=url) as session:
        (points,) = session.document.select({"name": "points"})
        return {key: list(values) for key, values in points.data.items()}


def summary_rows(stdout: str) -> list[list[str]]:
    """The closing table: the rows under its rule of dashes."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("scan  plan"))
    rows = []
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip(), maxsplit=5))
    return rows


def test_demo_exits_0_and_stops_its_ioc(demo) -> None:
    result = demo["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"^Live plots: http://127\.0\.0\.1:\d+/$", out, re.M)
    assert "demo finished" in out and "the simulated beamline has been stopped" in out
    port = int(re.search(r"simulated beamline on 127\.0\.0\.1:(\d+)", out).group(1))
    assert busy_protocols(port) == []  # nobody serves the demo's CA port any more
    assert "Traceback" not in result.stderr


def test_keep_plots_serves_the_session_until_ctrl_c(demo) -> None:
    """The page still shows the last run (the beam-dump scan) after the session."""
    page = demo["page"]
    assert page is not None, demo["result"].stdout[-2000:]
    assert [round(x, 3) for x in page["m1"]] == [round(-1 + 0.2 * i, 3) for i in range(11)]
    assert min(page["ring"]) >= 10.0
    assert demo["result"].returncode == 0  # Ctrl-C is how --keep-plots ends: not an error


def test_summary_table_lists_every_run_read_back(demo) -> None:
    rows = summary_rows(demo["result"].stdout)

    assert [row[1] for row in rows] == PLANS
    assert {row[3] for row in rows} == {"success"}
    assert [int(row[4]) for row in rows][:4] == [21, 20, 2, 54]
    notes = [row[5] for row in rows]
    # 1 s counts at 100 mA: the clock counts 1e7, the beam monitor 1e6
    assert "clock 1e+07" in notes[2] and re.search(r"I0 (9\.\d+e\+05|1(\.0\d*)?e\+06)", notes[2])
    # the slit detector's Gaussian was moved to 0.3 mm: the scan and the tune find it
    for note in notes[:2]:
        centre = float(re.search(r"det peak at m1=(-?[\d.]+)", note).group(1))
        assert centre == pytest.approx(0.3, abs=0.08)
    # a warmer crystal diffracts at a smaller angle: the Bragg peak moves down in theta
    temperatures = [re.search(r"T = (\d+) K", n).group(1) for n in notes[4:7]]
    assert temperatures == ["295", "345", "395"]
    peaks = [float(re.search(r"diff peak at th=([\d.]+)", n).group(1)) for n in notes[4:7]]
    assert peaks[0] > peaks[1] > peaks[2]
    assert "5 frames 64x64 loaded back" in notes[7] and ".h5" in notes[7]
    assert "1 suspension(s)" in notes[8] and "baseline" in notes[8]


def test_last_run_exported_to_csv_and_nexus(demo) -> None:
    export = demo["data"] / "export"
    (primary,) = (export / "csv").glob("*_primary.csv")
    with primary.open() as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    assert [round(float(r["m1"]), 3) for r in rows] == [round(-1 + 0.2 * i, 3) for i in range(11)]
    assert list((export / "csv").glob("*_baseline.csv"))
    assert list((export / "csv").glob("*_interruptions.csv"))
    (nexus,) = export.glob("*.nxs")
    with h5py.File(nexus, "r") as f:
        entry = f[f.attrs["default"]]
        data = entry[entry.attrs["default"]]
        assert data[data.attrs["signal"]].shape == (11,)
        assert list(data["m1"][()].round(3)) == [round(-1 + 0.2 * i, 3) for i in range(11)]


async def test_catalog_holds_the_runs_the_images_and_the_interruption(demo) -> None:
    async with await open_catalog(demo["uri"], read_only=True) as catalog:
        runs = list(reversed(await catalog.search(limit=50)))
        assert [run.start["plan_name"] for run in runs] == PLANS
        assert all(run.stop and run.stop["exit_status"] == "success" for run in runs)

        camera = runs[7]
        frames = (await camera.table("primary"))["camera_image"]
        assert frames.shape == (5, 64, 64) and frames.sum() > 0  # loaded from the HDF5 file
        files = [doc["uri"] for name, doc in await camera.documents() if name == "stream_resource"]
        assert len(files) == 1 and files[0].startswith(f"file://localhost{demo['data']}/images/")

        dump = runs[8]
        assert await dump.streams() == ["baseline", "primary", "interruptions"]
        kinds = list((await dump.table("interruptions"))["interruption"])
        assert kinds == ["suspend", "resume"]
        primary = await dump.table("primary")
        assert list(primary["seq_num"]) == list(range(1, 12))
        assert np.min(primary["ring"]) >= 10.0  # no point was taken without beam
        baseline = await dump.table("baseline")
        assert len(baseline["seq_num"]) == 2 and MOTORS <= set(baseline)


def start_demo(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "acq.cli", "demo", "--data-dir", str(tmp_path / "data"), *args],
        env={**clean_env(tmp_path / "state"), **(env or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def test_ctrl_c_aborts_the_run_and_stops_the_ioc(tmp_path: Path) -> None:
    demo = start_demo(tmp_path)
    seen: list[str] = []
    assert demo.stdout is not None
    for line in demo.stdout:  # the first scan's third point: the engine is running a plan
        seen.append(line)
        if line.startswith("|       3 |"):
            demo.send_signal(signal.SIGINT)
            break
    try:
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)
    assert demo.returncode == 130, "".join(seen) + out + err
    assert "Run " in out and " abort (the demo was interrupted with Ctrl-C)" in out
    assert err.splitlines()[-1] == (
        "acq demo: interrupted; the simulated beamline has been stopped"
    )
    port = int(re.search(r"beamline on 127\.0\.0\.1:(\d+)", "".join(seen)).group(1))
    assert busy_protocols(port) == []


def test_an_unreachable_catalog_is_one_line(tmp_path: Path) -> None:
    from iocs.processes import free_port

    demo = start_demo(tmp_path, "--catalog", f"mongodb://127.0.0.1:{free_port()}/demo")
    out, err = demo.communicate(timeout=120)

    assert demo.returncode == 1
    assert len(err.splitlines()) == 1, err
    assert err.startswith("acq demo: error: CatalogUnreachableError: no MongoDB server answered")
    assert "Traceback" not in out + err


async def test_demo_into_mongodb_named_by_acq_catalog(tmp_path: Path) -> None:
    from storage.testing import MongoServer

    server = MongoServer(tmp_path / "nx-27017")
    server.start()
    try:
        uri = f"{server.uri}/demo"
        demo = start_demo(tmp_path, env={"ACQ_CATALOG": uri})  # as acq runs reads it too
        out, err = await asyncio.to_thread(demo.communicate, timeout=170)
        assert demo.returncode == 0, out[-3000:] + err[-3000:]
        assert [row[1] for row in summary_rows(out)] == PLANS
        async with await open_catalog(uri, read_only=True) as catalog:
            runs = await catalog.search(limit=50)
        assert [run.start["plan_name"] for run in reversed(runs)] == PLANS
    finally:
        server.stop()

"""bluesky's callbacks and suitcase's serializers consume acq's documents unchanged:
LiveTable, BestEffortCallback (headless), PeakStats, suitcase-csv and suitcase-jsonl,
subscribed to acq's RunEngine running acq's plans over acq's simulated devices."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from bluesky.callbacks import LiveTable
from bluesky.callbacks.best_effort import BestEffortCallback
from bluesky.callbacks.fitting import PeakStats
from compat_devices import RE, Docs, docs
from event_model import RunRouter

import plans
from acq import RunEngine
from devices import connect
from devices.sim import SimDetector, SimMotor
from viz import peak_stats

__all__ = ["RE", "docs"]  # fixtures, imported for pytest

CENTER, WIDTH = 0.3, 0.4


@pytest.fixture
async def beamline() -> tuple[SimMotor, SimDetector]:
    m1 = SimMotor("m1")
    det = SimDetector("det", m1, center=CENTER, width=WIDTH, peak=1e4)
    await connect(m1, det)
    return m1, det


async def test_live_table_prints_a_row_per_event(
    RE: RunEngine, docs: Docs, beamline: tuple[SimMotor, SimDetector]
) -> None:
    m1, det = beamline
    lines: list[str] = []
    RE.subscribe(LiveTable(["m1", "det"], out=lines.append, default_prec=2))

    await RE(plans.scan([det], m1, -1, 1, 5))
    await RE.flush()

    text = "\n".join(lines)
    header = next(line for line in lines if "seq_num" in line)
    assert "m1" in header and "det" in header
    rows = [line for line in lines if re.match(r"\|\s+\d+ \|", line)]
    assert len(rows) == 5
    for row, event in zip(rows, docs.events(), strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert int(cells[0]) == event["seq_num"]
        assert float(cells[2]) == pytest.approx(event["data"]["m1"], abs=0.01)
        assert float(cells[3]) == pytest.approx(event["data"]["det"], abs=0.01)
    assert "generator scan" in text  # its footer names the plan and the scan_id


async def test_best_effort_callback_headless_prints_its_table(
    RE: RunEngine, beamline: tuple[SimMotor, SimDetector], capsys: pytest.CaptureFixture[str]
) -> None:
    m1, det = beamline
    bec = BestEffortCallback()
    bec.disable_plots()
    RE.subscribe(bec)

    await RE(plans.scan([det], m1, -1, 1, 21))
    await RE.flush()

    out = capsys.readouterr().out
    assert "Transient Scan ID" in out and "m1" in out and "det" in out
    assert len(re.findall(r"^\|\s+\d+ \|", out, flags=re.MULTILINE)) == 21
    # (headless, BEC computes no peaks: they come with its plots; see PeakStats below)


async def test_peak_stats_agrees_with_viz(
    RE: RunEngine, docs: Docs, beamline: tuple[SimMotor, SimDetector]
) -> None:
    m1, det = beamline
    ps = PeakStats("m1", "det")
    RE.subscribe(ps)

    await RE(plans.scan([det], m1, -1, 1, 41))
    await RE.flush()

    ours = peak_stats(docs.column("m1"), docs.column("det"))
    assert ps["cen"] == pytest.approx(ours.cen) and ps["cen"] == pytest.approx(CENTER, abs=0.01)
    assert ps["com"] == pytest.approx(ours.com)
    assert ps["fwhm"] == pytest.approx(ours.fwhm)
    assert ps["fwhm"] == pytest.approx(2.355 * WIDTH, rel=0.05)
    assert tuple(ps["max"]) == pytest.approx(ours.max)
    assert tuple(ps["min"]) == pytest.approx(ours.min)


async def test_suitcase_csv_writes_the_primary_stream(
    RE: RunEngine, docs: Docs, beamline: tuple[SimMotor, SimDetector], tmp_path: Path
) -> None:
    import suitcase.csv

    m1, det = beamline

    def factory(name: str, start: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        return [suitcase.csv.Serializer(tmp_path, file_prefix="{start[scan_id]}-")], []

    RE.subscribe(RunRouter([factory]))
    await RE(plans.scan([det], m1, -1, 1, 5))
    await RE(plans.count([det], 3))
    await RE.flush()

    first, second = (d["scan_id"] for d in docs.named("start"))
    table = pd.read_csv(tmp_path / f"{first}-primary.csv")
    assert list(table["m1"]) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert np.allclose(table["det"], docs.column("det")[:5])
    assert list(table["seq_num"]) == [1, 2, 3, 4, 5]
    assert len(pd.read_csv(tmp_path / f"{second}-primary.csv")) == 3  # a file per run


async def test_suitcase_jsonl_records_every_document(
    RE: RunEngine, docs: Docs, beamline: tuple[SimMotor, SimDetector], tmp_path: Path
) -> None:
    import suitcase.jsonl

    m1, det = beamline
    serializer = suitcase.jsonl.Serializer(tmp_path)
    RE.subscribe(serializer)

    await RE(plans.scan([det], m1, -1, 1, 5))
    await RE.flush()

    (path,) = tmp_path.glob("*.jsonl")
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [name for name, _ in written] == docs.names()
    assert [doc["uid"] for name, doc in written if name != "event"] == [
        doc["uid"] for name, doc in docs.all if name != "event"
    ]
    events = [doc for name, doc in written if name == "event"]
    assert [e["data"]["m1"] for e in events] == [-1.0, -0.5, 0.0, 0.5, 1.0]

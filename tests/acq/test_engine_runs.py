"""Start documents, metadata rules, scan_ids, several runs, monitors, fly scans."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from acq_helpers import Docs
from acq_plans import count, trigger_and_read
from doccheck import DocumentChecker

from acq import MetadataError, Msg, RunEngine
from devices import soft_signal_rw
from devices.sim import SimDetector, SimMotor


@pytest.fixture
def det() -> SimDetector:
    return SimDetector("det", SimMotor("m1"), peak=10.0)


async def test_start_document_fields(RE: RunEngine, docs: Docs, det):
    await RE(count([det], 2))
    start = docs.of("start")[0]
    assert start["plan_name"] == "count"
    assert start["detectors"] == ["det"]
    assert start["num_points"] == 2
    assert start["scan_id"] == 1
    assert {"python", "event_model", "acq"} <= set(start["versions"])
    assert isinstance(start["time"], float) and len(start["uid"]) == 36


async def test_plan_name_defaults_to_the_plans_function_name(RE, docs):
    async def my_measurement():
        yield Msg("open_run")
        yield Msg("close_run")

    await RE(my_measurement())
    assert docs.of("start")[0]["plan_name"] == "my_measurement"


async def test_metadata_precedence_call_over_plan_over_RE_md(docs, det):
    RE = RunEngine(
        {"sample": "from RE.md", "operator": "ann", "beamline_id": "sim"}, waiting_hook=None
    )
    RE.subscribe(docs)
    await RE(count([det], 1, md={"sample": "from plan", "operator": "bob"}), sample="from call")
    start = docs.of("start")[0]
    assert start["sample"] == "from call"
    assert start["operator"] == "bob"
    assert start["beamline_id"] == "sim"


async def test_scan_id_increments_and_persists_across_processes(RE, docs, det, acq_state_dir):
    await RE(count([det], 1))
    await RE(count([det], 1))
    assert [s["scan_id"] for s in docs.of("start")] == [1, 2]
    # another process shares the counter (same state directory)
    code = "from acq.metadata import ScanIdStore; print(ScanIdStore().next())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "3"
    fresh = RunEngine(waiting_hook=None)
    fresh.subscribe(docs)
    await fresh(count([det], 1))
    assert docs.of("start")[-1]["scan_id"] == 4
    assert json.loads((acq_state_dir / "scan_id.json").read_text()) == {"scan_id": 4}


async def test_an_explicit_scan_id_is_used_and_not_counted(RE, docs, det):
    await RE(count([det], 1), scan_id=100)
    await RE(count([det], 1))
    assert [s["scan_id"] for s in docs.of("start")] == [100, 1]


async def test_non_json_metadata_is_refused_before_anything_runs(RE, docs, det):
    with pytest.raises(MetadataError, match=r"metadata 'sample'.*SimDetector"):
        await RE(count([det], 1), sample=det)
    assert docs == []

    with pytest.raises(MetadataError, match=r"open_run: metadata 'thing'\['inner'\]"):
        await RE(count([det], 1, md={"thing": {"inner": {1, 2}}}))
    assert docs.names == []

    RE.md["bad.key"] = 1
    with pytest.raises(MetadataError, match=r"'bad\.key' is not allowed"):
        await RE(count([det], 1))


async def test_numpy_metadata_becomes_plain_json(RE, docs, det):
    import numpy as np

    await RE(count([det], 1), energy=np.float32(8.5), roi=np.arange(3), n=np.int64(7))
    start = docs.of("start")[0]
    assert start["roi"] == [0, 1, 2] and start["n"] == 7 and type(start["n"]) is int
    json.dumps(start)


async def test_metadata_validator_can_refuse_a_run(docs, det):
    def needs_proposal(start: dict[str, Any]) -> None:
        if "proposal" not in start:
            raise ValueError("every run needs a 'proposal' number")

    RE = RunEngine(md_validator=needs_proposal, waiting_hook=None)
    RE.subscribe(docs)
    with pytest.raises(MetadataError, match="needs a 'proposal'"):
        await RE(count([det], 1))
    assert docs == []
    await RE(count([det], 1), proposal=1234)
    assert docs.of("start")[0]["scan_id"] == 1  # the refused run did not use a scan_id


async def test_several_runs_one_after_another(RE, docs, det):
    async def plan():
        yield count([det], 2)
        yield count([det], 3)

    result = await RE(plan())
    assert len(result.run_uids) == 2
    stops = docs.of("stop")
    assert [s["num_events"]["primary"] for s in stops] == [2, 3]
    assert [s["run_start"] for s in stops] == list(result.run_uids)


async def test_concurrent_runs_with_run_keys(RE, docs, det):
    other = SimDetector("other", SimMotor("m2"), peak=1.0)

    async def plan():
        yield Msg("open_run", run="a", purpose="a")
        yield Msg("open_run", run="b", purpose="b")
        for _ in range(2):
            yield trigger_and_read([det], run="a")
        yield trigger_and_read([other], run="b")
        yield Msg("close_run", run="a")
        yield trigger_and_read([other], run="b")
        yield Msg("close_run", run="b")

    result = await RE(plan())
    starts = {s["purpose"]: s["uid"] for s in docs.of("start")}
    assert list(result.run_uids) == [starts["a"], starts["b"]]
    by_run = {s["run_start"]: s["num_events"] for s in docs.of("stop")}
    assert by_run == {starts["a"]: {"primary": 2}, starts["b"]: {"primary": 2}}
    descriptors = {d["run_start"]: set(d["data_keys"]) for d in docs.of("descriptor")}
    assert descriptors == {starts["a"]: {"det"}, starts["b"]: {"other"}}


async def test_a_run_left_open_is_closed_by_the_engine(RE, docs, det):
    async def forgetful():
        yield Msg("open_run")
        yield trigger_and_read([det])

    await RE(forgetful())
    assert docs.of("stop")[0]["exit_status"] == "success"


async def test_monitor_puts_every_update_in_its_own_stream(RE, docs, det):
    temperature = soft_signal_rw(float, 295.0, "temperature")

    async def plan():
        yield Msg("open_run")
        yield Msg("monitor", temperature, name="temperature_monitor")
        yield Msg("set", temperature, 296.0, group="t")
        yield Msg("wait", None, group="t")
        yield trigger_and_read([det])
        yield Msg("set", temperature, 297.0, group="t")
        yield Msg("wait", None, group="t")
        yield Msg("unmonitor", temperature)
        yield Msg("set", temperature, 298.0, group="t")  # not recorded
        yield Msg("wait", None, group="t")
        yield Msg("close_run")

    await RE(plan())
    monitored = docs.stream("temperature_monitor")
    assert [e["data"]["temperature"] for e in monitored] == [295.0, 296.0, 297.0]
    assert docs.of("stop")[0]["num_events"] == {"temperature_monitor": 3, "primary": 1}


async def test_monitors_end_with_the_run(RE, docs):
    temperature = soft_signal_rw(float, 295.0, "temperature")

    async def plan():
        yield Msg("open_run")
        yield Msg("monitor", temperature)
        yield Msg("close_run")

    await RE(plan())
    await temperature.set(300.0)
    assert len(docs.stream("temperature_monitor")) == 1


def test_every_document_is_checked(checked_documents: DocumentChecker):
    assert isinstance(checked_documents, DocumentChecker)


async def test_the_checker_sees_engine_documents(RE, det, checked_documents):
    await RE(count([det], 2))
    assert checked_documents.count == 5

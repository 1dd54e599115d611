"""ophyd-async-style detectors read in a step scan: their image is ``external="STREAM:"``
(left out of ``read()``), and each Event is preceded by a StreamDatum with its seq_num."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from acq_plans import trigger_and_read

import plans
from acq import Msg, RunEngine, RunEnginePaused
from acq.errors import DocumentError
from devices import Status


class StepStreamDetector:
    """Each trigger writes `frames_per_trigger` frames; reads only a frame counter."""

    def __init__(self, name: str, frames_per_trigger: int = 1, report: bool = True) -> None:
        self.name = name
        self.parent = None
        self.frames = 0
        self.frames_per_trigger = frames_per_trigger
        self.report = report
        self._reported = 0
        self._resource_sent = False

    def trigger(self) -> Status:
        self.frames += self.frames_per_trigger
        return Status.finished()

    async def read(self) -> dict[str, Any]:
        return {f"{self.name}_frames": {"value": self.frames, "timestamp": time.time()}}

    async def describe(self) -> dict[str, Any]:
        return {
            f"{self.name}_image": {
                "dtype": "array",
                "shape": [8, 8],
                "source": "sim",
                "external": "STREAM:",
            },
            f"{self.name}_frames": {"dtype": "integer", "shape": [], "source": "sim"},
        }

    async def collect_asset_docs(
        self, index: int | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        if not self._resource_sent:
            self._resource_sent = True
            yield (
                "stream_resource",
                {
                    "uid": f"{self.name}-res",
                    "data_key": f"{self.name}_image",
                    "mimetype": "application/x-hdf5",
                    "uri": f"file://localhost/tmp/{self.name}.h5",
                    "parameters": {"dataset": "/entry/data/data"},
                },
            )
        if self.report and self.frames > self._reported:
            yield (
                "stream_datum",
                {
                    "uid": f"{self.name}-res/{self.frames}",
                    "stream_resource": f"{self.name}-res",
                    "descriptor": "",
                    "indices": {"start": self._reported, "stop": self.frames},
                    "seq_nums": {"start": 0, "stop": 0},
                },
            )
            self._reported = self.frames


async def test_each_event_follows_a_stream_datum_with_its_seq_num(RE, docs):
    det = StepStreamDetector("det")
    await RE(plans.count([det], 3))

    assert docs.names == [
        "start",
        "descriptor",
        "stream_resource",
        "stream_datum",
        "event",
        "stream_datum",
        "event",
        "stream_datum",
        "event",
        "stop",
    ]
    descriptor = docs.of("descriptor")[0]
    datums, events = docs.of("stream_datum"), docs.of("event")
    assert [d["seq_nums"] for d in datums] == [{"start": n, "stop": n + 1} for n in (1, 2, 3)]
    assert [e["seq_num"] for e in events] == [1, 2, 3]
    assert all(d["descriptor"] == descriptor["uid"] for d in datums)
    assert [d["indices"]["start"] for d in datums] == [0, 1, 2]
    assert all(set(e["data"]) == {"det_frames"} for e in events)  # no image in the Event
    assert "filled" not in events[0]
    assert docs.of("stop")[0]["num_events"] == {"primary": 3}


async def test_two_frames_for_one_event_is_an_error(RE, docs):
    with pytest.raises(DocumentError, match="covers 2 frames in a step"):
        await RE(plans.count([StepStreamDetector("det", frames_per_trigger=2)], 1))
    assert "event" not in docs.names


async def test_a_detector_that_reports_no_frame_is_an_error(RE, docs):
    with pytest.raises(DocumentError, match="no stream_datum came for this event"):
        await RE(plans.count([StepStreamDetector("det", report=False)], 1))
    assert "event" not in docs.names


async def test_a_step_redone_after_a_pause_emits_one_stream_datum_per_event(RE: RunEngine, docs):
    det = StepStreamDetector("det")
    at_gate, release = anyio.Event(), anyio.Event()

    async def gate(msg: Msg) -> None:
        at_gate.set()
        await release.wait()

    RE.register_command("gate", gate)

    async def plan():
        yield Msg("open_run")
        for i in range(3):
            yield Msg("checkpoint")
            yield trigger_and_read([det])
            if i == 1:
                yield Msg("gate")  # paused here, after the save: resume re-does the step
        yield Msg("close_run")

    async def pause_at_gate() -> None:
        await at_gate.wait()
        RE.request_pause()

    async with anyio.create_task_group() as tg:
        tg.start_soon(pause_at_gate)
        with pytest.raises(RunEnginePaused):
            await RE(plan())
    release.set()
    await RE.resume()

    events = [e for e in docs.of("event") if "det_frames" in e["data"]]
    datums = docs.of("stream_datum")
    assert [e["seq_num"] for e in events] == [1, 2, 3]
    assert [d["seq_nums"]["start"] for d in datums] == [1, 2, 3]
    # the re-done trigger wrote frame 2, which no Event refers to
    assert [d["indices"]["start"] for d in datums] == [0, 1, 3]

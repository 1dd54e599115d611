"""HDF5Detector against the sim IOC: real files, StreamResource/StreamDatum through the engine."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import h5py
import numpy as np
import pytest

import plans
from acq import RunEngine
from devices import connect
from devices.epics import EpicsMotor, Scaler
from devices.epics.hdf5 import HDF5Detector
from devices.errors import FileWriterError


@pytest.fixture(autouse=True)
def acq_state_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACQ_STATE_DIR", str(tmp_path / "acq-state"))


@pytest.fixture
async def det(sim_ioc, tmp_path: Path) -> HDF5Detector:
    detector = HDF5Detector(sim_ioc.pv("ad1:"), tmp_path / "images", name="det")
    (tmp_path / "images").mkdir()
    await connect(detector, timeout=10)
    await detector.cam.acquire_time.set(0.01)
    return detector


def file_of(stream_resource: dict) -> str:
    return urlparse(stream_resource["uri"]).path


async def test_stage_trigger_unstage_writes_the_frames_to_one_file(det: HDF5Detector, tmp_path):
    await det.stage()
    path = det.file
    assert path is not None and Path(path).parent == tmp_path / "images"
    for n in (1, 2, 3):
        await det.trigger()
        assert (await det.read())["det_num_captured"]["value"] == n
    docs = [doc async for doc in det.collect_asset_docs()]
    await det.unstage()

    assert [name for name, _ in docs] == ["stream_resource", "stream_datum"]
    resource, datum = docs[0][1], docs[1][1]
    assert file_of(resource) == path and resource["mimetype"] == "application/x-hdf5"
    assert resource["parameters"]["dataset"] == "/entry/data/data"
    assert datum["indices"] == {"start": 2, "stop": 3}  # the latest frame
    with h5py.File(path, "r") as file:
        frames = file["/entry/data/data"][()]
    assert frames.shape == (3, 64, 64)
    assert frames[2].max() > 50 * np.median(frames[2]), "the spot is in the frame"


async def test_describe_marks_the_image_external_and_read_leaves_it_out(det):
    described = await det.describe()
    assert described["det_image"]["external"] == "STREAM:"
    assert described["det_image"]["shape"] == [64, 64]
    await det.stage()
    try:
        await det.trigger()
        assert set(await det.read()) == {"det_num_captured"}
    finally:
        await det.unstage()


async def test_count_emits_stream_resource_and_one_stream_datum_per_event(det):
    RE = RunEngine(waiting_hook=None)
    docs: list[tuple[str, dict]] = []
    RE.subscribe(lambda name, doc: docs.append((name, doc)))

    await RE(plans.count([det], 3))

    names = [name for name, _ in docs]
    assert names == [
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
    resource = next(doc for name, doc in docs if name == "stream_resource")
    datums = [doc for name, doc in docs if name == "stream_datum"]
    events = [doc for name, doc in docs if name == "event"]
    assert [d["seq_nums"]["start"] for d in datums] == [e["seq_num"] for e in events]
    assert [d["indices"]["start"] for d in datums] == [0, 1, 2]
    assert [e["data"]["det_num_captured"] for e in events] == [1, 2, 3]
    assert docs[-1][1]["num_events"] == {"primary": 3}
    with h5py.File(file_of(resource), "r") as file:  # closed at unstage
        assert file["/entry/data/data"].shape == (3, 64, 64)


async def test_scan_with_scaler_and_motor_references_one_frame_per_point(sim_ioc, det):
    RE = RunEngine(waiting_hook=None)
    docs: list[tuple[str, dict]] = []
    RE.subscribe(lambda name, doc: docs.append((name, doc)))
    sx = EpicsMotor(sim_ioc.pv("sx"), name="sx")
    scaler = Scaler(sim_ioc.pv("scaler1"), name="scaler1")
    await connect(sx, scaler, timeout=10)
    await scaler.preset_time.set(0.01)
    await sx.velocity.set(10.0)

    await RE(plans.scan([det, scaler], sx, -0.5, 0.5, num=3))
    await sx.set(0.0)

    events = [doc for name, doc in docs if name == "event"]
    assert [e["data"]["sx"] for e in events] == pytest.approx([-0.5, 0.0, 0.5])
    resource = next(doc for name, doc in docs if name == "stream_resource")
    with h5py.File(file_of(resource), "r") as file:
        frames = file["/entry/data/data"][()]
    # the spot follows sx: its column moves by 10 pixels per mm
    columns = [np.argmax(frame.sum(axis=0)) for frame in frames]
    assert columns[0] < columns[1] < columns[2]


async def test_a_directory_the_ioc_cannot_see_fails_stage_with_its_name(sim_ioc, tmp_path):
    det = HDF5Detector(sim_ioc.pv("ad1:"), tmp_path / "missing", name="det")
    await connect(det, timeout=10)
    with pytest.raises(FileWriterError, match="missing"):
        await det.stage()


async def test_a_run_with_a_missing_directory_fails_before_any_frame(sim_ioc, tmp_path):
    det = HDF5Detector(sim_ioc.pv("ad1:"), tmp_path / "missing", name="det")
    await connect(det, timeout=10)
    RE = RunEngine(waiting_hook=None)
    docs: list[tuple[str, dict]] = []
    RE.subscribe(lambda name, doc: docs.append((name, doc)))
    with pytest.raises(FileWriterError, match="cannot see directory"):
        await RE(plans.count([det], 2))
    assert "event" not in [name for name, _ in docs]

"""storage.export: CSV, JSON Lines, SPEC and NeXus files from real RunEngine runs (a
snaking grid scan with a baseline, a count of the sim IOC's HDF5 area detector), each
read back with an independent reader."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from event_model import compose_run, pack_event_page
from recorded_runs import Documents, fly_scan, grid, hdf5_count, of, stream_events
from spec2nexus.spec import SpecDataFile

from storage.documents import sanitize
from storage.export import export_csv, export_jsonl, export_nexus, export_spec, import_jsonl


@pytest.fixture
async def grid_docs() -> Documents:
    return await grid(sample="Si(111)", operator="S2")


@pytest.fixture
async def image_docs(sim_ioc, tmp_path: Path) -> Documents:
    return await hdf5_count(sim_ioc, tmp_path / "images", num=3)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open() as file:
        lines = [line for line in file if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    return list(rows[0]), rows


# -- CSV -------------------------------------------------------------------------------


def test_csv_has_one_file_per_stream_with_the_event_values(grid_docs, tmp_path: Path):
    paths = export_csv(grid_docs, tmp_path / "csv")

    start = of(grid_docs, "start")[0]
    assert sorted(p.name for p in paths) == sorted(
        f"{start['scan_id']}_{start['uid'][:8]}_{s}.csv" for s in ("primary", "baseline")
    )
    primary = next(p for p in paths if p.name.endswith("_primary.csv"))
    header, rows = read_csv(primary)
    events = stream_events(grid_docs)
    assert header[:2] == ["time", "seq_num"] and {"det", "m1", "m2"} <= set(header)
    assert len(rows) == len(events) == 12
    for row, event in zip(rows, events, strict=True):
        assert float(row["time"]) == event["time"]  # written exactly
        assert int(row["seq_num"]) == event["seq_num"]
        for key in ("det", "m1", "m2"):
            assert float(row[key]) == event["data"][key]


def test_csv_of_images_holds_file_references_and_a_note(image_docs, tmp_path: Path):
    (path,) = export_csv(image_docs, tmp_path / "csv")

    assert path.read_text().startswith("# arrays are not written")
    frame = pd.read_csv(path, comment="#")
    (resource,) = of(image_docs, "stream_resource")
    assert list(frame["det_image"]) == [f"{resource['uri']}[{n}]" for n in range(3)]
    assert list(frame["det_num_captured"]) == [1, 2, 3]


def test_csv_of_event_pages_equals_csv_of_events(grid_docs, tmp_path: Path):
    events = stream_events(grid_docs)
    uids = {e["uid"] for e in events}
    paged = [(n, d) for n, d in grid_docs if not (n == "event" and d["uid"] in uids)]
    at = next(i for i, (n, _) in enumerate(paged) if n == "stop")
    paged.insert(at, ("event_page", pack_event_page(*events)))

    by_events = export_csv(grid_docs, tmp_path / "events")
    by_pages = export_csv(paged, tmp_path / "pages")
    assert [p.read_text() for p in by_pages] == [p.read_text() for p in by_events]


def test_csv_reads_back_with_the_documented_recipe_whatever_the_strings_hold(tmp_path):
    """``pandas.read_csv(path, comment="#")`` (the file's first line says it) keeps a '#'
    in a string, and every number, as written."""
    t = 1_700_000_000.0
    bundle = compose_run(metadata={"scan_id": 3, "plan_name": "count"}, time=t)
    keys = {
        "det": {"source": "sim", "dtype": "number", "shape": []},
        "sample": {"source": "sim", "dtype": "string", "shape": []},
        "spectrum": {"source": "sim", "dtype": "array", "shape": [2]},
    }
    descriptor = bundle.compose_descriptor(data_keys=keys, name="primary", time=t)
    samples = ["holder #3", '# a, "b"\n#c', "Si"]
    docs: Documents = [("start", bundle.start_doc), ("descriptor", descriptor.descriptor_doc)]
    for i, sample in enumerate(samples):
        data = {"det": 0.1 * i, "sample": sample, "spectrum": [i, i]}
        event = descriptor.compose_event(
            data=data, timestamps=dict.fromkeys(data, t + i), time=t + i + 0.123456789
        )
        docs.append(("event", event))
    docs.append(("stop", bundle.compose_stop(time=t + 10)))

    (path,) = export_csv(docs, tmp_path / "csv")
    frame = pd.read_csv(path, comment="#")
    events = stream_events(docs)
    assert frame["sample"].tolist() == samples
    assert frame["det"].tolist() == [e["data"]["det"] for e in events]
    assert frame["time"].tolist() == [e["time"] for e in events]
    assert frame["seq_num"].tolist() == [1, 2, 3]
    assert frame["spectrum"].tolist() == ["array[2]"] * 3


# -- JSON Lines ------------------------------------------------------------------------


def test_jsonl_round_trip_is_exact(grid_docs, image_docs, tmp_path: Path):
    docs = [*grid_docs, *image_docs, ("event", _numpy_event(grid_docs))]
    path = export_jsonl(docs, tmp_path / "runs.jsonl")

    back = list(import_jsonl(path))
    assert same(back, [(name, sanitize(doc)) for name, doc in docs])  # NaN included
    again = export_jsonl(back, tmp_path / "again.jsonl")
    assert again.read_bytes() == path.read_bytes()


def same(a: Documents, b: Documents) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _numpy_event(docs: Documents) -> dict:
    """An Event whose values are numpy types (as a device may hand them over)."""
    event = dict(stream_events(docs)[0])
    event["data"] = {
        **event["data"],
        "det": np.float64(1.5),
        "m1": np.array([1.0, np.nan]),
        "m2": np.int32(7),
    }
    return event


def test_jsonl_import_names_a_broken_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('["start", {"uid": "a"}]\nnot json\n')
    with pytest.raises(Exception, match=r"bad\.jsonl:2"):
        list(import_jsonl(path))


# -- SPEC ------------------------------------------------------------------------------


def test_spec_file_reads_back_with_spec2nexus(grid_docs, image_docs, tmp_path: Path):
    path = tmp_path / "session.spec"
    export_spec(grid_docs, path)
    export_spec(image_docs, path)  # appended to the same session file

    spec = SpecDataFile(str(path))
    grid_start, count_start = of(grid_docs, "start")[0], of(image_docs, "start")[0]
    assert spec.getScanNumbers() == [str(grid_start["scan_id"]), str(count_start["scan_id"])]
    assert path.read_text().count("#F ") == 1

    scan = spec.getScan(grid_start["scan_id"])
    events = stream_events(grid_docs)
    assert scan.L[:3] == ["m1", "m2", "Epoch"] and "det" in scan.L
    for key in ("m1", "m2", "det"):
        assert scan.data[key] == [e["data"][key] for e in events]
    assert scan.data["Epoch"] == pytest.approx(
        [e["time"] - int(grid_start["time"]) for e in events]
    )
    assert spec.headers[0].O == [["m1", "m2"]]
    assert scan.positioner == {"m1": 0.25, "m2": 0.0}  # from the baseline stream

    count = spec.getScan(count_start["scan_id"])
    assert count.data["det_num_captured"] == [1.0, 2.0, 3.0]
    assert "det_image" not in count.L


def test_spec_appends_a_new_header_when_the_motors_change(grid_docs, image_docs, tmp_path):
    path = tmp_path / "session.spec"
    export_spec(image_docs, path)  # no baseline: a header without motors
    export_spec(grid_docs, path)

    spec = SpecDataFile(str(path))
    assert len(spec.getScanNumbers()) == 2
    scan = spec.getScan(of(grid_docs, "start")[0]["scan_id"])
    assert scan.positioner == {"m1": 0.25, "m2": 0.0}


# -- NeXus -----------------------------------------------------------------------------


def check_nexus_structure(file: h5py.File) -> h5py.Group:
    """nxvalidate's structural rules that matter to a reader; returns the default NXdata."""
    missing: list[str] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Group) and "NX_class" not in obj.attrs:
            missing.append(name)

    file.visititems(visit)
    assert not missing, f"groups without NX_class: {missing}"
    assert file.attrs["NX_class"] == "NXroot"
    entry = file[file.attrs["default"]]
    assert entry.attrs["NX_class"] == "NXentry"
    data = entry[entry.attrs["default"]]
    assert data.attrs["NX_class"] == "NXdata"
    signal = data[data.attrs["signal"]]
    axes = list(data.attrs["axes"])
    assert axes, "NXdata without axes"
    for axis in axes:
        assert len(data[axis]) == len(signal), f"axis {axis} and signal differ in length"
        assert data.attrs[f"{axis}_indices"] == 0
    return data


def test_nexus_entry_plots_the_hinted_detector_against_the_motors(grid_docs, tmp_path):
    path = export_nexus(grid_docs, tmp_path / "grid.nxs")

    start = of(grid_docs, "start")[0]
    events = stream_events(grid_docs)
    with h5py.File(path, "r") as file:
        data = check_nexus_structure(file)
        assert data.attrs["signal"] == "det"
        assert list(data.attrs["axes"]) == ["m1", "m2"]
        for key in ("det", "m1", "m2"):
            np.testing.assert_array_equal(data[key][()], [e["data"][key] for e in events])
        entry = data.parent
        assert entry["entry_identifier"][()].decode() == start["uid"]
        assert json.loads(entry["start/data"][()]) == json.loads(json.dumps(start))
        assert entry["start"].attrs["NX_class"] == "NXnote"
        assert entry["stop/data"][()] and entry["metadata/sample"][()].decode() == "Si(111)"
        baseline = entry["baseline"]
        assert baseline.attrs["NX_class"] == "NXcollection"
        baseline_events = stream_events(grid_docs, "baseline")
        np.testing.assert_array_equal(
            baseline["m1"][()], [e["data"]["m1"] for e in baseline_events]
        )
        assert baseline["m1"][0] == 0.25


def test_nexus_links_the_detector_frames(grid_docs, image_docs, tmp_path):
    path = export_nexus([*grid_docs, *image_docs], tmp_path / "both.nxs")

    count_start = of(image_docs, "start")[0]
    with h5py.File(path, "r") as file:
        check_nexus_structure(file)
        entry = file[f"entry_{count_start['scan_id']}"]
        data = entry["data"]
        assert list(data.attrs["axes"]) == ["time"]
        assert data.attrs["signal"] == "det_num_captured"
        frames = entry["external/det_image"][()]  # the external link into the IOC's file
        assert frames.shape == (3, 64, 64)
        refs = [r.decode() for r in entry["external/det_image_reference"][()]]
        assert [r.rsplit("[", 1)[1] for r in refs] == ["0]", "1]", "2]"]


# -- a stream of StreamDatums only (a fly scan) --------------------------------------


def test_a_fly_scan_exports_a_row_per_frame_with_the_sums_from_the_file(tmp_path: Path):
    docs = fly_scan(tmp_path)
    declared = of(docs, "descriptor")[0]["time"]
    sums = [0.0, 6.0, 12.0, 18.0]

    (path,) = export_csv(docs, tmp_path / "csv")
    frame = pd.read_csv(path, comment="#")
    assert frame["seq_num"].tolist() == [1, 2, 3, 4]
    assert frame["time"].tolist() == [declared] * 4
    assert frame["det-sum"].tolist() == sums
    assert frame["det"].tolist() == [f"file://localhost{tmp_path}/det.npy[{i}]" for i in range(4)]

    spec = SpecDataFile(str(export_spec(docs, tmp_path / "fly.spec")))
    scan = spec.getScan(11)
    assert scan.data["det-sum"] == sums

    with h5py.File(export_nexus(docs, tmp_path / "fly.nxs"), "r") as file:
        data = check_nexus_structure(file)
        assert data.attrs["signal"] == "det-sum"
        np.testing.assert_array_equal(data["det-sum"][()], sums)
        np.testing.assert_array_equal(data["seq_num"][()], [1, 2, 3, 4])


# -- NeXus: frames in files of other layouts -----------------------------------------


def step_scan(mimetype: str, uri: str, parameters: dict) -> Documents:
    """A 3-point step scan of m1 with one detector frame per Event in the file `uri`."""
    t = 1_700_000_000.0
    hints = {"dimensions": [[["m1"], "primary"]]}
    bundle = compose_run(metadata={"scan_id": 21, "plan_name": "scan", "hints": hints}, time=t)
    number = {"source": "sim", "dtype": "number", "shape": []}
    image = {"source": "sim", "dtype": "array", "shape": [2, 3], "external": "STREAM:"}
    descriptor = bundle.compose_descriptor(
        data_keys={"m1": number, "det": image}, name="primary", time=t + 0.1
    )
    resource = bundle.compose_stream_resource(
        mimetype=mimetype, uri=uri, data_key="det", parameters=parameters
    )
    docs: Documents = [
        ("start", bundle.start_doc),
        ("descriptor", descriptor.descriptor_doc),
        ("stream_resource", resource.stream_resource_doc),
    ]
    for i in range(3):
        datum = dict(resource.compose_stream_datum(indices={"start": i, "stop": i + 1}))
        datum["descriptor"] = descriptor.descriptor_doc["uid"]
        datum["seq_nums"] = {"start": i + 1, "stop": i + 2}
        event = descriptor.compose_event(
            data={"m1": float(i)}, timestamps={"m1": t + 1 + i}, time=t + 1 + i, seq_num=i + 1
        )
        docs += [("stream_datum", datum), ("event", event)]
    docs.append(("stop", bundle.compose_stop(time=t + 10)))
    return docs


FRAMES = np.arange(18, dtype=float).reshape(3, 2, 3)


def test_nexus_links_frames_at_the_dataset_the_resource_names(tmp_path: Path):
    source = tmp_path / "frames.h5"
    with h5py.File(source, "w") as file:
        file["/entry/instrument/detector/data"] = FRAMES
    docs = step_scan(
        "application/x-hdf5",
        f"file://localhost{source}",
        {"dataset": "/entry/instrument/detector/data"},
    )

    with h5py.File(export_nexus(docs, tmp_path / "h5.nxs"), "r") as file:
        link = file["entry_21/external"].get("det", getlink=True)
        assert isinstance(link, h5py.ExternalLink)
        assert link.path == "/entry/instrument/detector/data"
        np.testing.assert_array_equal(file["entry_21/external/det"][()], FRAMES)


def test_nexus_holds_the_frames_of_a_file_that_is_not_hdf5(tmp_path: Path):
    np.save(tmp_path / "frames.npy", FRAMES)
    docs = step_scan("application/x-npy", f"file://localhost{tmp_path}/frames.npy", {})

    with h5py.File(export_nexus(docs, tmp_path / "npy.nxs"), "r") as file:
        external = file["entry_21/external"]
        assert not isinstance(external.get("det", getlink=True), h5py.ExternalLink)
        np.testing.assert_array_equal(external["det"][()], FRAMES)
        refs = [r.decode() for r in external["det_reference"][()]]
        assert refs == [f"file://localhost{tmp_path}/frames.npy[{i}]" for i in range(3)]


# -- data keys named like the Event's fields -----------------------------------------


def test_data_keys_named_time_and_seq_num_export_as_data_time_and_data_seq_num(tmp_path):
    t = 1_700_000_000.0
    hints = {"dimensions": [[["time"], "primary"]]}  # a count: the Events' time
    bundle = compose_run(metadata={"scan_id": 4, "plan_name": "count", "hints": hints}, time=t)
    number = {"source": "sim", "dtype": "number", "shape": []}
    descriptor = bundle.compose_descriptor(
        data_keys={"time": number, "seq_num": number, "det": number},
        name="primary",
        time=t,
        hints={"det": {"fields": ["det"]}},
    )
    docs: Documents = [("start", bundle.start_doc), ("descriptor", descriptor.descriptor_doc)]
    for i in range(2):
        data = {"time": 50.0 + i, "seq_num": 70.0 + i, "det": float(i)}
        event = descriptor.compose_event(
            data=data, timestamps=dict.fromkeys(data, t), time=t + 1 + i
        )
        docs.append(("event", event))
    docs.append(("stop", bundle.compose_stop(time=t + 10)))

    (path,) = export_csv(docs, tmp_path / "csv")
    frame = pd.read_csv(path, comment="#")
    assert list(frame.columns) == ["time", "seq_num", "data.time", "data.seq_num", "det"]
    assert frame["time"].tolist() == [t + 1, t + 2] and frame["seq_num"].tolist() == [1, 2]
    assert frame["data.time"].tolist() == [50.0, 51.0]
    assert frame["data.seq_num"].tolist() == [70.0, 71.0]

    with h5py.File(export_nexus(docs, tmp_path / "keys.nxs"), "r") as file:
        data = check_nexus_structure(file)
        assert list(data.attrs["axes"]) == ["time"] and data.attrs["signal"] == "det"
        np.testing.assert_array_equal(data["time"][()], [t + 1, t + 2])
        np.testing.assert_array_equal(data["seq_num"][()], [1, 2])
        np.testing.assert_array_equal(data["data.time"][()], [50.0, 51.0])
        np.testing.assert_array_equal(data["data.seq_num"][()], [70.0, 71.0])

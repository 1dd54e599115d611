"""Images stay in files: a run of the sim IOC's HDF5 area detector is stored (with its
StreamResource/StreamDatum) and read back with the frames loaded lazily from the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from event_model import compose_run
from recorded_runs import fly_scan, hdf5_count
from storage_helpers import stored_form

from storage import Catalog, handlers
from storage.run import Run

pytestmark = pytest.mark.slow


async def test_frames_are_read_back_from_the_file(
    sim_ioc: Any, tmp_path: Path, catalog: Catalog
) -> None:
    docs = await hdf5_count(sim_ioc, tmp_path / "frames", num=3)
    for name, doc in docs:
        await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(-1)
    assert stored_form(await run.documents()) == stored_form(docs)
    keys = await run.data_keys()
    external = [k for k, v in keys.items() if v.get("external")]
    assert external, keys
    key = external[0]
    references = await run.table(fill=False)
    assert list(references[key]) == [0, 1, 2]  # frame indices in the file, nothing loaded
    table = await run.table()
    resource = next(d for n, d in docs if n == "stream_resource" and d["data_key"] == key)
    datum = next(
        d for n, d in docs if n == "stream_datum" and d["stream_resource"] == resource["uid"]
    )
    first = handlers.load_stream_datum(resource, datum, 0)
    assert table[key].shape == (3, *first.shape)
    np.testing.assert_array_equal(table[key][0], first)


# -- frames announced by StreamResource/StreamDatum, written here as a detector would ----

NUMBER = {"source": "sim", "dtype": "number", "shape": []}
FRAME = {"source": "sim", "dtype": "array", "shape": [2, 3], "external": "STREAM:"}


def frames_file(directory: Path, n: int) -> tuple[str, np.ndarray]:
    """An .npy stack of `n` 2x3 frames, frame i filled with i; returns its URI."""
    frames = np.repeat(np.arange(n, dtype=float), 6).reshape(n, 2, 3)
    path = directory / "frames.npy"
    np.save(path, frames)
    return f"file://localhost{path}", frames


def step_scan(uri: str, event_times: list[float]) -> list[tuple[str, dict[str, Any]]]:
    """A step scan of m1 = 0, 1, 2... with one detector frame per Event (frame i for
    seq_num i + 1), the Events stamped with `event_times`."""
    t = 1_700_000_000.0
    bundle = compose_run(metadata={"scan_id": 21, "plan_name": "scan"}, time=t)
    descriptor = bundle.compose_descriptor(
        data_keys={"m1": NUMBER, "det": FRAME}, name="primary", time=t + 0.1
    )
    resource = bundle.compose_stream_resource(
        mimetype="application/x-npy", uri=uri, data_key="det", parameters={}
    )
    docs: list[tuple[str, dict[str, Any]]] = [
        ("start", bundle.start_doc),
        ("descriptor", descriptor.descriptor_doc),
        ("stream_resource", resource.stream_resource_doc),
    ]
    for i, when in enumerate(event_times):
        datum = dict(resource.compose_stream_datum(indices={"start": i, "stop": i + 1}))
        datum["descriptor"] = descriptor.descriptor_doc["uid"]
        datum["seq_nums"] = {"start": i + 1, "stop": i + 2}
        event = descriptor.compose_event(
            data={"m1": float(i)}, timestamps={"m1": when}, time=when, seq_num=i + 1
        )
        docs += [("stream_datum", datum), ("event", event)]
    docs.append(("stop", bundle.compose_stop(time=t + 100)))
    return docs


async def store(catalog: Catalog, docs: list[tuple[str, dict[str, Any]]]) -> Run:
    for name, doc in docs:
        await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)
    return await catalog.run(-1)


async def test_each_row_gets_its_own_frame_when_event_times_run_backwards(
    tmp_path: Path, catalog: Catalog
) -> None:
    """Rows come in time order; a clock stepped back mid-scan puts seq_num 3 first, and
    its frame must come with it (frame i belongs to m1 = i)."""
    uri, frames = frames_file(tmp_path, 3)
    run = await store(catalog, step_scan(uri, [1_700_000_005.0, 1_700_000_004.0, 1_700_000_003.0]))

    table = await run.table()
    assert table["seq_num"].tolist() == [3, 2, 1]
    assert table["m1"].tolist() == [2.0, 1.0, 0.0]
    np.testing.assert_array_equal(table["det"], frames[[2, 1, 0]])
    assert (await run.table(fill=False))["det"].tolist() == [2, 1, 0]


async def test_a_stream_of_stream_datums_only_reads_back_a_row_per_frame(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A fly scan's stream has no Events: its rows are the frames the StreamDatums
    announce, timed by the descriptor, with every key the files hold."""
    docs = fly_scan(tmp_path)
    run = await store(catalog, docs)
    declared = next(d for n, d in docs if n == "descriptor")["time"]

    table = await run.table()
    assert table["seq_num"].tolist() == [1, 2, 3, 4]
    assert table["time"].tolist() == [declared] * 4
    assert table["det"].shape == (4, 2, 3) and table["det"][3, 0, 0] == 3.0
    assert table["det-sum"].tolist() == [0.0, 6.0, 12.0, 18.0]
    references = await run.table(fill=False)
    assert references["det"].tolist() == references["det-sum"].tolist() == [0, 1, 2, 3]
    stamps = await run.timestamps()
    assert stamps["seq_num"].tolist() == [1, 2, 3, 4]
    assert stamps["det-sum"].tolist() == [declared] * 4
    frame = await run.dataframe()
    assert list(frame.index) == [1, 2, 3, 4] and frame["det-sum"].tolist()[-1] == 18.0
    dataset = await run.dataset()
    assert dataset["det"].shape == (4, 2, 3) and dataset.sizes["time"] == 4


def older_run(root: Path, *, with_datums: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """A run as older software wrote it: its Resource has no ``run_start`` (valid
    under event-model's schema); two NPY frames referenced by Datums."""
    for i in range(2):
        np.save(root / f"img_{i}.npy", np.full((2, 2), float(i)))
    bundle = compose_run(metadata={"scan_id": 31, "plan_name": "count"}, time=1.7e9)
    resource = dict(
        bundle.compose_resource(
            spec="NPY_SEQ", root=str(root), resource_path="img", resource_kwargs={}
        ).resource_doc
    )
    resource.pop("run_start")
    keys = {"img": {"source": "sim", "dtype": "array", "shape": [2, 2], "external": "FILESTORE:"}}
    stream = bundle.compose_descriptor(data_keys=keys, name="primary", time=1.7e9 + 0.1)
    docs = [("start", dict(bundle.start_doc)), ("resource", resource)]
    docs.append(("descriptor", dict(stream.descriptor_doc)))
    for i in range(2):
        datum_id = f"{resource['uid']}/{i}"
        if with_datums:
            datum = {
                "resource": resource["uid"],
                "datum_id": datum_id,
                "datum_kwargs": {"index": i},
            }
            docs.append(("datum", datum))
        event = stream.compose_event(
            data={"img": datum_id},
            timestamps={"img": 1.7e9 + i},
            time=1.7e9 + 1 + i,
            filled={"img": False},
        )
        docs.append(("event", dict(event)))
    docs.append(("stop", dict(bundle.compose_stop(time=1.7e9 + 10))))
    return docs


async def test_resources_without_run_start_are_found_through_the_events_datums(
    catalog: Catalog, tmp_path: Path
) -> None:
    """Older data (a Resource without ``run_start``): the run's documents include its
    resource and datums, and the frames load (they were left out: the document stream
    lost three documents and ``table()`` raised a bare KeyError)."""
    docs = older_run(tmp_path)
    for name, doc in docs:
        await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)
    run = await catalog.run(docs[0][1]["uid"])
    assert stored_form(await run.documents()) == stored_form(docs)
    table = await run.table()
    np.testing.assert_array_equal(table["img"], [np.zeros((2, 2)), np.ones((2, 2))])


async def test_a_datum_the_catalog_lacks_is_named(catalog: Catalog, tmp_path: Path) -> None:
    docs = older_run(tmp_path, with_datums=False)
    for name, doc in docs:
        await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)
    run = await catalog.run(docs[0][1]["uid"])
    with pytest.raises(handlers.HandlerError, match=r"no datum .*/0.*an event refers to"):
        await run.table()
    assert len((await run.table(fill=False))["img"]) == 2

"""The conformance suite both backends pass (sqlite and mongo, fixture `catalog_uri`):
documents from real RunEngine runs go in through `catalog.writer` and come back out as
the same documents, the same columns, and the same runs found by every kind of key."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from storage_helpers import Docs, stored_form, subscribe_writer

from acq import RunEngine
from devices.sim import SimDetector, SimMotor
from plans import count, scan
from storage import (
    AmbiguousRunError,
    Catalog,
    DocumentConflictError,
    RunNotFoundError,
    open_catalog,
)


@pytest.fixture
def devices() -> tuple[SimMotor, SimDetector]:
    motor = SimMotor("m1")
    return motor, SimDetector("det", motor, center=0.2, width=0.5, peak=100.0)


async def test_a_scan_reads_back_as_the_events_it_emitted(
    RE: RunEngine, docs: Docs, catalog: Catalog, devices: tuple[SimMotor, SimDetector]
) -> None:
    motor, det = devices
    subscribe_writer(RE, catalog.writer)
    result = await RE(scan([det], motor, -1, 1, 21), sample="Si", operator="ana")
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(result.run_uids[0])
    assert run.start == docs.of("start")[0]
    assert run.stop is not None and run.stop["exit_status"] == "success"
    assert await run.streams() == ["primary"]
    table = await run.table("primary")
    events = docs.of("event")
    assert list(table["seq_num"]) == [e["seq_num"] for e in events]
    np.testing.assert_array_equal(table["time"], [e["time"] for e in events])
    for key in ("det", "m1"):
        np.testing.assert_array_equal(table[key], [e["data"][key] for e in events])
    assert table["det"].dtype == np.float64
    stamps = await run.timestamps("primary")
    np.testing.assert_array_equal(stamps["det"], [e["timestamps"]["det"] for e in events])
    configuration = await run.configuration("primary")
    assert configuration == docs.of("descriptor")[0]["configuration"]


async def test_the_document_stream_replays_in_emission_order(
    RE: RunEngine, docs: Docs, catalog: Catalog, devices: tuple[SimMotor, SimDetector]
) -> None:
    motor, det = devices
    subscribe_writer(RE, catalog.writer)
    result = await RE(scan([det], motor, 0, 1, 5))
    await catalog.writer.flush(timeout=30)
    run = await catalog.run(result.run_uids[0])
    replayed = await run.documents()
    assert stored_form(replayed) == stored_form(list(docs))

    again = Docs()
    assert await run.replay(again) == len(replayed)
    assert [n for n, _ in again] == [n for n, _ in docs]


async def test_replayed_documents_store_into_the_other_backend(
    RE: RunEngine,
    docs: Docs,
    catalog: Catalog,
    catalog_uri: str,
    mongo_uri: str,
    tmp_path,
    devices: tuple[SimMotor, SimDetector],
) -> None:
    _, det = devices
    subscribe_writer(RE, catalog.writer)
    result = await RE(count([det], 7))
    await catalog.writer.flush(timeout=30)
    other_uri = mongo_uri if catalog_uri.startswith("sqlite") else f"sqlite:///{tmp_path}/o.db"
    async with await open_catalog(other_uri) as other:
        await (await catalog.run(-1)).replay(other.writer)
        await other.writer.flush(timeout=30)
        copied = await other.run(result.run_uids[0])
        assert stored_form(await copied.documents()) == stored_form(list(docs))


async def test_runs_are_found_by_uid_partial_uid_scan_id_and_index(
    RE: RunEngine, catalog: Catalog, devices: tuple[SimMotor, SimDetector]
) -> None:
    _, det = devices
    subscribe_writer(RE, catalog.writer)
    uids = []
    for _ in range(3):
        uids += (await RE(count([det], 2))).run_uids
    await catalog.writer.flush(timeout=30)
    starts = [(await catalog.run(uid)).start for uid in uids]

    assert (await catalog.run(uids[1][:8])).uid == uids[1]
    assert (await catalog.run(-1)).uid == uids[2]
    assert (await catalog.run(-3)).uid == uids[0]
    assert (await catalog.run(starts[0]["scan_id"])).uid == uids[0]
    with pytest.raises(RunNotFoundError, match="at least 5"):
        await catalog.run("ab3")
    with pytest.raises(RunNotFoundError, match="no run"):
        await catalog.run("ffffffff-not-a-run")
    with pytest.raises(RunNotFoundError):
        await catalog.run(-4)
    with pytest.raises(RunNotFoundError, match="scan_id 99999"):
        await catalog.run(99999)


async def test_a_repeated_scan_id_finds_the_latest_run(
    catalog: Catalog, devices: tuple[SimMotor, SimDetector]
) -> None:
    _, det = devices
    RE = RunEngine(waiting_hook=None)
    subscribe_writer(RE, catalog.writer)
    first = await RE(count([det], 1), scan_id=7)
    second = await RE(count([det], 1), scan_id=7)
    await catalog.writer.flush(timeout=30)
    assert (await catalog.run(7)).uid == second.run_uids[0] != first.run_uids[0]


async def test_an_ambiguous_partial_uid_lists_the_matches(catalog: Catalog) -> None:
    now = time.time()
    for i, uid in enumerate(["abcde111-0000", "abcde222-0000"]):
        await catalog.writer("start", {"uid": uid, "time": now + i, "scan_id": i})
    await catalog.writer.flush(timeout=30)
    with pytest.raises(AmbiguousRunError) as info:
        await catalog.run("abcde")
    assert "abcde111-0000" in str(info.value) and "abcde222-0000" in str(info.value)
    assert (await catalog.run("abcde2")).uid == "abcde222-0000"


async def test_typed_keys_find_scan_ids_and_uids_that_begin_with_digits(
    catalog: Catalog,
) -> None:
    """Keys as a command line passes them (text): "-1", a scan_id, a uid of digits."""
    now = time.time()
    starts = [
        {"uid": "47817717-0b48-4698", "time": now, "scan_id": 12},
        {"uid": "55555555-1111-2222", "time": now + 1, "scan_id": 47817},
        {"uid": "12345678-aaaa-bbbb", "time": now + 2, "scan_id": 13},
    ]
    for start in starts:
        await catalog.writer("start", start)
    await catalog.writer.flush(timeout=30)

    assert (await catalog.run("-1")).uid == "12345678-aaaa-bbbb"
    assert (await catalog.run("12")).uid == "47817717-0b48-4698"
    assert (await catalog.run("47817717")).uid == "47817717-0b48-4698"
    assert (await catalog.run("12345")).uid == "12345678-aaaa-bbbb"
    with pytest.raises(AmbiguousRunError, match=r"scan 47817 .*start of uid 47817717"):
        await catalog.run("47817")
    assert (await catalog.run(47817)).uid == "55555555-1111-2222"
    assert (await catalog.run("478177")).uid == "47817717-0b48-4698"
    with pytest.raises(RunNotFoundError, match="no run with scan_id 99 in"):
        await catalog.run("99")
    with pytest.raises(
        RunNotFoundError, match="scan_id 99999 and none whose uid starts with '99999'"
    ):
        await catalog.run("99999")


async def test_search_by_metadata_plan_time_and_text_newest_first_paginated(
    RE: RunEngine, catalog: Catalog, devices: tuple[SimMotor, SimDetector]
) -> None:
    motor, det = devices
    subscribe_writer(RE, catalog.writer)
    si = (await RE(count([det], 1), sample="Si", purpose="alignment")).run_uids[0]
    ge = (await RE(scan([det], motor, 0, 1, 2), sample="Ge")).run_uids[0]
    middle = time.time()
    si2 = (await RE(scan([det], motor, 0, 1, 2), sample="Si")).run_uids[0]
    await catalog.writer.flush(timeout=30)

    def uids(runs):
        return [r.uid for r in runs]

    assert uids(await catalog.search()) == [si2, ge, si]
    assert uids(await catalog.search(sample="Si")) == [si2, si]
    assert uids(await catalog.search(plan_name="scan")) == [si2, ge]
    assert uids(await catalog.search(plan_name="scan", sample="Si")) == [si2]
    assert uids(await catalog.search(since=middle)) == [si2]
    assert uids(await catalog.search(until=middle)) == [ge, si]
    assert uids(await catalog.search("alignment")) == [si]
    assert uids(await catalog.search(limit=2)) == [si2, ge]
    assert uids(await catalog.search(limit=2, offset=2)) == [si]
    assert await catalog.search(sample="nothing") == []
    found = (await catalog.search(sample="Ge"))[0]
    assert found.stop is not None and found.stop["exit_status"] == "success"


async def test_tables_as_pandas_and_xarray(
    RE: RunEngine, catalog: Catalog, devices: tuple[SimMotor, SimDetector]
) -> None:
    motor, det = devices
    subscribe_writer(RE, catalog.writer)
    await RE(scan([det], motor, -1, 1, 5))
    await catalog.writer.flush(timeout=30)
    run = await catalog.run(-1)
    table = await run.table()
    frame = await run.dataframe()
    assert list(frame.index) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(frame["det"].to_numpy(), table["det"])
    dataset = await run.dataset()
    np.testing.assert_array_equal(dataset["m1"].values, table["m1"])
    np.testing.assert_array_equal(dataset["time"].values, table["time"])


async def test_numpy_values_event_pages_and_identical_duplicates(
    catalog: Catalog, catalog_uri: str
) -> None:
    # nx-27017 keeps documents as SQLite JSON, which has no NaN (MongoDB itself has)
    missing = (
        np.nan if catalog_uri.startswith("sqlite") or os.environ.get("ACQ_TEST_MONGO_URI") else -1.0
    )
    writer = catalog.writer
    now = time.time()
    start = {"uid": "run-np-0001", "time": now, "scan_id": 1}
    descriptor = {
        "uid": "desc-np-0001",
        "run_start": start["uid"],
        "time": now,
        "name": "primary",
        "data_keys": {
            "x": {"source": "sim", "dtype": "number", "shape": []},
            "img": {"source": "sim", "dtype": "array", "shape": [2, 2]},
            "n": {"source": "sim", "dtype": "integer", "shape": []},
            "ok": {"source": "sim", "dtype": "boolean", "shape": []},
        },
    }
    page = {
        "descriptor": descriptor["uid"],
        "uid": ["ev-np-1", "ev-np-2"],
        "seq_num": [1, 2],
        "time": [now + 1, now + 2],
        "data": {
            "x": [np.float64(1.5), np.float32(missing)],
            "img": [np.eye(2), np.ones((2, 2))],
            "n": [np.int64(3), np.uint8(4)],
            "ok": [np.bool_(True), np.bool_(False)],
        },
        "timestamps": {"x": [now, now], "img": [now, now], "n": [now, now], "ok": [now, now]},
        "filled": {},
    }
    for name, doc in [("start", start), ("descriptor", descriptor), ("event_page", page)]:
        await writer(name, doc)
    await writer(
        "stop",
        {
            "uid": "stop-np",
            "run_start": start["uid"],
            "time": now + 3,
            "exit_status": "success",
            "num_events": {"primary": 2},
        },
    )
    await writer.flush(timeout=30)
    await writer("descriptor", dict(descriptor))  # an identical duplicate is fine
    await writer.flush(timeout=30)

    table = await (await catalog.run("run-np-0001")).table()
    np.testing.assert_array_equal(table["x"], [1.5, missing])
    np.testing.assert_array_equal(table["img"], [np.eye(2), np.ones((2, 2))])
    assert table["n"].tolist() == [3, 4] and table["ok"].tolist() == [True, False]
    names = [n for n, _ in await (await catalog.run(-1)).documents()]
    assert names == ["start", "descriptor", "event", "event", "stop"]


async def test_a_different_document_under_a_stored_uid_is_an_error(catalog: Catalog) -> None:
    start = {"uid": "run-conflict-1", "time": time.time(), "scan_id": 1}
    await catalog.writer("start", start)
    await catalog.writer.flush(timeout=30)
    await catalog.writer("start", {**start, "scan_id": 2})  # journalled; found when stored
    with pytest.raises(DocumentConflictError, match="run-conflict-1"):
        await catalog.writer.flush(timeout=30)
    await catalog.writer.flush(timeout=30)  # raised once: the rest is stored
    assert (await catalog.run("run-conflict-1")).start == start
    rejected = catalog.writer.journal.path.with_name(catalog.writer.journal.path.name + ".rejected")
    assert rejected.stat().st_size > 0


async def test_a_run_with_resources_stored_twice_is_kept_once(catalog: Catalog) -> None:
    """Storing a run again (a JSON Lines re-import, a journal replayed without its
    ``.id``) adds no second copy of anything, resources included (Mongo's ``resource``
    has no unique index on uid); a different resource under a stored uid is an error."""
    now = time.time()
    start = {"uid": "run-twice-0001", "time": now, "scan_id": 7}
    resource = {
        "uid": "res-twice-0001",
        "run_start": start["uid"],
        "spec": "NPY_SEQ",
        "root": "/data",
        "resource_path": "images/scan7",
        "resource_kwargs": {},
        "path_semantics": "posix",
    }
    datum = {
        "datum_id": "res-twice-0001/0",
        "resource": resource["uid"],
        "datum_kwargs": {"index": 0},
    }
    stop = {"uid": "stop-twice", "run_start": start["uid"], "time": now + 1}
    run = [("start", start), ("resource", resource), ("datum", datum), ("stop", stop)]
    for _ in range(2):
        for name, doc in run:
            await catalog.writer(name, dict(doc))
        await catalog.writer.flush(timeout=30)

    stored = await (await catalog.run(start["uid"])).documents()
    assert [n for n, _ in stored] == ["start", "resource", "datum", "stop"]

    await catalog.writer("resource", {**resource, "root": "/elsewhere"})
    with pytest.raises(DocumentConflictError, match="res-twice-0001"):
        await catalog.writer.flush(timeout=30)
    stored = await (await catalog.run(start["uid"])).documents()
    assert [d for n, d in stored if n == "resource"] == [resource]


async def test_data_keys_named_time_and_seq_num_do_not_replace_the_event_fields(
    catalog: Catalog,
) -> None:
    """The Event's ``time`` and ``seq_num`` keep their columns; data keys of those names
    read back as ``data.time`` / ``data.seq_num`` (storage.run.column_name)."""
    from event_model import compose_run

    number = {"source": "sim", "dtype": "number", "shape": []}
    t = 1_700_000_000.0
    bundle = compose_run(metadata={"scan_id": 4, "plan_name": "count"}, time=t)
    descriptor = bundle.compose_descriptor(
        data_keys={"time": number, "seq_num": number, "det": number}, name="primary", time=t
    )
    docs = [("start", bundle.start_doc), ("descriptor", descriptor.descriptor_doc)]
    for i in range(2):
        data = {"time": 50.0 + i, "seq_num": 70.0 + i, "det": float(i)}
        docs.append(
            (
                "event",
                descriptor.compose_event(
                    data=data, timestamps=dict.fromkeys(data, t + i), time=t + 1 + i
                ),
            )
        )
    docs.append(("stop", bundle.compose_stop(time=t + 10)))
    for name, doc in docs:
        await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(-1)
    table = await run.table()
    assert table["time"].tolist() == [t + 1, t + 2]
    assert table["seq_num"].tolist() == [1, 2]
    assert table["data.time"].tolist() == [50.0, 51.0]
    assert table["data.seq_num"].tolist() == [70.0, 71.0]
    assert (await run.timestamps())["data.time"].tolist() == [t, t + 1]
    frame = await run.dataframe()
    assert list(frame.index) == [1, 2] and frame["data.time"].tolist() == [50.0, 51.0]
    dataset = await run.dataset()
    assert dataset["time"].values.tolist() == [t + 1, t + 2]


async def test_a_configuration_changed_mid_run_and_a_missing_number(catalog: Catalog) -> None:
    """A second descriptor of the stream (the detector's gain changed mid-run) keeps its
    configuration beside the first one's; a number missing from an Event (None) reads
    back as NaN in a float column, as pandas has it."""
    from event_model import compose_run

    number = {"source": "sim", "dtype": "number", "shape": []}
    t = 1_700_000_000.0
    bundle = compose_run(metadata={"scan_id": 5, "plan_name": "scan"}, time=t)

    def gain(value: float, when: float) -> dict:
        keys = {"det_gain": number}
        return {
            "det": {
                "data": {"det_gain": value},
                "timestamps": {"det_gain": when},
                "data_keys": keys,
            }
        }

    docs = [("start", bundle.start_doc)]
    for n, (value, readings) in enumerate([(1.0, [1.5, None]), (10.0, [3.0, 4.0])]):
        descriptor = bundle.compose_descriptor(
            data_keys={"det": number},
            name="primary",
            time=t + 10 * n,
            configuration=gain(value, t + 10 * n),
            object_keys={"det": ["det"]},
        )
        docs.append(("descriptor", descriptor.descriptor_doc))
        for i, reading in enumerate(readings):
            event = descriptor.compose_event(
                data={"det": reading},
                timestamps={"det": t + 10 * n + i + 1},
                time=t + 10 * n + i + 1,
                seq_num=2 * n + i + 1,
            )
            docs.append(("event", event))
    docs.append(("stop", bundle.compose_stop(time=t + 100)))
    for name, doc in docs:
        await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)

    run = await catalog.run(-1)
    assert await run.configuration() == gain(1.0, t)  # as the stream began
    assert await run.configurations() == [gain(1.0, t), gain(10.0, t + 10)]
    table = await run.table()
    assert table["det"].dtype == np.float64
    np.testing.assert_array_equal(table["det"], [1.5, np.nan, 3.0, 4.0])
    frame = await run.dataframe()
    assert frame["det"].isna().tolist() == [False, True, False, False]

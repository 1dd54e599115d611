"""Proof of the Mongo layout: databroker's own reader, served by tiled, reads what our
writer stored. The stored collections are copied into databroker's
``MongoAdapter.from_mongomock()``, served in-process with ``tiled.server.app.build_app``
and read with ``tiled.client`` into an xarray Dataset.

(databroker 2.0 imports ``bluesky_tiled_plugins`` and, to build a run, ``suitcase.mongo``.)
"""

from __future__ import annotations

from typing import Any

import anyio
import numpy as np
import pymongo
from storage_helpers import Docs, subscribe_writer

from acq import RunEngine
from devices.sim import SimDetector, SimMotor
from plans import scan
from storage import open_catalog


def read_with_databroker(mongo_uri: str, uid: str) -> Any:
    """The run's primary stream as databroker + tiled serve it (an xarray Dataset)."""
    from databroker.mongo_normalized import MongoAdapter
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    adapter = MongoAdapter.from_mongomock()
    mock_db = adapter._run_start_collection.database
    with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000) as client:
        stored = client.get_default_database()
        for name in stored.list_collection_names():
            documents = list(stored[name].find({}))
            if documents:
                mock_db[name].insert_many(documents)
    with Context.from_app(build_app(adapter)) as context:
        tiled = from_context(context)
        run = tiled[uid]
        return run.metadata["start"], run["primary"].read()


async def test_databroker_and_tiled_read_the_stored_run(
    mongo_uri: str, RE: RunEngine, docs: Docs
) -> None:
    motor = SimMotor("m1")
    det = SimDetector("det", motor, center=0.1, width=0.4, peak=50.0)
    async with await open_catalog(mongo_uri, timeout=10) as catalog:
        subscribe_writer(RE, catalog.writer)
        result = await RE(scan([det], motor, -1, 1, 9), sample="Si")
        await catalog.writer.flush(timeout=30)
    uid = result.run_uids[0]

    start, dataset = await anyio.to_thread.run_sync(read_with_databroker, mongo_uri, uid)
    events = docs.of("event")
    assert start["uid"] == uid and start["sample"] == "Si"
    np.testing.assert_array_equal(dataset["time"].values, [e["time"] for e in events])
    for key in ("det", "m1", "m1_user_setpoint"):
        np.testing.assert_array_equal(dataset[key].values, [e["data"][key] for e in events])

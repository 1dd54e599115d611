"""Images stay in files: a run of the sim IOC's HDF5 area detector is stored (with its
StreamResource/StreamDatum) and read back with the frames loaded lazily from the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recorded_runs import hdf5_count
from storage_helpers import stored_form

from storage import Catalog, handlers

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

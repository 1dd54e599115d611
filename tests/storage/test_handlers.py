"""storage.handlers: arrays behind Resource/Datum and StreamResource/StreamDatum, from
files written by the sim IOC's HDF5 plugin and by h5py/numpy directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from recorded_runs import hdf5_count, of

from storage import handlers
from storage.errors import StorageError
from storage.handlers import (
    HandlerError,
    MissingFileError,
    UnknownSpecError,
    load_datum,
    load_stream_datum,
    register_handler,
)


@pytest.fixture(autouse=True)
def fresh_cache():
    handlers.clear_cache()
    yield
    handlers.clear_cache()


def ad_file(path: Path, frames: np.ndarray) -> Path:
    """A file in areaDetector's layout, written with h5py."""
    with h5py.File(path, "w") as file:
        file.create_dataset("/entry/data/data", data=frames)
    return path


def frames(n: int, shape: tuple[int, int] = (4, 5)) -> np.ndarray:
    return np.arange(n * shape[0] * shape[1], dtype=np.int32).reshape(n, *shape)


def stream_resource(path: Path, mimetype: str = "application/x-hdf5", **parameters: Any) -> dict:
    return {
        "uid": "sr1",
        "data_key": "det_image",
        "mimetype": mimetype,
        "uri": f"file://localhost{path}",
        "parameters": parameters,
        "run_start": "",
    }


def stream_datum(start: int, stop: int) -> dict:
    return {
        "uid": f"sr1/{start}",
        "stream_resource": "sr1",
        "descriptor": "d1",
        "indices": {"start": start, "stop": stop},
        "seq_nums": {"start": 1 + start, "stop": 1 + stop},
    }


# -- files written by the sim IOC ------------------------------------------------------


async def test_frames_of_a_count_load_from_the_iocs_file(sim_ioc, tmp_path: Path):
    docs = await hdf5_count(sim_ioc, tmp_path / "images", num=3)
    (resource,) = of(docs, "stream_resource")
    datums = of(docs, "stream_datum")
    images = [load_stream_datum(resource, datum, 0) for datum in datums]

    with h5py.File(resource["uri"].removeprefix("file://localhost"), "r") as file:
        written = file["/entry/data/data"][()]
    assert len(images) == 3
    for image, frame in zip(images, written, strict=True):
        assert image.shape == (64, 64)
        np.testing.assert_array_equal(image, frame)
    assert images[0].max() > 50 * np.median(images[0]), "the spot is in the image"


async def test_older_resource_datum_documents_read_the_same_file(sim_ioc, tmp_path: Path):
    """What ophyd would have emitted for the same file: spec AD_HDF5, one Datum per point."""
    docs = await hdf5_count(sim_ioc, tmp_path / "images", num=2)
    (sr,) = of(docs, "stream_resource")
    path = Path(sr["uri"].removeprefix("file://localhost"))
    resource = {
        "uid": "r1",
        "spec": "AD_HDF5",
        "root": str(path.parent),
        "resource_path": path.name,
        "resource_kwargs": {"frame_per_point": 1},
        "path_semantics": "posix",
    }
    for n, datum in enumerate(of(docs, "stream_datum")):
        old = {"datum_id": f"r1/{n}", "resource": "r1", "datum_kwargs": {"point_number": n}}
        np.testing.assert_array_equal(load_datum(resource, old), load_stream_datum(sr, datum, 0))


# -- files written by h5py and numpy ---------------------------------------------------


def test_index_counts_within_the_stream_datums_range(tmp_path: Path):
    data = frames(6)
    sr = stream_resource(ad_file(tmp_path / "a.h5", data), dataset="/entry/data/data")
    datum = stream_datum(2, 5)
    for index in range(3):
        np.testing.assert_array_equal(load_stream_datum(sr, datum, index), data[2 + index])
    with pytest.raises(HandlerError, match=r"index 3 is outside 0\.\.2"):
        load_stream_datum(sr, datum, 3)


def test_ad_hdf5_with_several_frames_per_point(tmp_path: Path):
    data = frames(6)
    ad_file(tmp_path / "b.h5", data)
    resource = {
        "uid": "r",
        "spec": "AD_HDF5",
        "root": str(tmp_path),
        "resource_path": "b.h5",
        "resource_kwargs": {"frame_per_point": 2},
    }
    block = load_datum(resource, {"datum_id": "r/1", "datum_kwargs": {"point_number": 1}})
    np.testing.assert_array_equal(block, data[2:4])


def test_npy_seq_and_npy_stack(tmp_path: Path):
    data = frames(3)
    for n in range(3):
        np.save(tmp_path / f"scan_{n}.npy", data[n])
    resource = {"uid": "r", "spec": "NPY_SEQ", "root": str(tmp_path), "resource_path": "scan"}
    got = load_datum(resource, {"datum_id": "r/2", "datum_kwargs": {"index": 2}})
    np.testing.assert_array_equal(got, data[2])

    np.save(tmp_path / "stack.npy", data)
    sr = stream_resource(tmp_path / "stack.npy", mimetype="application/x-npy")
    np.testing.assert_array_equal(load_stream_datum(sr, stream_datum(0, 3), 1), data[1])


# -- errors ----------------------------------------------------------------------------


def test_a_missing_file_names_the_file(tmp_path: Path):
    sr = stream_resource(tmp_path / "gone.h5")
    with pytest.raises(MissingFileError, match=r"gone\.h5") as caught:
        load_stream_datum(sr, stream_datum(0, 1), 0)
    assert isinstance(caught.value, StorageError)

    resource = {"uid": "r", "spec": "NPY_SEQ", "root": str(tmp_path), "resource_path": "none"}
    with pytest.raises(MissingFileError, match=r"none_0\.npy"):
        load_datum(resource, {"datum_id": "r/0", "datum_kwargs": {"index": 0}})


def test_an_unknown_spec_says_how_to_register_one(tmp_path: Path):
    resource = {"uid": "r", "spec": "TIFF_SEQ", "root": "", "resource_path": "x"}
    with pytest.raises(UnknownSpecError, match=r"TIFF_SEQ.*register_handler"):
        load_datum(resource, {"datum_id": "r/0", "datum_kwargs": {}})


def test_a_missing_dataset_is_named(tmp_path: Path):
    sr = stream_resource(ad_file(tmp_path / "c.h5", frames(1)), dataset="/entry/other")
    with pytest.raises(HandlerError, match="/entry/other"):
        load_stream_datum(sr, stream_datum(0, 1), 0)


# -- registry and cache ----------------------------------------------------------------


class CountingHandler:
    opened: list[str] = []
    closed: list[str] = []

    def __init__(self, filename: str, **kwargs: Any) -> None:
        self.filename = filename
        CountingHandler.opened.append(filename)

    def __call__(self, frame: int) -> np.ndarray:
        return np.full((2, 2), frame)

    def close(self) -> None:
        CountingHandler.closed.append(self.filename)


def test_files_open_once_and_the_cache_is_bounded(tmp_path: Path):
    CountingHandler.opened, CountingHandler.closed = [], []
    register_handler("application/x-counting", CountingHandler)
    sr = stream_resource(tmp_path / "one", mimetype="application/x-counting")
    for n in range(5):
        assert load_stream_datum(sr, stream_datum(n, n + 1), 0)[0, 0] == n
    assert CountingHandler.opened == [str(tmp_path / "one")]

    many = [
        stream_resource(tmp_path / f"f{i}", mimetype="application/x-counting") for i in range(40)
    ]
    for resource in many:
        load_stream_datum(resource, stream_datum(0, 1), 0)
    assert len(CountingHandler.opened) == 41
    # evicted handlers are closed: never more than CACHE_SIZE open at once
    assert len(CountingHandler.opened) - len(CountingHandler.closed) <= handlers.CACHE_SIZE

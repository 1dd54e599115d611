"""The area detector's HDF5 plugin (``ad1:HDF1:``): real files with the frames in them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from aioca import DBR_CHAR_STR, CANothing, caget, caput

HDF = "ad1:HDF1:"


async def put_text(sim, suffix: str, text: str) -> None:
    await caput(sim.pv(suffix), text + "\0", datatype=DBR_CHAR_STR, wait=True, timeout=5)


async def get_text(sim, suffix: str) -> str:
    return str(await caget(sim.pv(suffix), datatype=DBR_CHAR_STR, timeout=5))


async def last_frame(sim) -> np.ndarray:
    width = await sim.get("ad1:cam1:ArraySizeX_RBV")
    height = await sim.get("ad1:cam1:ArraySizeY_RBV")
    return np.asarray(await sim.get("ad1:image1:ArrayData")).reshape(height, width)


@pytest.fixture
async def hdf(sim, tmp_path: Path):
    """The plugin pointed at a fresh directory; left idle in Stream mode afterwards."""
    await sim.put(f"{HDF}Capture", 0)
    await put_text(sim, f"{HDF}FilePath", str(tmp_path))
    await put_text(sim, f"{HDF}FileName", "frames")
    await put_text(sim, f"{HDF}FileTemplate", "%s%s_%3.3d.h5")
    await sim.put(f"{HDF}FileNumber", 1)
    await sim.put(f"{HDF}AutoIncrement", 1)
    await sim.put("ad1:cam1:AcquireTime", 0.01)
    await sim.put("ad1:cam1:NumImages", 1)
    yield sim
    await sim.put(f"{HDF}Capture", 0)
    await sim.put(f"{HDF}FileWriteMode", "Stream")
    await sim.put(f"{HDF}AutoSave", 0)
    await sim.put(f"{HDF}NumCapture", 1)


async def test_stream_mode_appends_every_frame_to_one_file(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}FileWriteMode", "Stream")
    await hdf.put(f"{HDF}NumCapture", 0)
    await hdf.put(f"{HDF}Capture", 1)
    path = await get_text(hdf, f"{HDF}FullFileName_RBV")
    assert path == f"{tmp_path}/frames_001.h5"
    assert await get_text(hdf, f"{HDF}FilePath") == f"{tmp_path}/"
    assert await hdf.get(f"{HDF}FileNumber") == 2

    frames = []
    for _ in range(3):
        await hdf.put("ad1:cam1:Acquire", 1)
        frames.append(await last_frame(hdf))
    assert await hdf.get(f"{HDF}NumCaptured_RBV") == 3
    await hdf.put(f"{HDF}Capture", 0)
    assert await hdf.get(f"{HDF}Capture_RBV") == 0

    with h5py.File(path, "r") as file:
        data = file["/entry/data/data"][()]
        assert file["entry"].attrs["NX_class"] == "NXentry"
        assert file["entry/data"].attrs["NX_class"] == "NXdata"
    assert data.shape == (3, 64, 64)
    np.testing.assert_array_equal(data[-1], frames[-1])
    assert data[0].max() > 50 * np.median(data[0]), "the spot is in the file"


async def test_stream_mode_stops_after_num_capture(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}NumCapture", 2)
    await hdf.put(f"{HDF}Capture", 1)
    await hdf.put("ad1:cam1:NumImages", 3)
    await hdf.put("ad1:cam1:Acquire", 1)

    assert await hdf.get(f"{HDF}Capture_RBV") == 0
    assert await hdf.get(f"{HDF}NumCaptured_RBV") == 2
    with h5py.File(await get_text(hdf, f"{HDF}FullFileName_RBV"), "r") as file:
        assert file["/entry/data/data"].shape == (2, 64, 64)


async def test_capture_mode_writes_the_file_when_num_capture_frames_are_in(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}FileWriteMode", "Capture")
    await hdf.put(f"{HDF}NumCapture", 2)
    await hdf.put(f"{HDF}Capture", 1)
    await hdf.put("ad1:cam1:NumImages", 2)
    await hdf.put("ad1:cam1:Acquire", 1)

    assert await hdf.get(f"{HDF}Capture_RBV") == 0
    with h5py.File(tmp_path / "frames_001.h5", "r") as file:
        data = file["/entry/data/data"][()]
    assert data.shape == (2, 64, 64)
    np.testing.assert_array_equal(data[1], await last_frame(hdf))


async def test_single_mode_with_auto_save_writes_one_file_per_frame(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}FileWriteMode", "Single")
    await hdf.put(f"{HDF}AutoSave", 1)
    await hdf.put("ad1:cam1:NumImages", 2)
    await hdf.put("ad1:cam1:Acquire", 1)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames_001.h5", "frames_002.h5"]
    with h5py.File(tmp_path / "frames_002.h5", "r") as file:
        np.testing.assert_array_equal(file["/entry/data/data"][0], await last_frame(hdf))


async def test_write_file_saves_the_last_frame_in_single_mode(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}FileWriteMode", "Single")
    await hdf.put("ad1:cam1:Acquire", 1)
    assert list(tmp_path.iterdir()) == []
    await hdf.put(f"{HDF}WriteFile", 1)
    with h5py.File(tmp_path / "frames_001.h5", "r") as file:
        np.testing.assert_array_equal(file["/entry/data/data"][0], await last_frame(hdf))


async def test_a_missing_directory_is_refused_with_a_message(hdf, tmp_path: Path):
    missing = tmp_path / "not-there"
    await put_text(hdf, f"{HDF}FilePath", str(missing))
    assert await hdf.get(f"{HDF}FilePathExists_RBV") == 0

    with pytest.raises(CANothing):
        await hdf.put(f"{HDF}Capture", 1)

    assert await hdf.get(f"{HDF}Capture_RBV") == 0
    assert await hdf.get(f"{HDF}WriteStatus") == 1
    assert str(missing) in await get_text(hdf, f"{HDF}WriteMessage")
    await put_text(hdf, f"{HDF}FilePath", str(tmp_path))
    assert await hdf.get(f"{HDF}FilePathExists_RBV") == 1


async def test_disabled_callbacks_write_nothing(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}EnableCallbacks", 0)
    try:
        await hdf.put(f"{HDF}NumCapture", 0)
        await hdf.put(f"{HDF}Capture", 1)
        counter = await hdf.get(f"{HDF}ArrayCounter_RBV")
        await hdf.put("ad1:cam1:Acquire", 1)
        assert await hdf.get(f"{HDF}NumCaptured_RBV") == 0
        assert await hdf.get(f"{HDF}ArrayCounter_RBV") == counter
    finally:
        await hdf.put(f"{HDF}EnableCallbacks", 1)


async def test_a_failed_auto_save_leaves_the_camera_running(hdf, tmp_path: Path):
    await hdf.put(f"{HDF}FileWriteMode", "Single")
    await hdf.put(f"{HDF}AutoSave", 1)
    await put_text(hdf, f"{HDF}FilePath", str(tmp_path / "gone"))
    counter = await hdf.get("ad1:cam1:ArrayCounter_RBV")

    await hdf.put("ad1:cam1:Acquire", 1)  # completes: the frame is taken, not written

    assert await hdf.get("ad1:cam1:ArrayCounter_RBV") == counter + 1
    assert await hdf.get(f"{HDF}WriteStatus") == 1
    assert "gone" in await get_text(hdf, f"{HDF}WriteMessage")
    await put_text(hdf, f"{HDF}FilePath", str(tmp_path))
    await hdf.put("ad1:cam1:Acquire", 1)
    assert await hdf.get(f"{HDF}WriteStatus") == 0
    assert [p.name for p in tmp_path.iterdir()] == ["frames_001.h5"]

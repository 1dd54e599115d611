"""An NDFileHDF5-like file plugin (``HDF1:``): the area detector's frames go to HDF5 files.

The plugin follows areaDetector's NDFileHDF5 PVs so that the same client works against a
real IOC: FilePath + FileName + FileNumber through FileTemplate (a C format, default
``%s%s_%3.3d.h5``) give FullFileName_RBV; FileWriteMode picks Single (one file per frame
with AutoSave, or WriteFile for the last frame), Capture (frames buffered in memory, one
file when NumCapture are in or on WriteFile) or Stream (each frame appended as it comes).
Frames land in ``/entry/data/data`` (frames, rows, columns), areaDetector's default layout,
with NeXus class attributes on the groups.

The camera hands each frame to `HDF5Plugin.on_frame` before it counts the frame as done,
like a plugin with blocking callbacks: when a client's put to ``cam1:Acquire`` completes,
the frames are in the file. File I/O runs in a worker thread (``asyncio.to_thread``) so a
slow disk does not stall the Channel Access server's loop.

Differences from areaDetector, on purpose: a put to ``Capture`` completes once the file is
open (Stream) or the buffer is armed (Capture), not when capture ends; watch
``Capture_RBV`` for the end. A FilePath that does not exist on the IOC's machine reads
``FilePathExists_RBV`` = 0 and a put of 1 to ``Capture`` or ``WriteFile`` is refused with a
CA error and a ``WriteMessage`` that names the path.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any, NoReturn

import h5py
import numpy as np
from caproto import ChannelType, SkipWrite
from caproto.server import pvproperty

from .pvs import PutRejected, SimGroup, choice

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger("iocs.hdf5_plugin")

DATASET = "/entry/data/data"
DEFAULT_TEMPLATE = "%s%s_%3.3d.h5"
PATH_LENGTH = 256  # areaDetector's file-name waveforms hold 256 characters
WRITE_MODES = ("Single", "Capture", "Stream")
NO_YES = ("No", "Yes")


def long_text(name: str, value: str, doc: str, *, read_only: bool = False) -> pvproperty:
    """A CHAR waveform read as a string, like areaDetector's FilePath/FileName records."""
    return pvproperty(
        name=name,
        value=value,
        dtype=ChannelType.CHAR,
        max_length=PATH_LENGTH,
        read_only=read_only,
        doc=doc,
    )


def full_file_name(template: str, path: str, name: str, number: int) -> str:
    """areaDetector's file name: ``template % (path, name, number)``.

    Like C's snprintf, a template may leave out the trailing number (``%s%s.h5``).
    """
    try:
        return template % (path, name, number)
    except (TypeError, ValueError) as error:
        if "not all arguments converted" not in str(error):
            raise PutRejected(f"FileTemplate {template!r}: {error}") from None
    try:
        return template % (path, name)
    except (TypeError, ValueError) as error:
        raise PutRejected(
            f"FileTemplate {template!r} does not take (path, name, number): {error}; "
            f"use e.g. {DEFAULT_TEMPLATE!r}"
        ) from None


class StreamFile:
    """An open HDF5 file whose ``/entry/data/data`` grows by one frame per `append`."""

    def __init__(self, path: str, frame_shape: tuple[int, int], dtype: np.dtype[Any]) -> None:
        self.path = path
        self._file = h5py.File(path, "w")
        self._dataset = _create_layout(self._file, frame_shape, dtype, 0)
        self._file.flush()

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return tuple(self._dataset.shape[1:])

    def append(self, frame: np.ndarray) -> int:
        """Write `frame` as the next frame; returns the number of frames in the file."""
        n = self._dataset.shape[0]
        self._dataset.resize(n + 1, axis=0)
        self._dataset[n] = frame
        self._file.flush()
        return n + 1

    def close(self) -> None:
        self._file.close()


def write_frames(path: str, frames: Sequence[np.ndarray]) -> None:
    """A whole file at once (Single and Capture modes)."""
    with h5py.File(path, "w") as file:
        dataset = _create_layout(file, frames[0].shape, frames[0].dtype, len(frames))
        dataset[...] = np.stack(frames)


def _create_layout(
    file: h5py.File, frame_shape: tuple[int, ...], dtype: np.dtype[Any], n: int
) -> h5py.Dataset:
    entry = file.create_group("entry")
    entry.attrs["NX_class"] = "NXentry"
    entry.attrs["default"] = "data"
    data = entry.create_group("data")
    data.attrs["NX_class"] = "NXdata"
    data.attrs["signal"] = "data"
    file.attrs["default"] = "entry"
    return data.create_dataset(
        "data",
        shape=(n, *frame_shape),
        maxshape=(None, *frame_shape),
        chunks=(1, *frame_shape),
        dtype=dtype,
    )


class HDF5Plugin(SimGroup):
    """``HDF1:``: frames from the parent camera to HDF5 files; see the module docstring."""

    file_path = long_text("FilePath", "", "directory on the IOC's machine")
    file_path_exists = choice(
        "FilePathExists_RBV", NO_YES, "No", "does FilePath exist?", read_only=True
    )
    file_name = long_text("FileName", "image", "file name stem")
    file_template = long_text("FileTemplate", DEFAULT_TEMPLATE, "C format of (path, name, number)")
    file_number = pvproperty(name="FileNumber", value=1, doc="number of the next file")
    auto_increment = choice("AutoIncrement", NO_YES, "Yes", "FileNumber += 1 after each file")
    auto_save = choice("AutoSave", NO_YES, "No", "Single mode: write every frame")
    file_write_mode = choice("FileWriteMode", WRITE_MODES, "Stream", "Single/Capture/Stream")
    capture = choice("Capture", ("Done", "Capture"), "Done", "put 1 to start capturing")
    capture_rbv = choice("Capture_RBV", ("Done", "Capture"), "Done", "capturing?", read_only=True)
    num_capture = pvproperty(
        name="NumCapture", value=1, lower_ctrl_limit=0, doc="frames per file (0: no limit)"
    )
    num_captured = pvproperty(
        name="NumCaptured_RBV", value=0, read_only=True, doc="frames in the current file"
    )
    full_file_name_rbv = long_text(
        "FullFileName_RBV", "", "the file being written or last written", read_only=True
    )
    write_file = choice("WriteFile", ("Done", "Write"), "Done", "put 1 to write a file now")
    write_status = choice(
        "WriteStatus", ("Write OK", "Write error"), "Write OK", "last write", read_only=True
    )
    write_message = long_text("WriteMessage", "", "why the last write failed", read_only=True)
    enable_callbacks = choice(
        "EnableCallbacks", ("Disable", "Enable"), "Enable", "take frames from the camera"
    )
    array_counter = pvproperty(name="ArrayCounter", value=0, doc="frames received (settable)")
    array_counter_rbv = pvproperty(
        name="ArrayCounter_RBV", value=0, read_only=True, doc="frames received"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stream: StreamFile | None = None
        self._buffer: list[np.ndarray] = []
        self._last: np.ndarray | None = None
        self._io = asyncio.Lock()  # one file operation at a time, in frame order

    # -- settings --------------------------------------------------------------------

    @file_path.putter
    async def file_path(self, instance: Any, value: str) -> str:
        path = value if not value or value.endswith(os.sep) else value + os.sep
        await self.file_path_exists.write("Yes" if path and os.path.isdir(path) else "No")
        return path

    @array_counter.putter
    async def array_counter(self, instance: Any, value: int) -> int:
        await self.array_counter_rbv.write(value)
        return value

    @file_write_mode.putter
    async def file_write_mode(self, instance: Any, value: str) -> str:
        if self.capturing:
            raise PutRejected(
                f"{instance.pvname}: cannot change FileWriteMode while capturing; "
                f"put 0 to Capture first"
            )
        return value

    # -- capture ---------------------------------------------------------------------

    @property
    def capturing(self) -> bool:
        return self.capture_rbv.value == "Capture"

    @capture.putter
    async def capture(self, instance: Any, value: str) -> str:
        if value == "Done":
            await self._stop_capture()
            return value
        if self.capturing:
            return SkipWrite
        mode = self.file_write_mode.value
        if mode == "Single":
            await self._refuse(
                instance.pvname, "cannot capture in Single mode; set FileWriteMode first"
            )
        await self._check_directory(instance.pvname)
        await self.num_captured.write(0)
        if mode == "Stream":
            path = await self._next_file_name(instance.pvname)
            camera: Any = self.parent
            shape = (camera.size_y.value, camera.size_x.value)
            async with self._io:
                try:
                    self._stream = await asyncio.to_thread(
                        StreamFile, path, shape, np.dtype(np.int32)
                    )
                except OSError as error:
                    await self._refuse(instance.pvname, f"cannot create {path}: {error}")
            await self.full_file_name_rbv.write(path)
            await self._ok()
        else:
            self._buffer = []
        await self.capture_rbv.write("Capture")
        return value

    async def _stop_capture(self) -> None:
        async with self._io:
            stream, self._stream = self._stream, None
            if stream is not None:
                await asyncio.to_thread(stream.close)
        if self.capturing:
            await self.capture_rbv.write("Done")
        if self.capture.value != "Done":
            await self.capture.write("Done", verify_value=False)

    @write_file.putter
    async def write_file(self, instance: Any, value: str) -> Any:
        if value == "Done":
            return value
        mode = self.file_write_mode.value
        if mode == "Stream":
            await self._refuse(instance.pvname, "Stream mode writes as frames come; use Capture")
        frames = (
            self._buffer if mode == "Capture" else [self._last] if self._last is not None else []
        )
        if not frames:
            await self._refuse(instance.pvname, "no frame to write yet; acquire first")
        await self._check_directory(instance.pvname)
        await self._write_whole_file(instance.pvname, list(frames))
        if mode == "Capture":
            self._buffer = []
        return SkipWrite

    # -- frames ----------------------------------------------------------------------

    async def on_frame(self, frame: np.ndarray) -> None:
        """The camera's new frame (called before the camera counts it as done)."""
        if self.enable_callbacks.value != "Enable":
            return
        await self.array_counter.write(self.array_counter.value + 1)
        await self.array_counter_rbv.write(self.array_counter.value)
        self._last = frame
        try:
            await self._take(frame)
        except Exception as error:  # the camera must keep running whatever the disk does
            log.warning("%s: frame not written: %s", self.prefix, error)
            await self._error(f"frame {self.array_counter.value} not written: {error}")

    async def _take(self, frame: np.ndarray) -> None:
        mode = self.file_write_mode.value
        if mode == "Single":
            if self.auto_save.value == "Yes":
                await self._check_directory(self.auto_save.pvname)
                await self._write_whole_file(self.write_file.pvname, [frame])
        elif self.capturing and mode == "Capture":
            self._buffer.append(frame)
            await self.num_captured.write(len(self._buffer))
            if len(self._buffer) == self.num_capture.value:
                await self._write_whole_file(self.capture.pvname, self._buffer)
                self._buffer = []
                await self._stop_capture()
        elif self.capturing and mode == "Stream":
            await self._append(frame)

    async def _append(self, frame: np.ndarray) -> None:
        async with self._io:
            stream = self._stream
            if stream is None:
                return
            if frame.shape != stream.frame_shape:
                message = (
                    f"frame {frame.shape} does not fit {stream.path} "
                    f"({stream.frame_shape}); capture stopped"
                )
                await self._error(message)
                n = None
            else:
                try:
                    n = await asyncio.to_thread(stream.append, frame)
                except OSError as error:
                    await self._error(f"cannot append to {stream.path}: {error}; capture stopped")
                    n = None
        if n is None:
            await self._stop_capture()
            return
        await self.num_captured.write(n)
        if n == self.num_capture.value:
            await self._stop_capture()

    async def _write_whole_file(self, pvname: str, frames: list[np.ndarray]) -> None:
        path = await self._next_file_name(pvname)
        async with self._io:
            try:
                await asyncio.to_thread(write_frames, path, frames)
            except OSError as error:
                await self._error(f"cannot write {path}: {error}")
                return
        await self.full_file_name_rbv.write(path)
        await self._ok()

    async def _next_file_name(self, pvname: str) -> str:
        try:
            path = full_file_name(
                self.file_template.value,
                self.file_path.value,
                self.file_name.value,
                self.file_number.value,
            )
        except PutRejected as error:
            await self._refuse(pvname, str(error))
        if self.auto_increment.value == "Yes":
            await self.file_number.write(self.file_number.value + 1)
        return path

    # -- errors ----------------------------------------------------------------------

    async def _check_directory(self, pvname: str) -> None:
        path = self.file_path.value
        if not os.path.isdir(path):
            await self.file_path_exists.write("No")
            await self._refuse(
                pvname,
                f"FilePath {path!r} is not a directory on the IOC's machine "
                f"(FilePathExists_RBV=0); create it or put an existing directory to FilePath",
            )

    async def _refuse(self, pvname: str, why: str) -> NoReturn:
        message = f"{pvname}: {why}"
        await self._error(message)
        raise PutRejected(message)

    async def _error(self, message: str) -> None:
        await self.write_status.write("Write error")
        await self.write_message.write(message[: PATH_LENGTH - 1])

    async def _ok(self) -> None:
        await self.write_status.write("Write OK")
        await self.write_message.write("")

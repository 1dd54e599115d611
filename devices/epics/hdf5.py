"""HDF5Detector: an areaDetector camera whose frames go to an HDF5 file, not into Events.

    det = HDF5Detector("sim:ad1:", directory="/data/2026-12/run7", name="det")
    RE(count([det], 5))

Frames stay in the file that the IOC's NDFileHDF5 plugin (``HDF1:``) writes; the documents
carry references to them (ophyd-async style): ``describe()`` gives ``det_image`` with
``external="STREAM:"``, and at each ``save`` the engine asks ``collect_asset_docs()`` for a
StreamResource (once per file: its URI and the dataset ``/entry/data/data``) and a
StreamDatum (which frames of that file belong to this Event). ``read()`` holds only
``det_num_captured``, the number of frames in the file after this trigger.

``stage()`` points the plugin at `directory` (the IOC must see it:
``FilePathExists_RBV`` = 1, else `FileWriterError`), names a fresh file, sets Stream mode
and starts the capture; ``unstage()`` ends the capture, which closes the file. Every wait
is bounded by `timeout` (plus, for a trigger, the AcquireTime read at ``stage()``).

One frame per Event: ``stage()`` sets NumImages = 1, and a StreamDatum always covers the
latest frame only, so a trigger that was re-done after a pause (its first frame never
saved) leaves an unreferenced frame in the file rather than an Event with two images.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from acq.protocols import DataKey, Reading

from ..device import DEFAULT_TIMEOUT, Device
from ..errors import FileWriterError
from ..readable import Format, StandardReadable
from ..status import Status
from .areadetector import ADCam
from .signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX

__all__ = ["HDF5Detector", "NDFileHDF5"]

DATASET = "/entry/data/data"
MIMETYPE = "application/x-hdf5"


class NDFileHDF5(Device):
    """The NDFileHDF5 plugin's PVs (``HDF1:``)."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.file_path = EpicsSignalRW(f"{prefix}FilePath", datatype=str)
        self.file_path_exists = EpicsSignalRO(f"{prefix}FilePathExists_RBV", datatype=str)
        self.file_name = EpicsSignalRW(f"{prefix}FileName", datatype=str)
        self.file_template = EpicsSignalRW(f"{prefix}FileTemplate", datatype=str)
        self.file_number = EpicsSignalRW(f"{prefix}FileNumber", datatype=int)
        self.auto_increment = EpicsSignalRW(f"{prefix}AutoIncrement", datatype=str)
        self.file_write_mode = EpicsSignalRW(f"{prefix}FileWriteMode", datatype=str)
        self.capture = EpicsSignalRW(f"{prefix}Capture", datatype=str)
        self.capture_rbv = EpicsSignalRO(f"{prefix}Capture_RBV", datatype=str)
        self.num_capture = EpicsSignalRW(f"{prefix}NumCapture", datatype=int)
        self.num_captured = EpicsSignalRO(f"{prefix}NumCaptured_RBV", datatype=int)
        self.full_file_name = EpicsSignalRO(f"{prefix}FullFileName_RBV", datatype=str)
        self.write_file = EpicsSignalX(f"{prefix}WriteFile", value=1)
        self.write_message = EpicsSignalRO(f"{prefix}WriteMessage", datatype=str)
        self.enable_callbacks = EpicsSignalRW(f"{prefix}EnableCallbacks", datatype=str)
        super().__init__(name=name)


class HDF5Detector(StandardReadable):
    """Camera + HDF5 file plugin, frames referenced by StreamResource/StreamDatum."""

    def __init__(
        self,
        prefix: str,
        directory: str | Path,
        name: str = "",
        *,
        cam: str = "cam1:",
        hdf: str = "HDF1:",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.cam = ADCam(f"{prefix}{cam}")
        self.hdf = NDFileHDF5(f"{prefix}{hdf}")
        self.directory = str(directory)
        self.timeout = timeout
        self.add_readables([self.cam.acquire_time], Format.CONFIG)
        self._file: str | None = None  # the file being written, between stage and unstage
        self._frame_shape: list[int] | None = None
        self._resource_uid: str | None = None
        self._captured = 0  # frames in the file after the last trigger
        self._last_reading: Reading | None = None  # NumCaptured_RBV after that trigger
        self._exposure = 0.0  # AcquireTime at stage: bounds a trigger's wait
        self._reported = 0  # frames already referenced by a StreamDatum
        super().__init__(name=name)

    @property
    def image_key(self) -> str:
        return f"{self.name}_image"

    @property
    def captured_key(self) -> str:
        return f"{self.name}_num_captured"

    @property
    def hints(self) -> dict[str, Any]:
        return {"fields": [self.image_key]}

    @property
    def file(self) -> str | None:
        """The HDF5 file being written (None when not staged)."""
        return self._file

    # -- stage / unstage -------------------------------------------------------------

    @Status.wrap
    async def stage(self) -> None:
        """Point the plugin at a new file in `directory` and start a Stream capture."""
        async with self._bounded("stage"):
            hdf = self.hdf
            await hdf.capture.set("Done")
            await hdf.enable_callbacks.set("Enable")
            await hdf.file_path.set(self.directory)
            if await hdf.file_path_exists.get_value() != "Yes":
                raise FileWriterError(
                    f"{self.name}: the IOC cannot see directory {self.directory!r} "
                    f"({hdf.file_path_exists.source} = No); create it on the IOC's machine "
                    f"or give HDF5Detector(directory=...) a path the IOC can write"
                )
            await hdf.file_name.set(f"{self.name}_{uuid.uuid4().hex[:12]}")
            await hdf.file_template.set("%s%s.h5")
            await hdf.auto_increment.set("No")
            await hdf.file_write_mode.set("Stream")
            await hdf.num_capture.set(0)
            await self.cam.num_images.set(1)
            width = await self.cam.size_x.get_value()
            height = await self.cam.size_y.get_value()
            try:
                await hdf.capture.set("Capture")
            except Exception as error:
                why = await hdf.write_message.get_value()
                raise FileWriterError(
                    f"{self.name}: the file plugin refused to start capturing: {why or error}"
                ) from error
            self._file = await hdf.full_file_name.get_value()
            self._frame_shape = [height, width]
            self._exposure = await self.cam.acquire_time.get_value()
            self._resource_uid = None
            self._captured = self._reported = 0
            self._last_reading = None

    @Status.wrap
    async def unstage(self) -> None:
        """End the capture: the IOC closes the file."""
        async with self._bounded("unstage"):
            await self.hdf.capture.set("Done")
        self._file = None
        self._last_reading = None

    # -- trigger / read --------------------------------------------------------------

    @Status.wrap
    async def trigger(self) -> None:
        """Take one frame and wait until the plugin has written it."""
        if self._file is None:
            raise FileWriterError(f"{self.name}: trigger() before stage(); stage it first")
        expected = self._captured + 1
        counter = self.hdf.num_captured.backend
        async with self._bounded("trigger", extra=self._exposure):
            await self.cam.acquire.trigger(wait=True)
            reading = await counter.get_reading()  # a fresh read, after the completion
            if reading["value"] < expected and await self.hdf.capture_rbv.get_value() != "Capture":
                why = await self.hdf.write_message.get_value()
                raise FileWriterError(
                    f"{self.name}: the file plugin stopped capturing ({why or 'no message'}); "
                    f"frame {expected} is not in {self._file}"
                )
            while reading["value"] < expected:  # a plugin that lags the camera (real IOCs)
                await asyncio.sleep(0.01)
                reading = await counter.get_reading()
        self._captured = reading["value"]
        self._last_reading = reading

    async def read(self) -> dict[str, Reading]:
        """NumCaptured_RBV as read when the last trigger completed (no extra round trip)."""
        reading = self._last_reading
        if reading is None:
            reading = await self.hdf.num_captured.backend.get_reading()
        return {self.captured_key: reading}

    async def describe(self) -> dict[str, DataKey]:
        shape = self._frame_shape
        if shape is None:
            shape = [await self.cam.size_y.get_value(), await self.cam.size_x.get_value()]
        counter = (await self.hdf.num_captured.describe())[self.hdf.num_captured.name]
        return {
            self.image_key: {
                "source": self.hdf.full_file_name.source,
                "dtype": "array",
                "dtype_numpy": "<i4",
                "shape": list(shape),
                "dims": ["y", "x"],
                "external": "STREAM:",
            },
            self.captured_key: counter,
        }

    # -- documents -------------------------------------------------------------------

    async def get_index(self) -> int:
        return self._captured

    async def collect_asset_docs(
        self, index: int | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The StreamResource of the file (once) and a StreamDatum for the latest frame."""
        if self._file is None:
            return
        if self._resource_uid is None:
            self._resource_uid = str(uuid.uuid4())
            yield (
                "stream_resource",
                {
                    "uid": self._resource_uid,
                    "data_key": self.image_key,
                    "mimetype": MIMETYPE,
                    "uri": f"file://localhost{Path(self._file).absolute().as_posix()}",
                    "parameters": {
                        "dataset": DATASET,
                        "chunk_shape": [1, *(self._frame_shape or [])],
                    },
                },
            )
        captured = self._captured if index is None else min(index, self._captured)
        if captured > self._reported:
            start = captured - 1  # the latest frame only (see the module docstring)
            yield (
                "stream_datum",
                {
                    "uid": f"{self._resource_uid}/{captured}",
                    "stream_resource": self._resource_uid,
                    "descriptor": "",
                    "indices": {"start": start, "stop": captured},
                    "seq_nums": {"start": 0, "stop": 0},
                },
            )
            self._reported = captured

    def _bounded(self, what: str, extra: float = 0.0) -> Any:
        return _Deadline(f"{self.name}.{what}()", self.timeout + extra)


class _Deadline:
    """``async with`` that turns a timeout into a `FileWriterError` naming the step."""

    def __init__(self, what: str, seconds: float) -> None:
        self.what = what
        self.seconds = seconds
        self._timeout = asyncio.timeout(seconds)

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> None:
        try:
            await self._timeout.__aexit__(kind, error, traceback)
        except TimeoutError:
            raise FileWriterError(
                f"{self.what} did not finish within {self.seconds:g} s; is the IOC "
                f"running and the file plugin enabled?"
            ) from None

"""An ADSim-like area detector: ``Pad1:cam1:...`` controls and ``Pad1:image1:ArrayData``.

``cam1:Acquire`` = 1 takes NumImages frames of AcquireTime seconds each; its callback
completes when the last frame has been published. Each frame comes from ``frame(width,
height, exposure)`` (int32 counts, shape (height, width)) and goes out row-major in
``image1:ArrayData``, then both ArrayCounter_RBVs count it. ``cam1:SizeX``/``SizeY`` (8..256)
take effect at the next frame; ``ArraySizeX_RBV``/``ArraySizeY_RBV`` describe the last frame.
Acquire = 0 during an acquisition aborts it. ``HDF1:`` (`iocs.hdf5_plugin`) writes the
frames to HDF5 files; each frame reaches it before the counters count the frame.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from caproto import SkipWrite
from caproto.server import SubGroup, pvproperty

from .hdf5_plugin import HDF5Plugin
from .pvs import PutRejected, SimGroup, choice

DEFAULT_SIZE = 64
MAX_SIZE = 256
FRAME_BACKLOG = 100  # frames queued per slow subscriber (caproto's default 1000 is ~250 MB)
ABORT_POLL = 0.05  # s: how quickly an abort interrupts a long exposure
DETECTOR_STATES = (
    "Idle",
    "Acquire",
    "Readout",
    "Correct",
    "Saving",
    "Aborting",
    "Error",
    "Waiting",
    "Initializing",
    "Disconnected",
    "Aborted",
)
ACQUIRE = ("Done", "Acquire")

FrameSource = Callable[[int, int, float], np.ndarray]


def _size(name: str, doc: str, *, read_only: bool = False) -> pvproperty:
    limits = {} if read_only else {"lower_ctrl_limit": 8, "upper_ctrl_limit": MAX_SIZE}
    return pvproperty(name=name, value=DEFAULT_SIZE, read_only=read_only, doc=doc, **limits)


class AreaDetector(SimGroup):
    """A camera and its image plugin."""

    acquire = choice("cam1:Acquire", ACQUIRE, "Done", "put 1 to take NumImages frames")
    acquire_rbv = choice("cam1:Acquire_RBV", ACQUIRE, "Done", "acquiring?", read_only=True)
    acquire_time = pvproperty(
        name="cam1:AcquireTime",
        value=0.1,
        precision=3,
        units="s",
        lower_ctrl_limit=0.001,
        upper_ctrl_limit=60.0,
        doc="exposure per frame",
    )
    num_images = pvproperty(
        name="cam1:NumImages",
        value=1,
        lower_ctrl_limit=1,
        upper_ctrl_limit=100000,
        doc="frames per acquisition",
    )
    array_counter = pvproperty(
        name="cam1:ArrayCounter_RBV", value=0, read_only=True, doc="frames produced"
    )
    array_size_x = _size("cam1:ArraySizeX_RBV", "width of the last frame", read_only=True)
    array_size_y = _size("cam1:ArraySizeY_RBV", "height of the last frame", read_only=True)
    size_x = _size("cam1:SizeX", "frame width (pixels)")
    size_y = _size("cam1:SizeY", "frame height (pixels)")
    detector_state = choice(
        "cam1:DetectorState_RBV",
        DETECTOR_STATES,
        "Idle",
        "what the camera is doing",
        read_only=True,
    )
    array_data = pvproperty(
        name="image1:ArrayData",
        value=[0] * DEFAULT_SIZE**2,
        max_length=MAX_SIZE**2,
        read_only=True,
        max_subscription_backlog=FRAME_BACKLOG,
        doc="the last frame, row-major",
    )
    image_counter = pvproperty(
        name="image1:ArrayCounter_RBV", value=0, read_only=True, doc="frames published in ArrayData"
    )
    hdf1 = SubGroup(HDF5Plugin, prefix="HDF1:", doc="HDF5 file writer")

    def __init__(self, prefix: str, frame: FrameSource, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self._frame = frame
        self._start = asyncio.Event()
        self._abort = False
        self._done = asyncio.Event()
        self._done.set()

    @property
    def acquiring(self) -> bool:
        return not self._done.is_set()

    @acquire.putter
    async def acquire(self, instance: Any, value: str) -> Any:
        if value == "Done":
            self._abort = self.acquiring
            return SkipWrite if self._abort else value  # the acquisition publishes Done
        if not self.acquiring:
            self._done.clear()
            self._abort = False
            await instance.write("Acquire", verify_value=False)
            self._start.set()
        await self._done.wait()
        return SkipWrite

    @size_x.putter
    async def size_x(self, instance: Any, value: int) -> int:
        return self._refuse_while_acquiring(instance, value)

    @size_y.putter
    async def size_y(self, instance: Any, value: int) -> int:
        return self._refuse_while_acquiring(instance, value)

    def _refuse_while_acquiring(self, instance: Any, value: int) -> int:
        if self.acquiring:
            raise PutRejected(
                f"{instance.pvname}: cannot change the frame size while "
                "acquiring; put 0 to cam1:Acquire first"
            )
        return value

    @acquire_rbv.startup
    async def acquire_rbv(self, instance: Any, async_lib: Any) -> None:
        while True:
            await self._start.wait()
            self._start.clear()
            await instance.write("Acquire")
            await self.detector_state.write("Acquire")
            completed = await self._take_frames()
            await self.detector_state.write("Idle" if completed else "Aborted")
            await instance.write("Done")
            await self.acquire.write("Done", verify_value=False)
            self._done.set()

    async def _take_frames(self) -> bool:
        """Publish NumImages frames on schedule; False if aborted."""
        exposure = self.acquire_time.value
        width, height = self.size_x.value, self.size_y.value
        start = time.monotonic()
        for n in range(1, self.num_images.value + 1):
            due = start + n * exposure
            while (remaining := due - time.monotonic()) > 0 and not self._abort:
                await asyncio.sleep(min(remaining, ABORT_POLL))
            if self._abort:
                return False
            await self._publish(self._frame(width, height, exposure))
        return True

    async def _publish(self, image: np.ndarray) -> None:
        height, width = image.shape
        if (width, height) != (self.array_size_x.value, self.array_size_y.value):
            await self.array_size_x.write(width)
            await self.array_size_y.write(height)
        await self.hdf1.on_frame(image)
        await self.array_data.write(image.ravel())
        await self.array_counter.write(self.array_counter.value + 1)
        await self.image_counter.write(self.image_counter.value + 1)

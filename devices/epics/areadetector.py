"""AreaDetector: an areaDetector camera (``cam1:``) and its image plugin (``image1:``).

    ad = AreaDetector("sim:ad1:", name="ad1")
    await ad.trigger()       # Acquire=1 with callback: done when NumImages frames are taken
    await ad.read()          # {"ad1_image": 2-D array (ArraySizeY, ArraySizeX), ...}

Small images are read inline: ArrayData and the frame size come in one round trip, and
the flat waveform is reshaped row-major.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from acq.protocols import DataKey, Reading

from ..device import Device
from ..readable import Format, StandardReadable
from ..status import Status
from .ca import CaBackend
from .signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX

__all__ = ["ADCam", "AreaDetector", "ImagePlugin"]


class ADCam(Device):
    """The camera driver's PVs (``cam1:``)."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.acquire = EpicsSignalX(f"{prefix}Acquire", value=1)
        self.acquire_rbv = EpicsSignalRO(f"{prefix}Acquire_RBV", datatype=str)
        self.acquire_time = EpicsSignalRW(f"{prefix}AcquireTime", datatype=float)
        self.num_images = EpicsSignalRW(f"{prefix}NumImages", datatype=int)
        self.array_counter = EpicsSignalRO(f"{prefix}ArrayCounter_RBV", datatype=int)
        self.array_size_x = EpicsSignalRO(f"{prefix}ArraySizeX_RBV", datatype=int)
        self.array_size_y = EpicsSignalRO(f"{prefix}ArraySizeY_RBV", datatype=int)
        self.size_x = EpicsSignalRW(f"{prefix}SizeX", datatype=int)
        self.size_y = EpicsSignalRW(f"{prefix}SizeY", datatype=int)
        self.detector_state = EpicsSignalRO(f"{prefix}DetectorState_RBV", datatype=str)
        super().__init__(name=name)


class ImagePlugin(Device):
    """The NDStdArrays plugin (``image1:``): the last frame as a flat waveform."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.array_data = EpicsSignalRO(f"{prefix}ArrayData", datatype=np.ndarray)
        self.array_counter = EpicsSignalRO(f"{prefix}ArrayCounter_RBV", datatype=int)
        super().__init__(name=name)


class AreaDetector(StandardReadable):
    """Camera + image plugin; reads the image inline as a 2-D array (hinted)."""

    def __init__(
        self, prefix: str, name: str = "", *, cam: str = "cam1:", image: str = "image1:"
    ) -> None:
        self.cam = ADCam(f"{prefix}{cam}")
        self.image = ImagePlugin(f"{prefix}{image}")
        self.add_readables([self.cam.acquire_time, self.cam.num_images], Format.CONFIG)
        super().__init__(name=name)

    @property
    def image_key(self) -> str:
        return f"{self.name}_image"

    @property
    def hints(self) -> dict[str, Any]:
        return {"fields": [self.image_key]}

    def trigger(self) -> Status:
        """Acquire NumImages frames (put-callback on Acquire: done when they are taken)."""
        return self.cam.acquire.trigger(wait=True)

    def _inline(self) -> list[Any]:
        return [
            self.image.array_data.backend,
            self.cam.array_size_x.backend,
            self.cam.array_size_y.backend,
            self.image.array_counter.backend,
        ]

    async def read(self) -> dict[str, Reading]:
        data, size_x, size_y, counter = await CaBackend.read_many(self._inline())
        width, height = size_x["value"], size_y["value"]
        flat = data["value"]
        image = flat[: width * height].reshape(height, width)
        return {
            self.image_key: {
                "value": image,
                "timestamp": data["timestamp"],
                "alarm_severity": data["alarm_severity"],
            },
            f"{self.name}_array_counter": counter,
        }

    async def describe(self) -> dict[str, DataKey]:
        _, size_x, size_y, _ = await CaBackend.read_many(self._inline())
        data_key = (await self.image.array_data.describe())[self.image.array_data.name]
        counter = (await self.image.array_counter.describe())[self.image.array_counter.name]
        shape = [size_y["value"], size_x["value"]]
        return {
            self.image_key: {**data_key, "shape": shape, "dims": ["y", "x"]},
            f"{self.name}_array_counter": counter,
        }

"""SimImageDetector: 2-D images of a Gaussian spot that follows two motors."""

from __future__ import annotations

import asyncio

import numpy as np

from ..readable import Format, StandardReadable
from ..signal import SignalR
from ..soft import SoftBackend
from ..status import Status
from .motor import SimMotor

__all__ = ["SimImageDetector"]


class SimImageDetector(StandardReadable):
    """Images ``<name>_image`` (``shape`` pixels) and their sum ``<name>_total`` (hinted).

    The spot sits at (x, y) motor positions in pixel units from the centre, with
    ``width`` pixels sigma and Poisson noise on ``peak`` counts.
    """

    def __init__(
        self,
        name: str = "",
        x: SimMotor | None = None,
        y: SimMotor | None = None,
        *,
        shape: tuple[int, int] = (64, 64),
        width: float = 4.0,
        peak: float = 1000.0,
        exposure: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self._x, self._y = x, y  # not children: the motors belong to no detector
        self.shape = shape
        self.spot_width = width
        self.peak = peak
        self.exposure = exposure
        self._rng = np.random.default_rng(seed)
        rows, cols = np.indices(shape)
        self._rows = rows - (shape[0] - 1) / 2.0
        self._cols = cols - (shape[1] - 1) / 2.0
        self._image = SoftBackend(np.ndarray, np.zeros(shape, dtype=np.int64))
        self._total = SoftBackend(float, 0.0)
        self.image = SignalR(self._image)
        self.total = SignalR(self._total)
        self.add_readables([self.total], Format.HINTED)
        self.add_readables([self.image])
        super().__init__(name=name)

    def _compute(self) -> None:
        x = self._x.position if self._x is not None else 0.0
        y = self._y.position if self._y is not None else 0.0
        spot = self.peak * np.exp(
            -((self._cols - x) ** 2 + (self._rows - y) ** 2) / (2.0 * self.spot_width**2)
        )
        image = self._rng.poisson(spot)
        self._image.set_value(image)
        self._total.set_value(float(image.sum()))

    def trigger(self) -> Status:
        if not self.exposure:
            self._compute()
            return Status.finished(name=self.name)
        return Status(self._expose(), name=f"{self.name}.trigger")

    async def _expose(self) -> None:
        await asyncio.sleep(self.exposure)
        self._compute()

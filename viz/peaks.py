"""Peak statistics of a 1-D scan: where the maximum, minimum, centre and width are.

A pure function of two arrays, so it can be tested on known curves and used from a
notebook on any data, not only on live runs. The numbers are bluesky's
(`bluesky.callbacks.fitting.PeakStats`): users compare acq's results with what they got
before, and a different definition of, say, the centre would look like a bug. In
particular ``com`` is the centre of mass over the point *index*, mapped to a motor position
by linear interpolation, and ``cen``/``fwhm`` come from the crossings of the half-way line
``(max(y) + min(y)) / 2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PeakStats", "peak_stats"]

ArrayLike = Sequence[float] | npt.NDArray[np.floating] | npt.NDArray[np.integer]


@dataclass(frozen=True)
class PeakStats:
    """Statistics of ``y`` against ``x``; positions are ``x`` values (motor positions).

    ``cen`` is None when ``y`` never crosses the half-way line, ``fwhm`` when it crosses
    fewer than twice (a step, a peak cut off by the scan range).
    """

    max: tuple[float, float]  #: (x, y) of the largest y
    min: tuple[float, float]  #: (x, y) of the smallest y
    com: float  #: centre of mass (nan when sum(y) is 0)
    cen: float | None  #: mean of the half-maximum crossings
    fwhm: float | None  #: distance between the first and last crossing
    crossings: tuple[float, ...]  #: x where y crosses (max + min) / 2
    points: int  #: how many points the statistics are based on

    def as_dict(self) -> dict[str, object]:
        return {
            "max": self.max,
            "min": self.min,
            "com": self.com,
            "cen": self.cen,
            "fwhm": self.fwhm,
            "crossings": self.crossings,
            "points": self.points,
        }


def peak_stats(x: ArrayLike, y: ArrayLike) -> PeakStats:
    """Max, min, centre of mass, half-maximum centre and FWHM of ``y(x)``.

    >>> s = peak_stats([0, 1, 2, 3, 4], [0, 1, 4, 1, 0])
    >>> s.max, s.com, s.cen
    ((2.0, 4.0), 2.0, 2.0)
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(
            f"peak_stats needs two 1-D sequences of the same length, got shapes "
            f"{xs.shape} and {ys.shape}"
        )
    if not len(xs):
        raise ValueError("peak_stats needs at least one point, got none")
    i_min, i_max = int(np.argmin(ys)), int(np.argmax(ys))
    crossings = _half_way_crossings(xs, ys, (ys[i_max] + ys[i_min]) / 2)
    return PeakStats(
        max=(float(xs[i_max]), float(ys[i_max])),
        min=(float(xs[i_min]), float(ys[i_min])),
        com=_centre_of_mass(xs, ys),
        cen=float(np.mean(crossings)) if crossings else None,
        fwhm=abs(crossings[-1] - crossings[0]) if len(crossings) >= 2 else None,
        crossings=crossings,
        points=len(xs),
    )


def _centre_of_mass(xs: np.ndarray, ys: np.ndarray) -> float:
    """scipy.ndimage.center_of_mass over the index, then the x at that (fractional) index."""
    total = ys.sum()
    if total == 0:
        return float("nan")
    index = float((np.arange(len(ys)) * ys).sum() / total)
    return float(np.interp(index, np.arange(len(xs)), xs))


def _half_way_crossings(xs: np.ndarray, ys: np.ndarray, mid: float) -> tuple[float, ...]:
    """x where the line through neighbouring points crosses ``mid``, in scan order."""
    crossings = []
    for i in np.where(np.diff((ys > mid).astype(int)))[0]:
        dx, dy = xs[i + 1] - xs[i], ys[i + 1] - ys[i]
        crossings.append(float(xs[i] - (ys[i] - mid) * dx / dy))
    return tuple(crossings)

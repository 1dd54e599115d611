"""Position math for the standard plans: pure functions of numbers, no devices, no loop.

Every function returns plain Python floats (JSON-friendly, cheap to compare in tests).
The plans zip these positions with their motors; keeping the math here means it can be
unit-tested exhaustively without a run engine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "fermat_spiral",
    "geomspace",
    "grid_index",
    "inner_product",
    "linspace",
    "outer_product",
    "spiral",
    "square_spiral",
]

GOLDEN_ANGLE = math.radians(137.508)


def linspace(start: float, stop: float, num: int) -> list[float]:
    """`num` equally spaced positions from `start` to `stop`, both included."""
    return [float(x) for x in np.linspace(start, stop, num)]


def geomspace(start: float, stop: float, num: int) -> list[float]:
    """`num` positions from `start` to `stop` with a constant ratio between neighbours.

    Unlike bluesky's ``log_scan`` (which passes start/stop to ``numpy.logspace`` as
    exponents), start and stop are positions. They must be non-zero and of the same sign.
    """
    return [float(x) for x in np.geomspace(start, stop, num)]


def inner_product(axes: Sequence[Sequence[float]]) -> list[tuple[float, ...]]:
    """Move all axes together: point i is ``(axes[0][i], axes[1][i], ...)``.

    All axes must have the same length (checked by the caller, which knows the motors'
    names for the error message).
    """
    return [tuple(float(v) for v in point) for point in zip(*axes, strict=True)]


def grid_index(flat: int, shape: Sequence[int], snaking: Sequence[bool]) -> tuple[int, ...]:
    """Index along each axis of point number `flat` of a grid walked slow axis first.

    A snaking axis reverses direction every time any slower axis advances, so consecutive
    points never jump back across the grid: the motor sweeps forth, then back.
    """
    index = []
    stride = math.prod(shape)
    for size, snake in zip(shape, snaking, strict=True):
        outer = flat // stride  # how many times the slower axes have advanced
        stride //= size
        i = (flat // stride) % size
        if snake and outer % 2 == 1:
            i = size - 1 - i
        index.append(i)
    return tuple(index)


def outer_product(
    axes: Sequence[Sequence[float]], snaking: Sequence[bool] | None = None
) -> list[tuple[float, ...]]:
    """Every combination of the axes' positions, the first axis slowest.

    ``snaking[i]`` makes axis i sweep back and forth; it has no effect on the first
    (slowest) axis, which never repeats.
    """
    shape = [len(a) for a in axes]
    snake = list(snaking) if snaking is not None else [False] * len(axes)
    points = []
    for flat in range(math.prod(shape)):
        index = grid_index(flat, shape, snake)
        points.append(tuple(float(axes[k][i]) for k, i in enumerate(index)))
    return points


def _inside(x: float, y: float, half_x: float, half_y: float, tilt: float) -> bool:
    """Is the point inside the scan area: a rectangle sheared by `tilt` (radians)?"""
    return abs(x + y * math.tan(tilt)) <= half_x and abs(y) <= half_y


def spiral(
    x_center: float,
    y_center: float,
    x_range: float,
    y_range: float,
    dr: float,
    nth: float,
    *,
    dr_y: float | None = None,
    tilt: float = 0.0,
) -> list[tuple[float, float]]:
    """Rings of growing radius around the centre, clipped to an ``x_range`` by ``y_range`` box.

    Ring k (k = 1, 2, ...) has radius ``k * dr`` and ``k * nth`` equally spaced points, so
    the density of points stays roughly uniform. With `dr_y` the rings are ellipses with
    radial step `dr_y` along y. `tilt` shears the box (radians).
    """
    aspect = 1.0 if dr_y is None else dr_y / dr
    half_x, half_y = x_range / 2, y_range / (2 * aspect)
    num_rings = 1 + int(math.hypot(half_x, half_y) / dr)
    points = []
    for ring in range(1, num_rings + 2):
        radius = ring * dr
        count = int(ring * nth)
        for k in range(count):
            angle = 2 * math.pi * k / (ring * nth)
            x, y = radius * math.cos(angle), radius * math.sin(angle)
            if _inside(x, y, half_x, half_y, tilt):
                points.append((x_center + x, y_center + y * aspect))
    return points


def fermat_spiral(
    x_center: float,
    y_center: float,
    x_range: float,
    y_range: float,
    dr: float,
    factor: float,
    *,
    dr_y: float | None = None,
    tilt: float = 0.0,
) -> list[tuple[float, float]]:
    """Points on Fermat's spiral (sunflower pattern), clipped to the scan box.

    Point k sits at radius ``sqrt(k) * dr / factor`` and angle ``k`` times the golden
    angle: the most uniform coverage of a disc for a given number of points.
    """
    aspect = 1.0 if dr_y is None else dr_y / dr
    half_x, half_y = x_range / 2, y_range / (2 * aspect)
    step = dr / factor
    num = int((1.5 * math.hypot(half_x, half_y) / step) ** 2)
    points = []
    for k in range(1, num):
        radius = math.sqrt(k) * step
        x, y = radius * math.cos(GOLDEN_ANGLE * k), radius * math.sin(GOLDEN_ANGLE * k)
        if _inside(x, y, half_x, half_y, tilt):
            points.append((x_center + x, y_center + y * aspect))
    return points


def square_spiral(
    x_center: float, y_center: float, x_range: float, y_range: float, x_num: int, y_num: int
) -> list[tuple[float, float]]:
    """An ``x_num`` by ``y_num`` grid centred on the centre, walked as a square spiral.

    The walk starts at the grid point nearest the centre and winds outwards (+x, -y, -x,
    +y, with legs growing by one every two turns); points outside the grid are
    skipped, so a rectangular grid is covered exactly once. Each axis needs at least two
    points (its spacing is ``range / (num - 1)``); an even count puts the centre between
    two points.
    """
    x_step, y_step = x_range / (x_num - 1), y_range / (y_num - 1)
    i, j = (x_num - 1) // 2, y_num // 2  # the point nearest the centre (as bluesky's)
    directions = ((1, 0), (0, -1), (-1, 0), (0, 1))
    indices = [(i, j)]
    leg, turn = 1, 0
    while len(indices) < x_num * y_num:
        di, dj = directions[turn % 4]
        for _ in range(leg):
            i, j = i + di, j + dj
            if 0 <= i < x_num and 0 <= j < y_num:
                indices.append((i, j))
        turn += 1
        if turn % 2 == 0:
            leg += 1
    return [
        (x_center + x_step * (i - (x_num - 1) / 2), y_center + y_step * (j - (y_num - 1) / 2))
        for i, j in indices
    ]

"""Scans over an area: grids (outer products, optionally snaking) and spirals.

The first motor of a grid is the slowest (outer loop). A snaking axis sweeps forth and
back instead of returning to its start for every line, which saves a long move per line.
The start document records ``shape``, ``extents`` and ``snaking`` for grids (what live
plots need to draw a heat map) and ``extents`` for spirals.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import _trajectories as traj
from ._core import check_trajectory_limits, relative_step_plan, step_plan
from ._metadata import start_metadata
from ._plan import Plan
from ._validate import (
    check_detectors,
    check_movable,
    check_num,
    check_number,
    check_per_step,
    check_unique,
    describe_value,
    name_of,
    split_args,
    split_position_lists,
)
from .errors import PlanArgumentError

__all__ = [
    "grid_scan",
    "list_grid_scan",
    "rel_grid_scan",
    "rel_list_grid_scan",
    "rel_spiral",
    "rel_spiral_fermat",
    "rel_spiral_square",
    "spiral",
    "spiral_fermat",
    "spiral_square",
]

PerStep = Callable[..., Any]
Metadata = Mapping[str, Any] | None


def _snaking(plan: str, motors: list[Any], snake_axes: Any) -> list[bool]:
    """Which axes snake: None/False none, True all but the first, or a list of motors."""
    if snake_axes is None or snake_axes is False:
        return [False] * len(motors)
    if snake_axes is True:
        return [False] + [True] * (len(motors) - 1)
    if isinstance(snake_axes, str | bytes) or not isinstance(snake_axes, Iterable):
        raise PlanArgumentError(
            f"{plan}: snake_axes must be True, False or a list of motors, "
            f"got {describe_value(snake_axes)}"
        )
    axes = list(snake_axes)
    check_unique(plan, axes)
    for axis in axes:
        if not any(axis is m for m in motors):
            raise PlanArgumentError(
                f"{plan}: snake_axes names {describe_value(axis)}, which this grid does not move"
            )
        if axis is motors[0]:
            raise PlanArgumentError(
                f"{plan}: snake_axes contains {name_of(axis)}, the first (slowest) motor, "
                "which never repeats and so cannot snake"
            )
    return [any(m is a for a in axes) for m in motors]


def _grid_md(
    plan: str,
    detectors: list[Any],
    motors: list[Any],
    axes: list[list[Any]],
    snaking: list[bool],
    plan_args: dict[str, Any],
    md: Metadata,
    pattern: str,
) -> dict[str, Any]:
    extents = []
    for axis in axes:
        numeric = all(isinstance(v, numbers.Real) for v in axis)
        extents.append([axis[0], axis[-1]] if numeric else [None, None])
    meta = start_metadata(
        plan,
        detectors=detectors,
        motors=motors,
        num_points=math.prod(len(a) for a in axes),
        plan_args=plan_args,
        md=md,
        shape=[len(a) for a in axes],
        extents=extents,
        snaking=snaking,
        plan_pattern=pattern,
        plan_pattern_module="plans._trajectories",
    )
    meta["hints"].setdefault("gridding", "rectilinear")
    return meta


def _grid(
    plan: str,
    detectors: Any,
    args: tuple[Any, ...],
    snake_axes: Any,
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    motors, axes = [], []
    for i, (motor, start, stop, num) in enumerate(
        split_args(plan, args, 4, "motor, start, stop, num")
    ):
        motors.append(check_movable(plan, motor, what=f"motor {i + 1}"))
        name = name_of(motor)
        axes.append(
            traj.linspace(
                check_number(plan, start, f"start of {name}"),
                check_number(plan, stop, f"stop of {name}"),
                check_num(plan, num, f"num of {name}"),
            )
        )
    check_unique(plan, motors)
    snaking = _snaking(plan, motors, snake_axes)
    per_step = check_per_step(plan, per_step, len(motors))
    points = traj.outer_product(axes, snaking)
    md_args = [x for m, a in zip(motors, axes, strict=True) for x in (m, a[0], a[-1], len(a))]
    meta = _grid_md(
        plan,
        detectors,
        motors,
        axes,
        snaking,
        {"detectors": detectors, "args": md_args, "snake_axes": snake_axes, "per_step": per_step},
        md,
        "outer_product",
    )
    if relative:
        return relative_step_plan(plan, detectors, motors, points, per_step, meta)
    check_trajectory_limits(plan, motors, points)
    return step_plan(detectors, motors, points, per_step, meta)


def grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: Any = None,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Scan a mesh: ``grid_scan([det], m1, s1, e1, n1, m2, s2, e2, n2, snake_axes=True)``.

    `m1` is the slow axis. `snake_axes`: False/None (every line starts at its start),
    True (every axis but the first snakes) or a list of the motors that snake.
    """
    return _grid("grid_scan", detectors, args, snake_axes, per_step, md, relative=False)


def rel_grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: Any = None,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`grid_scan` relative to where the motors are; moves them back after."""
    return _grid("rel_grid_scan", detectors, args, snake_axes, per_step, md, relative=True)


def _list_grid(
    plan: str,
    detectors: Any,
    args: tuple[Any, ...],
    snake_axes: Any,
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    motors, axes = split_position_lists(plan, args)
    snaking = _snaking(plan, motors, snake_axes)
    per_step = check_per_step(plan, per_step, len(motors))
    points = traj.outer_product(axes, snaking) if _all_numeric(axes) else _outer(axes, snaking)
    md_args = [x for m, a in zip(motors, axes, strict=True) for x in (m, a)]
    meta = _grid_md(
        plan,
        detectors,
        motors,
        axes,
        snaking,
        {"detectors": detectors, "args": md_args, "snake_axes": snake_axes, "per_step": per_step},
        md,
        "outer_list_product",
    )
    if relative:
        return relative_step_plan(plan, detectors, motors, points, per_step, meta)
    check_trajectory_limits(plan, motors, points)
    return step_plan(detectors, motors, points, per_step, meta)


def _all_numeric(axes: list[list[Any]]) -> bool:
    return all(isinstance(v, numbers.Real) for axis in axes for v in axis)


def _outer(axes: list[list[Any]], snaking: list[bool]) -> list[tuple[Any, ...]]:
    """Outer product of non-numeric positions (e.g. filter names): same order, raw values."""
    shape = [len(a) for a in axes]
    return [
        tuple(axes[k][i] for k, i in enumerate(traj.grid_index(flat, shape, snaking)))
        for flat in range(math.prod(shape))
    ]


def list_grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: Any = False,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """A mesh over lists of positions: ``list_grid_scan([det], m1, [..], m2, [..])``."""
    return _list_grid("list_grid_scan", detectors, args, snake_axes, per_step, md, False)


def rel_list_grid_scan(
    detectors: Sequence[Any],
    *args: Any,
    snake_axes: Any = False,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`list_grid_scan` relative to where the motors are; moves them back after."""
    return _list_grid("rel_list_grid_scan", detectors, args, snake_axes, per_step, md, True)


def _spiral(
    plan: str,
    detectors: Any,
    x_motor: Any,
    y_motor: Any,
    x_start: Any,
    y_start: Any,
    x_range: Any,
    y_range: Any,
    dr: Any,
    density: tuple[str, Any],
    dr_y: Any,
    tilt: Any,
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    check_movable(plan, x_motor, "x_motor")
    check_movable(plan, y_motor, "y_motor")
    check_unique(plan, [x_motor, y_motor])
    x0, y0 = check_number(plan, x_start, "x_start"), check_number(plan, y_start, "y_start")
    density_name, density_value = density
    values = {}
    for what, value in (
        ("x_range", x_range),
        ("y_range", y_range),
        ("dr", dr),
        (density_name, density_value),
    ):
        values[what] = check_number(plan, value, what)
        if values[what] <= 0:
            raise PlanArgumentError(f"{plan}: {what} must be positive, got {value!r}")
    if dr_y is not None and check_number(plan, dr_y, "dr_y") <= 0:
        raise PlanArgumentError(f"{plan}: dr_y must be positive, got {dr_y!r}")
    tilt = check_number(plan, tilt, "tilt")
    pattern = traj.spiral if density_name == "nth" else traj.fermat_spiral
    xy = pattern(
        x0,
        y0,
        values["x_range"],
        values["y_range"],
        values["dr"],
        values[density_name],
        dr_y=dr_y,
        tilt=tilt,
    )
    if not xy:
        raise PlanArgumentError(
            f"{plan}: no points: the ranges ({x_range!r} x {y_range!r}) are smaller than "
            f"the first ring (dr={dr!r})"
        )
    per_step = check_per_step(plan, per_step, 2)
    pattern_args = {
        "x_motor": x_motor,
        "y_motor": y_motor,
        "x_start": x0,
        "y_start": y0,
        "x_range": x_range,
        "y_range": y_range,
        "dr": dr,
        density_name: density_value,
        "dr_y": dr_y,
        "tilt": tilt,
    }
    return _xy_step_plan(
        plan,
        detectors,
        (x_motor, y_motor),
        xy,
        (x0, y0, x_range, y_range),
        pattern_args,
        per_step,
        md,
        relative,
        plan_pattern=pattern.__name__,
    )


def _xy_step_plan(
    plan: str,
    detectors: list[Any],
    motors: tuple[Any, Any],
    xy: list[tuple[float, float]],
    box: tuple[float, float, float, float],
    pattern_args: dict[str, Any],
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
    **pattern_md: Any,
) -> Plan:
    """A step plan through the (x, y) points of a 2-D pattern centred in `box` (x0, y0,
    x_range, y_range): start metadata, then absolute (limits checked) or relative."""
    x0, y0, x_range, y_range = box
    meta = start_metadata(
        plan,
        detectors=detectors,
        motors=list(motors),
        num_points=len(xy),
        plan_args={"detectors": detectors, **pattern_args, "per_step": per_step},
        md=md,
        extents=[[x0 - x_range / 2, x0 + x_range / 2], [y0 - y_range / 2, y0 + y_range / 2]],
        plan_pattern_module="plans._trajectories",
        plan_pattern_args=pattern_args,
        **pattern_md,
    )
    if relative:
        return relative_step_plan(plan, detectors, list(motors), xy, per_step, meta)
    check_trajectory_limits(plan, list(motors), xy)
    return step_plan(detectors, list(motors), xy, per_step, meta)


def spiral(
    detectors: Sequence[Any],
    x_motor: Any,
    y_motor: Any,
    x_start: float,
    y_start: float,
    x_range: float,
    y_range: float,
    dr: float,
    nth: float,
    *,
    dr_y: float | None = None,
    tilt: float = 0.0,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Rings around (x_start, y_start), `dr` apart, ring k with ``k * nth`` points,
    clipped to an ``x_range`` by ``y_range`` box (`tilt` in radians shears it)."""
    return _spiral(
        "spiral",
        detectors,
        x_motor,
        y_motor,
        x_start,
        y_start,
        x_range,
        y_range,
        dr,
        ("nth", nth),
        dr_y,
        tilt,
        per_step,
        md,
        relative=False,
    )


def rel_spiral(
    detectors: Sequence[Any],
    x_motor: Any,
    y_motor: Any,
    x_range: float,
    y_range: float,
    dr: float,
    nth: float,
    *,
    dr_y: float | None = None,
    tilt: float = 0.0,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`spiral` centred where the motors are; moves them back after."""
    return _spiral(
        "rel_spiral",
        detectors,
        x_motor,
        y_motor,
        0.0,
        0.0,
        x_range,
        y_range,
        dr,
        ("nth", nth),
        dr_y,
        tilt,
        per_step,
        md,
        relative=True,
    )


def spiral_fermat(
    detectors: Sequence[Any],
    x_motor: Any,
    y_motor: Any,
    x_start: float,
    y_start: float,
    x_range: float,
    y_range: float,
    dr: float,
    factor: float,
    *,
    dr_y: float | None = None,
    tilt: float = 0.0,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Fermat's spiral (sunflower pattern) around (x_start, y_start): point k at radius
    ``sqrt(k) * dr / factor``, golden angle apart; the most even coverage per point."""
    return _spiral(
        "spiral_fermat",
        detectors,
        x_motor,
        y_motor,
        x_start,
        y_start,
        x_range,
        y_range,
        dr,
        ("factor", factor),
        dr_y,
        tilt,
        per_step,
        md,
        relative=False,
    )


def rel_spiral_fermat(
    detectors: Sequence[Any],
    x_motor: Any,
    y_motor: Any,
    x_range: float,
    y_range: float,
    dr: float,
    factor: float,
    *,
    dr_y: float | None = None,
    tilt: float = 0.0,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`spiral_fermat` centred where the motors are; moves them back after."""
    return _spiral(
        "rel_spiral_fermat",
        detectors,
        x_motor,
        y_motor,
        0.0,
        0.0,
        x_range,
        y_range,
        dr,
        ("factor", factor),
        dr_y,
        tilt,
        per_step,
        md,
        relative=True,
    )


def _spiral_square(
    plan: str,
    detectors: Any,
    x_motor: Any,
    y_motor: Any,
    x_center: Any,
    y_center: Any,
    x_range: Any,
    y_range: Any,
    x_num: Any,
    y_num: Any,
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    check_movable(plan, x_motor, "x_motor")
    check_movable(plan, y_motor, "y_motor")
    check_unique(plan, [x_motor, y_motor])
    x0, y0 = check_number(plan, x_center, "x_center"), check_number(plan, y_center, "y_center")
    for what, value in (("x_range", x_range), ("y_range", y_range)):
        if check_number(plan, value, what) <= 0:
            raise PlanArgumentError(f"{plan}: {what} must be positive, got {value!r}")
    nx, ny = check_num(plan, x_num, "x_num", minimum=2), check_num(plan, y_num, "y_num", minimum=2)
    xy = traj.square_spiral(x0, y0, float(x_range), float(y_range), nx, ny)
    per_step = check_per_step(plan, per_step, 2)
    pattern_args = {
        "x_motor": x_motor,
        "y_motor": y_motor,
        "x_center": x0,
        "y_center": y0,
        "x_range": x_range,
        "y_range": y_range,
        "x_num": nx,
        "y_num": ny,
    }
    return _xy_step_plan(
        plan,
        detectors,
        (x_motor, y_motor),
        xy,
        (x0, y0, float(x_range), float(y_range)),
        pattern_args,
        per_step,
        md,
        relative,
        shape=[nx, ny],
        plan_pattern="square_spiral",
    )


def spiral_square(
    detectors: Sequence[Any],
    x_motor: Any,
    y_motor: Any,
    x_center: float,
    y_center: float,
    x_range: float,
    y_range: float,
    x_num: int,
    y_num: int,
    *,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """An ``x_num`` by ``y_num`` grid over ``x_range`` by ``y_range``, centred on
    (x_center, y_center), walked as a square spiral from the centre outwards (bluesky's
    point order): the interesting middle first, every grid point once."""
    return _spiral_square(
        "spiral_square",
        detectors,
        x_motor,
        y_motor,
        x_center,
        y_center,
        x_range,
        y_range,
        x_num,
        y_num,
        per_step,
        md,
        relative=False,
    )


def rel_spiral_square(
    detectors: Sequence[Any],
    x_motor: Any,
    y_motor: Any,
    x_range: float,
    y_range: float,
    x_num: int,
    y_num: int,
    *,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`spiral_square` centred where the motors are; moves them back after."""
    return _spiral_square(
        "rel_spiral_square",
        detectors,
        x_motor,
        y_motor,
        0.0,
        0.0,
        x_range,
        y_range,
        x_num,
        y_num,
        per_step,
        md,
        relative=True,
    )

"""count and the 1-d and N-d step scans (motors moving together along one trajectory).

Every plan here is a plain function that checks its arguments and returns the plan (an
async generator): ``scan([det], "m1", 0, 1, 5)`` raises `PlanArgumentError` at once,
before the engine sees anything. Each plan returns the uid of the run it opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import _trajectories as traj
from ._core import check_trajectory_limits, relative_step_plan, step_plan, trajectory_of
from ._metadata import dimensions_of, start_metadata
from ._plan import Plan, named
from ._points import default_counts
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
from .stubs import repeat
from .wrappers import run_wrapper, stage_wrapper

__all__ = [
    "count",
    "list_scan",
    "log_scan",
    "rel_list_scan",
    "rel_log_scan",
    "rel_scan",
    "scan",
    "scan_nd",
    "x2x_scan",
]

PerStep = Callable[..., Any]
Metadata = Mapping[str, Any] | None


def count(
    detectors: Sequence[Any],
    num: int | None = 1,
    delay: float | Iterable[float] = 0.0,
    *,
    per_shot: Callable[[list[Any]], Any] | None = None,
    md: Metadata = None,
) -> Plan:
    """Read the detectors `num` times (forever if None), `delay` seconds apart.

    ``per_shot(detectors)`` replaces the default trigger-and-read of each shot. `delay` is
    a number or one value per gap between shots.
    """
    detectors = check_detectors("count", detectors)
    if num is not None:
        num = check_num("count", num)
    if isinstance(delay, Iterable):
        delay = [check_number("count", d, f"delay[{i}]") for i, d in enumerate(delay)]
        if num is not None and len(delay) < num - 1:
            raise PlanArgumentError(
                f"count: {num} readings need {num - 1} delays, got {len(delay)}"
            )
    elif check_number("count", delay, "delay") < 0:
        raise PlanArgumentError(f"count: delay must not be negative, got {delay!r}")
    if per_shot is not None and not callable(per_shot):
        raise PlanArgumentError(f"count: per_shot must be callable, got {describe_value(per_shot)}")
    md = start_metadata(
        "count",
        detectors=detectors,
        motors=[],
        num_points=num,
        plan_args={"detectors": detectors, "num": num, "delay": delay, "per_shot": per_shot},
        md=md,
        dimensions=[[["time"], "primary"]],
    )
    md.pop("motors")
    if per_shot is None:
        delay_of = _delays(delay)
        body = default_counts(detectors, num, delay_of)
    else:
        body = repeat(lambda: per_shot(list(detectors)), num=num, delay=delay)
    return named(stage_wrapper(run_wrapper(body, md=md), detectors), "count")


def _delays(delay: float | list[float]) -> Callable[[int], float] | None:
    """Delay after shot i, or None when there is none (no clock reads per shot)."""
    if isinstance(delay, list):
        return delay.__getitem__
    return (lambda _i: delay) if delay else None


def _inner_product_md(
    plan: str,
    detectors: list[Any],
    motors: list[Any],
    points: list[Any],
    plan_args: dict[str, Any],
    md: Metadata,
    **extra: Any,
) -> dict[str, Any]:
    """Motors that move together share one dimension (they are one axis of the data)."""
    fields = [f for dim in dimensions_of(motors) for f in dim[0]]
    return start_metadata(
        plan,
        detectors=detectors,
        motors=motors,
        num_points=len(points),
        plan_args=plan_args,
        md=md,
        dimensions=[[fields, "primary"]],
        **extra,
    )


def _scan_args(
    plan: str, args: tuple[Any, ...], num: int | None
) -> tuple[list[Any], list[tuple[float, float]], int]:
    """``motor1, start1, stop1, ..., [num]`` -> motors, (start, stop) pairs, num."""
    if num is None:
        if len(args) % 3 != 1:
            raise PlanArgumentError(
                f"{plan}: expected motor, start, stop for each motor and then num "
                f"(the number of points), got {len(args)} argument(s) after detectors: "
                f"{', '.join(describe_value(a) for a in args)}"
            )
        *args, num = args  # type: ignore[assignment]
    num = check_num(plan, num)
    motors, ranges = [], []
    for i, (motor, start, stop) in enumerate(split_args(plan, args, 3, "motor, start, stop")):
        motors.append(check_movable(plan, motor, what=f"motor {i + 1}"))
        ranges.append(
            (
                check_number(plan, start, f"start of {name_of(motor)}"),
                check_number(plan, stop, f"stop of {name_of(motor)}"),
            )
        )
    check_unique(plan, motors)
    return motors, ranges, num


def _scan(
    plan: str,
    detectors: Any,
    args: tuple[Any, ...],
    num: int | None,
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    motors, ranges, num = _scan_args(plan, args, num)
    per_step = check_per_step(plan, per_step, len(motors))
    points = traj.inner_product([traj.linspace(a, b, num) for a, b in ranges])
    md_args = [x for m, (a, b) in zip(motors, ranges, strict=True) for x in (m, a, b)]
    meta = _inner_product_md(
        plan,
        detectors,
        motors,
        points,
        {"detectors": detectors, "num": num, "args": md_args, "per_step": per_step},
        md,
        plan_pattern="inner_product",
        plan_pattern_module="plans._trajectories",
        plan_pattern_args={"num": num, "args": md_args},
    )
    if relative:
        return relative_step_plan(plan, detectors, motors, points, per_step, meta)
    check_trajectory_limits(plan, motors, points)
    return step_plan(detectors, motors, points, per_step, meta)


def scan(
    detectors: Sequence[Any],
    *args: Any,
    num: int | None = None,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Move one or more motors together in `num` equal steps from start to stop.

    ``scan([det], m1, -1, 1, 11)`` or, with several motors moving together,
    ``scan([det], m1, -1, 1, m2, 0, 4, num=11)``. At each point the motors move
    concurrently, then the detectors (and motors) are read into one event.
    """
    return _scan("scan", detectors, args, num, per_step, md, relative=False)


def rel_scan(
    detectors: Sequence[Any],
    *args: Any,
    num: int | None = None,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`scan` with start and stop relative to where each motor is; moves them back after."""
    return _scan("rel_scan", detectors, args, num, per_step, md, relative=True)


def x2x_scan(
    detectors: Sequence[Any],
    motor1: Any,
    motor2: Any,
    start: float,
    stop: float,
    num: int,
    *,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Relative scan of `motor1` from `start` to `stop` with `motor2` moving half as far
    (``start / 2`` to ``stop / 2``): a theta-2theta (2x:x) scan about where both are.

    bluesky's ``x2x_scan``: `rel_scan` of both motors together; moves them back after.
    """
    plan = "x2x_scan"
    start = check_number(plan, start, "start")
    stop = check_number(plan, stop, "stop")
    args = (motor1, start, stop, motor2, start / 2, stop / 2)
    return _scan(plan, detectors, args, num, per_step, md, relative=True)


def _list_scan(
    plan: str,
    detectors: Any,
    args: tuple[Any, ...],
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    motors, lists = split_position_lists(plan, args)
    lengths = {name_of(m): len(p) for m, p in zip(motors, lists, strict=True)}
    if len(set(lengths.values())) > 1:
        raise PlanArgumentError(
            f"{plan}: motors move together, so their position lists must have the same "
            f"length; got {lengths}"
        )
    per_step = check_per_step(plan, per_step, len(motors))
    points = [tuple(p) for p in zip(*lists, strict=True)]
    md_args = [x for m, p in zip(motors, lists, strict=True) for x in (m, p)]
    meta = _inner_product_md(
        plan,
        detectors,
        motors,
        points,
        {"detectors": detectors, "args": md_args, "per_step": per_step},
        md,
        plan_pattern="inner_list_product",
        plan_pattern_module="plans._trajectories",
        plan_pattern_args={"args": md_args},
    )
    if relative:
        return relative_step_plan(plan, detectors, motors, points, per_step, meta)
    check_trajectory_limits(plan, motors, points)
    return step_plan(detectors, motors, points, per_step, meta)


def list_scan(
    detectors: Sequence[Any], *args: Any, per_step: PerStep | None = None, md: Metadata = None
) -> Plan:
    """Move motors together through lists of positions: ``list_scan([det], m1, [0, 1, 5])``.

    With several motors (``m1, [...], m2, [...]``) the lists must have the same length.
    """
    return _list_scan("list_scan", detectors, args, per_step, md, relative=False)


def rel_list_scan(
    detectors: Sequence[Any], *args: Any, per_step: PerStep | None = None, md: Metadata = None
) -> Plan:
    """`list_scan` with positions relative to where each motor is; moves them back after."""
    return _list_scan("rel_list_scan", detectors, args, per_step, md, relative=True)


def _log_scan(
    plan: str,
    detectors: Any,
    motor: Any,
    start: Any,
    stop: Any,
    num: Any,
    per_step: PerStep | None,
    md: Metadata,
    relative: bool,
) -> Plan:
    detectors = check_detectors(plan, detectors)
    check_movable(plan, motor)
    start = check_number(plan, start, "start")
    stop = check_number(plan, stop, "stop")
    num = check_num(plan, num)
    if start == 0 or stop == 0 or (start > 0) != (stop > 0):
        raise PlanArgumentError(
            f"{plan}: start and stop are positions spaced by a constant ratio, so both must "
            f"be non-zero and of the same sign; got start={start!r}, stop={stop!r}"
        )
    per_step = check_per_step(plan, per_step, 1)
    points = [(p,) for p in traj.geomspace(start, stop, num)]
    meta = start_metadata(
        plan,
        detectors=detectors,
        motors=[motor],
        num_points=num,
        plan_args={
            "detectors": detectors,
            "motor": motor,
            "start": start,
            "stop": stop,
            "num": num,
            "per_step": per_step,
        },
        md=md,
        plan_pattern="geomspace",
        plan_pattern_module="numpy",
        plan_pattern_args={"start": start, "stop": stop, "num": num},
    )
    if relative:
        return relative_step_plan(plan, detectors, [motor], points, per_step, meta)
    check_trajectory_limits(plan, [motor], points)
    return step_plan(detectors, [motor], points, per_step, meta)


def log_scan(
    detectors: Sequence[Any],
    motor: Any,
    start: float,
    stop: float,
    num: int,
    *,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Scan `motor` from `start` to `stop` in `num` steps of constant ratio.

    Dense near the start when ``|start| < |stop|``: useful for times, energies above an
    edge, temperatures. Note: `start` and `stop` are positions (bluesky's ``log_scan``
    takes exponents).
    """
    return _log_scan("log_scan", detectors, motor, start, stop, num, per_step, md, False)


def rel_log_scan(
    detectors: Sequence[Any],
    motor: Any,
    start: float,
    stop: float,
    num: int,
    *,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """`log_scan` of offsets from where the motor is; moves it back after."""
    return _log_scan("rel_log_scan", detectors, motor, start, stop, num, per_step, md, True)


def scan_nd(
    detectors: Sequence[Any],
    trajectory: Any,
    *,
    per_step: PerStep | None = None,
    md: Metadata = None,
) -> Plan:
    """Scan along any trajectory: a list of ``{motor: position}`` dicts, one per point.

    Also accepts ``{motor: [positions]}`` (motors moving together) and, when the
    `cycler` package is installed, a cycler (``cycler(m1, [...]) * cycler(m2, [...])``).
    """
    plan = "scan_nd"
    detectors = check_detectors(plan, detectors)
    motors, points = trajectory_of(plan, trajectory)
    per_step = check_per_step(plan, per_step, len(motors))
    check_trajectory_limits(plan, motors, points)
    meta = start_metadata(
        plan,
        detectors=detectors,
        motors=motors,
        num_points=len(points),
        plan_args={
            "detectors": detectors,
            "trajectory": _trajectory_arg(motors, points),
            "per_step": per_step,
        },
        md=md,
    )
    return step_plan(detectors, motors, points, per_step, meta)


def _trajectory_arg(motors: list[Any], points: list[Any]) -> Any:
    """The trajectory as metadata: ``{motor name: [positions]}`` (short and JSON-safe)."""
    return {name_of(m): [p[k] for p in points] for k, m in enumerate(motors)}

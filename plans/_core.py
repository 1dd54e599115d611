"""The step scan every standard plan reduces to, and its relative form.

A step plan is: stage the devices, open a run, and for each point of a trajectory run
the per-step hook (by default: move the motors concurrently, then trigger and read
detectors and motors into one event); close the run, unstage. It returns the run uid.
"""

from __future__ import annotations

import inspect
import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from acq.msg import Msg

from ._devices import new_group
from ._plan import Plan, named, plan_return
from ._points import default_points
from ._validate import check_limits, check_movable, check_unique, describe_value, name_of
from .errors import PlanArgumentError
from .stubs import position_of
from .wrappers import finalize_wrapper, run_wrapper, stage_wrapper

__all__ = [
    "Point",
    "check_trajectory_limits",
    "relative_plan",
    "relative_step_plan",
    "step_plan",
    "trajectory_of",
]

Point = tuple[Any, ...]
"""The positions of all motors at one step, in the order of the plan's motors."""


def step_plan(
    detectors: Sequence[Any],
    motors: Sequence[Any],
    points: Sequence[Point],
    per_step: Callable[..., Any] | None,
    md: Mapping[str, Any],
) -> Plan:
    """Stage, open a run with `md`, one `per_step` per point, close, unstage."""
    if per_step is None:
        body = default_points(list(detectors), list(motors), list(points))
    else:
        body = _steps(list(detectors), list(motors), list(points), per_step)
    body = named(body, "points")
    plan = stage_wrapper(run_wrapper(body, md=md), [*detectors, *motors])
    return named(plan, str(md.get("plan_name", "step_plan")))


def _takes_motor(per_step: Callable[..., Any]) -> bool:
    """Does a hook have the 1-d signature ``(detectors, motor, step)``?"""
    try:
        params = list(inspect.signature(per_step).parameters)
    except (TypeError, ValueError):
        return False
    return params[:3] == ["detectors", "motor", "step"]


async def _steps(
    detectors: list[Any], motors: list[Any], points: list[Point], per_step: Callable[..., Any]
) -> Plan:
    pos_cache: dict[Any, Any] = defaultdict(lambda: None)
    one_d = _takes_motor(per_step)
    for point in points:
        if one_d:
            yield per_step(detectors, motors[0], point[0])
        else:
            yield per_step(detectors, dict(zip(motors, point, strict=True)), pos_cache)


def check_trajectory_limits(plan: str, motors: Sequence[Any], points: Sequence[Point]) -> None:
    """Every numeric position within its motor's soft limits (if the motor has any)."""
    for k, motor in enumerate(motors):
        check_limits(plan, motor, (p[k] for p in points if isinstance(p[k], numbers.Real)))


def relative_plan(motors: Sequence[Any], build: Callable[[list[Any]], Plan]) -> Plan:
    """Read where `motors` are, run ``build(origin)``, and move them back afterwards.

    `build` gets the starting positions (in the order of `motors`) and returns the
    absolute plan; it may raise (a soft-limit error, say) before anything has moved. The
    motors return to `origin` after success, failure, stop or abort.
    """
    return _relative(list(motors), build)


async def _relative(motors: list[Any], build: Callable[[list[Any]], Plan]) -> Plan:
    origin = []
    for motor in motors:
        origin.append((yield position_of(motor)))
    absolute = build(origin)
    result = yield finalize_wrapper(absolute, lambda: _move_back(motors, origin))
    yield plan_return(result)


def relative_step_plan(
    plan: str,
    detectors: Sequence[Any],
    motors: Sequence[Any],
    offsets: Sequence[Point],
    per_step: Callable[..., Any] | None,
    md: Mapping[str, Any],
) -> Plan:
    """`step_plan` around where the motors are when it starts; moves them back after.

    The absolute trajectory is checked against the motors' soft limits once their
    positions are known, so a bad range fails before the run opens.
    """

    def build(origin: list[Any]) -> Plan:
        points = [tuple(o + d for o, d in zip(origin, offset, strict=True)) for offset in offsets]
        check_trajectory_limits(plan, motors, points)
        return step_plan(detectors, motors, points, per_step, md)

    return named(relative_plan(motors, build), plan)


async def _move_back(motors: list[Any], origin: list[Any]) -> Plan:
    group = new_group("move-back")
    for motor, position in zip(motors, origin, strict=True):
        yield Msg("set", motor, position, group=group)
    yield Msg("wait", None, group=group)


def trajectory_of(plan: str, trajectory: Any) -> tuple[list[Any], list[Point]]:
    """Motors and points of a scan_nd trajectory.

    Accepts a list of ``{motor: position}`` dicts (one per step, same motors in each), a
    dict ``{motor: [positions]}`` (all motors move together), or a cycler.
    """
    if isinstance(trajectory, Mapping):
        motors = list(trajectory)
        columns = [list(trajectory[m]) for m in motors]
        lengths = {name_of(m): len(c) for m, c in zip(motors, columns, strict=True)}
        if len(set(lengths.values())) > 1:
            raise PlanArgumentError(f"{plan}: position lists differ in length: {lengths}")
        steps: list[Mapping[Any, Any]] = [
            dict(zip(motors, p, strict=True)) for p in zip(*columns, strict=True)
        ]
    elif isinstance(trajectory, Iterable) and not isinstance(trajectory, str | bytes):
        steps = list(trajectory)
    else:
        raise PlanArgumentError(
            f"{plan}: trajectory must be a list of {{motor: position}} dicts, a dict of "
            f"position lists or a cycler, got {describe_value(trajectory)}"
        )
    if not steps:
        raise PlanArgumentError(f"{plan}: the trajectory has no points")
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise PlanArgumentError(
                f"{plan}: step {i} of the trajectory is {describe_value(step)}, "
                "not a {motor: position} dict"
            )
    motors = list(steps[0])
    for motor in motors:
        check_movable(plan, motor)
    check_unique(plan, motors)
    ids = {id(m) for m in motors}
    points = []
    for i, step in enumerate(steps):
        if {id(m) for m in step} != ids or len(step) != len(motors):
            raise PlanArgumentError(
                f"{plan}: step {i} moves {sorted(map(name_of, step))}, but step 0 moves "
                f"{sorted(map(name_of, motors))}; every step must give every motor"
            )
        points.append(tuple(step[m] for m in motors))
    return motors, points

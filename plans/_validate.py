"""Argument checks shared by the plans. They run when a plan function is *called*.

A plan is an async generator, whose body runs only when the engine iterates it: a check
written inside it would fire after the run had opened. So every plan function is an
ordinary function that calls these checks and only then returns the generator. Each check
raises `PlanArgumentError` naming the plan, the argument and what it got.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, SupportsInt, cast

from acq.protocols import Movable, Readable

from .errors import PlanArgumentError, SoftLimitError

__all__ = [
    "DOCUMENT_NAMES",
    "EXIT_STATUSES",
    "check_detectors",
    "check_flag",
    "check_group",
    "check_limits",
    "check_movable",
    "check_name",
    "check_num",
    "check_number",
    "check_position",
    "check_readable",
    "check_seconds",
    "check_suspender",
    "check_unique",
    "check_verb",
    "describe_value",
    "motor_limits",
    "name_of",
    "split_args",
    "split_position_lists",
]


# what a subscription may name (the engine's document types, or all of them)
DOCUMENT_NAMES = frozenset(
    {"all", "start", "descriptor", "event", "event_page", "resource", "datum"}
    | {"stream_resource", "stream_datum", "stop"}
)
EXIT_STATUSES = (None, "success", "abort", "fail")


def name_of(obj: Any) -> str:
    """The name a device goes by in documents and messages (its ``name``, else its repr)."""
    name = getattr(obj, "name", None)
    return name if isinstance(name, str) else repr(obj)


def describe_value(obj: Any) -> str:
    """``'m1' (SimMotor)`` or ``'not a motor' (str)``: how errors show what the user passed."""
    name = getattr(obj, "name", None)
    shown = repr(name) if isinstance(name, str) else repr(obj)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} ({type(obj).__name__})"


def check_detectors(plan: str, detectors: Any) -> list[Readable]:
    """A list (or tuple) of readable devices; a bare device gets a hint to wrap it."""
    if isinstance(detectors, Readable):
        raise PlanArgumentError(
            f"{plan}: detectors must be a list of readable devices, got the single device "
            f"{describe_value(detectors)}; write [{name_of(detectors)}]"
        )
    if isinstance(detectors, str | bytes) or not isinstance(detectors, Iterable):
        raise PlanArgumentError(
            f"{plan}: detectors must be a list of readable devices, got {describe_value(detectors)}"
        )
    result = list(detectors)
    for i, det in enumerate(result):
        if not isinstance(det, Readable):
            raise PlanArgumentError(
                f"{plan}: detectors[{i}] is {describe_value(det)}, which is not readable "
                "(a detector needs name, read() and describe())"
            )
    return result


def check_movable(plan: str, obj: Any, what: str = "motor") -> Movable:
    """Something the plan can ``set``: a motor, a temperature controller, a soft signal."""
    if not isinstance(obj, Movable):
        raise PlanArgumentError(
            f"{plan}: {what} is {describe_value(obj)}, which is not movable "
            "(a motor needs a set() method)"
        )
    return obj


def check_readable(plan: str, obj: Any, what: str = "device") -> Readable:
    """Something the plan can ``read``: a detector, a motor, a signal."""
    if not isinstance(obj, Readable):
        raise PlanArgumentError(
            f"{plan}: {what} is {describe_value(obj)}, which is not readable "
            "(a device needs name, read() and describe())"
        )
    return obj


def check_verb(plan: str, obj: Any, method: str, what: str = "device") -> Any:
    """An object with the method the engine will call on it (``obj.stop()``, ...)."""
    if not callable(getattr(obj, method, None)):
        raise PlanArgumentError(
            f"{plan}: {what} is {describe_value(obj)}, which has no {method}() method"
        )
    return obj


def check_position(plan: str, motor: Any, value: Any, what: str, relative: bool) -> None:
    """A target for ``motor.set``: never None, a device or NaN; a number for a relative
    move or for a motor with soft limits (then also within them, for an absolute move).

    Other values pass, because a signal may take text (``mv(shutter, "Open")``).
    """
    if value is None or isinstance(value, Readable | Movable):
        raise PlanArgumentError(
            f"{plan}: {what} should be a position for {name_of(motor)}, got {describe_value(value)}"
        )
    limits = motor_limits(motor)
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if is_number or relative or limits is not None:
        label = (
            f"{what} (the offset of {name_of(motor)})" if relative else f"{what} ({name_of(motor)})"
        )
        check_number(plan, value, label)
        if not relative and limits is not None and not limits[0] <= value <= limits[1]:
            raise SoftLimitError(name_of(motor), value, *limits, where=plan)


def check_seconds(plan: str, value: Any, what: str) -> float:
    """A duration: a finite number of seconds, not negative."""
    seconds = check_number(plan, value, f"{what} (seconds)")
    if seconds < 0:
        raise PlanArgumentError(f"{plan}: {what} must be 0 s or more, got {value!r}")
    return seconds


def check_group(plan: str, group: Any) -> None:
    """A group name: None or a hashable label such as a string (not a number of seconds)."""
    if group is None:
        return
    if isinstance(group, numbers.Number):
        raise PlanArgumentError(
            f"{plan}: group must be a name such as 'moves' (or None), got the number "
            f"{group!r}; to wait for some seconds use sleep({group!r})"
        )
    if not isinstance(group, Hashable):
        raise PlanArgumentError(
            f"{plan}: group must be a name such as 'moves' (or None), got {describe_value(group)}"
        )


def check_flag(plan: str, value: Any, what: str) -> bool:
    """A True/False option."""
    if not isinstance(value, bool):
        raise PlanArgumentError(f"{plan}: {what} must be True or False, got {value!r}")
    return value


def check_name(plan: str, value: Any, what: str) -> str:
    """A non-empty name (of a stream, ...)."""
    if not isinstance(value, str) or not value:
        raise PlanArgumentError(
            f"{plan}: {what} must be a non-empty string, got {describe_value(value)}"
        )
    return value


def check_suspender(plan: str, suspender: Any) -> None:
    """Something the engine can install: it has ``install(on_trip)`` and ``remove()``."""
    if not (
        callable(getattr(suspender, "install", None))
        and callable(getattr(suspender, "remove", None))
    ):
        raise PlanArgumentError(
            f"{plan}: {describe_value(suspender)} is not a suspender (it needs install() and "
            "remove(); see acq.suspenders, e.g. SuspendFloor)"
        )


def check_number(plan: str, value: Any, what: str) -> float:
    """A finite real number (int, float or numpy scalar; not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PlanArgumentError(f"{plan}: {what} must be a number, got {describe_value(value)}")
    if not math.isfinite(value):
        raise PlanArgumentError(f"{plan}: {what} must be finite, got {value!r}")
    return float(value)


def check_num(plan: str, num: Any, what: str = "num", minimum: int = 1) -> int:
    """A whole number of points, at least `minimum`."""
    if isinstance(num, bool) or not isinstance(num, numbers.Real):
        raise PlanArgumentError(
            f"{plan}: {what} must be a whole number of points, got {describe_value(num)}"
        )
    if not float(num).is_integer():
        raise PlanArgumentError(f"{plan}: {what} must be a whole number, got {num!r}")
    if num < minimum:
        raise PlanArgumentError(f"{plan}: {what} must be at least {minimum}, got {num!r}")
    return int(cast("SupportsInt", num))  # typeshed's Real has no __int__


def split_args(plan: str, args: Sequence[Any], size: int, pattern: str) -> list[tuple[Any, ...]]:
    """Cut ``motor1, a1, b1, motor2, a2, b2, ...`` into groups of `size`.

    `pattern` shows one group in the error, e.g. ``"motor, start, stop"``.
    """
    if not args:
        raise PlanArgumentError(f"{plan}: no motors given; expected {pattern}, ...")
    if len(args) % size:
        raise PlanArgumentError(
            f"{plan}: expected the arguments after detectors in groups of {size} "
            f"({pattern}, ...), got {len(args)}: {', '.join(describe_value(a) for a in args)}"
        )
    return [tuple(args[i : i + size]) for i in range(0, len(args), size)]


def split_position_lists(plan: str, args: Sequence[Any]) -> tuple[list[Any], list[list[Any]]]:
    """``motor1, [positions], motor2, [positions]`` -> motors, position lists (non-empty)."""
    motors, lists = [], []
    for i, (motor, positions) in enumerate(split_args(plan, args, 2, "motor, [positions]")):
        motors.append(check_movable(plan, motor, what=f"motor {i + 1}"))
        if isinstance(positions, str | bytes) or not isinstance(positions, Iterable):
            raise PlanArgumentError(
                f"{plan}: the positions of {name_of(motor)} must be a list, "
                f"got {describe_value(positions)}"
            )
        positions = list(positions)
        if not positions:
            raise PlanArgumentError(f"{plan}: the position list of {name_of(motor)} is empty")
        lists.append(positions)
    check_unique(plan, motors)
    return motors, lists


def check_unique(plan: str, motors: Sequence[Any]) -> None:
    """The same motor twice in one plan is almost always a typo in a script."""
    seen: list[Any] = []
    for motor in motors:
        if any(motor is other for other in seen):
            raise PlanArgumentError(f"{plan}: motor {name_of(motor)!r} is given more than once")
        seen.append(motor)


def motor_limits(obj: Any) -> tuple[float, float] | None:
    """The soft limits a device exposes as ``limits = (low, high)``, if any.

    ``(0, 0)`` means "no limits" (the EPICS motor record's convention), as does a missing
    or unreadable attribute.
    """
    try:
        limits = obj.limits
    except Exception:  # a property that needs a connection: no limits known
        return None
    if callable(limits) or limits is None:
        return None
    try:
        low, high = (float(v) for v in limits)
    except (TypeError, ValueError):
        return None
    if low == high == 0 or not (math.isfinite(low) or math.isfinite(high)):
        return None
    return (min(low, high), max(low, high))


def check_limits(plan: str, motor: Any, positions: Iterable[float]) -> None:
    """Refuse a trajectory that leaves the motor's soft limits, naming the first bad point."""
    limits = motor_limits(motor)
    if limits is None:
        return
    low, high = limits
    for i, position in enumerate(positions):
        if not low <= position <= high:
            raise SoftLimitError(name_of(motor), position, low, high, where=f"{plan}, point {i}")


def check_per_step(
    plan: str, per_step: Callable[..., Any] | None, num_motors: int
) -> Callable[..., Any] | None:
    """A per-step hook has bluesky's N-d signature ``(detectors, step, pos_cache)``.

    The 1-d form ``(detectors, motor, step)`` is accepted when exactly one motor moves;
    the plan adapts it. Returns the hook unchanged (or None).
    """
    if per_step is None:
        return None
    if not callable(per_step):
        raise PlanArgumentError(
            f"{plan}: per_step must be a callable returning a plan, got {describe_value(per_step)}"
        )
    try:
        params = list(inspect.signature(per_step).parameters)
    except (TypeError, ValueError):
        return per_step  # a builtin or C callable: trust it
    if params[:3] == ["detectors", "step", "pos_cache"]:
        return per_step
    if params[:3] == ["detectors", "motor", "step"]:
        if num_motors != 1:
            raise PlanArgumentError(
                f"{plan}: per_step {per_step.__name__}(detectors, motor, step) moves one motor,"
                f" but this plan moves {num_motors}; use (detectors, step, pos_cache)"
            )
        return per_step
    raise PlanArgumentError(
        f"{plan}: per_step must take (detectors, step, pos_cache) or, for one motor, "
        f"(detectors, motor, step); {getattr(per_step, '__name__', per_step)!s} takes "
        f"({', '.join(params)})"
    )

"""One step of a scan: the default per-step and per-shot plans, and `repeat`.

Re-exported by `plans.stubs`; the standard plans use precomputed messages for their
default steps instead (see `plans._points`), with the same messages as these.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from acq.msg import Msg
from acq.protocols import Triggerable

from ._devices import new_group, unique
from ._plan import Plan, is_plan, named, plan_return
from ._validate import check_detectors, check_movable, check_name, describe_value
from .errors import PlanArgumentError

__all__ = [
    "TakeReading",
    "move_per_step",
    "one_1d_step",
    "one_nd_step",
    "one_shot",
    "repeat",
    "trigger_and_read",
]


def trigger_and_read(devices: Sequence[Any], name: str = "primary") -> Plan:
    """Trigger the triggerable devices, wait, and read all of them into one event.

    Returns the readings of all devices merged into one dict. If a read fails, the
    half-filled event is dropped and the error raised.
    """
    devices = check_detectors("trigger_and_read", devices)
    check_name("trigger_and_read", name, "stream name")
    return named(_trigger_and_read(unique(devices), name), "trigger_and_read")


async def _trigger_and_read(devices: list[Any], name: str) -> Plan:
    if not devices:
        yield Msg("null")
        yield plan_return({})
        return
    group = None
    for obj in devices:
        if isinstance(obj, Triggerable):
            group = group or new_group("trigger")
            yield Msg("trigger", obj, group=group)
    if group is not None:
        yield Msg("wait", None, group=group)
    yield Msg("create", None, name=name)
    readings: dict[str, Any] = {}
    try:
        for obj in devices:
            reading = yield Msg("read", obj)
            if reading:
                readings.update(reading)
    except Exception:
        yield Msg("drop")
        raise
    yield Msg("save")
    yield plan_return(readings)


TakeReading = Callable[..., Plan]


def _check_take_reading(plan: str, take_reading: Any) -> None:
    if take_reading is not None and not callable(take_reading):
        raise PlanArgumentError(
            f"{plan}: take_reading must be a function returning a plan (like "
            f"trigger_and_read), got {describe_value(take_reading)}"
        )


def _check_step(plan: str, step: Any, pos_cache: Any) -> None:
    if not isinstance(step, Mapping):
        raise PlanArgumentError(
            f"{plan}: step must map each motor to its position ({{m1: 0.5}}), "
            f"got {describe_value(step)}"
        )
    for i, motor in enumerate(step):
        check_movable(plan, motor, what=f"step motor {i + 1}")
    if not isinstance(pos_cache, dict):
        raise PlanArgumentError(
            f"{plan}: pos_cache must be the dict the plan passes in, "
            f"got {describe_value(pos_cache)}"
        )


def one_shot(detectors: Sequence[Any], take_reading: TakeReading | None = None) -> Plan:
    """One point of `count`: a checkpoint, then trigger and read the detectors."""
    detectors = check_detectors("one_shot", detectors)
    _check_take_reading("one_shot", take_reading)
    return named(_one_shot(detectors, take_reading), "one_shot")


async def _one_shot(detectors: Sequence[Any], take_reading: TakeReading | None) -> Plan:
    yield Msg("checkpoint")
    yield (take_reading or trigger_and_read)(list(detectors))


def move_per_step(step: Mapping[Any, Any], pos_cache: dict[Any, Any]) -> Plan:
    """Move the motors of one step concurrently (skipping any already there), then wait."""
    _check_step("move_per_step", step, pos_cache)
    return named(_move_per_step(step, pos_cache), "move_per_step")


async def _move_per_step(step: Mapping[Any, Any], pos_cache: dict[Any, Any]) -> Plan:
    yield Msg("checkpoint")
    group = new_group("step")
    for motor, position in step.items():
        if pos_cache.get(motor) == position:
            continue
        yield Msg("set", motor, position, group=group)
        pos_cache[motor] = position
    yield Msg("wait", None, group=group)


def one_nd_step(
    detectors: Sequence[Any],
    step: Mapping[Any, Any],
    pos_cache: dict[Any, Any],
    take_reading: TakeReading | None = None,
) -> Plan:
    """One point of an N-d scan (the default ``per_step``): move, then trigger and read.

    Returns the readings. Reads the motors too, so their positions are in the event.
    """
    detectors = check_detectors("one_nd_step", detectors)
    _check_step("one_nd_step", step, pos_cache)
    _check_take_reading("one_nd_step", take_reading)
    return named(_one_nd_step(detectors, step, pos_cache, take_reading), "one_nd_step")


async def _one_nd_step(
    detectors: Sequence[Any],
    step: Mapping[Any, Any],
    pos_cache: dict[Any, Any],
    take_reading: TakeReading | None,
) -> Plan:
    yield _move_per_step(step, pos_cache)
    readings = yield (take_reading or trigger_and_read)([*detectors, *step])
    yield plan_return(readings)


def one_1d_step(
    detectors: Sequence[Any], motor: Any, step: Any, take_reading: TakeReading | None = None
) -> Plan:
    """One point of a 1-d scan: move `motor` to `step`, then trigger and read."""
    detectors = check_detectors("one_1d_step", detectors)
    check_movable("one_1d_step", motor)
    _check_take_reading("one_1d_step", take_reading)
    return named(_one_1d_step(detectors, motor, step, take_reading), "one_1d_step")


async def _one_1d_step(
    detectors: Sequence[Any], motor: Any, step: Any, take_reading: TakeReading | None
) -> Plan:
    group = new_group("step")
    yield Msg("checkpoint")
    yield Msg("set", motor, step, group=group)
    yield Msg("wait", None, group=group)
    readings = yield (take_reading or trigger_and_read)([*detectors, motor])
    yield plan_return(readings)


def repeat(
    plan: Callable[[], Any], num: int | None = 1, delay: float | Iterable[float] = 0.0
) -> Plan:
    """Run ``plan()`` `num` times (forever if None) with a checkpoint before each.

    `delay` is the time from the start of one repetition to the start of the next (a
    number, or one per gap); a repetition that takes longer is followed without pause.
    """
    if not callable(plan):
        raise PlanArgumentError(
            f"repeat: plan must be a callable that returns a plan (e.g. "
            f"lambda: trigger_and_read([det])), got {describe_value(plan)}"
        )
    if num is not None and (isinstance(num, bool) or not isinstance(num, int) or num < 0):
        raise PlanArgumentError(f"repeat: num must be a whole number >= 0 or None, got {num!r}")
    if isinstance(delay, Iterable):
        delays = list(delay)
        if num is not None and len(delays) < num - 1:
            raise PlanArgumentError(f"repeat: num={num} needs {num - 1} delays, got {len(delays)}")
        delay_of: Callable[[int], float] = delays.__getitem__
    else:
        delay_of = lambda _i: float(delay)  # noqa: E731
    return named(_repeat(plan, num, delay_of), "repeat")


async def _repeat(
    plan: Callable[[], Any], num: int | None, delay_of: Callable[[int], float]
) -> Plan:
    counter = range(num) if num is not None else itertools.count()
    for i in counter:
        started = time.monotonic()
        yield Msg("checkpoint")
        sub = plan()
        if is_plan(sub):
            yield sub
        else:  # a list of messages, bluesky style
            for msg in sub:
                yield msg
        if num is not None and i == num - 1:
            break
        remaining = delay_of(i) - (time.monotonic() - started)
        if remaining > 0:
            yield Msg("sleep", None, remaining)

"""Plans that choose their next point from what they just measured.

`adaptive_scan` takes small steps where the signal changes fast and large ones where it
is flat. `tune_centroid` scans, computes the centroid of the signal, narrows the range
around it and repeats until the step is small, then leaves the motor at the centroid.
Both return the run uid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acq.msg import Msg

from ._core import relative_plan
from ._devices import main_field, unique
from ._metadata import start_metadata
from ._plan import Plan, named
from ._validate import (
    check_detectors,
    check_limits,
    check_movable,
    check_num,
    check_number,
)
from .errors import PlanArgumentError, PlanError
from .stubs import mv, trigger_and_read
from .wrappers import run_wrapper, stage_wrapper

__all__ = ["adaptive_scan", "rel_adaptive_scan", "tune_centroid"]

Metadata = Mapping[str, Any] | None


def _value(plan: str, readings: Mapping[str, Any], field: str) -> float:
    try:
        return float(readings[field]["value"])
    except KeyError:
        raise PlanError(
            f"{plan}: no field {field!r} among the readings; fields read: "
            f"{', '.join(sorted(readings))}"
        ) from None


def _adaptive_args(
    plan: str,
    detectors: Any,
    target_field: Any,
    motor: Any,
    start: Any,
    stop: Any,
    min_step: Any,
    max_step: Any,
    target_delta: Any,
    threshold: Any,
) -> dict[str, Any]:
    detectors = check_detectors(plan, detectors)
    check_movable(plan, motor)
    if not isinstance(target_field, str):
        raise PlanArgumentError(
            f"{plan}: target_field must be a data key (a string), got {target_field!r}"
        )
    args = {
        name: check_number(plan, value, name)
        for name, value in (
            ("start", start),
            ("stop", stop),
            ("min_step", min_step),
            ("max_step", max_step),
            ("target_delta", target_delta),
            ("threshold", threshold),
        )
    }
    if not 0 < args["min_step"] < args["max_step"]:
        raise PlanArgumentError(
            f"{plan}: need 0 < min_step < max_step, got min_step={min_step!r}, "
            f"max_step={max_step!r}"
        )
    if args["target_delta"] <= 0:
        raise PlanArgumentError(f"{plan}: target_delta must be positive, got {target_delta!r}")
    return {"detectors": detectors, **args}


def adaptive_scan(
    detectors: Sequence[Any],
    target_field: str,
    motor: Any,
    start: float,
    stop: float,
    min_step: float,
    max_step: float,
    target_delta: float,
    backstep: bool,
    threshold: float = 0.8,
    *,
    md: Metadata = None,
) -> Plan:
    """Scan `motor` from `start` towards `stop`, with steps that follow the signal.

    After each point the next step is ``target_delta / |slope|`` of `target_field`
    (clipped to [min_step, max_step], smoothed): steep regions get dense points, flat
    ones sparse. With `backstep`, a step that overshot (the new step is below
    ``threshold`` times the last) is retaken from the previous point.
    """
    plan = "adaptive_scan"
    a = _adaptive_args(
        plan,
        detectors,
        target_field,
        motor,
        start,
        stop,
        min_step,
        max_step,
        target_delta,
        threshold,
    )
    check_limits(plan, motor, [a["start"], a["stop"]])
    meta = start_metadata(
        plan,
        detectors=a["detectors"],
        motors=[motor],
        num_points=None,
        plan_args={**a, "target_field": target_field, "motor": motor, "backstep": backstep},
        md=md,
    )
    body = _adaptive(
        a["detectors"],
        target_field,
        motor,
        a["start"],
        a["stop"],
        a["min_step"],
        a["max_step"],
        a["target_delta"],
        bool(backstep),
        a["threshold"],
    )
    return named(stage_wrapper(run_wrapper(body, md=meta), [*a["detectors"], motor]), plan)


async def _adaptive(
    detectors: list[Any],
    field: str,
    motor: Any,
    start: float,
    stop: float,
    min_step: float,
    max_step: float,
    target_delta: float,
    backstep: bool,
    threshold: float,
) -> Plan:
    devices = unique([*detectors, motor])
    direction = 1.0 if stop >= start else -1.0
    position, step = start, (max_step - min_step) / 2
    past: float | None = None
    while position * direction < stop * direction:
        yield Msg("checkpoint")
        yield mv(motor, position)
        readings = yield trigger_and_read(devices)
        current = _value("adaptive_scan", readings, field)
        if past is None:
            past = current
            position += step * direction
            continue
        slope = abs(current - past) / step
        new_step = (
            min(max(target_delta / slope, min_step), max_step)
            if slope
            else min(step * 1.1, max_step)
        )
        if backstep and new_step < step * threshold:
            position -= step * direction  # overshot: retake this step, shorter
            step = new_step
        else:
            past = current
            step = 0.2 * new_step + 0.8 * step
        position += step * direction


def rel_adaptive_scan(
    detectors: Sequence[Any],
    target_field: str,
    motor: Any,
    start: float,
    stop: float,
    min_step: float,
    max_step: float,
    target_delta: float,
    backstep: bool,
    threshold: float = 0.8,
    *,
    md: Metadata = None,
) -> Plan:
    """`adaptive_scan` relative to where the motor is; moves it back after."""
    plan = "rel_adaptive_scan"
    a = _adaptive_args(
        plan,
        detectors,
        target_field,
        motor,
        start,
        stop,
        min_step,
        max_step,
        target_delta,
        threshold,
    )
    meta = start_metadata(
        plan,
        detectors=a["detectors"],
        motors=[motor],
        num_points=None,
        plan_args={**a, "target_field": target_field, "motor": motor, "backstep": backstep},
        md=md,
    )

    def build(origin: list[float]) -> Plan:
        first, last = origin[0] + a["start"], origin[0] + a["stop"]
        check_limits(plan, motor, [first, last])
        body = _adaptive(
            a["detectors"],
            target_field,
            motor,
            first,
            last,
            a["min_step"],
            a["max_step"],
            a["target_delta"],
            bool(backstep),
            a["threshold"],
        )
        return stage_wrapper(run_wrapper(body, md=meta), [*a["detectors"], motor])

    return named(relative_plan([motor], build), plan)


def tune_centroid(
    detectors: Sequence[Any],
    signal: str,
    motor: Any,
    start: float,
    stop: float,
    min_step: float,
    num: int = 10,
    step_factor: float = 3.0,
    snake: bool = False,
    *,
    md: Metadata = None,
) -> Plan:
    """Find the centroid of `signal` versus `motor` and leave the motor there.

    Scans `num` points from `start` to `stop`, computes the centroid
    ``sum(x * I) / sum(I)``, then rescans a range `step_factor` times narrower centred on
    it (clipped to the original range), until the step is below `min_step`. With `snake`
    every other pass runs backwards (fine for motors without backlash). If the signal is
    zero over a whole pass, the plan ends without moving to a centroid.
    """
    plan = "tune_centroid"
    detectors = check_detectors(plan, detectors)
    check_movable(plan, motor)
    if not isinstance(signal, str):
        raise PlanArgumentError(f"{plan}: signal must be a data key (a string), got {signal!r}")
    start = check_number(plan, start, "start")
    stop = check_number(plan, stop, "stop")
    min_step = check_number(plan, min_step, "min_step")
    num = check_num(plan, num, minimum=2)
    step_factor = check_number(plan, step_factor, "step_factor")
    if min_step <= 0:
        raise PlanArgumentError(f"{plan}: min_step must be positive, got {min_step!r}")
    if step_factor <= 1:
        raise PlanArgumentError(f"{plan}: step_factor must be greater than 1, got {step_factor!r}")
    if start == stop:
        raise PlanArgumentError(f"{plan}: start and stop are both {start!r}; give a range")
    check_limits(plan, motor, [start, stop])
    meta = start_metadata(
        plan,
        detectors=detectors,
        motors=[motor],
        num_points=None,
        plan_args={
            "detectors": detectors,
            "signal": signal,
            "motor": motor,
            "start": start,
            "stop": stop,
            "min_step": min_step,
            "num": num,
            "step_factor": step_factor,
            "snake": snake,
        },
        md=md,
    )
    body = _tune(detectors, signal, motor, start, stop, min_step, num, step_factor, snake)
    return named(stage_wrapper(run_wrapper(body, md=meta), [*detectors, motor]), plan)


async def _tune(
    detectors: list[Any],
    signal: str,
    motor: Any,
    start: float,
    stop: float,
    min_step: float,
    num: int,
    step_factor: float,
    snake: bool,
) -> Plan:
    devices = unique([*detectors, motor])
    low, high = min(start, stop), max(start, stop)
    centroid: float | None = None
    passes = 0
    while abs(stop - start) / (num - 1) >= min_step:
        sum_i = sum_xi = 0.0
        for k in range(num):
            position = start + (stop - start) * k / (num - 1)
            yield Msg("checkpoint")
            yield mv(motor, position)
            readings = yield trigger_and_read(devices)
            intensity = _value("tune_centroid", readings, signal)
            x = _value("tune_centroid", readings, main_field(motor, readings))
            sum_i += intensity
            sum_xi += x * intensity
        if sum_i == 0:
            return
        centroid = sum_xi / sum_i
        half = abs(stop - start) / step_factor / 2
        start, stop = max(low, centroid - half), min(high, centroid + half)
        passes += 1
        if snake and passes % 2 == 1:
            start, stop = stop, start
    if centroid is not None:
        yield mv(motor, centroid)

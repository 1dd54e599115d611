"""tweak: step a motor by hand, one reading per step, asking the user each time.

``await RE(tweak(det, "det", m1, 0.1))`` reads the detector, shows motor position, the
reading and the step, and asks (``Msg('input')``, answered by ``RE.input_function``):
Enter moves by the step, a number sets a new step and moves by it, anything else ends.
Every reading is an Event of one run, so the session is recorded like any scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acq.msg import Msg

from ._devices import main_field, new_group
from ._metadata import start_metadata
from ._plan import Plan, named, plan_return
from ._validate import check_movable, check_name, check_number, check_readable
from .errors import PlanArgumentError
from .wrappers import run_wrapper, stage_wrapper

__all__ = ["tweak"]

PROMPT = (
    "{motor} = {position:.6g}, {field} = {value:.6g}, step {step:g} "
    "(Enter: step, number: new step, q: quit) "
)


def tweak(
    detector: Any,
    target_field: str,
    motor: Any,
    step: float,
    *,
    md: Mapping[str, Any] | None = None,
) -> Plan:
    """Move `motor` by `step` each time the user presses Enter, reading `detector` at
    every position (field `target_field`) into one run; returns the run uid."""
    plan = "tweak"
    check_readable(plan, detector, "detector")
    check_name(plan, target_field, "target_field")
    check_movable(plan, motor)
    step = check_number(plan, step, "step")
    if step == 0:
        raise PlanArgumentError("tweak: step must not be 0 (the motor would never move)")
    meta = start_metadata(
        plan,
        detectors=[detector],
        motors=[motor],
        num_points=None,
        plan_args={
            "detector": detector,
            "target_field": target_field,
            "motor": motor,
            "step": step,
        },
        md=md,
    )
    body = named(_tweak(detector, target_field, motor, step), "tweak_steps")
    return named(stage_wrapper(run_wrapper(body, md=meta), [detector, motor]), plan)


async def _tweak(detector: Any, field: str, motor: Any, step: float) -> Plan:
    while True:
        yield Msg("create", name="primary")
        position_reading = yield Msg("read", motor)
        group = new_group("tweak")
        yield Msg("trigger", detector, group=group)
        yield Msg("wait", None, group=group)
        reading = yield Msg("read", detector)
        yield Msg("save")
        position = position_reading[main_field(motor, position_reading)]["value"]
        if field not in reading:
            raise PlanArgumentError(
                f"tweak: {detector.name} has no field {field!r}; it gives {sorted(reading)}"
            )
        prompt = PROMPT.format(
            motor=motor.name,
            position=position,
            field=field,
            value=reading[field]["value"],
            step=step,
        )
        answer = (yield Msg("input", prompt=prompt)) or ""
        if answer.strip():
            try:
                step = float(answer)
            except ValueError:
                break
        yield Msg("set", motor, position + step, group=group)
        yield Msg("wait", None, group=group)
    yield plan_return(None)

"""ramp_plan: take data while something ramps (a temperature, a magnet, a slow motor).

``go_plan`` starts the ramp and returns its status; while the status is not done the
inner plan runs again and again (at most once per `period`), with `monitor_sig`
monitored into its own stream the whole time. Like bluesky's ``ramp_plan``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from acq.msg import Msg

from ._plan import Plan, is_plan, named, plan_return
from ._validate import check_readable, check_seconds, describe_value
from .errors import PlanArgumentError, PlanError
from .wrappers import monitor_during_wrapper, run_wrapper

__all__ = ["RampFail", "ramp_plan"]


class RampFail(PlanError):
    """The ramp did not finish within the ramp plan's timeout."""


def ramp_plan(
    go_plan: Any,
    monitor_sig: Any,
    inner_plan_func: Callable[[], Any],
    take_pre_data: bool = True,
    timeout: float | None = None,
    period: float | None = None,
    md: Mapping[str, Any] | None = None,
) -> Plan:
    """Run ``go_plan`` (it returns the ramp's status), then ``inner_plan_func()`` until the
    status is done, plus one point before (`take_pre_data`) and one after; returns the
    run uid. Raises `RampFail` if the ramp takes longer than `timeout` seconds."""
    plan = "ramp_plan"
    if not is_plan(go_plan):
        raise PlanArgumentError(
            f"ramp_plan: go_plan must be a plan (e.g. abs_set(temp, 300)), got "
            f"{describe_value(go_plan)}"
        )
    check_readable(plan, monitor_sig, "monitor_sig")
    if not callable(inner_plan_func):
        raise PlanArgumentError(
            f"ramp_plan: inner_plan_func must be a function returning a plan, got "
            f"{describe_value(inner_plan_func)}"
        )
    if timeout is not None:
        timeout = check_seconds(plan, timeout, "timeout")
    if period is not None:
        period = check_seconds(plan, period, "period")
    body = named(
        _ramp(go_plan, inner_plan_func, bool(take_pre_data), timeout, period), "ramp_steps"
    )
    meta = {"plan_name": plan, **(md or {})}
    return named(monitor_during_wrapper(run_wrapper(body, md=meta), [monitor_sig]), plan)


def _done(status: Any) -> bool:
    done = getattr(status, "done", True)
    return bool(done()) if callable(done) else bool(done)


async def _ramp(
    go_plan: Any,
    inner: Callable[[], Any],
    take_pre_data: bool,
    timeout: float | None,
    period: float | None,
) -> Plan:
    deadline = None if timeout is None else time.monotonic() + timeout
    if take_pre_data:
        yield inner()
    status = yield go_plan
    while not _done(status):
        started = time.monotonic()
        yield inner()
        if deadline is not None and time.monotonic() > deadline:
            raise RampFail(f"ramp_plan: the ramp was not done after {timeout:g} s")
        if period is not None:
            left = started + period - time.monotonic()
            if left > 0:
                yield Msg("sleep", None, left)
    yield inner()
    yield plan_return(None)

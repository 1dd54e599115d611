"""The nested scan every diffraction beamline writes: theta/two-theta at each temperature.

This is the documented example of plans composing (see
docs/how-to/nested-temperature-scan.md): the outer plan moves the temperature controller
and yields an ordinary `scan` at each temperature. The engine runs each inner scan inline,
so each is its own run, carrying the temperature in its metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from acq.msg import Msg

from . import _trajectories as traj
from ._core import check_trajectory_limits
from ._devices import unique
from ._metadata import start_metadata
from ._plan import Plan, named, plan_return
from ._validate import (
    check_detectors,
    check_limits,
    check_movable,
    check_num,
    check_number,
    check_unique,
    describe_value,
)
from .errors import PlanArgumentError
from .scans import scan
from .stubs import mv, sleep, trigger_and_read
from .wrappers import run_wrapper, stage_wrapper

__all__ = ["temperature_theta_2theta_scan"]


def temperature_theta_2theta_scan(
    detectors: Sequence[Any],
    temperature: Any,
    temperatures: Iterable[float],
    theta: Any,
    two_theta: Any,
    start: float,
    stop: float,
    num: int,
    *,
    settle_time: float = 0.0,
    one_run: bool = False,
    md: Mapping[str, Any] | None = None,
) -> Plan:
    """At each temperature, a theta/two-theta scan: theta `start`..`stop`, two-theta twice that.

    `temperature` is a movable controller (done when within its tolerance); after each
    move the plan waits `settle_time` seconds. By default each theta/two-theta scan is its
    own run with ``temperature`` (the setpoint) in its start document, and the plan returns
    the list of run uids. With ``one_run=True`` it is one run with one stream per
    temperature (``temperature_0``, ``temperature_1``, ...; the start document maps them
    to temperatures under ``temperature_streams``) and the plan returns that run's uid.
    The controller is read with the detectors, so each event has the measured temperature.
    """
    plan = "temperature_theta_2theta_scan"
    detectors = check_detectors(plan, detectors)
    for what, motor in (("temperature", temperature), ("theta", theta), ("two_theta", two_theta)):
        check_movable(plan, motor, what)
    check_unique(plan, [temperature, theta, two_theta])
    if isinstance(temperatures, str | bytes) or not isinstance(temperatures, Iterable):
        raise PlanArgumentError(
            f"{plan}: temperatures must be a list of numbers, got {describe_value(temperatures)}"
        )
    temps = [check_number(plan, t, f"temperatures[{i}]") for i, t in enumerate(temperatures)]
    if not temps:
        raise PlanArgumentError(f"{plan}: temperatures is empty")
    check_limits(plan, temperature, temps)
    settle = check_number(plan, settle_time, "settle_time")
    readers = unique([*detectors, temperature])
    if one_run:
        return _one_run(
            plan, readers, temperature, temps, theta, two_theta, start, stop, num, settle, md
        )
    scans = [
        scan(
            readers,
            theta,
            start,
            stop,
            two_theta,
            2 * start,
            2 * stop,
            num=num,
            md={**(md or {}), "temperature": t},
        )
        for t in temps
    ]
    return named(_run_per_temperature(temperature, temps, scans, settle), plan)


async def _run_per_temperature(
    temperature: Any, temps: list[float], scans: list[Plan], settle: float
) -> Plan:
    uids = []
    for t, theta_scan in zip(temps, scans, strict=True):
        yield mv(temperature, t)
        if settle:
            yield sleep(settle)
        uids.append((yield theta_scan))
    yield plan_return(uids)


def _one_run(
    plan: str,
    readers: list[Any],
    temperature: Any,
    temps: list[float],
    theta: Any,
    two_theta: Any,
    start: Any,
    stop: Any,
    num: Any,
    settle: float,
    md: Mapping[str, Any] | None,
) -> Plan:
    start = check_number(plan, start, "start")
    stop = check_number(plan, stop, "stop")
    num = check_num(plan, num)
    points = [(th, 2 * th) for th in traj.linspace(start, stop, num)]
    check_trajectory_limits(plan, [theta, two_theta], points)
    streams = {f"temperature_{i}": t for i, t in enumerate(temps)}
    meta = start_metadata(
        plan,
        detectors=readers,
        motors=[theta, two_theta],
        num_points=num * len(temps),
        plan_args={
            "detectors": readers,
            "temperature": temperature,
            "temperatures": temps,
            "theta": theta,
            "two_theta": two_theta,
            "start": start,
            "stop": stop,
            "num": num,
            "settle_time": settle,
            "one_run": True,
        },
        md=md,
        temperature_streams=streams,
        dimensions=[[[f for f in _field_names(theta)], name] for name in streams],
    )
    body = _streams(readers, temperature, streams, theta, two_theta, points, settle)
    return named(stage_wrapper(run_wrapper(body, md=meta), [*readers, theta, two_theta]), plan)


def _field_names(motor: Any) -> list[str]:
    fields = list(getattr(motor, "hints", {}).get("fields", ()))
    return fields or [motor.name]


async def _streams(
    readers: list[Any],
    temperature: Any,
    streams: dict[str, float],
    theta: Any,
    two_theta: Any,
    points: list[tuple[float, float]],
    settle: float,
) -> Plan:
    for stream, t in streams.items():
        yield mv(temperature, t)
        if settle:
            yield sleep(settle)
        for th, tth in points:
            yield Msg("checkpoint")
            yield mv(theta, th, two_theta, tth)
            yield trigger_and_read([*readers, theta, two_theta], name=stream)

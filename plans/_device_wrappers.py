"""Wrappers that add device work around a plan: flyers during each run, staging on first
use, one count time for every detector, and `SupplementalData` (bluesky's preprocessor:
baseline readings, monitors and flyers for every plan an engine runs).

Exported from `plans.wrappers`. Built on `plan_mutator`, so they see every message of
the plan, bluesky's plans included.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from acq.msg import Msg

from ._compose import check_collectable
from ._devices import new_group, unique
from ._mutate import bracket_runs, plan_mutator
from ._plan import Plan, named, plan_return
from ._validate import check_number, check_verb, describe_value, name_of
from .stubs import position_of
from .wrappers import (
    _check_plan,
    _decorator,
    _finalize,
    baseline_wrapper,
    monitor_during_wrapper,
)

__all__ = [
    "SupplementalData",
    "configure_count_time_decorator",
    "configure_count_time_wrapper",
    "fly_during_decorator",
    "fly_during_wrapper",
    "lazily_stage_decorator",
    "lazily_stage_wrapper",
]


def fly_during_wrapper(plan: Plan, flyers: Iterable[Any]) -> Plan:
    """Kick off `flyers` just after each run opens; complete and collect them (each into
    a stream named after it) just before it closes (bluesky's ``fly_during_wrapper``)."""
    _check_plan("fly_during_wrapper", plan)
    flyers = unique(flyers)
    for flyer in flyers:
        for verb in ("kickoff", "complete"):
            check_verb("fly_during_wrapper", flyer, verb, "flyer")
        check_collectable("fly_during_wrapper", flyer, "flyer")
    if not flyers:
        return plan

    async def after_open(msg: Msg) -> Plan:
        uid = yield msg
        group = new_group("flyers-kickoff")
        for flyer in flyers:
            yield Msg("kickoff", flyer, group=group, run=msg.run)
        yield Msg("wait", None, group=group, run=msg.run)
        yield plan_return(uid)

    async def before_close(msg: Msg) -> Plan:
        group = new_group("flyers-complete")
        for flyer in flyers:
            yield Msg("complete", flyer, group=group, run=msg.run)
        yield Msg("wait", None, group=group, run=msg.run)
        for flyer in flyers:  # each into its own stream, named after it
            yield Msg("collect", flyer, name=name_of(flyer), run=msg.run)
        result = yield msg
        yield plan_return(result)

    return named(bracket_runs(plan, after_open, before_close), "fly_during_wrapper")


fly_during_decorator = _decorator(fly_during_wrapper)

_USES = frozenset(("read", "set", "trigger", "kickoff"))


def lazily_stage_wrapper(plan: Plan) -> Plan:
    """Stage each device the first time the plan reads, sets, triggers or kicks it off;
    unstage them all (last staged first) when the plan ends, whatever happens."""
    _check_plan("lazily_stage_wrapper", plan)
    staged: list[Any] = []

    async def stage_then(msg: Msg) -> Plan:
        root = _root(msg.obj)
        if not any(s is root for s in staged):
            yield Msg("stage", root)
            staged.append(root)
        reply = yield msg
        yield plan_return(reply)

    def proc(msg: Msg) -> tuple[Plan | None, Plan | None]:
        obj = msg.obj
        if msg.command in _USES and obj is not None and not any(s is obj for s in staged):
            if hasattr(_root(obj), "stage"):
                return stage_then(msg), None
        return None, None

    async def unstage_all() -> Plan:
        for obj in reversed(staged):
            yield Msg("unstage", obj)

    return named(_finalize(plan_mutator(plan, proc), unstage_all), "lazily_stage_wrapper")


lazily_stage_decorator = _decorator(lazily_stage_wrapper)


def _root(obj: Any) -> Any:
    """The top of a device tree: staging a part stages the whole device (bluesky's rule)."""
    while getattr(obj, "parent", None) is not None:
        obj = obj.parent
    return obj


def configure_count_time_wrapper(plan: Plan, time: float | None) -> Plan:
    """Set the ``count_time`` of every device the plan uses to `time` before its first use,
    and put each one back when the plan ends (None: the plan unchanged)."""
    _check_plan("configure_count_time_wrapper", plan)
    if time is None:
        return plan
    seconds = check_number("configure_count_time_wrapper", time, "time")
    seen: set[int] = set()
    original: list[tuple[Any, Any]] = []

    async def set_count_time_then(msg: Msg) -> Plan:
        signal = msg.obj.count_time
        before = yield position_of(signal)
        original.append((signal, before))
        group = new_group("count-time")
        yield Msg("set", signal, seconds, group=group)
        yield Msg("wait", None, group=group)
        reply = yield msg
        yield plan_return(reply)

    def proc(msg: Msg) -> tuple[Plan | None, Plan | None]:
        obj = msg.obj
        if obj is None or id(obj) in seen:
            return None, None
        seen.add(id(obj))
        if hasattr(obj, "count_time") and not isinstance(obj, type):
            return set_count_time_then(msg), None
        return None, None

    async def reset() -> Plan:
        if not original:
            return
        group = new_group("count-time-reset")
        for signal, value in original:
            yield Msg("set", signal, value, group=group)
        yield Msg("wait", None, group=group)

    return named(_finalize(plan_mutator(plan, proc), reset), "configure_count_time_wrapper")


configure_count_time_decorator = _decorator(configure_count_time_wrapper)


class SupplementalData:
    """Baseline readings, monitors and flyers added to every plan (bluesky's preprocessor).

        sd = SupplementalData(baseline=[ring_current, slits])
        RE.preprocessors.append(sd)
        await RE(scan([det], m1, -1, 1, 11))   # also a 'baseline' stream, at start and end

    ``sd(plan)`` wraps one plan: monitors (`monitor_during_wrapper`), then flyers
    (`fly_during_wrapper`), then the baseline (`baseline_wrapper`). The lists may be
    changed between plans. Works with acq plans and with bluesky's.
    """

    #: the engine may hand it async plans as they are (see ``RunEngine.preprocessors``)
    accepts_async_plans = True

    def __init__(
        self,
        *,
        baseline: Iterable[Any] = (),
        monitors: Iterable[Any] = (),
        flyers: Iterable[Any] = (),
    ) -> None:
        self.baseline = list(baseline)
        self.monitors = list(monitors)
        self.flyers = list(flyers)

    def __call__(self, plan: Plan) -> Plan:
        plan = monitor_during_wrapper(plan, self.monitors)
        plan = fly_during_wrapper(plan, self.flyers)
        return baseline_wrapper(plan, self.baseline)

    def __repr__(self) -> str:
        def names(devices: list[Any]) -> str:
            return "[" + ", ".join(describe_value(d) for d in devices) + "]"

        return (
            f"SupplementalData(baseline={names(self.baseline)}, "
            f"monitors={names(self.monitors)}, flyers={names(self.flyers)})"
        )

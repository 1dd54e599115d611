"""Stubs that compose other plans or send one command to many devices (bluesky's
``repeater``, ``pchain``, ``broadcast_msg``, ``kickoff_all``, ``complete_all``,
``collect_while_completing``). Exported from `plans.stubs`.

Each checks its arguments when called, like every stub, and returns what bluesky's
returns: the sub-plans' results, or the statuses of the operations started.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from acq.msg import Msg

from ._devices import new_group
from ._plan import Plan, is_plan, named, plan_return
from ._validate import (
    check_flag,
    check_group,
    check_name,
    check_seconds,
    check_verb,
    describe_value,
)
from .errors import PlanArgumentError

__all__ = [
    "broadcast_msg",
    "collect_while_completing",
    "complete_all",
    "kickoff_all",
    "pchain",
    "repeater",
]


def check_collectable(plan: str, obj: Any, what: str) -> None:
    """Something ``Msg('collect')`` can collect from: pages, asset documents or events."""
    methods = ("collect_pages", "collect_asset_docs", "collect")
    if not any(callable(getattr(obj, m, None)) for m in methods):
        raise PlanArgumentError(
            f"{plan}: {what} is {describe_value(obj)}, which cannot be collected from "
            f"(it has none of {', '.join(m + '()' for m in methods)})"
        )


def repeater(n: int | None, plan_function: Callable[..., Any], *args: Any, **kwargs: Any) -> Plan:
    """Run ``plan_function(*args, **kwargs)`` `n` times (forever if None), one after another.

    Returns the results, in order (a forever repeater ends only by stop or abort).
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise PlanArgumentError(f"repeater: n must be a whole number >= 0 or None, got {n!r}")
    if not callable(plan_function):
        raise PlanArgumentError(
            f"repeater: expected a plan function (called anew each time), got {plan_function!r}"
        )
    return named(_repeater(n, plan_function, args, kwargs), "repeater")


async def _repeater(
    n: int | None, plan_function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict
) -> Plan:
    results = []
    for _ in range(n) if n is not None else itertools.count():
        results.append((yield plan_function(*args, **kwargs)))
    yield plan_return(results)


def pchain(*plans: Any) -> Plan:
    """Run `plans` one after another; returns their results, in order."""
    for i, plan in enumerate(plans):
        if not is_plan(plan):
            hint = " (call it: pass count([det]), not count)" if callable(plan) else ""
            raise PlanArgumentError(f"pchain: argument {i} is {plan!r}, not a plan{hint}")
    return named(_pchain(plans), "pchain")


async def _pchain(plans: tuple[Any, ...]) -> Plan:
    results = []
    for plan in plans:
        results.append((yield plan))
    yield plan_return(results)


def broadcast_msg(command: str, objs: Sequence[Any], *args: Any, **kwargs: Any) -> Plan:
    """``Msg(command, obj, *args, **kwargs)`` for each of `objs`; returns the replies."""
    check_name("broadcast_msg", command, "command")
    return named(_broadcast(command, list(objs), args, kwargs), "broadcast_msg")


async def _broadcast(command: str, objs: list[Any], args: tuple[Any, ...], kwargs: dict) -> Plan:
    replies = []
    for obj in objs:
        replies.append((yield Msg(command, obj, *args, **kwargs)))
    yield plan_return(replies)


def kickoff_all(
    *flyers: Any, group: Hashable | None = None, wait: bool = True, **kwargs: Any
) -> Plan:
    """Kick off every flyer in one group and (by default) wait until all have started.

    Returns their statuses.
    """
    return _all("kickoff_all", "kickoff", flyers, group, wait, kwargs)


def complete_all(
    *flyers: Any, group: Hashable | None = None, wait: bool = False, **kwargs: Any
) -> Plan:
    """Tell every flyer to complete, in one group; with ``wait=True`` wait for all.

    Returns their statuses.
    """
    return _all("complete_all", "complete", flyers, group, wait, kwargs)


def _all(
    stub: str,
    command: str,
    flyers: tuple[Any, ...],
    group: Hashable | None,
    wait: bool,
    kwargs: dict[str, Any],
) -> Plan:
    if not flyers:
        raise PlanArgumentError(f"{stub}: give at least one flyer")
    for flyer in flyers:
        check_verb(stub, flyer, command, "flyer")
    check_group(stub, group)
    check_flag(stub, wait, "wait")
    return named(_start_all(command, flyers, group, wait, kwargs), stub)


async def _start_all(
    command: str, flyers: tuple[Any, ...], group: Hashable | None, wait: bool, kwargs: dict
) -> Plan:
    group = group if group is not None else new_group(command)
    statuses = []
    for flyer in flyers:
        statuses.append((yield Msg(command, flyer, group=group, **kwargs)))
    if wait:
        yield Msg("wait", None, group=group)
    yield plan_return(tuple(statuses))


def collect_while_completing(
    flyers: Sequence[Any],
    dets: Sequence[Any],
    flush_period: float | None = None,
    stream_name: str | None = None,
) -> Plan:
    """Complete `flyers` and, until they are done, collect `dets` every `flush_period` s
    (as bluesky's: collect, then wait up to `flush_period` for the flyers, and again)."""
    flyers, dets = list(flyers), list(dets)
    if not flyers:
        raise PlanArgumentError("collect_while_completing: give at least one flyer")
    for flyer in flyers:
        check_verb("collect_while_completing", flyer, "complete", "flyer")
    for det in dets:
        check_collectable("collect_while_completing", det, "detector")
    if flush_period is not None:
        check_seconds("collect_while_completing", flush_period, "flush_period")
    if stream_name is not None:
        check_name("collect_while_completing", stream_name, "stream name")
    return named(
        _collect_while_completing(flyers, dets, flush_period, stream_name),
        "collect_while_completing",
    )


async def _collect_while_completing(
    flyers: list[Any], dets: list[Any], flush_period: float | None, stream_name: str | None
) -> Plan:
    group = new_group("complete")
    for flyer in flyers:
        yield Msg("complete", flyer, group=group)
    done = False
    while not done:
        if dets:
            yield Msg("collect", *dets, name=stream_name)
        done = yield Msg("wait", None, group=group, timeout=flush_period, error_on_timeout=False)

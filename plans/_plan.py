"""What a plan is, for the plans package, and the one engine helper plans use.

A plan is an async generator that yields `Msg`s or sub-plans and is sent each one's
result. An async generator cannot ``return value``, so a sub-plan ends with
``yield plan_return(value)`` (exported by `acq`); the engine sends that value to the
parent plan as the result of its ``yield sub_plan``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, TypeAlias

from acq import plan_return
from acq.msg import Msg

__all__ = [
    "Plan",
    "PlanFactory",
    "as_async",
    "is_plan",
    "is_return",
    "named",
    "plan_return",
]

Plan: TypeAlias = AsyncGenerator[Any, Any]
"""An async generator yielding `Msg`s (or sub-plans); it is sent each command's result."""

PlanFactory: TypeAlias = Callable[..., Plan]

_RETURN = plan_return(None).command


def is_return(item: Any) -> bool:
    """Is `item` the marker a plan yields to return a value?"""
    return isinstance(item, Msg) and item.command == _RETURN


def named(plan: Plan, name: str) -> Plan:
    """Give a plan the name the engine shows in its plan stack (``scan``, not ``_stage``)."""
    plan.__name__ = plan.__qualname__ = name  # type: ignore[attr-defined]
    return plan


def is_plan(item: Any) -> bool:
    """A sub-plan: an async generator or (bluesky style) a plain generator."""
    return inspect.isasyncgen(item) or inspect.isgenerator(item)


async def as_async(plan: Generator[Any, Any, Any]) -> Plan:
    """Drive a plain generator plan from an async one, passing its return value on."""
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                item = plan.throw(error) if error is not None else plan.send(reply)
            except StopIteration as stop:
                yield plan_return(stop.value)
                return
            error = None
            try:
                reply = yield item
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = exc
    finally:
        plan.close()

"""What a plan is, for the plans package, and the one engine helper plans use.

A plan is an async generator that yields `Msg`s or sub-plans and is sent each one's
result. An async generator cannot ``return value``, so a sub-plan ends with
``yield plan_return(value)`` (exported by `acq`); the engine sends that value to the
parent plan as the result of its ``yield sub_plan``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeAlias

from acq import plan_return
from acq.msg import Msg
from acq.plan_stack import is_plan

__all__ = [
    "Plan",
    "PlanFactory",
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

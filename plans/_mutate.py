"""Rewriting the messages of a running plan: the machinery under the wrappers.

An async generator cannot ``yield from`` another, so a wrapper that must see every
message of a plan drives the plan itself: it pulls each item, passes the (possibly
changed) item up to the engine, and sends the engine's reply back down. Errors raised at
the wrapper's yield are thrown into the plan, so the plan's own ``try/finally`` runs.

Sub-plans the wrapped plan yields are wrapped the same way, recursively, and handed to
the engine as sub-plans: messages deep inside ``bps.mv`` are rewritten too, and the
engine still sends each sub-plan's result back to its caller. The return marker
(``plan_return(value)``) passes through untouched, so the wrapper returns what the plan
returns.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from acq.msg import Msg

from ._plan import Plan, as_async, is_return, plan_return

__all__ = ["MsgProc", "ensure_async", "msg_mutator", "plan_mutator"]

MsgProc = Callable[[Msg], tuple[Plan | None, Plan | None]]
"""``proc(msg) -> (head, tail)``.

`head` replaces the message: a plan whose result is sent to the wrapped plan as the
message's reply (it usually yields the message itself, or a changed copy). `tail` runs
after the message. Either may be None. Neither is passed through `proc` again.
"""


def ensure_async(plan: Any) -> Plan:
    """An async generator plan, adapting a plain generator (bluesky-style sub-plan)."""
    if inspect.isasyncgen(plan):
        return plan
    if inspect.isgenerator(plan):
        return as_async(plan)
    raise TypeError(f"expected a plan (an async generator), got {type(plan).__name__}")


async def plan_mutator(plan: Any, proc: MsgProc) -> Plan:
    """`plan` with each of its messages (at any depth) replaced or followed per `proc`."""
    inner = ensure_async(plan)
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                item = await (inner.athrow(error) if error is not None else inner.asend(reply))
            except StopAsyncIteration:
                return
            error = None
            tail = None
            if isinstance(item, Msg) and not is_return(item):
                head, tail = proc(item)
                out: Any = item if head is None else head
            elif inspect.isasyncgen(item) or inspect.isgenerator(item):
                out = plan_mutator(item, proc)
            else:
                out = item
            try:
                reply = yield out
                if tail is not None:
                    yield tail
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = exc
    finally:
        await inner.aclose()


def msg_mutator(plan: Any, fn: Callable[[Msg], Msg | None]) -> Plan:
    """`plan` with each message replaced by ``fn(msg)``; None drops it (reply None)."""

    def proc(msg: Msg) -> tuple[Plan | None, Plan | None]:
        new = fn(msg)
        if new is msg:
            return None, None
        return _single(new), None

    return plan_mutator(plan, proc)


async def _single(msg: Msg | None) -> Plan:
    if msg is None:
        return
    reply = yield msg
    yield plan_return(reply)

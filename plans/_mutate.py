"""Rewriting the messages of a running plan: the machinery under the wrappers.

An async generator cannot ``yield from`` another, so a wrapper that must see every
message of a plan drives the plan itself, with the engine's own interpreter
(`acq.plan_stack.PlanStack`): sub-plans at any depth, plain generators composed with
``yield from``, bluesky's ``Msg`` and return values are handled exactly as the engine
handles them, and every message arrives here as an acq `Msg`. So ``relative_set_wrapper``
around a bluesky plan moves relatively, and messages deep inside ``bps.mv`` are rewritten
too. The wrapper passes each (possibly changed) message up to the engine and sends the
engine's reply back down; errors raised at the wrapper's yield are thrown into the plan
(at the generator that yielded the message), so the plan's own ``try/finally`` runs. When
the plan ends, the wrapper returns what it returned.

Sub-plans are run inside the wrapper, so the engine's plan stack (shown in error notes)
names the wrapper, not the sub-plans under it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from acq.msg import Msg
from acq.plan_stack import PlanDone, PlanStack

from ._plan import Plan, plan_return

__all__ = ["MsgProc", "bracket_runs", "msg_mutator", "plan_mutator"]

log = logging.getLogger("plans")

MsgProc = Callable[[Msg], tuple[Plan | None, Plan | None]]
"""``proc(msg) -> (head, tail)``.

`head` replaces the message: a plan whose result is sent to the wrapped plan as the
message's reply (it usually yields the message itself, or a changed copy). `tail` runs
after the message. Either may be None. Neither is passed through `proc` again.
"""


async def plan_mutator(plan: Any, proc: MsgProc) -> Plan:
    """`plan` with each of its messages (at any depth) replaced or followed per `proc`."""
    stack = PlanStack(plan)
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                msg = await (stack.send(reply) if error is None else stack.throw(error))
            except PlanDone as done:
                yield plan_return(done.value)
                return
            error = None
            head, tail = proc(msg)
            try:
                reply = yield (msg if head is None else head)
                if tail is not None:
                    yield tail
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = exc
    finally:
        for failure in await stack.close():
            log.error("closing a wrapped plan failed: %r", failure, exc_info=failure)


def bracket_runs(
    plan: Any,
    after_open: Callable[[Msg], Plan],
    before_close: Callable[[Msg], Plan],
    closes: Callable[[Msg], bool] = lambda msg: True,
) -> Plan:
    """`plan` with each ``open_run`` replaced by ``after_open(msg)`` and each
    ``close_run`` for which `closes` says yes by ``before_close(msg)``: plans that yield
    the message themselves (before or after their own) and return its reply."""

    def proc(msg: Msg) -> tuple[Plan | None, Plan | None]:
        if msg.command == "open_run":
            return after_open(msg), None
        if msg.command == "close_run" and closes(msg):
            return before_close(msg), None
        return None, None

    return plan_mutator(plan, proc)


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

"""The plan interpreter: the one place that walks a plan and the sub-plans it yields.

Everything that runs a plan goes through `PlanStack` (or `drive_plan`, built on it): the
engine, ``plans.dry_run``, the wrappers' message rewriting (``plans.wrappers.plan_mutator``)
and the suspenders' pre/post plans. So they all see the same messages: acq's `Msg`, whatever
a plan yields.

A plan is an async generator (or a plain generator) that yields `Msg` objects and
sub-plans. A yielded sub-plan runs inline, on top of the stack; what it returns is sent
back to the parent at the ``yield``::

    async def trigger_and_read(dets):
        ...
        readings = {}
        for det in dets:
            readings.update((yield Msg("read", det)))
        yield Msg("save")
        yield plan_return(readings)          # the sub-plan's result

    async def my_plan():
        readings = yield trigger_and_read([det])   # runs inline, returns `readings`

**Returning a value.** An async generator cannot ``return value`` (Python forbids it), so
an async sub-plan ends with ``yield plan_return(value)``. The engine records the value
and sends ``None`` back; the generator should end right there, like a ``return``
(anything it yields afterwards still runs, so ``finally`` blocks can yield cleanup
messages). A plain generator can ``return value`` as usual. A plan that never returns a
value returns ``None``.

**What a plan may yield, and what the interpreter hands out.** Only acq `Msg` objects
leave the stack. A yielded item is normalised once, here:

- an acq `Msg`: handed out as it is (the hot path: one type check);
- bluesky's ``Msg`` (a namedtuple with the same five fields, ``command, obj, args,
  kwargs, run``), or any 5-tuple starting with a command name: converted to an acq `Msg`;
- a generator, an async generator or a generator-like object (bluesky 1.15 wraps its
  stubs in ``bluesky.utils.Plan``): a sub-plan, run inline on top of the stack;
- ``plan_return(value)``: recorded as the frame's result, never handed out.

`as_sync_plan` turns any plan into a plain generator (`SyncPlanView`) for code that drives
plans with ``send()``, as bluesky's preprocessors do; `ensure_plan` makes a list of
messages a plan.

bluesky plans are plain generators composed with ``yield from``: the whole composition is
one frame here, and ``return value`` works as in Python. See
docs/decisions/0009-one-plan-interpreter.md.
"""

from __future__ import annotations

import collections.abc
import logging
import types
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any, TypeAlias

import anyio

from .errors import AcqError, PlanInterrupt
from .msg import Msg

__all__ = [
    "RETURN",
    "Plan",
    "PlanAwaited",
    "PlanDone",
    "PlanStack",
    "SyncPlanView",
    "as_msg",
    "as_sync_plan",
    "drive_plan",
    "ensure_plan",
    "is_plan",
    "plan_name",
    "plan_return",
]

log = logging.getLogger("acq.engine")

RETURN = "return"

Plan: TypeAlias = AsyncGenerator[Any, Any] | Generator[Any, Any, Any]

_PLAN_TYPES = (types.AsyncGeneratorType, types.GeneratorType)


def plan_return(value: Any = None) -> Msg:
    """The last thing an async sub-plan yields: ``yield plan_return(value)``.

    The engine sends `value` to the parent plan as the result of its ``yield sub_plan``
    (and returns it as ``RunResult.plan_result`` for the top-level plan).
    """
    return Msg(RETURN, value)


def is_plan(obj: object) -> bool:
    """A generator, an async generator, or a generator-like object (bluesky's ``Plan``)."""
    return isinstance(obj, _PLAN_TYPES) or isinstance(obj, collections.abc.Generator)


def _frame(obj: Any) -> Frame:
    """A stack frame for a plan. bluesky 1.15 wraps its stubs in ``bluesky.utils.Plan`` (a
    generator-like object that warns when never iterated); iterating it gives a generator.
    A `SyncPlanView` nobody has driven yet gives way to its plan (which may await)."""
    if isinstance(obj, _PLAN_TYPES):
        return Frame(obj)
    if isinstance(obj, SyncPlanView) and not obj.started:
        obj.started = True
        return Frame(obj.plan)
    gen = iter(obj)
    return Frame(gen if isinstance(gen, types.GeneratorType) else obj, plan_name(obj))


def ensure_plan(obj: Any) -> Any:
    """A list or tuple of messages as a plan (bluesky's RunEngine takes those too)."""
    if isinstance(obj, list | tuple) and as_msg(obj) is None:
        return _messages(list(obj))
    return obj


def _messages(msgs: list[Any]) -> Generator[Any, Any, None]:
    for msg in msgs:  # noqa: UP028 (`yield from` a list cannot be sent the replies)
        yield msg


def plan_name(plan: object) -> str:
    """The plan's function name: ``count`` for ``count([det])``."""
    name = getattr(plan, "__name__", None)
    if name is None:  # bluesky's ``Plan`` wrapper keeps the generator in ``_iter``
        name = getattr(getattr(plan, "_iter", None), "__name__", None)
    return name if isinstance(name, str) else type(plan).__name__


class Frame:
    """One generator on the stack and the value it will return."""

    __slots__ = ("gen", "is_async", "name", "result")

    def __init__(self, gen: Plan, name: str | None = None) -> None:
        self.gen = gen
        self.is_async = isinstance(gen, types.AsyncGeneratorType)
        self.name = name or plan_name(gen)
        self.result: Any = None


class PlanDone(Exception):
    """The whole stack has finished; `value` is the top-level plan's result."""

    def __init__(self, value: Any) -> None:
        self.value = value


def as_msg(item: object) -> Msg | None:
    """`item` as an acq `Msg` if it is a message (acq's or bluesky's), else None."""
    if type(item) is Msg:
        return item
    if isinstance(item, tuple) and len(item) == 5 and isinstance(item[0], str):
        return Msg._make(item)  # bluesky's Msg, or any tuple of the same layout
    return None


class PlanStack:
    """Sends responses into the top generator and hands out the next `Msg`.

    `send(value)` / `throw(exc)` return the next `Msg` from whichever generator is on
    top, pushing yielded sub-plans and popping finished ones on the way. When the last
    generator finishes, `PlanDone` carries its result. An exception that escapes a
    sub-plan is thrown into its parent at the ``yield``; one that escapes the bottom
    plan propagates to the caller.
    """

    __slots__ = ("frames",)

    def __init__(self, plan: Plan) -> None:
        if not is_plan(plan):
            raise TypeError(
                f"expected a plan (a generator or async generator, e.g. `count([det])`), "
                f"got {plan!r}; did you pass the plan function instead of calling it?"
            )
        self.frames: list[Frame] = [_frame(plan)]

    @property
    def names(self) -> list[str]:
        return [frame.name for frame in self.frames]

    async def send(self, value: Any) -> Msg:
        frame = self.frames[-1]
        if frame.is_async:  # the common case, without the general loop below
            try:
                item = await frame.gen.asend(value)  # type: ignore[union-attr]
            except BaseException as error:
                return await self._after_error(frame, error)
            if type(item) is Msg and item[0] != RETURN:
                return item
            return await self._advance_from(frame, item)
        return await self._advance(value, None)

    async def throw(self, exc: BaseException) -> Msg:
        return await self._advance(None, exc)

    async def _advance(self, value: Any, exc: BaseException | None) -> Msg:
        frames = self.frames
        while True:
            frame = frames[-1]
            gen = frame.gen
            try:
                if exc is None:
                    item = (await gen.asend(value)) if frame.is_async else gen.send(value)  # type: ignore[union-attr]
                else:
                    pending, exc = exc, None
                    item = (await gen.athrow(pending)) if frame.is_async else gen.throw(pending)  # type: ignore[union-attr]
            except StopAsyncIteration:
                value = self._pop(frame.result)
                continue
            except StopIteration as stop:
                value = self._pop(frame.result if stop.value is None else stop.value)
                continue
            except (Exception, PlanInterrupt) as error:
                frames.pop()
                if not frames:
                    raise
                exc = error
                continue
            except BaseException:
                frames.pop()
                raise
            msg = as_msg(item)
            if msg is not None:
                if msg.command != RETURN:
                    return msg
                frame.result = msg.obj
                value = None
            elif is_plan(item):
                frames.append(_frame(item))
                value = None
            else:
                exc = TypeError(
                    f"plan {frame.name!r} yielded {item!r}; a plan yields Msg(...) objects "
                    f"or sub-plans (generators), e.g. `yield Msg('read', det)`"
                )

    async def _after_error(self, frame: Frame, error: BaseException) -> Msg:
        """`frame` raised `error` (or finished): carry on as `_advance` would."""
        if isinstance(error, StopAsyncIteration):
            return await self._advance(self._pop(frame.result), None)
        self.frames.pop()
        if isinstance(error, Exception | PlanInterrupt) and self.frames:
            return await self._advance(None, error)
        raise error

    async def _advance_from(self, frame: Frame, item: object) -> Msg:
        """`frame` yielded `item`, which is not a plain Msg: a return, a sub-plan, ..."""
        msg = as_msg(item)
        if msg is not None:
            if msg.command != RETURN:
                return msg
            frame.result = msg.obj
            return await self._advance(None, None)
        if is_plan(item):
            self.frames.append(_frame(item))
            return await self._advance(None, None)
        return await self._advance(
            None,
            TypeError(
                f"plan {frame.name!r} yielded {item!r}; a plan yields Msg(...) objects "
                f"or sub-plans (generators), e.g. `yield Msg('read', det)`"
            ),
        )

    def _pop(self, result: Any) -> Any:
        self.frames.pop()
        if not self.frames:
            raise PlanDone(result)
        return result

    async def close(self) -> list[BaseException]:
        """Close every generator, top first (their ``finally`` blocks run but cannot yield).

        Returns the errors raised while closing, for the caller to log.
        """
        errors: list[BaseException] = []
        cancelled = anyio.get_cancelled_exc_class()
        while self.frames:
            frame = self.frames.pop()
            try:
                if frame.is_async:
                    await frame.gen.aclose()  # type: ignore[union-attr]
                else:
                    frame.gen.close()  # type: ignore[union-attr]
            except cancelled:  # a bound on the cleanup (halt): the frames below still close
                errors.append(TimeoutError("its finally block was cut short at an await"))
            except Exception as error:
                errors.append(error)
        return errors


Responder: TypeAlias = Callable[[Msg], Awaitable[Any]]


async def drive_plan(
    plan: Plan,
    respond: Responder,
    *,
    fatal: tuple[type[BaseException], ...] = (),
) -> Any:
    """Run `plan` to its end, answering each message with ``await respond(msg)``.

    What `respond` raises is thrown into the plan at its ``yield`` (so the plan may catch
    it and its ``finally`` blocks run), except instances of `fatal`, which end the plan
    (its generators are closed) and propagate. Returns the plan's result. Used for plans
    the engine runs outside its message loop (suspenders' pre/post plans) and by
    ``plans.dry_run``.
    """
    stack = PlanStack(plan)
    response: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                msg = await (stack.send(response) if error is None else stack.throw(error))
            except PlanDone as done:
                return done.value
            error = None
            try:
                response = await respond(msg)
            except fatal:
                raise
            except Exception as failure:
                error, response = failure, None
    finally:
        for problem in await stack.close():
            log.error("closing plan %s failed: %r", plan_name(plan), problem, exc_info=problem)


class PlanAwaited(AcqError, RuntimeError):
    """An async plan awaited something between its messages while driven synchronously."""


def _without_suspending(coro: Any, what: str) -> Any:
    """Run a coroutine that must finish without waiting for anything; its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise PlanAwaited(
        f"{what} awaited something between its messages, so it cannot be driven by a "
        f"plain-generator preprocessor (bluesky's SupplementalData, baseline_wrapper, ...); "
        f"use the same wrapper from plans.wrappers, which runs in the engine's loop"
    )


def as_sync_plan(plan: Plan) -> SyncPlanView:
    """A plain-generator view of any plan, for code that drives plans with ``send()``
    (bluesky's preprocessors): the same interpreter, run without an event loop.

    Works for plans that only yield between messages (acq's standard plans are pure
    message generation); a plan that awaits real I/O between its messages raises
    `PlanAwaited` naming it. Handed back to acq (the engine, or an acq wrapper) before
    anything drove it, the view gives way to the plan itself, which then runs in the loop.
    """
    return SyncPlanView(plan)


class SyncPlanView(collections.abc.Generator):
    """What `as_sync_plan` returns: a generator over the plan's messages (see there)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.started = False
        self.__name__ = plan_name(plan)
        self._steps = _sync_steps(plan)

    def send(self, value: Any) -> Msg:
        self.started = True
        return self._steps.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Msg:
        self.started = True
        if val is None and tb is None:
            return self._steps.throw(typ)
        return self._steps.throw(typ, val, tb)

    def close(self) -> None:
        self._steps.close()


def _sync_steps(plan: Plan) -> Generator[Msg, Any, Any]:
    name = plan_name(plan)
    stack = PlanStack(plan)
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            step = stack.send(reply) if error is None else stack.throw(error)
            try:
                msg = _without_suspending(step, f"plan {name!r}")
            except PlanDone as done:
                return done.value
            error = None
            try:
                reply = yield msg
            except GeneratorExit:
                raise
            except BaseException as exc:  # thrown in by the wrapper: into the plan
                error, reply = exc, None
    finally:
        problems: list[BaseException]
        try:
            problems = _without_suspending(stack.close(), f"closing plan {name!r}")
        except PlanAwaited as awaited:
            problems = [awaited]
        for problem in problems:
            log.error("closing plan %s failed: %r", name, problem, exc_info=problem)

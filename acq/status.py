"""Statuses the engine holds between a verb (``set``, ``trigger``, ...) and its ``wait``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .bridged_status import BridgedStatus, is_bluesky_status
from .describe import name_of
from .errors import WaitTimeout
from .protocols import Progress

__all__ = [
    "Pending",
    "TaskStatus",
    "as_status",
    "await_one",
    "is_done",
    "register_status_type",
    "wait_all",
]

log = logging.getLogger("acq.engine")


class TaskStatus:
    """A coroutine that a device verb returned instead of a Status.

    It is started at once as a task of the engine's task group (so a move begins at
    ``set``, not at ``wait``) and awaited like a Status.
    """

    __slots__ = ("_callbacks", "_error", "_event", "_finished", "_result")

    def __init__(self, coro: Coroutine[Any, Any, Any], tg: TaskGroup, name: str) -> None:
        self._event = anyio.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._finished = False
        self._callbacks: list[Callable[[TaskStatus], None]] = []
        tg.start_soon(self._run, coro, name=name)

    async def _run(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            self._result = await coro
            self._finished = True
        except Exception as error:
            self._error = error
            self._finished = True
        finally:
            if not self._finished:
                self._error = RuntimeError("cancelled: the engine ended before this finished")
            self._event.set()
            for callback in self._callbacks:
                self._call(callback)

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> Any:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._result

    @property
    def done(self) -> bool:
        return self._event.is_set()

    @property
    def success(self) -> bool:
        return self.done and self._error is None

    def add_callback(self, callback: Callable[[TaskStatus], None]) -> None:
        if self.done:
            self._call(callback)
        else:
            self._callbacks.append(callback)

    def _call(self, callback: Callable[[TaskStatus], None]) -> None:
        # a callback's bug must not take down the engine's task group with it
        try:
            callback(self)
        except Exception:
            log.exception("status callback %r failed", callback)

    def watch(self, callback: Callable[[Progress], None]) -> None:
        """A plain coroutine reports no progress."""


def as_status(result: Any, tg: TaskGroup | None, obj: Any, action: str) -> Any:
    """What a device verb returned, as something the engine can await later (or None).

    acq's statuses are kept as they are (one set lookup: the per-point path); a coroutine
    becomes a task; a bluesky-protocol status (classic ophyd's threaded ones, ophyd-async's)
    is bridged (`BridgedStatus`: never blocks the loop, and a cancelled wait does not
    cancel the operation); other awaitables are awaited as they are. A list (ophyd's
    ``stage()`` returns the devices it staged) is nothing to wait for.
    """
    if result is None:
        return None
    if type(result) in _NATIVE:
        return result
    if inspect.iscoroutine(result):
        if tg is None:
            raise RuntimeError("the engine is not running; cannot start a device coroutine")
        return TaskStatus(result, tg, f"{name_of(obj)}.{action}")
    if is_bluesky_status(result):
        return BridgedStatus(result, f"{name_of(obj)}.{action}")
    if hasattr(type(result), "__await__"):
        return result
    if isinstance(result, list | tuple):
        return None
    raise TypeError(
        f"{name_of(obj)}.{action}() returned {type(result).__name__}, which the engine "
        f"cannot wait for; return a Status (awaitable), a coroutine, or None"
    )


def register_status_type(cls: type) -> type:
    """Declare `cls` an acq-native status: awaitable, and awaiting it can be cancelled
    without cancelling the operation. The engine then awaits it as it is (fast path)."""
    _NATIVE.add(cls)
    return cls


_NATIVE: set[type] = {TaskStatus, BridgedStatus}


def is_done(status: Any) -> bool | None:
    """True/False when the status can tell, None when it cannot."""
    done = getattr(status, "done", None)
    if done is None:
        return None
    return bool(done()) if callable(done) else bool(done)


class Pending:
    """A status the plan has not waited for yet, with what it is about."""

    __slots__ = ("action", "obj", "status")

    def __init__(self, obj: Any, action: str, status: Awaitable[Any]) -> None:
        self.obj = obj
        self.action = action
        self.status = status

    def describe(self) -> str:
        return f"{name_of(self.obj)} ({self.action})"


async def await_one(p: Pending) -> None:
    try:
        await p.status
    except Exception as error:
        error.add_note(f"while waiting for {name_of(p.obj)} to finish its {p.action}")
        raise


async def wait_all(pending: list[Pending], timeout: float | None = None) -> None:
    """Wait until every status is done; raise the first failure as soon as it happens.

    On timeout, raise `WaitTimeout` naming what is still busy (left running).
    """
    if timeout is None:  # the per-point path: no cancel scope
        await _wait(pending)
        return
    try:
        with anyio.fail_after(timeout):
            await _wait(pending)
    except TimeoutError:
        busy = [p.describe() for p in pending if not is_done(p.status)]
        raise WaitTimeout(
            f"still busy after {timeout} s: {', '.join(busy) or 'unknown'}; "
            f"the devices keep going (stop them, or wait longer with a larger timeout)"
        ) from None


async def _wait(pending: list[Pending]) -> None:
    if len(pending) == 1 or all(is_done(p.status) for p in pending):
        for p in pending:
            await await_one(p)
    else:
        await _race(pending)


async def _race(pending: Iterable[Pending]) -> None:
    failure: list[BaseException] = []
    async with anyio.create_task_group() as tg:

        async def one(p: Pending) -> None:
            try:
                await await_one(p)
            except Exception as error:
                failure.append(error)
                tg.cancel_scope.cancel()

        for p in pending:
            tg.start_soon(one, p)
    if failure:
        raise failure[0]

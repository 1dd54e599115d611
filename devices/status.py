"""Status: an operation under way, awaitable, with callbacks and progress.

A `Status` is what ``set``, ``trigger``, ``stage`` ... return. It is done when the
operation ends; ``await status`` returns its result or raises its error::

    status = motor.set(5)            # starts the move, returns at once
    status.watch(progress_bar)       # Progress(current, initial, target, ...) updates
    await status                     # the move has ended

Awaiting a status never cancels the operation (several parties may await one status, and
one of them giving up must not stop a motor the others wait for): call `Status.cancel`
to cancel it. A status owns the task that runs its operation, so the task ends with it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from acq.protocols import Progress
from acq.status import register_status_type

from .errors import DeviceError, StatusTimeoutError

__all__ = ["Progress", "Status", "StatusCancelledError"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
D = TypeVar("D")


class StatusCancelledError(DeviceError):
    """The operation behind a status was cancelled (``status.cancel()``)."""


@register_status_type  # the engine awaits it as it is: a cancelled await leaves it running
class Status:
    """An operation under way; see the module docstring."""

    __slots__ = (
        "_callbacks",
        "_done",
        "_exception",
        "_progress",
        "_result",
        "_task",
        "_waiters",
        "_watchers",
        "name",
        "started",
    )

    def __init__(
        self,
        operation: Awaitable[Any] | None = None,
        *,
        name: str = "",
        timeout: float | None = None,
    ) -> None:
        self.name = name
        self.started = time.monotonic()
        self._done = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Status], None]] | None = None
        self._watchers: list[Callable[[Progress], None]] | None = None
        self._progress: Progress | None = None
        self._waiters: list[asyncio.Future[None]] | None = None
        self._task: asyncio.Future[Any] | None = None
        if operation is not None:
            self._start(operation, timeout)

    def _start(self, operation: Awaitable[Any], timeout: float | None) -> None:
        if timeout is not None:
            operation = bounded(operation, timeout, self.name)
        self._task = asyncio.ensure_future(operation)
        self._task.add_done_callback(self._on_task_done)

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def finished(
        cls, result: Any = None, *, name: str = "", progress: Progress | None = None
    ) -> Status:
        """A status that is already done: what an instant operation returns."""
        status = cls(name=name)
        status._done = True
        status._result = result
        status._progress = progress
        return status

    @classmethod
    def failed(cls, error: BaseException, *, name: str = "") -> Status:
        """A status that is already done, with `error`."""
        status = cls(name=name)
        status._done = True
        status._exception = error
        return status

    @classmethod
    def from_progress(
        cls, updates: AsyncIterator[Progress], *, name: str = "", timeout: float | None = None
    ) -> Status:
        """Run `updates` (an async iterator of `Progress`) to its end, publishing each."""
        status = cls(name=name)

        async def run() -> None:
            async for progress in updates:
                status.set_progress(progress)

        status._start(run(), timeout)
        return status

    @classmethod
    def reporting(
        cls,
        operation: Callable[[Status], Awaitable[Any]],
        *,
        name: str = "",
        timeout: float | None = None,
    ) -> Status:
        """Run ``operation(status)``, which may call ``status.set_progress(...)``."""
        status = cls(name=name)
        status._start(operation(status), timeout)
        return status

    @staticmethod
    def wrap(
        method: Callable[Concatenate[D, P], Coroutine[Any, Any, Any]],
    ) -> Callable[Concatenate[D, P], Status]:
        """Decorate an ``async def`` method so that calling it returns a `Status`."""

        @functools.wraps(method)
        def start(self: D, *args: P.args, **kwargs: P.kwargs) -> Status:
            name = getattr(self, "name", "")
            return Status(method(self, *args, **kwargs), name=f"{name}.{method.__name__}")

        return cast(Callable[Concatenate[D, P], Status], start)

    # -- state ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._done

    @property
    def success(self) -> bool:
        return self._done and self._exception is None

    def exception(self) -> BaseException | None:
        """The error the operation ended with; None while running or on success."""
        return self._exception

    def result(self) -> Any:
        """The operation's result (raises its error; `DeviceError` while running)."""
        if not self._done:
            raise DeviceError(f"{self!r} has not finished yet")
        if self._exception is not None:
            raise self._exception
        return self._result

    @property
    def progress(self) -> Progress | None:
        """The latest progress update, if the operation reports any."""
        return self._progress

    def __repr__(self) -> str:
        state = "running" if not self._done else ("done" if self.success else "failed")
        return f"<Status {self.name or '?'} {state}>"

    # -- waiting -------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._done:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                yield from waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)
        if self._exception is not None:
            raise self._exception
        return self._result

    async def wait(self, timeout: float | None = None) -> Any:
        """Await the status, raising `StatusTimeoutError` after `timeout` seconds.

        The operation keeps running after a timeout; cancel it with `cancel()`.
        """
        if timeout is None:
            return await self
        try:
            async with asyncio.timeout(timeout):
                return await self
        except TimeoutError:
            if self._done:
                raise
            raise StatusTimeoutError(
                f"{self.name or 'operation'} did not finish within {timeout:g} s"
            ) from None

    def add_callback(self, callback: Callable[[Status], None]) -> None:
        """Call ``callback(status)`` when done (at once if it is done already)."""
        if self._done:
            _call_safely(callback, self)
            return
        if self._callbacks is None:
            self._callbacks = []
        self._callbacks.append(callback)

    def watch(self, callback: Callable[[Progress], None]) -> None:
        """Call `callback` with every progress update, now with the latest if there is one."""
        if self._watchers is None:
            self._watchers = []
        self._watchers.append(callback)
        if self._progress is not None:
            _call_safely(callback, self._progress)

    # -- producing -----------------------------------------------------------------------

    def set_progress(self, progress: Progress) -> None:
        """Publish a progress update to the watchers."""
        self._progress = progress
        if self._watchers:
            for watcher in self._watchers:
                _call_safely(watcher, progress)

    def set_finished(self, result: Any = None) -> None:
        """Mark a status made without an operation as done."""
        self._finish(result, None)

    def set_exception(self, error: BaseException) -> None:
        """Mark a status made without an operation as failed."""
        self._finish(None, error)

    def cancel(self) -> bool:
        """Cancel the operation; the status then fails with `StatusCancelledError`."""
        if self._done:
            return False
        if self._task is not None:
            return self._task.cancel()
        self._finish(None, StatusCancelledError(f"{self.name or 'operation'} was cancelled"))
        return True

    def _on_task_done(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            error: BaseException | None = StatusCancelledError(
                f"{self.name or 'operation'} was cancelled"
            )
            self._finish(None, error)
        else:
            error = task.exception()
            self._finish(None if error else task.result(), error)

    def _finish(self, result: Any, error: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        self._result = result
        self._exception = error
        if self._waiters:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
        if self._callbacks:
            callbacks, self._callbacks = self._callbacks, None
            for callback in callbacks:
                _call_safely(callback, self)


async def bounded(operation: Awaitable[Any], timeout: float, name: str) -> Any:
    """Await `operation` for at most `timeout` s, else `StatusTimeoutError` naming it."""
    try:
        async with asyncio.timeout(timeout):
            return await operation
    except TimeoutError:
        raise StatusTimeoutError(
            f"{name or 'operation'} did not finish within {timeout:g} s"
        ) from None


def _call_safely(callback: Callable[[Any], None], arg: Any) -> None:
    try:
        callback(arg)
    except Exception:
        log.exception("status callback %r failed", callback)

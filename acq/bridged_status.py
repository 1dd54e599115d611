"""Statuses from bluesky's other device libraries, awaited the way bluesky's RunEngine does.

Two kinds reach the engine from outside acq:

- classic ophyd's (1.x) ``Status``/``DeviceStatus``/``MoveStatus``, finished from ophyd's
  own threads (the control layer's callback thread, a timer). Their ``status.wait()``
  blocks the calling thread: on the engine's loop it would freeze every other task
  (subscribers, live plots, Ctrl-C).
- ophyd-async's ``AsyncStatus``, whose ``__await__`` awaits its task directly: when the
  engine's wait is cancelled (a pause, a timeout) the cancellation would go into the
  device's task and end the operation silently -- the engine would then see a finished
  move and not stop the motor, which goes on to its target.

`BridgedStatus` treats both alike, as bluesky does: it registers one ``add_callback`` and
hands the completion to the loop with ``call_soon_threadsafe`` (or settles at once when it
comes from the loop's own thread); each await waits on its own future, so a cancelled wait
leaves the operation and later waits alone.
Progress reported through ``watch(func)`` (keyword arguments, possibly from a thread)
reaches acq's progress bars as `Progress`, in the loop.

acq's own statuses never pass through here (see `acq.status.as_status`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

from .describe import name_of
from .progress import progress_from_keywords
from .protocols import Progress

__all__ = ["BridgedStatus", "StatusFailed", "is_bluesky_status"]

log = logging.getLogger("acq.engine")


def is_bluesky_status(obj: Any) -> bool:
    """True for an object with bluesky's Status protocol: ``add_callback`` and ``done``."""
    return callable(getattr(obj, "add_callback", None)) and hasattr(obj, "done")


class StatusFailed(RuntimeError):
    """A status finished unsuccessfully without saying why."""


class BridgedStatus:
    """An awaitable view of a bluesky-protocol status (ophyd, ophyd-async), in the running
    loop; awaiting it never cancels the operation."""

    __slots__ = (
        "_callbacks",
        "_done",
        "_error",
        "_loop",
        "_thread",
        "_waiters",
        "_watchers",
        "name",
        "status",
    )

    def __init__(self, status: Any, name: str = "") -> None:
        self.status = status
        self.name = name or name_of(getattr(status, "device", None) or status)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._done = False
        self._error: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._callbacks: list[Callable[[BridgedStatus], None]] = []
        self._watchers: list[Callable[[Progress], None]] = []
        # called once: right away if already done (in this thread), else later from the
        # library's thread (ophyd) or from the loop (ophyd-async)
        status.add_callback(self._finished_in_any_thread)

    # -- completion: from whichever thread to the loop --------------------------------

    def _finished_in_any_thread(self, status: Any) -> None:
        self._to_loop(self._settle)

    def _to_loop(self, func: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._thread:  # already in the loop: now, not later
            func(*args)  # (a status done at wrap time is done at once, as in bluesky)
            return
        try:
            self._loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # the loop has closed: nobody is left to tell
            log.warning("%s finished after its event loop closed", self.name)

    def _settle(self) -> None:
        if self._done:
            return
        self._error = _error_of(self.status)
        self._done = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        for callback in self._callbacks:
            _call_safely(callback, self)

    # -- the Status protocol ---------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._done:
            # one waiter per await: cancelling this await (a pause, a wait's timeout)
            # cancels only the waiter, never the operation or a later wait
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                yield from waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        if self._error is not None:
            raise self._error
        return None

    @property
    def done(self) -> bool:
        return self._done

    @property
    def success(self) -> bool:
        return self._done and self._error is None

    def exception(self) -> BaseException | None:
        return self._error

    def add_callback(self, callback: Callable[[BridgedStatus], None]) -> None:
        if self._done:
            _call_safely(callback, self)
        else:
            self._callbacks.append(callback)

    def watch(self, callback: Callable[[Progress], None]) -> None:
        """Forward the status's ``watch`` updates (keyword arguments) as `Progress`, in the loop."""
        watch = getattr(self.status, "watch", None)
        if watch is None:
            return
        if not self._watchers:
            watch(self._progress_in_any_thread)
        self._watchers.append(callback)

    def _progress_in_any_thread(self, **fields: Any) -> None:
        progress = progress_from_keywords(fields)
        if progress is not None:
            self._to_loop(self._report, progress)

    def _report(self, progress: Progress) -> None:
        for watcher in self._watchers:
            _call_safely(watcher, progress)

    def __repr__(self) -> str:
        state = "done" if self.done else "pending"
        return f"<BridgedStatus {self.name} {state} of {self.status!r}>"


def _error_of(status: Any) -> BaseException | None:
    if getattr(status, "success", False):
        return None
    try:
        # done by now (this runs from its completion callback), so this does not block
        error = status.exception() if callable(getattr(status, "exception", None)) else None
    except Exception as failure:
        error = failure
    if isinstance(error, BaseException):
        return error
    return StatusFailed(f"{name_of(getattr(status, 'device', None) or status)} reported failure")


def _call_safely(callback: Callable[[Any], None], arg: Any) -> None:
    try:
        callback(arg)
    except Exception:
        log.exception("status callback %r failed", callback)

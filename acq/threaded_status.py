"""Classic ophyd's threaded Status objects, made awaitable without blocking the loop.

ophyd (1.x) finishes a ``Status``/``DeviceStatus``/``MoveStatus`` from its own threads
(the control layer's callback thread, a timer) and offers ``status.wait()``, which blocks
the calling thread: on the engine's loop it would freeze every other task (subscribers,
live plots, Ctrl-C). Instead `ThreadedStatus` registers one ``add_callback`` and hands
the completion over to the loop with ``call_soon_threadsafe``; awaiting it waits on an
asyncio future. Progress that ophyd reports through ``watch(func)`` (keyword arguments,
from its threads) reaches acq's progress bars as `Progress`, also via the loop.

The engine only wraps objects that are not awaitable themselves (see `acq.status.as_status`),
so acq's own statuses and ophyd-async's never pass through here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator
from typing import Any

from .describe import name_of
from .protocols import Progress

__all__ = ["ThreadedStatus", "is_threaded_status"]

log = logging.getLogger("acq.engine")

_PROGRESS_FIELDS = frozenset(Progress.__dataclass_fields__)


def is_threaded_status(obj: Any) -> bool:
    """True for an object shaped like ophyd's StatusBase: ``add_callback`` and ``done``,
    but no ``__await__``."""
    return (
        callable(getattr(obj, "add_callback", None))
        and hasattr(obj, "done")
        and not hasattr(type(obj), "__await__")
    )


class StatusFailed(RuntimeError):
    """A threaded status finished unsuccessfully without saying why."""


class ThreadedStatus:
    """An awaitable view of a classic (threaded) ophyd status, bound to the running loop."""

    __slots__ = ("_callbacks", "_future", "_loop", "_watchers", "name", "status")

    def __init__(self, status: Any, name: str = "") -> None:
        self.status = status
        self.name = name or name_of(getattr(status, "device", None) or status)
        self._loop = asyncio.get_running_loop()
        self._future: asyncio.Future[Any] = self._loop.create_future()
        self._callbacks: list[Callable[[ThreadedStatus], None]] = []
        self._watchers: list[Callable[[Progress], None]] = []
        # ophyd calls this once: right away if already done (in this thread), else from
        # one of its threads
        status.add_callback(self._finished_in_any_thread)

    # -- completion: from ophyd's thread to the loop ---------------------------------

    def _finished_in_any_thread(self, status: Any) -> None:
        self._to_loop(self._settle)

    def _to_loop(self, func: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # the loop has closed: nobody is left to tell
            log.warning("%s finished after its event loop closed", self.name)

    def _settle(self) -> None:
        if self._future.done():
            return
        error = _error_of(self.status)
        if error is None:
            self._future.set_result(None)
        else:
            self._future.set_exception(error)
            self._future.exception()  # retrieved here; awaiting it raises it again
        for callback in self._callbacks:
            _call_safely(callback, self)

    # -- the Status protocol ---------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Any]:
        return self._wait().__await__()

    async def _wait(self) -> Any:
        # asyncio.wait never cancels the future: a wait that times out or is cancelled
        # leaves the status intact for a later wait
        await asyncio.wait((self._future,))
        return self._future.result()

    @property
    def done(self) -> bool:
        return self._future.done()

    @property
    def success(self) -> bool:
        return self._future.done() and self._future.exception() is None

    def exception(self) -> BaseException | None:
        return self._future.exception() if self._future.done() else None

    def add_callback(self, callback: Callable[[ThreadedStatus], None]) -> None:
        if self._future.done():
            _call_safely(callback, self)
        else:
            self._callbacks.append(callback)

    def watch(self, callback: Callable[[Progress], None]) -> None:
        """Forward ophyd's ``watch`` updates (from its threads) as `Progress`, in the loop."""
        watch = getattr(self.status, "watch", None)
        if watch is None:
            return
        if not self._watchers:
            watch(self._progress_in_any_thread)
        self._watchers.append(callback)

    def _progress_in_any_thread(self, **fields: Any) -> None:
        progress = Progress(**{k: v for k, v in fields.items() if k in _PROGRESS_FIELDS})
        self._to_loop(self._report, progress)

    def _report(self, progress: Progress) -> None:
        for watcher in self._watchers:
            _call_safely(watcher, progress)

    def __repr__(self) -> str:
        state = "done" if self.done else "pending"
        return f"<ThreadedStatus {self.name} {state} of {self.status!r}>"


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

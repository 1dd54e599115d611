"""Delivering documents to subscribers without ever letting one stall the scan.

Each subscription owns an unbounded anyio memory object stream and one consumer task.
`emit` only appends to the streams (no awaiting, no callback on the engine's path); the
consumers call the callbacks. Waiting consumers are woken together, `latency` (10 ms)
after the first document of a batch: in a step scan one wake-up then serves several
points, and the engine's next put or get goes out before any callback runs. Consumers
run while the engine serves them (during ``RE(...)``, ``RE.resume()``, ``RE.flush()``),
in a task group owned by that call;
documents emitted in between wait in the streams, so nothing is lost.

- Async callbacks are awaited in their consumer task: a slow one only delays itself.
- Sync callbacks run in their consumer task too, in the loop's thread. They must be
  quick; the consumer yields to the loop every few milliseconds so a backlog does not
  starve the scan, but one call that blocks, blocks the loop. Pass ``threaded=True`` for
  callbacks that block (file writers, synchronous database clients): they then run in a
  worker thread, a batch of documents at a time.
- A callback that raises is logged with its name and keeps receiving documents.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["DOCUMENT_NAMES", "Callback", "Dispatcher"]

log = logging.getLogger("acq.subscribers")

DOCUMENT_NAMES = (
    "start",
    "descriptor",
    "event",
    "event_page",
    "resource",
    "datum",
    "stream_resource",
    "stream_datum",
    "stop",
)

Callback = Callable[[str, dict[str, Any]], Any]
Item = tuple[str, dict[str, Any]]

_TIME_SLICE = 0.002  # a consumer yields to the loop after this long of callbacks
_THREAD_BATCH = 64


def _label(callback: Callback) -> str:
    name = getattr(callback, "__qualname__", None) or type(callback).__qualname__
    module = getattr(callback, "__module__", None) or type(callback).__module__
    return f"{module}.{name}" if module and module != "builtins" else name


class _Subscription:
    __slots__ = (
        "callback",
        "consuming",
        "failures",
        "handled",
        "in_hand",
        "label",
        "last_progress",
        "names",
        "receive",
        "send",
        "sent",
        "threaded",
        "token",
        "wakeup",
    )

    def __init__(self, token: int, callback: Callback, names: frozenset[str], threaded: bool):
        self.token = token
        self.callback = callback
        self.names = names
        self.threaded = threaded
        self.label = _label(callback)
        self.send: MemoryObjectSendStream[Item]
        self.receive: MemoryObjectReceiveStream[Item]
        self.send, self.receive = anyio.create_memory_object_stream(math.inf)
        self.sent = 0  # documents put in the stream
        self.handled = 0  # documents the callback has finished with
        self.in_hand: Item | None = None  # taken from the stream, not yet handled
        self.failures = 0
        self.last_progress = time.monotonic()
        self.consuming = False
        self.wakeup: anyio.Event | None = None  # set by emit when the consumer waits


class Dispatcher:
    """Routes ``(name, doc)`` to subscribers; see the module docstring for the rules."""

    def __init__(self, latency: float = 0.01) -> None:
        #: Waiting consumers are woken at most this long after a document is emitted, all
        #: at once: in a step scan one wake-up serves several points instead of each.
        self.latency = latency
        # While serving: the loop's call_later, for one wake-up per batch (None: one is due)
        self._call_later: Callable[[float, Callable[[], None]], object] | None = None
        self._subs: dict[int, _Subscription] = {}
        self._routes: dict[str, tuple[_Subscription, ...]] = {n: () for n in DOCUMENT_NAMES}
        self._tokens = itertools.count(1)
        self._tg: TaskGroup | None = None
        self._changed: anyio.Event | None = None  # set when a subscriber catches up
        self._closing: set[_Subscription] = set()  # unsubscribed, documents still queued

    # -- subscriptions -------------------------------------------------------------

    def subscribe(self, callback: Callback, name: str = "all", *, threaded: bool = False) -> int:
        if not callable(callback):
            raise TypeError(f"subscribe() needs a callable cb(name, doc), got {callback!r}")
        if name == "all":
            names = frozenset(DOCUMENT_NAMES)
        elif name in DOCUMENT_NAMES:
            names = frozenset((name,))
        else:
            raise ValueError(
                f"cannot subscribe to {name!r} documents; choose 'all' or one of "
                f"{', '.join(DOCUMENT_NAMES)}"
            )
        sub = _Subscription(next(self._tokens), callback, names, threaded)
        self._subs[sub.token] = sub
        self._reroute()
        if self._tg is not None:
            self._tg.start_soon(self._consume, sub, name=f"acq subscriber {sub.label}")
        return sub.token

    def unsubscribe(self, token: int) -> None:
        """Stop sending documents to a subscriber; what it was already sent is delivered."""
        sub = self._subs.pop(token, None)
        if sub is None:
            raise KeyError(f"no subscription with token {token!r}")
        self._reroute()
        sub.send.close()
        self._wake(sub)
        if not sub.consuming:
            self._discard_if_done(sub)

    def _reroute(self) -> None:
        self._routes = {
            name: tuple(s for s in self._subs.values() if name in s.names)
            for name in DOCUMENT_NAMES
        }

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self._subs.values()]

    # -- the engine's side ---------------------------------------------------------

    def emit(self, name: str, doc: dict[str, Any]) -> None:
        subs = self._routes[name]
        for sub in subs:
            sub.sent += 1
            sub.send.send_nowait((name, doc))
        schedule = self._call_later
        if subs and schedule is not None:
            self._call_later = None  # until this batch's wake-up has run
            schedule(self.latency, self._wake_batch)

    @staticmethod
    def _wake(sub: _Subscription) -> None:
        if sub.wakeup is not None:
            sub.wakeup.set()
            sub.wakeup = None

    def _wake_all(self) -> None:
        for sub in self._everyone():
            self._wake(sub)

    def _wake_batch(self) -> None:
        if self._tg is not None:  # still serving
            self._call_later = asyncio.get_running_loop().call_later
            self._wake_all()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Run the consumers for the duration of the block (and cancel them after)."""
        if self._tg is not None:
            yield  # already served by an enclosing call
            return
        async with anyio.create_task_group() as tg:
            self._tg = tg
            # A timer, not a task: a batch's wake-up costs no task step of its own.
            self._call_later = asyncio.get_running_loop().call_later
            for sub in [*self._subs.values(), *self._draining()]:
                tg.start_soon(self._consume, sub, name=f"acq subscriber {sub.label}")
            try:
                yield
            finally:
                self._tg = None
                self._call_later = None
                tg.cancel_scope.cancel()

    def behind(self) -> list[str]:
        """Labels of subscribers that have not handled every document yet."""
        return [s.label for s in self._everyone() if s.sent > s.handled]

    async def drain(self, stall_timeout: float | None = None) -> list[str]:
        """Wait until every subscriber has handled every document emitted so far.

        Documents emitted while this waits are not waited for. Gives up on subscribers
        that made no progress for `stall_timeout` seconds and returns their labels
        (empty when everyone caught up). Must run while `serving`.
        """
        targets = {s: s.sent for s in self._everyone()}
        self._wake_all()  # no batching now: someone is waiting for them
        while True:
            behind = [s for s, target in targets.items() if s.handled < target]
            if not behind:
                return []
            if stall_timeout is not None:
                now = time.monotonic()
                stuck = [s for s in behind if now - s.last_progress >= stall_timeout]
                if len(stuck) == len(behind):
                    return [s.label for s in stuck]
                wait = min(stall_timeout - (now - s.last_progress) for s in behind)
            else:
                wait = math.inf
            changed = self._changed
            if changed is None:  # shared by every drain waiting now
                changed = self._changed = anyio.Event()
            with anyio.move_on_after(max(wait, 0.001)):
                await changed.wait()

    # -- consumers -------------------------------------------------------------------

    def _everyone(self) -> list[_Subscription]:
        return [*self._subs.values(), *self._draining()]

    def _draining(self) -> list[_Subscription]:
        """Unsubscribed, but still holding documents sent before they left."""
        return [s for s in self._closing if s.sent > s.handled]

    def _discard_if_done(self, sub: _Subscription) -> None:
        if sub.sent > sub.handled:
            self._closing.add(sub)
        else:
            self._closing.discard(sub)
            sub.receive.close()

    def _progress(self, sub: _Subscription, n: int) -> None:
        sub.handled += n
        sub.last_progress = time.monotonic()
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    async def _consume(self, sub: _Subscription) -> None:
        sub.consuming = True
        try:
            if sub.threaded:
                await self._consume_threaded(sub)
            else:
                await self._consume_inline(sub)
        finally:
            sub.consuming = False

    async def _next(self, sub: _Subscription) -> Item | None:
        """The next document, waiting for `emit` to wake us if there is none.

        Not ``receive()``: it passes through the event loop once more on every call. And
        the wake-up comes from `_wake_batch`, for a batch of documents.
        """
        while True:
            try:
                return sub.receive.receive_nowait()
            except anyio.WouldBlock:
                pass
            except anyio.EndOfStream:
                return None
            wakeup = sub.wakeup = anyio.Event()
            await wakeup.wait()

    async def _consume_inline(self, sub: _Subscription) -> None:
        slice_start = time.perf_counter()
        while True:
            if sub.in_hand is None:
                sub.in_hand = await self._next(sub)
                if sub.in_hand is None:
                    self._discard_if_done(sub)
                    return
            name, doc = sub.in_hand
            try:
                result = sub.callback(name, doc)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                self._log_failure(sub, name)
            sub.in_hand = None
            self._progress(sub, 1)
            if time.perf_counter() - slice_start > _TIME_SLICE:
                await anyio.lowlevel.checkpoint()
                slice_start = time.perf_counter()

    async def _consume_threaded(self, sub: _Subscription) -> None:
        while True:
            first = await self._next(sub)
            if first is None:
                self._discard_if_done(sub)
                return
            batch = [first]
            while len(batch) < _THREAD_BATCH:
                try:
                    batch.append(sub.receive.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            try:
                # Not abandoned on cancel: the batch finishes, so nothing is half-delivered.
                await anyio.to_thread.run_sync(self._call_batch, sub, batch)
            finally:
                self._progress(sub, len(batch))

    @classmethod
    def _call_batch(cls, sub: _Subscription, batch: list[Item]) -> None:
        for name, doc in batch:
            try:
                sub.callback(name, doc)
            except Exception:
                cls._log_failure(sub, name)

    @staticmethod
    def _log_failure(sub: _Subscription, name: str) -> None:
        sub.failures += 1
        if sub.failures == 1:
            log.exception(
                "subscriber %s failed on a %r document; it keeps receiving documents "
                "(further failures are counted, not all logged)",
                sub.label,
                name,
            )
        elif sub.failures % 1000 == 0:
            log.error("subscriber %s has failed %d times", sub.label, sub.failures)

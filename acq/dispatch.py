"""Delivering documents to subscribers without ever letting one stall the scan.

Each subscription owns an unbounded queue (a deque) and one consumer task. `emit` only
appends to the queues (no awaiting, no callback on the engine's path); the consumers
call the callbacks. Waiting consumers are woken together, `latency` (10 ms)
after the first document of a batch: in a step scan one wake-up then serves several
points, and the engine's next put or get goes out before any callback runs. Consumers
run while the engine serves them (during ``RE(...)``, ``RE.resume()``, ``RE.flush()``),
in a task group owned by that call;
documents emitted in between wait in the queues, so nothing is lost.

- Async callbacks are awaited in their consumer task: a slow one only delays itself.
- Sync callbacks run in their consumer task too, in the loop's thread. They must be
  quick; the consumer yields to the loop every few milliseconds so a backlog does not
  starve the scan, but one call that blocks, blocks the loop. Pass ``threaded=True`` for
  callbacks that block (file writers, synchronous database clients): they then run in a
  worker thread, a batch of documents at a time.
- A callback object may also offer ``handle_batch(batch)`` (sync or async): it is then
  given the queued documents a batch at a time (up to 512, a `collections.deque` of
  ``(name, doc)``) instead of one call each, which saves about half a microsecond per
  document (no call, no coroutine): what a subscriber that sees every event of a fast
  scan wants (`storage`'s catalog writer). It must ``popleft()`` each document before
  handling it; when it raises, the document it popped last is the one that failed, and
  the rest of the batch is handed to it again (one that raises before popping any loses
  the first, as a failing ``cb(name, doc)`` does its document). A batch cut short by
  cancellation keeps its unpopped documents for the next call: none is lost or doubled.
- A callback that raises is never silent: each failure is logged with its name and a
  running count, and recorded as a `SubscriberFailure` (the engine lists those of a call
  on its result as ``subscriber_errors``). It keeps receiving documents. A subscription
  made ``critical=True`` also tells the engine (`on_critical`), which fails the run.
- Backlogs are watched: a subscriber that falls 1,000, 10,000, ... documents behind is
  warned about with its name and backlog, unless it handled documents in the last
  second (a fast scan queues thousands of documents while a subscriber that keeps up
  awaits a database round trip). At `max_backlog` (default 50,000) memory stops
  growing: a non-critical subscriber then misses events (never start, descriptor, stop;
  each drop is counted and reported as a failure), while a critical one holds the engine
  back (`overloaded`) until it catches up: it never loses a document.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskGroup

__all__ = [
    "DOCUMENT_NAMES",
    "Callback",
    "Dispatcher",
    "SubscriberBehind",
    "SubscriberFailure",
    "SubscriberStalled",
]

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
_BATCH = 512  # most documents per handle_batch call
_FIRST_WARNING = 1_000  # backlog of the first high-water warning; then x10 each time
_KEEPING_UP = 1.0  # s: no backlog warning for a subscriber that progressed this recently
DEFAULT_MAX_BACKLOG = 50_000
_DROPPABLE = frozenset(("event", "event_page"))  # what a full queue may skip
_KEPT_FAILURES = 100  # per subscription: the first ones, for the result; the rest counted


@dataclass(frozen=True, slots=True)
class SubscriberFailure:
    """One failure of a subscriber: its exception on a document, or documents dropped."""

    subscriber: str
    document: str  # the document name ("event", ...) it failed on
    error: BaseException
    count: int  # this subscriber's failures so far, this one included
    critical: bool

    def __str__(self) -> str:
        kind = "critical subscriber" if self.critical else "subscriber"
        return (
            f"{kind} {self.subscriber} failed on a {self.document!r} document "
            f"(failure {self.count}): {type(self.error).__name__}: {self.error}"
        )


class SubscriberBehind(Exception):
    """A subscriber's backlog reached its limit: documents were dropped for it."""


class SubscriberStalled(Exception):
    """A critical subscriber stopped making progress while the engine waited for it."""


def _label(callback: Callback) -> str:
    name = getattr(callback, "__qualname__", None) or type(callback).__qualname__
    module = getattr(callback, "__module__", None) or type(callback).__module__
    return f"{module}.{name}" if module and module != "builtins" else name


class _Subscription:
    __slots__ = (
        "batch",
        "callback",
        "closed",
        "consuming",
        "critical",
        "dropped",
        "failures",
        "handle_batch",
        "handled",
        "in_hand",
        "kept",
        "label",
        "last_progress",
        "max_backlog",
        "names",
        "next_warning",
        "queue",
        "sent",
        "threaded",
        "token",
        "wakeup",
        "watermark",
    )

    def __init__(
        self,
        token: int,
        callback: Callback,
        names: frozenset[str],
        threaded: bool,
        critical: bool = False,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
    ):
        self.token = token
        self.callback = callback
        self.names = names
        self.threaded = threaded
        self.critical = critical
        self.max_backlog = max_backlog
        self.next_warning = min(_FIRST_WARNING, max_backlog)
        self.watermark = self.next_warning  # emit looks closer from this backlog on
        self.dropped = 0
        self.label = _label(callback)
        # A plain deque, not an anyio memory stream: emit appends in C (~50 ns instead of
        # ~0.5 us a document) and the consumer pops the same way; the wake-up is ours.
        self.queue: deque[Item] = deque()
        self.closed = False  # unsubscribed: nothing more will be queued
        self.sent = 0  # documents queued
        self.handled = 0  # documents the callback has finished with
        self.in_hand: Item | None = None  # taken from the queue, not yet handled
        #: the callback's batch entry point, if it has one (not for threaded callbacks)
        self.handle_batch: Callable[[deque[Item]], Any] | None = (
            None if threaded else getattr(callback, "handle_batch", None)
        )
        self.batch: deque[Item] = deque()  # handed to handle_batch, not yet popped by it
        self.failures = 0
        self.kept = 0  # failures recorded in `Dispatcher.failures` since the window opened
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
        self._consumers: set[asyncio.Task[Any]] = set()  # the consumer tasks running
        #: failures since `open_failure_window` (the first `_KEPT_FAILURES` of each subscriber)
        self.failures: list[SubscriberFailure] = []
        #: called with the first failure of a critical subscriber (the engine fails the run)
        self.on_critical: Callable[[SubscriberFailure], None] | None = None
        #: True while a critical subscriber's backlog is at its limit: the engine waits
        self.overloaded = False

    # -- subscriptions -------------------------------------------------------------

    def subscribe(
        self,
        callback: Callback,
        name: str = "all",
        *,
        threaded: bool = False,
        critical: bool = False,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
    ) -> int:
        if max_backlog < 1:
            raise ValueError(f"max_backlog must be at least 1 document, not {max_backlog!r}")
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
        sub = _Subscription(next(self._tokens), callback, names, threaded, critical, max_backlog)
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
        sub.closed = True
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
            if sub.sent - sub.handled >= sub.watermark and not self._admit(sub, name):
                continue
            sub.sent += 1
            sub.queue.append((name, doc))
        schedule = self._call_later
        if subs and schedule is not None:
            self._call_later = None  # until this batch's wake-up has run
            schedule(self.latency, self._wake_batch)

    def _admit(self, sub: _Subscription, name: str) -> bool:
        """A subscriber is behind: warn, hold the engine back, or drop; False to drop."""
        backlog = sub.sent - sub.handled
        if backlog >= sub.max_backlog:
            if sub.critical:
                self.overloaded = True  # the engine waits for it: nothing is lost
                return True
            if name not in _DROPPABLE:
                return True
            sub.dropped += 1
            if sub.dropped == 1 or sub.dropped % 10_000 == 0:
                error = SubscriberBehind(
                    f"{backlog} documents behind (its limit, max_backlog): "
                    f"{sub.dropped} events dropped for it so far"
                )
                self._record_failure(sub, name, error)
            return False
        if time.monotonic() - sub.last_progress < _KEEPING_UP:
            # It is draining its queue: a fast scan queues ~1,000 documents between two
            # batches of a healthy subscriber. Look again a thousand documents on.
            sub.watermark = min(backlog + _FIRST_WARNING, sub.max_backlog)
            return True
        log.warning(
            "subscriber %s is %d documents behind; at %d %s",
            sub.label,
            backlog,
            sub.max_backlog,
            "the scan waits for it (critical)" if sub.critical else "it will miss events",
        )
        sub.next_warning = min(sub.next_warning * 10, sub.max_backlog)
        sub.watermark = sub.next_warning if backlog < sub.next_warning else sub.max_backlog
        return True

    async def relieve(self, stall_timeout: float) -> None:
        """Wait until critical subscribers are back under half their limit.

        Raises `SubscriberStalled` if one makes no progress for `stall_timeout` s.
        """
        self._wake_all()
        while True:
            heavy = [
                s
                for s in self._everyone()
                if s.critical and s.sent - s.handled > s.max_backlog // 2
            ]
            if not heavy:
                self.overloaded = False
                return
            now = time.monotonic()
            stuck = [s for s in heavy if now - s.last_progress >= stall_timeout]
            if stuck:
                raise SubscriberStalled(
                    f"critical subscriber {stuck[0].label} made no progress for "
                    f"{stall_timeout:g} s with {stuck[0].sent - stuck[0].handled} documents "
                    f"waiting; the run cannot go on without it"
                )
            changed = self._changed
            if changed is None:
                changed = self._changed = anyio.Event()
            with anyio.move_on_after(0.05):
                await changed.wait()

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

    def _progress(self, sub: _Subscription, n: int) -> None:
        sub.handled += n
        sub.last_progress = time.monotonic()
        if sub.watermark != _FIRST_WARNING and sub.handled == sub.sent:  # caught up
            sub.next_warning = sub.watermark = min(_FIRST_WARNING, sub.max_backlog)
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    def in_consumer(self) -> bool:
        """Whether the running task is a subscriber's consumer (a callback is running):
        it cannot wait for the engine's call, whose end waits for it."""
        task = asyncio.current_task()
        return task is not None and task in self._consumers

    async def _consume(self, sub: _Subscription) -> None:
        sub.consuming = True
        task = asyncio.current_task()
        if task is not None:
            self._consumers.add(task)
        try:
            if sub.threaded:
                await self._consume_threaded(sub)
            elif sub.handle_batch is not None:
                await self._consume_batches(sub, sub.handle_batch)
            else:
                await self._consume_inline(sub)
        finally:
            sub.consuming = False
            self._consumers.discard(task)

    async def _next(self, sub: _Subscription) -> Item | None:
        """The next document (None once unsubscribed and empty), waiting for `emit`'s
        batch wake-up (`_wake_batch`) if there is none."""
        while True:
            if sub.queue:
                return sub.queue.popleft()
            if sub.closed:
                return None
            wakeup = sub.wakeup = anyio.Event()
            await wakeup.wait()

    async def _consume_inline(self, sub: _Subscription) -> None:
        queue = sub.queue
        callback = sub.callback
        slice_start = time.perf_counter()
        while True:
            if sub.in_hand is None:
                sub.in_hand = await self._next(sub)
                if sub.in_hand is None:
                    self._discard_if_done(sub)
                    return
                slice_start = time.perf_counter()
            name, doc = sub.in_hand
            try:
                result = callback(name, doc)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as error:
                self._record_failure(sub, name, error)
            sub.in_hand = None
            sub.handled += 1
            if queue and time.perf_counter() - slice_start <= _TIME_SLICE:
                sub.in_hand = queue.popleft()  # the rest of the batch, without _next
                continue
            self._progress(sub, 0)  # once per batch or slice: stall clocks, waiters
            if queue:  # a long batch: let the engine (and the loop) in between slices
                await anyio.lowlevel.checkpoint()

    async def _consume_batches(
        self, sub: _Subscription, handle: Callable[[deque[Item]], Any]
    ) -> None:
        queue = sub.queue
        batch = sub.batch  # unpopped documents of a call that was cancelled come first
        while True:
            if not batch:
                first = await self._next(sub)
                if first is None:
                    self._discard_if_done(sub)
                    return
                batch.append(first)
            while queue and len(batch) < _BATCH:
                batch.append(queue.popleft())
            given = list(batch)
            try:
                result = handle(batch)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as error:
                if len(batch) == len(given):  # it failed before taking one: skip the first
                    batch.popleft()
                self._record_failure(sub, given[len(given) - len(batch) - 1][0], error)
            else:
                batch.clear()  # a normal return means every document was handled
            finally:
                sub.handled += len(given) - len(batch)
            self._progress(sub, 0)
            if queue or batch:  # let the engine (and the loop) in between batches
                await anyio.lowlevel.checkpoint()

    async def _consume_threaded(self, sub: _Subscription) -> None:
        while True:
            first = await self._next(sub)
            if first is None:
                self._discard_if_done(sub)
                return
            batch = [first]
            queue = sub.queue
            while queue and len(batch) < _THREAD_BATCH:
                batch.append(queue.popleft())
            errors: list[tuple[str, Exception]] = []
            try:
                # Not abandoned on cancel: the batch finishes, so nothing is half-delivered.
                await anyio.to_thread.run_sync(self._call_batch, sub, batch, errors)
            finally:
                self._progress(sub, len(batch))
                for name, error in errors:  # recorded here, in the loop's thread
                    self._record_failure(sub, name, error)

    @staticmethod
    def _call_batch(sub: _Subscription, batch: list[Item], errors: list[Any]) -> None:
        for name, doc in batch:
            try:
                sub.callback(name, doc)
            except Exception as error:
                errors.append((name, error))

    def _record_failure(self, sub: _Subscription, name: str, error: BaseException) -> None:
        """Log it (every time, with the count), keep it for the result, tell the engine."""
        sub.failures += 1
        failure = SubscriberFailure(sub.label, name, error, sub.failures, sub.critical)
        if sub.failures == 1:
            log.error("%s; it keeps receiving documents", failure, exc_info=error)
        else:
            log.error("%s", failure)
        sub.kept += 1
        if sub.kept <= _KEPT_FAILURES:
            self.failures.append(failure)
        if sub.critical and sub.kept == 1 and self.on_critical is not None:
            self.on_critical(failure)  # its first failure in this call: the run fails

    def open_failure_window(self) -> None:
        """Forget the failures recorded so far (a new engine call reports its own)."""
        self.failures.clear()
        for sub in self._everyone():
            sub.kept = 0

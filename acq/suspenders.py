"""Suspenders: pause the plan while a condition holds (beam lost, shutter closed).

A suspender watches one signal (anything with ``subscribe(cb)``/``clear_sub(cb)`` calling
``cb({name: reading})``). When the value goes bad it *trips*: the engine pauses the plan
(stops what is moving, records the interruption in each open run's ``interruptions``
stream), runs the suspender's `pre_plan`, and waits. When every tripped suspender is
clear again it waits `sleep` seconds more, runs `post_plan`, and re-does the interrupted
step from the last checkpoint, by itself.

    RE.install_suspender(SuspendFloor(ring.current, 10, resume_thresh=90, sleep=5))

Names and semantics follow bluesky's `bluesky.suspenders`.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import Callable
from typing import Any

import anyio

from .bridged_monitor import monitor_callback, running_loop
from .plan_stack import Plan, is_plan

__all__ = [
    "SuspendBoolHigh",
    "SuspendBoolLow",
    "SuspendCeil",
    "SuspendFloor",
    "SuspendWhenChanged",
    "SuspendWhenOutsideBand",
    "Suspender",
]

log = logging.getLogger("acq.suspenders")

PlanFactory = Callable[[], Plan]


_LOOK_AGAIN = 0.5  # s: a waiting engine looks at a tripped suspender at least this often


class Suspender:
    """Base class: subclasses say when to suspend and when to resume."""

    #: False: a trip pauses the plan for the user instead of resuming by itself.
    auto_resume = True

    def __init__(
        self,
        signal: Any,
        *,
        sleep: float = 0,
        pre_plan: PlanFactory | None = None,
        post_plan: PlanFactory | None = None,
        tripped_message: str = "",
    ) -> None:
        for label, factory in (("pre_plan", pre_plan), ("post_plan", post_plan)):
            if factory is not None and (is_plan(factory) or not callable(factory)):
                raise TypeError(
                    f"{label} must be a function that returns a plan (it runs at every "
                    f"suspension), e.g. {label}=lambda: close_shutter(); got {factory!r}"
                )
        self.signal = signal
        self.sleep = sleep
        self.pre_plan = pre_plan
        self.post_plan = post_plan
        self.tripped_message = tripped_message
        self.tripped = False
        self.value: Any = None
        self._clear: anyio.Event | None = None  # made per trip, in the loop that waits
        self._clear_loop: asyncio.AbstractEventLoop | None = None  # that loop
        self._on_trip: Callable[[Suspender], None] | None = None
        self._subscription: Callable[..., None] = self._update

    @property
    def name(self) -> str:
        return str(getattr(self.signal, "name", self.signal))

    # -- subclass interface ----------------------------------------------------------

    def should_suspend(self, value: Any) -> bool:
        raise NotImplementedError

    def should_resume(self, value: Any) -> bool:
        raise NotImplementedError

    def condition(self) -> str:
        """What is wrong, for people: ``"ring_current = 3.2 < 10"``."""
        return f"{self.name} = {self.value!r}"

    # -- the engine's side -----------------------------------------------------------

    @property
    def justification(self) -> str:
        text = f"{type(self).__name__}: {self.condition()}"
        return f"{text} ({self.tripped_message})" if self.tripped_message else text

    def install(self, on_trip: Callable[[Suspender], None]) -> None:
        """Start watching; `on_trip(self)` is called every time the condition trips."""
        if self._on_trip is not None:
            raise RuntimeError(f"{self!r} is already installed")
        self._on_trip = on_trip
        # acq's and ophyd-async's signals pass a reading; ophyd's pass keywords from a thread
        self._subscription = monitor_callback(self.signal, self._update)
        self.signal.subscribe(self._subscription)

    def remove(self) -> None:
        if self._on_trip is not None:
            self.signal.clear_sub(self._subscription)
            self._on_trip = None
        self._set_tripped(False)

    async def wait_until_clear(self) -> None:
        while self.tripped:
            if self._clear is None:
                self._clear = anyio.Event()
                self._clear_loop = asyncio.get_running_loop()
            # Woken by the clear; looking again now and then as well, for a clear that
            # came from a device's thread between the look at `tripped` and the event.
            with anyio.move_on_after(_LOOK_AGAIN):
                await self._clear.wait()

    def _update(self, reading: dict[str, Any]) -> None:
        try:
            value = next(iter(reading.values()))["value"]
        except (StopIteration, KeyError, TypeError):
            log.error("%s got a reading it cannot use: %r", self, reading)
            return
        self.value = value
        if not self.tripped and self.should_suspend(value):
            self._set_tripped(True)
            log.warning("suspender tripped: %s", self.justification)
            if self._on_trip is not None:
                self._on_trip(self)
        elif self.tripped and self.auto_resume and self.should_resume(value):
            log.info("suspender cleared: %s", self.justification)
            self._set_tripped(False)

    def _set_tripped(self, tripped: bool) -> None:
        self.tripped = tripped
        clear, loop = self._clear, self._clear_loop
        if tripped or clear is None:
            return
        self._clear = None
        # A suspender installed before any loop ran (a startup file) on a signal of a
        # library with threads (classic ophyd) is cleared from that thread: an event
        # set there would not wake the waiting loop.
        if loop is None or running_loop() is loop:
            clear.set()
            return
        try:
            loop.call_soon_threadsafe(clear.set)
        except RuntimeError:  # that loop has closed: nobody waits any more
            pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class SuspendBoolHigh(Suspender):
    """Suspend while the signal is true (e.g. an interlock fault bit)."""

    def should_suspend(self, value: Any) -> bool:
        return bool(value)

    def should_resume(self, value: Any) -> bool:
        return not bool(value)


class SuspendBoolLow(Suspender):
    """Suspend while the signal is false (e.g. shutter open = 1)."""

    def should_suspend(self, value: Any) -> bool:
        return not bool(value)

    def should_resume(self, value: Any) -> bool:
        return bool(value)


class _Threshold(Suspender):
    _op: Callable[[Any, Any], bool]
    _symbol: str

    def __init__(
        self,
        signal: Any,
        suspend_thresh: float,
        *,
        resume_thresh: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(signal, **kwargs)
        self.suspend_thresh = suspend_thresh
        self.resume_thresh = suspend_thresh if resume_thresh is None else resume_thresh
        if self._op(self.resume_thresh, self.suspend_thresh):
            raise ValueError(
                f"{type(self).__name__}: resume_thresh {self.resume_thresh} would resume "
                f"while still suspended at {self.suspend_thresh}"
            )

    def should_suspend(self, value: Any) -> bool:
        return self._op(value, self.suspend_thresh)

    def should_resume(self, value: Any) -> bool:
        return not self._op(value, self.resume_thresh)

    def condition(self) -> str:
        return f"{self.name} = {self.value!r} {self._symbol} {self.suspend_thresh}"


class SuspendFloor(_Threshold):
    """Suspend while the value is below `suspend_thresh`; resume at `resume_thresh`."""

    _op = staticmethod(operator.lt)
    _symbol = "<"


class SuspendCeil(_Threshold):
    """Suspend while the value is above `suspend_thresh`; resume at `resume_thresh`."""

    _op = staticmethod(operator.gt)
    _symbol = ">"


class SuspendWhenOutsideBand(Suspender):
    """Suspend while the value is outside ``(band_bottom, band_top)``."""

    def __init__(self, signal: Any, band_bottom: float, band_top: float, **kwargs: Any) -> None:
        super().__init__(signal, **kwargs)
        if not band_bottom < band_top:
            raise ValueError(f"band_bottom {band_bottom} must be below band_top {band_top}")
        self.bottom = band_bottom
        self.top = band_top

    def should_suspend(self, value: Any) -> bool:
        return not (self.bottom < value < self.top)

    def should_resume(self, value: Any) -> bool:
        return self.bottom < value < self.top

    def condition(self) -> str:
        return f"{self.name} = {self.value!r} outside ({self.bottom}, {self.top})"


class SuspendWhenChanged(Suspender):
    """Suspend when the value differs from `expected_value` (default: its first value).

    With ``allow_resume=False`` (the default, as in bluesky) a change pauses the plan for
    the user, who checks and then ``await RE.resume()``.
    """

    def __init__(
        self, signal: Any, *, expected_value: Any = None, allow_resume: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(signal, **kwargs)
        self.expected_value = expected_value
        self.auto_resume = allow_resume

    def should_suspend(self, value: Any) -> bool:
        if self.expected_value is None:
            self.expected_value = value
        return value != self.expected_value

    def should_resume(self, value: Any) -> bool:
        return value == self.expected_value

    def condition(self) -> str:
        return f"{self.name} changed to {self.value!r} (expected {self.expected_value!r})"

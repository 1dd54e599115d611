"""Signals: one value each, read-only, write-only, read-write or executable.

A signal is a `Device` leaf over a `SignalBackend`::

    x = soft_signal_rw(float, 0.0, name="x")
    await x.set(1.5)                      # a Status; awaiting it waits for completion
    await x.read()                        # {"x": {"value": 1.5, "timestamp": ..., ...}}
    x.subscribe_value(print)              # now and at every update
    async with aclosing(x.updates()) as updates:
        async for value in updates: ...
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from acq.protocols import DataKey, Location, Reading

from .backend import SignalBackend
from .device import DEFAULT_TIMEOUT, Device
from .errors import NotConnectedError, SignalAccessError, SignalValueError
from .status import Status

__all__ = ["Signal", "SignalR", "SignalRW", "SignalW", "SignalX"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class Signal(Device, Generic[T]):
    """A leaf of the device tree, backed by a `SignalBackend`."""

    def __init__(self, backend: SignalBackend[T], *, name: str = "") -> None:
        self._backend = backend
        self._readings_cbs: list[Callable[[dict[str, Reading]], None]] = []
        self._value_cbs: list[Callable[[T], None]] = []
        self._latest: Reading | None = None
        super().__init__(name=name)

    @property
    def backend(self) -> SignalBackend[T]:
        return self._backend

    @property
    def source(self) -> str:
        return self._backend.source(self._name)

    async def connect(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        try:
            await self._backend.connect(timeout)
        except NotConnectedError:
            raise
        except Exception as error:
            raise NotConnectedError(f"{self.source}: {type(error).__name__}: {error}") from error

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name or '(unnamed)'} {self.source}>"


class SignalR(Signal[T]):
    """A signal that can be read, described and subscribed to."""

    async def read(self) -> dict[str, Reading]:
        """A fresh reading: ``{name: {"value", "timestamp", "alarm_severity"}}``."""
        return {self._name: await self._backend.get_reading()}

    async def describe(self) -> dict[str, DataKey]:
        """``{name: DataKey}`` from metadata the backend keeps current (no round trip)."""
        return {self._name: self._backend.get_datakey(self.source)}

    async def get_value(self) -> T:
        """The value now (fresh from the backend, never a cached monitor value)."""
        return await self._backend.get_value()

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(self, callback: Callable[[dict[str, Reading]], None]) -> None:
        """Call ``callback({name: reading})`` with the current reading and every update."""
        self._readings_cbs.append(callback)
        self._start_or_replay(lambda reading: callback({self._name: reading}))

    def subscribe_value(self, callback: Callable[[T], None]) -> None:
        """Call ``callback(value)`` with the current value and every update."""
        self._value_cbs.append(callback)
        self._start_or_replay(lambda reading: callback(reading["value"]))

    def clear_sub(self, callback: Callable[..., None]) -> None:
        """Stop calling `callback` (given to `subscribe` or `subscribe_value`)."""
        if callback in self._readings_cbs:
            self._readings_cbs.remove(callback)
        elif callback in self._value_cbs:
            self._value_cbs.remove(callback)
        if not self._readings_cbs and not self._value_cbs:
            self._backend.set_callback(None)
            self._latest = None

    def _start_or_replay(self, deliver: Callable[[Reading], None]) -> None:
        if len(self._readings_cbs) + len(self._value_cbs) == 1:
            self._backend.set_callback(self._on_reading)
        elif self._latest is not None:
            deliver(self._latest)

    def _on_reading(self, reading: Reading) -> None:
        # a failing subscriber is logged and skipped: it must not end the monitor (aioca
        # closes a subscription whose callback raises) nor starve the other subscribers
        self._latest = reading
        if self._readings_cbs:
            readings = {self._name: reading}
            for readings_cb in list(self._readings_cbs):
                try:
                    readings_cb(readings)
                except Exception:
                    log.exception(
                        "%s: subscriber %r failed", self._name or self.source, readings_cb
                    )
        if self._value_cbs:
            value = reading["value"]
            for callback in list(self._value_cbs):
                try:
                    callback(value)
                except Exception:
                    log.exception("%s: subscriber %r failed", self._name or self.source, callback)

    async def updates(self) -> AsyncIterator[T]:
        """Each new value (the current one first), for as long as the caller iterates.

        Close it when done: ``async with contextlib.aclosing(sig.updates()) as it: ...``.
        """
        import asyncio

        queue: asyncio.Queue[T] = asyncio.Queue()
        self.subscribe_value(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            self.clear_sub(queue.put_nowait)

    def __aiter__(self) -> AsyncIterator[T]:
        return self.updates()


class SignalW(Signal[T]):
    """A signal that can be set."""

    def set(self, value: T, wait: bool = True, timeout: float | None = None) -> Status:
        """Start writing `value`; the returned `Status` is done when the write completes.

        The value is checked first: a wrong type or an unknown enum label raises
        `SignalValueError` here, before anything is sent.
        """
        checked = self.check(value)
        return Status(
            self._backend.put(checked, wait, timeout), name=f"{self._name}.set({value!r})"
        )

    def check(self, value: Any) -> Any:
        """`value` as it will be sent, or `SignalValueError` / `SignalAccessError`."""
        if not self._backend.writable:
            raise SignalAccessError(f"{self._name or self.source}: {self.source} is read-only")
        try:
            return self._backend.validate(value)
        except SignalValueError as error:
            raise SignalValueError(f"{self._name or 'signal'} ({self.source}): {error}") from None


class SignalRW(SignalR[T], SignalW[T]):
    """A signal that can be read and set."""

    async def locate(self) -> Location:
        value = await self.get_value()
        return {"setpoint": value, "readback": value}


class SignalX(Signal[None]):
    """An executable signal: ``trigger()`` writes its action value (1 for CA)."""

    def trigger(self, wait: bool = True, timeout: float | None = None) -> Status:
        return Status(self._backend.put(None, wait, timeout), name=f"{self._name}.trigger()")

"""What a signal needs from whatever holds its value: the backend interface.

A `Signal` is the user-facing object (names, status objects, subscriptions); a backend
does the I/O. Two ship with acq: `devices.soft.SoftBackend` (in memory) and
`devices.epics.ca.CaBackend` (Channel Access through aioca).

Backends of one kind can read many signals at once (`read_many`): a device gathers its
signals by backend class and reads each group in one go, so a device with three CA signals
costs one concurrent round trip, not three.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from acq.protocols import DataKey, Reading

__all__ = ["BatchReader", "ReadingCallback", "SignalBackend"]

T = TypeVar("T")
ReadingCallback = Callable[[Reading], None]
BatchReader = Callable[[], Awaitable[list[Reading]]]


class SignalBackend(ABC, Generic[T]):
    """The I/O behind one signal."""

    #: whether ``put`` is allowed at all (read-only signals say False)
    writable: bool = True

    @abstractmethod
    def source(self, name: str) -> str:
        """Where the value comes from, e.g. ``ca://sim:m1.RBV`` or ``soft://m1``."""

    @abstractmethod
    async def connect(self, timeout: float) -> None:
        """Make the signal usable; raise `NotConnectedError` with the source on failure."""

    def close(self) -> None:  # optional hook: most backends hold nothing
        """Release subscriptions and channels (the signal is no longer used)."""

    @abstractmethod
    async def get_reading(self) -> Reading:
        """A fresh reading: value, timestamp, alarm severity."""

    async def get_value(self) -> T:
        return (await self.get_reading())["value"]

    @abstractmethod
    def get_datakey(self, source: str) -> DataKey:
        """The DataKey, from metadata kept current by the backend (no I/O)."""

    def validate(self, value: Any) -> Any:
        """`value` ready to put, or `SignalValueError`; called before anything is sent."""
        return value

    @abstractmethod
    async def put(self, value: Any, wait: bool, timeout: float | None = None) -> None:
        """Write a validated value; with `wait`, return when the write has completed.

        `timeout` bounds the whole write; None means the backend's own default bound.
        Overrunning raises `StatusTimeoutError` naming the source and the bound.
        """

    @abstractmethod
    def set_callback(self, callback: ReadingCallback | None) -> None:
        """Start (or with None, stop) delivering each new reading to `callback`."""

    @classmethod
    async def read_many(cls, backends: Sequence[SignalBackend[Any]]) -> list[Reading]:
        """Fresh readings of several backends of this class (override to batch)."""
        return [await backend.get_reading() for backend in backends]

    @classmethod
    def batch_reader(cls, backends: Sequence[SignalBackend[Any]]) -> BatchReader:
        """A function reading `backends` at once, prepared for reading again and again.

        Devices build one per group of signals and call it at every ``read()``; override
        to do the per-group work (PV lists, arguments) once instead of at every read.
        """
        backends = list(backends)
        return lambda: cls.read_many(backends)

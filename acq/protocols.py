"""What the engine and the plans expect of a device: bluesky's verbs, typed.

Plans and the engine depend on these protocols only; `devices` implements them. The
conventions (shared with ophyd-async, so its devices fit too):

- Reading and describing are coroutines: ``await dev.read()``.
- Verbs that take time (``set``, ``trigger``, ``stage``, ``kickoff`` ...) return a
  `Status`: an awaitable that may also report `Progress`. The engine calls them, keeps the
  status, and awaits it when the plan waits. A plain coroutine or ``None`` is accepted too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, NotRequired, Protocol, TypedDict, runtime_checkable

from event_model.documents.event_descriptor import DataKey

__all__ = [
    "Collectable",
    "Configurable",
    "DataKey",
    "EventPageCollectable",
    "Flyable",
    "HasHints",
    "HasName",
    "Locatable",
    "Location",
    "Movable",
    "Pausable",
    "Preparable",
    "Progress",
    "Readable",
    "Reading",
    "Stageable",
    "Status",
    "Stoppable",
    "Subscribable",
    "Triggerable",
    "WritesStreamAssets",
]


class Reading(TypedDict):
    """One value as read: what goes into an Event's ``data``/``timestamps``."""

    value: Any
    timestamp: float
    alarm_severity: NotRequired[int]
    message: NotRequired[str]


class Location(TypedDict):
    """Where a movable was told to go, and where it is."""

    setpoint: Any
    readback: Any


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a move or wait has got, for progress bars."""

    name: str = ""
    current: float | None = None
    initial: float | None = None
    target: float | None = None
    unit: str = ""
    precision: int | None = None
    time_elapsed: float | None = None
    time_remaining: float | None = None

    @property
    def fraction(self) -> float | None:
        """0 at the start, 1 at the target; None when unknown."""
        if None in (self.current, self.initial, self.target):
            return None
        span = self.target - self.initial  # type: ignore[operator]
        if span == 0:
            return 1.0
        done = (self.current - self.initial) / span  # type: ignore[operator]
        return min(1.0, max(0.0, done))


@runtime_checkable
class Status(Protocol):
    """An operation under way. ``await status`` returns when it ends, raising on failure."""

    def __await__(self) -> Iterator[Any]: ...

    @property
    def done(self) -> bool: ...

    @property
    def success(self) -> bool: ...

    def add_callback(self, callback: Callable[[Status], None]) -> None: ...

    def watch(self, callback: Callable[[Progress], None]) -> None:
        """Call `callback` with each progress update (immediately with the latest)."""
        ...


@runtime_checkable
class HasName(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def parent(self) -> Any: ...


@runtime_checkable
class Readable(HasName, Protocol):
    async def read(self) -> dict[str, Reading]: ...

    async def describe(self) -> dict[str, DataKey]: ...


@runtime_checkable
class HasHints(Protocol):
    @property
    def hints(self) -> dict[str, Any]:
        """``{"fields": [data keys worth plotting]}``."""
        ...


@runtime_checkable
class Configurable(Protocol):
    async def read_configuration(self) -> dict[str, Reading]: ...

    async def describe_configuration(self) -> dict[str, DataKey]: ...


@runtime_checkable
class Movable(Protocol):
    def set(self, value: Any, *args: Any, **kwargs: Any) -> Awaitable[Any]: ...


@runtime_checkable
class Locatable(Movable, Protocol):
    async def locate(self) -> Location: ...


@runtime_checkable
class Triggerable(Protocol):
    def trigger(self) -> Awaitable[Any]: ...


@runtime_checkable
class Stageable(Protocol):
    def stage(self) -> Awaitable[Any]: ...

    def unstage(self) -> Awaitable[Any]: ...


@runtime_checkable
class Stoppable(Protocol):
    def stop(self, success: bool = True) -> Awaitable[Any] | None: ...


@runtime_checkable
class Pausable(Protocol):
    def pause(self) -> Awaitable[Any] | None: ...

    def resume(self) -> Awaitable[Any] | None: ...


@runtime_checkable
class Preparable(Protocol):
    def prepare(self, value: Any) -> Awaitable[Any]: ...


@runtime_checkable
class Flyable(HasName, Protocol):
    def kickoff(self) -> Awaitable[Any]: ...

    def complete(self) -> Awaitable[Any]: ...


@runtime_checkable
class Collectable(HasName, Protocol):
    async def describe_collect(self) -> dict[str, DataKey]: ...


@runtime_checkable
class EventPageCollectable(Collectable, Protocol):
    def collect_pages(self) -> AsyncIterator[dict[str, Any]]:
        """Yield partial EventPages: ``{"data", "timestamps", "time"}`` of equal-length lists."""
        ...


@runtime_checkable
class WritesStreamAssets(Collectable, Protocol):
    """A detector that writes its own files and reports them as StreamResource/StreamDatum."""

    def collect_asset_docs(self, index: int | None = None) -> AsyncIterator[tuple[str, dict]]: ...

    async def get_index(self) -> int: ...


@runtime_checkable
class Subscribable(HasName, Protocol):
    def subscribe(self, callback: Callable[[dict[str, Reading]], None]) -> None:
        """Call `callback` with a reading now and at every update."""
        ...

    def clear_sub(self, callback: Callable[[dict[str, Reading]], None]) -> None: ...

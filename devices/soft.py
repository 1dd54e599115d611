"""The soft backend: a value in memory, for simulated devices and tests.

A soft signal holds its value (``soft_signal_rw(float, 0.0)``), or computes it on every
read from a ``getter`` (a detector that evaluates a model), and may pass puts to a
``setter``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, overload

from acq.protocols import DataKey, Reading

from .backend import ReadingCallback, SignalBackend
from .datatypes import check_value, datakey_for, is_enum_type
from .signal import SignalR, SignalRW, SignalW, SignalX
from .status import bounded

__all__ = [
    "SoftBackend",
    "soft_signal_r_and_setter",
    "soft_signal_rw",
    "soft_signal_w",
    "soft_signal_x",
]

T = TypeVar("T")

_DEFAULTS: dict[Any, Any] = {float: 0.0, int: 0, str: "", bool: False}


class SoftBackend(SignalBackend[T]):
    """A value in memory (or from `getter`); puts go to memory (and to `setter`)."""

    __slots__ = (
        "_callback",
        "_getter",
        "_setter",
        "_severity",
        "_timestamp",
        "_value",
        "choices",
        "datatype",
        "precision",
        "units",
    )

    def __init__(
        self,
        datatype: type[T] | None = None,
        initial: T | None = None,
        *,
        units: str | None = None,
        precision: int | None = None,
        choices: Sequence[str] | None = None,
        getter: Callable[[], T] | None = None,
        setter: Callable[[T], Awaitable[None] | None] | None = None,
    ) -> None:
        self.datatype = datatype
        self.units = units
        self.precision = precision
        self.choices = list(choices) if choices else None
        if initial is None:
            initial = _initial(datatype)
        self._value: Any = initial
        self._timestamp = time.time()
        self._severity = 0
        self._getter = getter
        self._setter = setter
        self._callback: ReadingCallback | None = None

    def source(self, name: str) -> str:
        return f"soft://{name}"

    async def connect(self, timeout: float) -> None:
        return None

    # -- reading -------------------------------------------------------------------------

    def reading(self) -> Reading:
        """The reading now, without awaiting anything."""
        if self._getter is not None:
            return {
                "value": self._getter(),
                "timestamp": time.time(),
                "alarm_severity": self._severity,
            }
        return {
            "value": self._value,
            "timestamp": self._timestamp,
            "alarm_severity": self._severity,
        }

    @property
    def value(self) -> Any:
        return self._getter() if self._getter is not None else self._value

    async def get_reading(self) -> Reading:
        return self.reading()

    async def get_value(self) -> T:
        return self.value

    @classmethod
    async def read_many(cls, backends: Sequence[SignalBackend[Any]]) -> list[Reading]:
        return [backend.reading() for backend in backends]  # type: ignore[attr-defined]

    def get_datakey(self, source: str) -> DataKey:
        return datakey_for(
            self.datatype,
            self.value,
            source,
            units=self.units,
            precision=self.precision,
            choices=self.choices,
        )

    # -- writing -------------------------------------------------------------------------

    def validate(self, value: Any) -> Any:
        return check_value(self.datatype, value, self.choices)

    def set_value(self, value: Any, *, timestamp: float | None = None, severity: int = 0) -> None:
        """Store `value` (already valid) and tell the subscriber."""
        self._value = value
        self._timestamp = time.time() if timestamp is None else timestamp
        self._severity = severity
        if self._callback is not None:
            self._callback(self.reading())

    async def put(self, value: Any, wait: bool, timeout: float | None = None) -> None:
        if self._setter is not None:
            result = self._setter(value)
            if inspect.isawaitable(result):
                if timeout is None:  # in memory: a setter bounds itself
                    await result
                else:
                    await bounded(result, timeout, f"soft setter of {value!r}")
        self.set_value(value)

    def set_callback(self, callback: ReadingCallback | None) -> None:
        self._callback = callback
        if callback is not None:
            callback(self.reading())


def _initial(datatype: Any) -> Any:
    if is_enum_type(datatype):
        return next(iter(datatype))
    if datatype is not None and datatype in _DEFAULTS:
        return _DEFAULTS[datatype]
    if datatype is not None:
        import numpy as np

        if datatype is np.ndarray:
            return np.zeros(0)
    return None


@overload
def soft_signal_rw(
    datatype: type[T],
    initial: T | None = None,
    name: str = "",
    *,
    units: str | None = None,
    precision: int | None = None,
) -> SignalRW[T]: ...
@overload
def soft_signal_rw(
    datatype: None,
    initial: Any = None,
    name: str = "",
    *,
    units: str | None = None,
    precision: int | None = None,
) -> SignalRW[Any]: ...
@overload
def soft_signal_rw(
    *,
    initial: float | None = None,
    name: str = "",
    units: str | None = None,
    precision: int | None = None,
) -> SignalRW[float]: ...
def soft_signal_rw(
    datatype: type[Any] | None = float,
    initial: Any = None,
    name: str = "",
    *,
    units: str | None = None,
    precision: int | None = None,
) -> SignalRW[Any]:
    """A read-write signal held in memory: ``soft_signal_rw(float, 0.0, "x", units="mm")``."""
    return SignalRW(SoftBackend(datatype, initial, units=units, precision=precision), name=name)


@overload
def soft_signal_r_and_setter(
    datatype: type[T],
    initial: T | None = None,
    name: str = "",
    *,
    units: str | None = None,
    precision: int | None = None,
) -> tuple[SignalR[T], Callable[[T], None]]: ...
@overload
def soft_signal_r_and_setter(
    datatype: None,
    initial: Any = None,
    name: str = "",
    *,
    units: str | None = None,
    precision: int | None = None,
) -> tuple[SignalR[Any], Callable[[Any], None]]: ...
@overload
def soft_signal_r_and_setter(
    *,
    initial: float | None = None,
    name: str = "",
    units: str | None = None,
    precision: int | None = None,
) -> tuple[SignalR[float], Callable[[float], None]]: ...
def soft_signal_r_and_setter(
    datatype: type[Any] | None = float,
    initial: Any = None,
    name: str = "",
    *,
    units: str | None = None,
    precision: int | None = None,
) -> tuple[SignalR[Any], Callable[[Any], None]]:
    """A read-only signal, and the function that sets its value (for simulations)."""
    backend = SoftBackend(datatype, initial, units=units, precision=precision)
    signal: SignalR[Any] = SignalR(backend, name=name)
    return signal, backend.set_value


@overload
def soft_signal_w(datatype: type[T], initial: T | None = None, name: str = "") -> SignalW[T]: ...
@overload
def soft_signal_w(datatype: None, initial: Any = None, name: str = "") -> SignalW[Any]: ...
@overload
def soft_signal_w(*, initial: float | None = None, name: str = "") -> SignalW[float]: ...
def soft_signal_w(
    datatype: type[Any] | None = float,
    initial: Any = None,
    name: str = "",
) -> SignalW[Any]:
    return SignalW(SoftBackend(datatype, initial), name=name)


def soft_signal_x(
    action: Callable[[], Awaitable[None] | None] | None = None, name: str = ""
) -> SignalX:
    """An executable signal that calls `action` when triggered."""

    def run(_value: Any) -> Awaitable[None] | None:
        return action() if action is not None else None

    return SignalX(SoftBackend(None, None, setter=run), name=name)

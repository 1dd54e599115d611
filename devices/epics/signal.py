"""EPICS signals: ``EpicsSignalRO("sim:det", name="det")`` and friends.

The datatype is optional: by default the PV's own type is used (float, int, str, enum
label as str, numpy array for waveforms). Give one to have it checked at connect:
``EpicsSignalRW("sim:tc1:SP", datatype=float)``, ``EpicsSignalRW(pv, datatype=Mode)``
(a `StrEnum` whose labels must all be among the PV's choices), ``datatype=str`` for a
char waveform read as text.

Every put is bounded: a put with callback (``set(v)``, ``trigger()``) by its ``timeout=``,
else the signal's ``put_timeout=``, else `devices.epics.set_default_put_timeout` (10 s,
or ``$ACQ_CA_PUT_TIMEOUT``). A callback that never comes ends the step with
`StatusTimeoutError` naming the PV, not a hang.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..signal import SignalR, SignalRW, SignalW, SignalX
from .ca import DEFAULT_IO_TIMEOUT, CaBackend

__all__ = ["EpicsSignal", "EpicsSignalRO", "EpicsSignalRW", "EpicsSignalWO", "EpicsSignalX"]

T = TypeVar("T")


class EpicsSignalRO(SignalR[T]):
    """A read-only PV."""

    def __init__(
        self,
        read_pv: str,
        name: str = "",
        *,
        datatype: type[T] | None = None,
        io_timeout: float = DEFAULT_IO_TIMEOUT,
    ) -> None:
        super().__init__(
            CaBackend(datatype, read_pv, writable=False, io_timeout=io_timeout), name=name
        )


class EpicsSignalRW(SignalRW[T]):
    """A PV that is read and written (or a readback PV and a separate ``write_pv``)."""

    def __init__(
        self,
        read_pv: str,
        name: str = "",
        *,
        write_pv: str | None = None,
        datatype: type[T] | None = None,
        io_timeout: float = DEFAULT_IO_TIMEOUT,
        put_timeout: float | None = None,
    ) -> None:
        super().__init__(
            CaBackend(datatype, read_pv, write_pv, io_timeout=io_timeout, put_timeout=put_timeout),
            name=name,
        )


#: the everyday name for a read-write PV
EpicsSignal = EpicsSignalRW


class EpicsSignalWO(SignalW[T]):
    """A PV that is only written (a command or setpoint nobody reads back)."""

    def __init__(
        self,
        write_pv: str,
        name: str = "",
        *,
        datatype: type[T] | None = None,
        io_timeout: float = DEFAULT_IO_TIMEOUT,
        put_timeout: float | None = None,
    ) -> None:
        super().__init__(
            CaBackend(datatype, write_pv, io_timeout=io_timeout, put_timeout=put_timeout),
            name=name,
        )


class EpicsSignalX(SignalX):
    """A PV written to make something happen: ``trigger()`` puts `value` (1) and waits."""

    def __init__(
        self,
        write_pv: str,
        name: str = "",
        *,
        value: Any = 1,
        io_timeout: float = DEFAULT_IO_TIMEOUT,
        put_timeout: float | None = None,
    ) -> None:
        super().__init__(
            CaBackend(
                None, write_pv, put_value=value, io_timeout=io_timeout, put_timeout=put_timeout
            ),
            name=name,
        )

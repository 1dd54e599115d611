"""devices: the async device layer (signals, device trees, EPICS/APS/sim catalogue).

    from devices import connect
    from devices.sim import SimMotor, SimDetector
    from devices.epics import EpicsMotor, EpicsSignalRO

Signals (`SignalR`, `SignalW`, `SignalRW`, `SignalX`) sit on backends (soft, CA);
`Device` trees name their children ``<parent>_<child>``; `connect` connects trees
concurrently and raises one `NotConnectedError` for everything that failed; verbs that take
time return a `Status` that is awaitable and reports `Progress`.
"""

from acq.protocols import Location, Progress, Reading

from .backend import SignalBackend
from .device import DEFAULT_TIMEOUT, Device, DeviceVector, connect
from .errors import (
    DeviceError,
    MotorLimitError,
    MotorStoppedError,
    NotConnectedError,
    SignalAccessError,
    SignalValueError,
    StatusTimeoutError,
)
from .readable import Format, StandardReadable
from .signal import Signal, SignalR, SignalRW, SignalW, SignalX
from .soft import (
    SoftBackend,
    soft_signal_r_and_setter,
    soft_signal_rw,
    soft_signal_w,
    soft_signal_x,
)
from .status import Status, StatusCancelledError
from .wait import set_and_wait_for_other_value, set_and_wait_for_value, wait_for_value

__all__ = [
    "DEFAULT_TIMEOUT",
    "Device",
    "DeviceError",
    "DeviceVector",
    "Format",
    "Location",
    "MotorLimitError",
    "MotorStoppedError",
    "NotConnectedError",
    "Progress",
    "Reading",
    "Signal",
    "SignalAccessError",
    "SignalBackend",
    "SignalR",
    "SignalRW",
    "SignalValueError",
    "SignalW",
    "SignalX",
    "SoftBackend",
    "StandardReadable",
    "Status",
    "StatusCancelledError",
    "StatusTimeoutError",
    "connect",
    "set_and_wait_for_other_value",
    "set_and_wait_for_value",
    "soft_signal_r_and_setter",
    "soft_signal_rw",
    "soft_signal_w",
    "soft_signal_x",
    "wait_for_value",
]

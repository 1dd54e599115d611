"""EPICS devices over Channel Access (aioca): signals, motor record, scaler, area
detector, temperature controller.
"""

from .ca import CaBackend
from .convert import IncompatibleTypeError
from .motor import EpicsMotor
from .signal import EpicsSignal, EpicsSignalRO, EpicsSignalRW, EpicsSignalWO, EpicsSignalX

__all__ = [
    "CaBackend",
    "EpicsMotor",
    "EpicsSignal",
    "EpicsSignalRO",
    "EpicsSignalRW",
    "EpicsSignalWO",
    "EpicsSignalX",
    "IncompatibleTypeError",
]

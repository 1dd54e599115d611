"""EPICS devices over Channel Access (aioca): signals, motor record, scaler, area
detector, temperature controller.
"""

from .areadetector import ADCam, AreaDetector, ImagePlugin
from .ca import CaBackend, set_default_put_timeout
from .convert import IncompatibleTypeError
from .motor import EpicsMotor
from .scaler import Scaler, ScalerChannel
from .signal import EpicsSignal, EpicsSignalRO, EpicsSignalRW, EpicsSignalWO, EpicsSignalX
from .temperature import TemperatureController

__all__ = [
    "ADCam",
    "AreaDetector",
    "CaBackend",
    "EpicsMotor",
    "EpicsSignal",
    "EpicsSignalRO",
    "EpicsSignalRW",
    "EpicsSignalWO",
    "EpicsSignalX",
    "ImagePlugin",
    "IncompatibleTypeError",
    "Scaler",
    "ScalerChannel",
    "TemperatureController",
    "set_default_put_timeout",
]

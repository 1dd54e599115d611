"""EPICS devices over Channel Access (aioca): signals, motor record, scaler, area
detector (inline images, or HDF5 files), temperature controller.
"""

from .areadetector import ADCam, AreaDetector, ImagePlugin
from .ca import CaBackend, set_default_put_timeout
from .convert import IncompatibleTypeError
from .hdf5 import HDF5Detector, NDFileHDF5
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
    "HDF5Detector",
    "ImagePlugin",
    "IncompatibleTypeError",
    "NDFileHDF5",
    "Scaler",
    "ScalerChannel",
    "TemperatureController",
    "set_default_put_timeout",
]

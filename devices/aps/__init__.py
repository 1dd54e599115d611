"""APS facility devices: storage-ring current, PSS shutter, undulator."""

from .ring import StorageRing
from .shutter import PssShutter
from .undulator import Undulator

__all__ = ["PssShutter", "StorageRing", "Undulator"]

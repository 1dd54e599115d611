"""acq: the engine. Runs plans inside the caller's event loop and emits documents."""

from .msg import Msg

__all__ = ["Msg"]

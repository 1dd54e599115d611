"""viz's exceptions: one base class, messages that say what to do."""

from __future__ import annotations

__all__ = ["PlotServerError", "VizError"]


class VizError(Exception):
    """Base class of every error raised by viz."""


class PlotServerError(VizError):
    """The live plot server cannot start or is not running (port in use, no loop...)."""

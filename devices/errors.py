"""The device layer's exceptions: one small hierarchy, messages for the beamline.

Every message names the device or PV and, where there is one, what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

__all__ = [
    "DeviceError",
    "FileWriterError",
    "MotorLimitError",
    "MotorStoppedError",
    "NotConnectedError",
    "SignalAccessError",
    "SignalValueError",
    "StatusTimeoutError",
]


class DeviceError(Exception):
    """Base of every error raised by `devices`."""


ErrorTree = Mapping[str, Union[str, BaseException, "ErrorTree"]]


class NotConnectedError(DeviceError):
    """One or more signals did not connect.

    Holds the failures as a tree (device -> child -> PV), so one error shows everything
    that is missing::

        NotConnectedError: 2 signals did not connect:
        m1:
          user_readback: ca://sim:m1.RBV did not connect within 2.0 s
        det: ca://sim:det did not connect within 2.0 s
    """

    def __init__(self, errors: str | ErrorTree) -> None:
        self.errors = errors
        super().__init__(self._format())

    @property
    def leaves(self) -> list[str]:
        """Every failure as a line, e.g. ``m1.user_readback: ca://sim:m1.RBV ...``."""
        return list(_leaves(self.errors, ""))

    def _format(self) -> str:
        if isinstance(self.errors, str):
            return self.errors
        count = len(self.leaves)
        noun = "signal" if count == 1 else "signals"
        return f"{count} {noun} did not connect:\n" + "\n".join(_tree_lines(self.errors, 0))


def _leaves(errors: str | ErrorTree | BaseException, path: str) -> list[str]:
    if isinstance(errors, NotConnectedError):
        return _leaves(errors.errors, path)
    if isinstance(errors, str | BaseException):
        return [f"{path}: {errors}" if path else str(errors)]
    lines: list[str] = []
    for key, sub in errors.items():
        lines.extend(_leaves(sub, f"{path}.{key}" if path else key))
    return lines


def _tree_lines(errors: ErrorTree, depth: int) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for key, sub in errors.items():
        if isinstance(sub, NotConnectedError):
            sub = sub.errors
        if isinstance(sub, str):
            lines.append(f"{pad}{key}: {sub}")
        elif isinstance(sub, BaseException):
            lines.append(f"{pad}{key}: {type(sub).__name__}: {sub}")
        else:
            lines.append(f"{pad}{key}:")
            lines.extend(_tree_lines(sub, depth + 1))
    return lines


class SignalValueError(DeviceError, ValueError):
    """A value that a signal cannot take (wrong type, unknown enum label, ...).

    Raised before anything is sent to the hardware.
    """


class SignalAccessError(DeviceError):
    """A put or get the server refused (no write access, disabled record, ...)."""


class StatusTimeoutError(DeviceError, TimeoutError):
    """An operation did not finish within its timeout."""


class FileWriterError(DeviceError):
    """A detector's file writer cannot write where or what it was asked to."""


class MotorLimitError(DeviceError, ValueError):
    """A move to a target outside the motor's soft limits; the motor did not move."""

    def __init__(self, motor: str, target: float, low: float, high: float) -> None:
        self.motor, self.target, self.low, self.high = motor, target, low, high
        super().__init__(
            f"{motor}: target {target:g} is outside the limits [{low:g}, {high:g}]; "
            f"the motor did not move. Choose a target within the limits or change them."
        )


class MotorStoppedError(DeviceError):
    """A move that was stopped before it reached its target."""

"""The plans package's exceptions: one small hierarchy.

Every error names what was wrong (which argument, which device, which position) so the
person at the beamline can fix the call without reading the plan's source.
"""

from __future__ import annotations

__all__ = ["PlanArgumentError", "PlanError", "SoftLimitError"]


class PlanError(Exception):
    """Base class of every error raised by `plans`."""


class PlanArgumentError(PlanError, ValueError, TypeError):
    """A plan was called with arguments it cannot run with.

    Raised when the plan function is *called*, before any message is generated and so
    before any run opens. It is both a `ValueError` and a `TypeError`, so code written for
    bluesky's plans (which raise either) keeps catching it.
    """


class SoftLimitError(PlanArgumentError):
    """A plan would move a motor outside its soft limits."""

    def __init__(
        self, motor_name: str, target: float, low: float, high: float, where: str = ""
    ) -> None:
        self.motor_name = motor_name
        self.target = target
        self.low = low
        self.high = high
        context = f" ({where})" if where else ""
        super().__init__(
            f"{motor_name} would move to {target!r}, outside its soft limits "
            f"[{low!r}, {high!r}]{context}; change the scan range or the motor's limits"
        )

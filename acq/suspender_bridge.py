"""bluesky's suspenders (``bluesky.suspenders.SuspendFloor(ring_current, 10)``) on acq's engine.

A beamline profile installs bluesky suspender objects with ``RE.install_suspender(s)``, and
plans install them with ``bpp.suspend_wrapper``. acq's engine takes them as they are: each
is wrapped in a `BridgedSuspender`, an `acq.suspenders.Suspender` that asks the bluesky
object when to suspend and resume (its ``_should_suspend`` / ``_should_resume``, so every
bluesky subclass keeps its own rule) and uses its sleep, pre/post plans and message.

Their signals are often classic ophyd ones (``cb(value=..., **kw)`` from their own threads):
`Suspender.install` subscribes through `acq.bridged_monitor`, which hands each update to
the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .plan_stack import ensure_plan, is_plan
from .suspenders import Suspender

__all__ = ["BridgedSuspender", "is_bluesky_suspender"]


def is_bluesky_suspender(obj: Any) -> bool:
    """A ``bluesky.suspenders.SuspenderBase`` (or anything with its private interface)."""
    return not isinstance(obj, Suspender) and all(
        hasattr(obj, attr) for attr in ("_should_suspend", "_should_resume", "_sig")
    )


def _plan_factory(plan: Any) -> Callable[[], Any] | None:
    """bluesky takes a generator function, a list of messages or a generator (run once)."""
    if plan is None:
        return None
    if callable(plan) and not is_plan(plan):
        return plan
    if is_plan(plan):
        return lambda: plan
    messages = list(plan)
    return lambda: ensure_plan(messages)


class BridgedSuspender(Suspender):
    """An acq suspender that follows a bluesky suspender's rules."""

    def __init__(self, original: Any) -> None:
        super().__init__(
            original._sig,
            sleep=getattr(original, "_sleep", 0) or 0,
            pre_plan=_plan_factory(getattr(original, "_pre_plan", None)),
            post_plan=_plan_factory(getattr(original, "_post_plan", None)),
            tripped_message=getattr(original, "_tripped_message", "") or "",
        )
        self.original = original

    def should_suspend(self, value: Any) -> bool:
        return bool(self.original._should_suspend(value))

    def should_resume(self, value: Any) -> bool:
        return bool(self.original._should_resume(value))

    @property
    def justification(self) -> str:
        text = f"{type(self.original).__name__}: {self.condition()}"
        return f"{text} ({self.tripped_message})" if self.tripped_message else text

    def __repr__(self) -> str:
        return f"BridgedSuspender({self.original!r})"

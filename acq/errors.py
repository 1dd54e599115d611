"""The engine's exceptions: one small hierarchy, messages written for the beamline."""

from __future__ import annotations

__all__ = [
    "AcqError",
    "DocumentError",
    "IllegalMessageSequence",
    "MetadataError",
    "NotResumable",
    "PlanInterrupt",
    "RequestAbort",
    "RequestStop",
    "RunEngineBusy",
    "RunEnginePaused",
    "RunEngineStateError",
    "UnknownCommand",
    "WaitTimeout",
]


class AcqError(Exception):
    """Base of every error the engine raises on purpose."""


class RunEngineStateError(AcqError):
    """The RunEngine was asked for something its current state does not allow."""


class RunEngineBusy(RunEngineStateError):
    """``RE(...)`` was called while another plan is running or paused."""


class RunEnginePaused(AcqError):
    """The plan paused (Ctrl-C, `request_pause`, a ``pause`` message) and is waiting.

    The engine keeps the plan where it stopped. Continue with ``await RE.resume()``, end
    it cleanly with ``await RE.stop()``, or ``await RE.abort("why")``.
    """


class IllegalMessageSequence(AcqError):
    """A plan yielded a message that makes no sense where it is (``save`` without ``create``)."""


class UnknownCommand(AcqError):
    """A plan yielded a `Msg` whose command the engine does not know."""


class DocumentError(AcqError):
    """A device's description or readings do not fit event-model (missing keys, clashes)."""


class MetadataError(AcqError, ValueError):
    """Run metadata cannot be recorded (not JSON-serialisable, bad key, refused by validator)."""


class WaitTimeout(AcqError, TimeoutError):
    """``wait(timeout=...)`` ran out of time; the message names what was still busy."""


class NotResumable(AcqError):
    """A pause was requested where the plan cannot be resumed (no checkpoint to go back to)."""


class PlanInterrupt(BaseException):
    """Thrown into a plan at its current ``yield`` to end it early.

    A `BaseException` (like `GeneratorExit`) so that ``except Exception`` in a plan does
    not swallow it, while ``try/finally`` still runs the plan's cleanup.
    """


class RequestStop(PlanInterrupt):
    """``RE.stop()``: end the plan, running its cleanup; the run succeeds."""


class RequestAbort(PlanInterrupt):
    """``RE.abort(reason)``: end the plan, running its cleanup; the run is marked aborted."""


class CriticalSubscriberError(AcqError):
    """A subscriber made ``critical=True`` failed: the run ends with exit_status 'fail'."""

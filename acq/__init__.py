"""acq: the engine. Runs plans inside the caller's event loop and emits documents.

    from acq import RunEngine
    RE = RunEngine(md={"beamline_id": "sim"})
    result = await RE(plan, sample="Si")     # RunResult(run_uids, exit_status, ...)

For plan authors: plans yield `Msg` objects or sub-plans; an async sub-plan hands a value
back to its parent with ``yield plan_return(value)`` (a plain generator may ``return value``).
See `acq.plan_stack` for the rules.
"""

from .engine import RunEngine, RunResult
from .errors import (
    AcqError,
    DocumentError,
    IllegalMessageSequence,
    MetadataError,
    NotResumable,
    RequestAbort,
    RequestStop,
    RunEngineBusy,
    RunEnginePaused,
    RunEngineStateError,
    UnknownCommand,
    WaitTimeout,
)
from .msg import Msg
from .plan_stack import Plan, plan_return

__all__ = [
    "AcqError",
    "DocumentError",
    "IllegalMessageSequence",
    "MetadataError",
    "Msg",
    "NotResumable",
    "Plan",
    "RequestAbort",
    "RequestStop",
    "RunEngine",
    "RunEngineBusy",
    "RunEnginePaused",
    "RunEngineStateError",
    "RunResult",
    "UnknownCommand",
    "WaitTimeout",
    "plan_return",
]

"""Short error reports: drop the engine's own frames from a plan error's traceback.

What the person at the beamline needs is the plan's frames and the device's frames; the
engine loop in between is noise. The plan stack and the failing message are added as a
note (`BaseException.add_note`) where the command failed.
"""

from __future__ import annotations

import types
from pathlib import Path

__all__ = ["trim_engine_frames"]

_ENGINE_FILES = frozenset(
    str(Path(__file__).with_name(name))
    for name in (
        "engine.py",
        "interruptions.py",
        "lifecycle.py",
        "plan_stack.py",
        "commands.py",
        "status.py",
        "execution.py",
        "bundler.py",
        "describe.py",
    )
)


def trim_engine_frames(error: BaseException) -> BaseException:
    """Remove frames of the engine's modules from `error`'s traceback (in place)."""
    kept: list[types.TracebackType] = []
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in _ENGINE_FILES:
            kept.append(tb)
        tb = tb.tb_next
    if not kept:
        return error
    new_tb = None
    for entry in reversed(kept):
        new_tb = types.TracebackType(new_tb, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return error.with_traceback(new_tb)

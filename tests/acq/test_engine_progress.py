"""Waits report progress: the waiting hook and the terminal bar."""

from __future__ import annotations

import io

from acq import Msg, RunEngine
from acq.progress import TerminalProgressBar
from acq.protocols import Progress
from devices.sim import SimMotor


async def test_the_waiting_hook_sees_busy_statuses_and_then_none():
    calls = []
    updates = []

    def hook(statuses):
        calls.append(None if statuses is None else len(statuses))
        for status in statuses or ():
            status.watch(updates.append)

    RE = RunEngine(waiting_hook=hook)
    slow, fast = SimMotor("slow", velocity=20.0), SimMotor("fast")

    async def plan():
        yield Msg("set", fast, 1.0, group="instant")
        yield Msg("wait", None, group="instant")  # already done: no progress shown
        yield Msg("set", slow, 1.0, group="move")
        yield Msg("set", fast, 2.0, group="move")
        yield Msg("wait", None, group="move")

    await RE(plan())
    assert calls == [2, None]
    assert updates[-1].fraction == 1.0 and updates[-1].name == "slow"


def test_the_terminal_bar_draws_one_line_per_status():
    out = io.StringIO()
    bar = TerminalProgressBar(file=out, delay=0.0)
    line = bar.render(Progress("m1", 2.5, 0.0, 5.0, "mm", 2, 1.0, 1.0), "#0")
    assert line.startswith("m1")
    assert "50%" in line and "2.50/5.00 mm" in line and "ETA 1.0 s" in line

    class Watched:
        def watch(self, cb):
            cb(Progress("m1", 5.0, 0.0, 5.0, "mm", 1))

    bar([Watched()])
    bar(None)
    assert "100%" in out.getvalue()

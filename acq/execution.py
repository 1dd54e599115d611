"""The state of one plan's execution: everything that must survive a pause between calls.

When ``RE(plan)`` pauses and returns control to the user, the engine keeps this object;
``RE.resume()`` picks it up again. It holds no tasks (those end with each call), only
plain state: the generator stack, the messages since the last checkpoint, open runs,
staged and moved devices, statuses not yet waited for.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from .bundler import RunBundler
from .msg import Msg
from .plan_stack import Plan, PlanStack, plan_name
from .status import Pending

__all__ = ["CACHE_POLICY", "Execution", "ExitStatus", "Outcome"]

ExitStatus = Literal["success", "abort", "fail"]


@dataclass(slots=True)
class Outcome:
    """How one engine call ended: a run exit status, or paused for the user."""

    exit_status: ExitStatus | Literal["paused"]
    reason: str = ""
    plan_result: Any = None
    exception: BaseException | None = None


# How a completed message affects the replay cache (messages since the last checkpoint).
# Default: appended, re-done on resume. "reset": acts as a checkpoint (re-doing it would
# be wrong or pointless). "skip": never re-done.
CACHE_POLICY: dict[str, str] = {
    "checkpoint": "reset",
    "clear_checkpoint": "reset",
    "open_run": "reset",
    "close_run": "reset",
    "stage": "reset",
    "unstage": "reset",
    "monitor": "reset",
    "unmonitor": "reset",
    "subscribe": "reset",
    "unsubscribe": "reset",
    "install_suspender": "reset",
    "remove_suspender": "reset",
    "declare_stream": "reset",
    "pause": "skip",
    "null": "skip",
    "rewindable": "skip",
    "input": "skip",
}


class Execution:
    """One plan, from ``RE(plan)`` until it ends (possibly across pauses)."""

    def __init__(self, plan: Plan, call_md: dict[str, Any]) -> None:
        self.stack = PlanStack(plan)
        self.plan_name = plan_name(plan)
        self.plan_type = type(plan).__name__  # bluesky's start key: "generator", ...
        self.call_md = call_md
        # Messages completed since the last checkpoint; None after clear_checkpoint.
        self.cache: deque[Msg] | None = deque()
        self.rewindable = True  # Msg("rewindable", None, False): checkpoints cache nothing
        # Messages to (re-)do before asking the plan for the next one.
        self.replay: deque[Msg] = deque()
        self.current: Msg | None = None  # being processed; held if interrupted
        self.response: Any = None  # for the plan, at its next `yield`
        self.pending_exc: BaseException | None = None  # to throw into the plan instead
        self.groups: dict[Any, list[Pending]] = {}
        self.runs: dict[str | None, RunBundler] = {}
        self.run_uids: list[str] = []
        self.staged: list[Any] = []
        self.stage_done: set[int] = set()  # ids in `staged` whose stage() returned
        #: Msg("input") interrupted by a pause: its prompt and the reader's answer to come
        self.pending_input: tuple[str, asyncio.Future[Any]] | None = None
        self.movers: dict[int, tuple[Any, Any]] = {}  # id -> (object, status of last set)
        self.pausable: dict[int, Any] = {}  # id -> object told to do something
        self.devices_paused = False  # pause() sent to them, neither resume nor release yet
        self.subscriptions: list[int] = []  # tokens from Msg("subscribe")
        self.suspenders: list[Any] = []  # from Msg("install_suspender")
        #: suspenders that suspended the plan and whose post-plan has not run yet
        self.post_plans_owed: list[Any] = []
        self.step = 0  # messages processed, for error reports
        self.interrupted = False
        self.ending = False  # a stop, abort or failure was thrown in: its cleanup runs
        self.last_msg: Msg | None = None

    @property
    def resumable(self) -> bool:
        return self.cache is not None

    def rewind(self) -> None:
        """Arrange to re-do everything since the last checkpoint, then the held message."""
        assert self.cache is not None
        todo = [*self.cache]
        if self.current is not None:
            todo.append(self.current)
        self.replay.extendleft(reversed(todo))
        self.cache.clear()
        self.current = None
        self.groups.clear()  # statuses of interrupted moves are abandoned; re-done ones return
        for run in self.runs.values():
            run.rewind()

    def add_pending(self, group: Any, pending: Pending) -> None:
        bucket = self.groups.get(group)
        if bucket is None:
            self.groups[group] = [pending]
        else:
            bucket.append(pending)

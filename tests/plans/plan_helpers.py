"""Test helpers for plans: a scripted stand-in for the engine, and minimal fake devices.

It drives a plan with `acq.plan_stack.PlanStack` (the engine's own sub-plan and
return-value rules), answers each message with `respond(msg)`, and can make a chosen
message fail, interrupt the plan (as stop/abort do: an exception thrown at its yield), or
close it (as halt does). Use `plans.dry_run` where positions should be simulated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acq.msg import Msg
from acq.plan_stack import PlanDone, PlanStack


@dataclass
class Recording:
    msgs: list[Msg] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None
    closed: bool = False

    @property
    def commands(self) -> list[str]:
        return [m.command for m in self.msgs]

    def of(self, command: str) -> list[Msg]:
        return [m for m in self.msgs if m.command == command]


class Done:
    done = success = True

    def __await__(self):
        return iter(())


def default_respond(msg: Msg) -> Any:
    if msg.command == "open_run":
        return "uid-1"
    if msg.command == "close_run":
        return "uid-1"
    if msg.command == "locate":
        return {"setpoint": 0.0, "readback": 0.0}
    if msg.command == "read":
        name = msg.obj.name
        return {name: {"value": 1.0, "timestamp": 0.0}}
    if msg.command in ("set", "trigger", "stage", "unstage", "kickoff", "complete"):
        return Done()
    return None


async def drive(
    plan: Any,
    respond: Callable[[Msg], Any] = default_respond,
    *,
    fail: Callable[[int, Msg], BaseException | None] | None = None,
    close_at: Callable[[int, Msg], bool] | None = None,
    limit: int = 100_000,
) -> Recording:
    """Run `plan`; ``fail(i, msg)`` returns an exception to throw in place of a reply."""
    rec = Recording()
    stack = PlanStack(plan)
    try:
        msg = await stack.send(None)
        while True:
            i = len(rec.msgs)
            rec.msgs.append(msg)
            assert i < limit, "plan did not end"
            if close_at is not None and close_at(i, msg):
                await stack.close()
                rec.closed = True
                return rec
            exc = fail(i, msg) if fail is not None else None
            if exc is not None:
                msg = await stack.throw(exc)
            else:
                msg = await stack.send(respond(msg))
    except PlanDone as done:
        rec.result = done.value
    except BaseException as error:
        rec.error = error
    return rec


class FakeMotor:
    """Movable + Locatable + Readable, with optional soft limits."""

    parent = None

    def __init__(
        self, name: str, limits: tuple[float, float] | None = None, position: float = 0.0
    ) -> None:
        self.name = name
        self.limits = limits
        self.position = position
        self.hints = {"fields": [name]}

    def set(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("plans must not call set() themselves")

    async def locate(self) -> dict[str, Any]:
        return {"setpoint": self.position, "readback": self.position}

    async def read(self) -> dict[str, Any]:
        return {self.name: {"value": self.position, "timestamp": 0.0}}

    async def describe(self) -> dict[str, Any]:
        return {self.name: {"source": "fake", "dtype": "number", "shape": []}}

    def __repr__(self) -> str:
        return f"FakeMotor({self.name!r})"


class FakeDetector:
    """Readable + Triggerable."""

    parent = None

    def __init__(self, name: str) -> None:
        self.name = name
        self.hints = {"fields": [name]}

    def trigger(self) -> Any:
        raise AssertionError("plans must not call trigger() themselves")

    async def read(self) -> dict[str, Any]:
        return {self.name: {"value": 0.0, "timestamp": 0.0}}

    async def describe(self) -> dict[str, Any]:
        return {self.name: {"source": "fake", "dtype": "number", "shape": []}}

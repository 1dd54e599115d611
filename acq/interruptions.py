"""Interruptions: pause, suspend, stop, abort, halt, and what the engine does about them.

A request (from another task or thread, a suspender's callback, the Ctrl-C handler, or a
``pause`` message) only sets `_interrupt` (in the engine's loop); if the engine is inside a
command it also cancels that command's scope (never the plan's own code, which may be
awaiting something of its own: then the request waits for the plan's next ``yield``).
The engine's loop then calls `_handle` between two messages:

- stop / abort: `RequestStop` / `RequestAbort` is thrown into the plan at its ``yield``
  so its ``finally`` blocks run (and may still yield cleanup messages);
- halt: the plan is closed without its cleanup (halt also cancels whatever the plan's own
  code is awaiting);
- pause: what moves is stopped, the messages since the last checkpoint are queued to be
  re-done, monitors are muted, and the call returns (``RunEnginePaused``);
- suspend: the same, then wait (interruptibly) until every suspender is clear, sleep the
  resume delay, run pre/post plans, and carry on inside the same call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio

from .bridged_monitor import running_loop
from .describe import name_of
from .errors import NotResumable, RequestAbort, RequestStop, UnknownCommand
from .execution import Execution, Outcome
from .lifecycle import RunLifecycle, guarded, release_paused, stop_movers
from .msg import Msg
from .plan_stack import Plan, drive_plan
from .suspenders import Suspender

if TYPE_CHECKING:
    from .commands import Handler

__all__ = ["Interrupt", "InterruptionHandling"]

log = logging.getLogger("acq.engine")

State = Literal["idle", "running", "paused"]


@dataclass(slots=True)
class Interrupt:
    kind: Literal["pause", "suspend", "stop", "abort", "fail", "halt"]
    reason: str = ""
    suspender: Suspender | None = None
    error: BaseException | None = None  # for "fail": raised in the plan at its yield


# A user's pause outranks a suspension: a suspension ends by itself when the beam is
# back, and would have carried on the plan the user paused (suspenders are looked at
# again by resume()).
_STRENGTH = ("suspend", "pause", "stop", "abort", "fail", "halt")


def _ending(ex: Execution) -> None:
    """The plan is being ended (its error thrown in): nothing from before may be re-done.
    A pause or suspension during its cleanup rewinds to the cleanup's own messages; it
    re-did the move the user had stopped."""
    ex.ending = True
    ex.replay.clear()
    ex.current = None
    if ex.cache is not None:
        ex.cache.clear()


class InterruptionHandling(RunLifecycle):
    """Part of `RunEngine`: the interruption state and its handling."""

    _state: State
    _interrupt: Interrupt | None
    _scope: anyio.CancelScope | None
    _in_plan: bool
    _engine_task: asyncio.Task[Any] | None
    _deferred_pause: str | None
    _suspenders: list[Suspender]
    _ex: Execution | None
    _loop: asyncio.AbstractEventLoop | None

    def _request_interrupt(self, interrupt: Interrupt) -> None:
        loop = self._loop
        if loop is not None and running_loop() is not loop:  # from another thread
            loop.call_soon_threadsafe(self._request_interrupt, interrupt)
            return
        current = self._interrupt
        if current is not None and _STRENGTH.index(current.kind) >= _STRENGTH.index(interrupt.kind):
            return  # a stronger request is already pending
        ex = self._ex
        if interrupt.kind in ("stop", "abort") and ex is not None and ex.ending:
            # Its cleanup runs already: a second stop (a button pressed twice) must not
            # cut it short. Only halt skips the cleanup.
            log.info("%s asked while the plan cleans up after an end: it goes on", interrupt.kind)
            return
        self._interrupt = interrupt
        scope = self._scope
        if scope is None or asyncio.current_task() is self._engine_task:
            return  # the loop checks the flag after every step
        # The plan's own code (between yields) is left alone, except by halt: a plan
        # awaiting something that never comes must still be stoppable.
        if not self._in_plan or interrupt.kind == "halt":
            scope.cancel()

    def _take_interrupt(self) -> Interrupt | None:
        interrupt, self._interrupt = self._interrupt, None
        return interrupt

    def _at_checkpoint(self) -> None:
        if self._deferred_pause is not None:
            reason, self._deferred_pause = self._deferred_pause, None
            self._request_interrupt(Interrupt("pause", reason))

    def _on_suspender_trip(self, suspender: Suspender) -> None:
        if self._state != "running":
            return  # checked when a plan starts or resumes
        if suspender.auto_resume:
            self._request_interrupt(Interrupt("suspend", suspender.justification, suspender))
        else:
            self._request_interrupt(Interrupt("pause", suspender.justification))

    def _tripped(self) -> list[Suspender]:
        return [s for s in self._suspenders if s.tripped]

    def _throw_interrupt(self, ex: Execution, interrupt: Interrupt) -> None:
        """Stop, abort, or a critical subscriber's failure: thrown into the plan at its
        ``yield``, so its cleanup runs."""
        ex.interrupted = True
        if interrupt.kind == "fail":
            ex.pending_exc = interrupt.error
        elif interrupt.kind == "stop":
            ex.pending_exc = RequestStop()
        else:
            ex.pending_exc = RequestAbort(interrupt.reason)
        _ending(ex)

    async def _handle(
        self, ex: Execution, commands: dict[str, Handler], interrupt: Interrupt
    ) -> Outcome | None:
        """Deal with an interruption between messages; None means keep driving."""
        kind = interrupt.kind
        if kind in ("stop", "abort", "fail"):
            # What the plan moved stops now, not after its cleanup (which may take a
            # while); paused devices are released, never resumed.
            await stop_movers(ex, success=kind == "stop")
            await release_paused(ex)
            self._throw_interrupt(ex, interrupt)
            return None
        if kind == "halt":
            ex.interrupted = True
            return await self._finish(ex, "abort", interrupt.reason, halt=True)
        if not ex.resumable:
            ex.interrupted = True
            ex.replay.clear()
            ex.current = None
            if kind == "suspend":
                ex.pending_exc = NotResumable(
                    f"{interrupt.reason}: the plan cleared its checkpoint, so this part "
                    f"cannot be re-done after the condition clears"
                )
            else:
                ex.pending_exc = RequestAbort(
                    f"{interrupt.reason}, where the plan cannot be resumed (no checkpoint)"
                )
            return None
        ex.interrupted = True
        await self._pause_devices(ex)
        if kind == "pause":
            later = self._take_interrupt()  # asked while the devices were being paused
            if later is not None and later.kind not in ("pause", "suspend"):
                return await self._handle(ex, commands, later)  # (suspenders: at resume)
            for run in ex.runs.values():
                run.record_interruption("pause", interrupt.reason)
            log.warning("paused: %s", interrupt.reason)
            return Outcome("paused", interrupt.reason)
        return await self._suspend(ex, commands, interrupt)

    async def _suspend(
        self, ex: Execution, commands: dict[str, Handler], interrupt: Interrupt | None
    ) -> Outcome | None:
        """Wait (interruptibly) until no suspender is tripped; None means carry on."""
        tripped = [interrupt.suspender] if interrupt and interrupt.suspender else self._tripped()
        reason = "; ".join(s.justification for s in tripped if s is not None)
        for run in ex.runs.values():
            run.record_interruption("suspend", reason)
        log.warning("suspended: %s", reason)
        for suspender in tripped:
            if suspender is None:
                continue
            if suspender.post_plan is not None and suspender not in ex.post_plans_owed:
                ex.post_plans_owed.append(suspender)  # first: the pre-plan may fail part-way
            if suspender.pre_plan is not None:
                await self._side_plan(ex, commands, suspender.pre_plan())
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                # A request made while the devices were paused or the pre-plan ran found
                # no scope to cancel: it is pending now, and must not wait for the beam.
                if self._interrupt is None:
                    await self._wait_until_clear(tripped)
            finally:
                self._scope = None
        interrupt = self._take_interrupt()
        if interrupt is None:
            await self._post_plans(ex, commands)
            interrupt = self._take_interrupt()  # asked while a post-plan ran
        if interrupt is not None:  # the user (or the beam) acted: nothing is resumed
            if interrupt.kind == "suspend":
                return await self._suspend(ex, commands, interrupt)
            return await self._handle(ex, commands, interrupt)
        await self._resume_devices(ex)
        return None

    async def _post_plans(self, ex: Execution, commands: dict[str, Handler]) -> None:
        """Run the post-plans owed by the suspensions so far (the last first): also
        those of a suspension another one interrupted, or one the user paused and
        resumed. Each runs once."""
        while ex.post_plans_owed:
            if self._interrupt is not None:
                return  # the rest stay owed; the request is handled first
            suspender = ex.post_plans_owed.pop()
            assert suspender.post_plan is not None
            await self._side_plan(ex, commands, suspender.post_plan())

    async def _wait_until_clear(self, tripped: Sequence[Suspender | None]) -> None:
        while True:
            waited = [s for s in self._suspenders if s.tripped]
            for suspender in waited:
                await suspender.wait_until_clear()
            delay = max((s.sleep for s in {*tripped, *waited} if s is not None), default=0)
            if delay:
                log.info("suspenders clear; resuming in %.1f s", delay)
                await anyio.sleep(delay)
            if not self._tripped():
                return

    async def _side_plan(self, ex: Execution, commands: dict[str, Handler], plan: Plan) -> None:
        """Run a suspender's pre/post plan to the end (not rewindable, not cached).

        It is the plan's own code as far as interruptions go: a stop or abort waits for
        it to end (closing the shutter is worth finishing), a halt ends it at once (one
        that never returns must not make the engine unstoppable)."""

        async def respond(msg: Msg) -> Any:
            handler = commands.get(msg.command)
            if handler is None:
                raise UnknownCommand(
                    f"unknown command {msg.command!r} in a suspender's pre/post plan; "
                    f"add one with RE.register_command(name, coroutine_function)"
                )
            return await handler(msg)

        pending = self._interrupt
        if pending is not None and pending.kind == "halt":
            return
        with anyio.CancelScope() as scope:
            self._scope, self._in_plan = scope, True
            try:
                await drive_plan(plan, respond)
            finally:
                self._scope, self._in_plan = None, False

    async def _pause_devices(self, ex: Execution) -> None:
        """Immediate pause: stop what moves, pause what can pause, rewind, mute monitors."""
        await stop_movers(ex, success=False)
        ex.rewind()
        ex.devices_paused = True
        for obj in list(ex.pausable.values()):
            if hasattr(obj, "pause") and hasattr(obj, "resume"):
                await guarded(f"pause {name_of(obj)}", obj.pause)
        for run in ex.runs.values():
            run.suspend_monitors()

    async def _resume_devices(self, ex: Execution) -> None:
        """Resume after a pause: the interrupted step is re-done by the rewind.

        A request made meanwhile (the beam dumps again, the user stops) leaves the
        devices counted as paused, those resumed already included: the engine's loop
        then handles it, pausing them all again, or stopping and releasing them."""
        for obj in list(ex.pausable.values()):
            if self._interrupt is not None:
                return
            if hasattr(obj, "pause") and hasattr(obj, "resume"):
                await guarded(f"resume {name_of(obj)}", obj.resume)
        if self._interrupt is not None:
            return
        ex.devices_paused = False
        for run in ex.runs.values():
            run.restore_monitors()
            run.record_interruption("resume", "")

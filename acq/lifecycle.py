"""Opening and closing runs, and the cleanup that ends every plan whatever happened.

Whatever way a plan ends (success, stop, abort, failure, halt, cancellation from
outside), `RunLifecycle._finish` stops what the plan moved, releases what a pause left
paused (without resuming it), unstages what it staged,
closes its runs (which ends their monitors) with the right exit_status, and drops the
subscriptions and suspenders the plan installed. Device calls here are bounded in time
and their failures logged, never raised: cleanup must reach the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from .bundler import RunBundler
from .describe import maybe_await, name_of
from .execution import Execution, ExitStatus, Outcome
from .status import is_done

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .suspenders import Suspender

__all__ = ["CLEANUP_TIMEOUT", "RunLifecycle", "guarded", "release_paused", "stop_movers"]

log = logging.getLogger("acq.engine")

CLEANUP_TIMEOUT = 10.0  # per device stop/unstage/pause during cleanup


class RunLifecycle:
    """Part of `RunEngine`: runs open and close here."""

    _dispatcher: Dispatcher
    record_interruptions: bool

    if TYPE_CHECKING:  # provided by RunEngine

        def unsubscribe(self, token: int) -> None: ...
        def remove_suspender(self, suspender: Suspender) -> None: ...

    def _open_run(self, ex: Execution, key: str | None, start: dict[str, Any]) -> None:
        ex.runs[key] = RunBundler(
            start, self._dispatcher.emit, record_interruptions=self.record_interruptions
        )
        ex.run_uids.append(start["uid"])

    def _close_run(self, ex: Execution, key: str | None, exit_status: str, reason: str) -> None:
        run = ex.runs.pop(key)
        for name, error in run.clear_monitors():
            log.error("could not unsubscribe the monitor of %s: %s", name, error)
        run.close(exit_status, reason)

    async def _finish(
        self,
        ex: Execution,
        exit_status: ExitStatus,
        reason: str,
        *,
        plan_result: Any = None,
        exception: BaseException | None = None,
        halt: bool = False,
    ) -> Outcome:
        """Whatever happened: stop, unstage, close runs, drop plan-made subscriptions."""
        with anyio.CancelScope(shield=True):
            # Motion first: closing a halted plan runs its `finally` blocks, which may
            # await something slow (or that never comes) while a motor drives on.
            await stop_movers(ex, success=exit_status == "success")
            await release_paused(ex)
            # Halt ends the plan now: a `finally` that awaits is cut short at its first
            # await. Otherwise (its generators are normally closed already) it is bounded.
            errors: list[BaseException] = []
            with anyio.move_on_after(0 if halt else CLEANUP_TIMEOUT):
                errors = await ex.stack.close()
            for error in errors:
                log.warning(
                    "plan %s could not clean up (%s): %s",
                    ex.plan_name,
                    "halted" if halt else "closed",
                    error,
                )
            await stop_movers(ex, success=exit_status == "success")  # what its finally moved
            for obj in reversed(ex.staged):
                await guarded(f"unstage {name_of(obj)}", obj.unstage)
            ex.staged.clear()
            for key in list(ex.runs):
                self._close_run(ex, key, exit_status, reason)
            for token in ex.subscriptions:
                self.unsubscribe(token)
            ex.subscriptions.clear()
            for suspender in ex.suspenders:
                self.remove_suspender(suspender)
            ex.suspenders.clear()
            ex.groups.clear()
        return Outcome(exit_status, reason, plan_result, exception)


async def stop_movers(ex: Execution, success: bool) -> None:
    """Stop every device the plan moved whose move has not finished (concurrently)."""
    movers = [
        obj
        for obj, status in ex.movers.values()
        if is_done(status) is not True and hasattr(obj, "stop")
    ]
    ex.movers.clear()
    if not movers:
        return
    async with anyio.create_task_group() as tg:
        for obj in movers:
            # by keyword: ophyd's stop(*, success=False) takes no positional argument
            tg.start_soon(guarded, f"stop {name_of(obj)}", partial(obj.stop, success=success))


async def release_paused(ex: Execution) -> None:
    """End a pause without resuming anything: stop each paused device, then lift the pause.

    For stop, abort and halt of a paused or suspended plan. `resume()` alone would let a
    device go on with what it was doing when paused (a motor record resumes its held
    target): after the user stopped the plan, nothing may move again. Stopping first
    cancels whatever the device still holds; lifting the pause leaves it usable.
    """
    if not ex.devices_paused:
        return
    ex.devices_paused = False
    for obj in list(ex.pausable.values()):
        if hasattr(obj, "pause") and hasattr(obj, "resume"):
            if hasattr(obj, "stop"):
                await guarded(f"stop {name_of(obj)}", partial(obj.stop, success=False))
            await guarded(f"lift the pause of {name_of(obj)}", obj.resume)


async def guarded(what: str, func: Callable[..., Any], *args: Any) -> None:
    """Call a device during cleanup: bounded in time, failures logged, never raised."""
    try:
        with anyio.fail_after(CLEANUP_TIMEOUT):
            await maybe_await(func(*args))
    except Exception as error:
        log.error("could not %s: %s", what, error)

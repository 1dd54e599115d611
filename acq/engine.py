"""The RunEngine: runs plans inside the caller's event loop.

    RE = RunEngine(md={"beamline_id": "sim"})
    RE.subscribe(print)
    result = await RE(count([det], 5), sample="Si")

One call of ``RE(plan)`` (or ``RE.resume()``) drives the plan in the caller's task: it
asks the plan for a message, runs the command's handler, sends the result back, and so
on. Everything the call starts (subscriber consumers, device coroutines) belongs to
task groups that end with the call. Interruptions (`request_pause`, `stop`, `abort`,
`halt`, suspenders, Ctrl-C) come from other tasks or callbacks: they set a flag and,
unless the plan's own code is running, cancel the current command's scope; the loop
then deals with them between messages. See docs/decisions/0004-engine.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.lowlevel

from .commands import Commands, Handler
from .describe import maybe_await, name_of
from .dispatch import DEFAULT_MAX_BACKLOG, Callback, Dispatcher, SubscriberFailure
from .errors import (
    CriticalSubscriberError,
    MetadataError,
    RequestAbort,
    RequestStop,
    RunEngineBusy,
    RunEnginePaused,
    RunEngineStateError,
    UnknownCommand,
)
from .execution import CACHE_POLICY, Execution, ExitStatus, Outcome
from .heap import heap_frozen
from .interruptions import Interrupt, InterruptionHandling, State
from .lifecycle import release_paused
from .metadata import MetadataValidator, ScanIdStore, check_metadata, versions
from .msg import Msg
from .plan_stack import Plan, PlanDone, as_sync_plan, ensure_plan, is_plan, plan_name
from .progress import default_waiting_hook
from .sigint import CtrlC
from .suspender_bridge import BridgedSuspender, is_bluesky_suspender
from .suspenders import Suspender
from .tracebacks import trim_engine_frames

__all__ = ["RunEngine", "RunResult"]

log = logging.getLogger("acq.engine")

_YIELD_EVERY = 0.005  # other tasks (subscribers, interrupters) run at least this often
_MAX_REPLAY = 100_000  # messages kept for a rewind; beyond, the plan is not resumable
SCAN_ID_TIMEOUT = 10.0  # s a scan_id source may take before open_run fails
ScanIdSource = Callable[[Mapping[str, Any]], int | Awaitable[int]]
_AUTO: Any = object()


@dataclass(frozen=True, slots=True)
class RunResult:
    """What ``await RE(plan)`` returns."""

    run_uids: tuple[str, ...]
    exit_status: ExitStatus
    reason: str = ""
    plan_result: Any = None
    interrupted: bool = False
    exception: BaseException | None = None
    #: failures of subscribers during the call (each also logged); empty when all went well
    subscriber_errors: tuple[SubscriberFailure, ...] = ()


class RunEngine(InterruptionHandling):
    """Runs plans and emits their documents; see the module docstring.

    Parameters
    ----------
    md:
        Metadata for every run (lowest precedence: plan metadata, then the call's win).
    state_dir:
        Where the scan_id counter lives (default ``$ACQ_STATE_DIR`` or
        ``~/.local/state/acq``).
    md_validator:
        Called with each RunStart document before the run opens; raise to refuse it.
    record_interruptions:
        Record pauses, suspensions and resumes in each run's ``interruptions`` stream.
    waiting_hook:
        Called with the statuses of a wait, and ``None`` after it (progress bars).
        Default: a terminal or Jupyter bar when one can be shown.
    handle_sigint:
        Install the Ctrl-C handler (pause) while a plan runs.
    subscriber_stall_timeout:
        At the end of a call, how long to wait for a subscriber that makes no progress
        before returning anyway (its documents stay queued for later).
    scan_id_source:
        ``source(md) -> int``, sync or async (as bluesky's), called at each ``open_run``
        without an explicit scan_id. Default: the counter file in `state_dir`, locked
        and fsynced in a worker thread, so a slow (NFS) home never stalls the loop.
        Bounded by `SCAN_ID_TIMEOUT`.

    Attributes bluesky users know
    -----------------------------
    preprocessors:
        ``[f(plan) -> plan, ...]`` applied in order to every plan of ``RE(plan)``.
        bluesky's (``SupplementalData``, ...) drive plans with ``send()``: an async plan
        is given to them as a plain generator (`acq.plan_stack.as_sync_plan`) unless the
        preprocessor has ``accepts_async_plans = True`` (as `plans.wrappers`' ones do).
    msg_hook:
        ``f(msg)`` called with each message before the engine acts on it (replayed ones
        too); what it raises fails that step, at the plan's ``yield``.
    state_hook:
        ``f(new_state, old_state)`` called when the state changes ('idle', 'running',
        'paused'); a failing hook is logged, never fatal.
    input_function:
        ``f(prompt) -> str``, sync (run in a worker thread) or async, answering
        ``Msg('input', prompt=...)`` (bluesky's ``bps.input_plan``). Default: `input`.
    """

    def __init__(
        self,
        md: Mapping[str, Any] | None = None,
        *,
        state_dir: str | None = None,
        md_validator: MetadataValidator | None = None,
        record_interruptions: bool = True,
        waiting_hook: Callable[[Any], None] | None = _AUTO,
        handle_sigint: bool = True,
        subscriber_stall_timeout: float = 5.0,
        scan_id_source: ScanIdSource | None = None,
    ) -> None:
        self.md: dict[str, Any] = dict(md or {})
        self.md_validator = md_validator
        self.record_interruptions = record_interruptions
        self.waiting_hook = default_waiting_hook() if waiting_hook is _AUTO else waiting_hook
        self.handle_sigint = handle_sigint
        self.subscriber_stall_timeout = subscriber_stall_timeout
        self.scan_ids = ScanIdStore(state_dir)
        self.scan_id_source: ScanIdSource = scan_id_source or self._persisted_scan_id
        self.versions = versions()
        self.last_result: RunResult | None = None
        self._dispatcher = Dispatcher()
        self._dispatcher.on_critical = self._on_critical_failure
        self._extra_commands: dict[str, Handler] = {}
        self.preprocessors: list[Callable[[Any], Any]] = []
        self.msg_hook: Callable[[Msg], Any] | None = None
        self.state_hook: Callable[[str, str], Any] | None = None
        self.input_function: Callable[[str], Any] = input
        self._suspenders: list[Suspender] = []
        self._state: State = "idle"
        self._ex: Execution | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._scope: anyio.CancelScope | None = None
        self._in_plan = False
        self._ticked = False  # the loop turned since the engine last looked
        self._interrupt: Interrupt | None = None
        self._deferred_pause: str | None = None  # reason, when a pause waits for a checkpoint
        self._engine_task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # of the call under way
        self._idle: anyio.Event | None = None
        self._ctrl_c = CtrlC(
            lambda defer, why: self.request_pause(defer, reason=why),
            halt=lambda: self._request_interrupt(Interrupt("halt", "halted by Ctrl-C")),
            in_plan_code=lambda: self._in_plan,
        )

    # -- state -----------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    def __repr__(self) -> str:
        return f"<RunEngine {self._state}>"

    def _set_state(self, state: State) -> None:
        old, self._state = self._state, state
        hook = self.state_hook
        if hook is not None and old != state:
            try:
                hook(state, old)
            except Exception:
                log.exception("the state hook %r failed; the engine goes on", hook)

    # -- running plans ---------------------------------------------------------------

    async def __call__(self, plan: Plan, subs: Any = None, /, **md: Any) -> RunResult:
        """Run `plan` to the end and return its `RunResult`.

        `subs` (positional, as bluesky's): subscribers for this plan only, a callable, a
        list of them, or ``{document name: callable or list}``. Keywords are metadata.

        Raises the plan's exception if it fails (its runs are closed with exit_status
        'fail' first; the error carries a note naming the plan stack and the failing
        message, and `RE.last_result` holds the result), and `RunEnginePaused` if it
        pauses for the user. Stop and abort are not errors: they return a result.
        """
        if self._state != "idle":
            if self._state == "paused":
                hint = "await RE.resume(), RE.stop() or RE.abort() first"
            else:
                hint = "wait for it to finish, or stop it with await RE.stop()"
            raise RunEngineBusy(f"the RunEngine is {self._state} ({self._ex_name()}); {hint}")
        call_md = self._checked_md("metadata", md)
        self._checked_md("RE.md", self.md)
        plan = ensure_plan(plan)
        name, kind = plan_name(plan), type(plan).__name__
        if is_plan(plan):  # else Execution says what is wrong with it
            for preprocess in self.preprocessors:
                if isinstance(plan, AsyncGenerator) and not getattr(
                    preprocess, "accepts_async_plans", False
                ):
                    plan = as_sync_plan(plan)  # bluesky's preprocessors drive plans by send()
                plan = preprocess(plan)
        ex = Execution(plan, call_md)
        ex.plan_name, ex.plan_type = name, kind
        for doc_name, callback in _subscriptions(subs):  # removed when the plan ends
            ex.subscriptions.append(self.subscribe(callback, doc_name))
        self._ex = ex
        try:
            result = await self._call(ex, "start")
        except RunEnginePaused as paused:
            raise paused.with_traceback(None) from None  # its message says what to do
        if result.exception is not None:
            raise trim_engine_frames(result.exception)  # here, to keep the report short
        return result

    async def resume(self) -> RunResult:
        """Continue a paused plan from its last checkpoint."""
        ex = self._paused_execution("resume")
        for suspender in self._suspenders:
            if suspender.tripped and not suspender.auto_resume:
                suspender._set_tripped(False)  # the user has looked at it
        try:
            result = await self._call(ex, "resume")
        except RunEnginePaused as paused:
            raise paused.with_traceback(None) from None
        if result.exception is not None:
            raise trim_engine_frames(result.exception)
        return result

    async def stop(self) -> RunResult | None:
        """End the plan, letting it clean up; its runs end with exit_status 'success'.

        Returns the call's result once it ended; None when asked from inside the plan or
        from a subscriber (the call's end waits for those, so they cannot wait for it)."""
        return await self._end("stop", "")

    async def abort(self, reason: str = "") -> RunResult | None:
        """End the plan, letting it clean up; its runs end with exit_status 'abort'."""
        return await self._end("abort", reason or "aborted by the user")

    async def halt(self) -> RunResult | None:
        """End the plan now, skipping its cleanup; devices are still stopped and unstaged."""
        return await self._end("halt", "halted by the user")

    def request_pause(self, defer: bool = False, *, reason: str = "") -> None:
        """Pause now (``defer=False``) or at the next checkpoint; from any task or thread."""
        if self._state == "paused":
            return
        if self._state != "running":
            raise RunEngineStateError("the RunEngine is idle; there is nothing to pause")
        if defer:
            self._deferred_pause = reason or "pause requested"
        else:
            self._request_interrupt(Interrupt("pause", reason or "pause requested"))

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every subscriber has handled every document emitted so far.

        Raises `CriticalSubscriberError` if a critical subscriber failed meanwhile.
        """
        first = len(self._dispatcher.failures)
        async with self._dispatcher.serving():
            behind = await self._dispatcher.drain(timeout)
        self._raise_if_critical_failed(self._dispatcher.failures[first:])
        if behind:
            raise TimeoutError(f"subscribers still behind after {timeout} s: {behind}")

    @staticmethod
    def _raise_if_critical_failed(failures: list[SubscriberFailure]) -> None:
        for failure in failures:
            if failure.critical:
                raise CriticalSubscriberError(str(failure)) from failure.error

    def _on_critical_failure(self, failure: SubscriberFailure) -> None:
        if self._state == "running":
            error = CriticalSubscriberError(str(failure))
            error.__cause__ = failure.error
            self._request_interrupt(Interrupt("fail", str(failure), error=error))

    # -- subscriptions, commands, suspenders -------------------------------------------

    def subscribe(
        self,
        callback: Callback,
        name: str = "all",
        *,
        threaded: bool = False,
        critical: bool = False,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
    ) -> int:
        """Send documents to ``callback(name, doc)``; returns a token for `unsubscribe`.

        `callback` may be sync or async. Sync callbacks must be quick (they run in the
        loop) unless ``threaded=True``. A callback that raises is logged each time and
        listed on the call's result (``subscriber_errors``); with ``critical=True`` its
        first failure ends the run with exit_status 'fail' (a storage writer, say).
        A subscriber `max_backlog` documents behind misses events, or, if critical, holds
        the scan back until it catches up. A callback object with a
        ``handle_batch(batch)`` method is handed the queued documents a batch at a time
        instead (the catalog writer is). See `acq.dispatch`.
        """
        return self._dispatcher.subscribe(
            callback, name, threaded=threaded, critical=critical, max_backlog=max_backlog
        )

    def unsubscribe(self, token: int) -> None:
        self._dispatcher.unsubscribe(token)

    def register_command(self, name: str, handler: Callable[[Msg], Awaitable[Any]]) -> None:
        """Handle ``Msg(name, ...)`` with ``await handler(msg)``; its result goes to the plan."""
        if not callable(handler):
            raise TypeError(f"handler for {name!r} must be a coroutine function taking a Msg")
        self._extra_commands[name] = handler

    def unregister_command(self, name: str) -> None:
        self._extra_commands.pop(name, None)

    @property
    def commands(self) -> list[str]:
        return sorted({*Commands.NAMES, *self._extra_commands})

    def install_suspender(self, suspender: Suspender) -> None:
        """Watch `suspender` (acq's, or bluesky's: bridged, see `acq.suspender_bridge`)."""
        suspender = self._as_suspender(suspender)
        if suspender in self._suspenders:
            return
        self._suspenders.append(suspender)
        suspender.install(self._on_suspender_trip)

    def remove_suspender(self, suspender: Suspender) -> None:
        suspender = self._as_suspender(suspender)
        if suspender in self._suspenders:
            self._suspenders.remove(suspender)
            suspender.remove()

    def _as_suspender(self, suspender: Any) -> Suspender:
        if not is_bluesky_suspender(suspender):
            return suspender
        for installed in self._suspenders:
            if isinstance(installed, BridgedSuspender) and installed.original is suspender:
                return installed
        return BridgedSuspender(suspender)

    def clear_suspenders(self) -> None:
        for suspender in list(self._suspenders):
            self.remove_suspender(suspender)

    @property
    def suspenders(self) -> tuple[Suspender, ...]:
        return tuple(self._suspenders)

    # -- internals: one call ---------------------------------------------------------

    async def _call(
        self,
        ex: Execution,
        how: str,
        interrupt: Interrupt | None = None,
    ) -> RunResult:
        self._set_state("running")
        self._loop = asyncio.get_running_loop()
        self._engine_task = asyncio.current_task()
        self._idle = anyio.Event()
        self._interrupt = None
        self._deferred_pause = None
        self._dispatcher.open_failure_window()
        outcome: Outcome | None = None
        try:
            with self._ctrl_c.installed(self.handle_sigint), heap_frozen():
                async with self._dispatcher.serving():
                    while True:
                        async with anyio.create_task_group() as tg:
                            self._tg = tg
                            try:
                                outcome = await self._execute(ex, how, interrupt)
                            finally:
                                self._tg = None
                                tg.cancel_scope.cancel()
                        behind = await self._dispatcher.drain(self.subscriber_stall_timeout)
                        if behind:
                            log.warning(
                                "subscribers %s made no progress for %.0f s; returning "
                                "anyway. Their documents stay queued and are delivered at "
                                "the next RE call or `await RE.flush()`.",
                                behind,
                                self.subscriber_stall_timeout,
                            )
                        # An end asked while a call that paused waited for its
                        # subscribers (stop, abort, halt, Ctrl-C, a critical subscriber's
                        # failure) ends the plan now: never left for a resume to carry on.
                        late = self._interrupt
                        if outcome is None or outcome.exit_status != "paused" or late is None:
                            break
                        if late.kind not in ("stop", "abort", "halt", "fail"):
                            break
                        interrupt = self._take_interrupt()
                        how = late.kind
        finally:
            self._engine_task = None
            self._loop = None
            self._scope = None
            if outcome is not None and outcome.exit_status == "paused":
                self._set_state("paused")
            else:
                self._set_state("idle")
                self._ex = None
            self._idle.set()
        assert outcome is not None  # _execute returned: it raises rather than return None
        failures = list(self._dispatcher.failures)
        result = self._conclude(ex, outcome, tuple(failures))
        if result.exception is None and outcome.exit_status != "paused":
            # a critical subscriber that failed after the plan's last message (its run
            # already closed): still not silent
            self._raise_if_critical_failed(failures)
        return result

    def _conclude(
        self, ex: Execution, outcome: Outcome, failures: tuple[SubscriberFailure, ...] = ()
    ) -> RunResult:
        if outcome.exit_status == "paused":
            raise RunEnginePaused(
                f"plan {ex.plan_name!r} paused ({outcome.reason}) and waits at its last "
                f"checkpoint. Continue with `await RE.resume()`; end it with "
                f"`await RE.stop()` (runs marked success), `await RE.abort('why')` "
                f"(marked abort) or `await RE.halt()` (no cleanup)."
            )
        result = RunResult(
            run_uids=tuple(ex.run_uids),
            exit_status=outcome.exit_status,
            reason=outcome.reason,
            plan_result=outcome.plan_result,
            interrupted=ex.interrupted,
            exception=outcome.exception,
            subscriber_errors=failures,
        )
        self.last_result = result
        return result

    async def _execute(self, ex: Execution, how: str, interrupt: Interrupt | None) -> Outcome:
        commands = {**Commands(self, ex).table(), **self._extra_commands}
        try:
            if how == "halt":
                ex.interrupted = True
                return await self._finish(ex, "abort", "halted by the user", halt=True)
            if how == "resume" and not self._tripped():  # else: paused until it ends
                try:  # a suspension the user paused: its post-plans, before anything goes on
                    await self._post_plans(ex, commands)
                except Exception as error:
                    return await self._finish(ex, "fail", _reason(error), exception=error)
                if self._interrupt is None:
                    await self._resume_devices(ex)
            elif interrupt is not None:  # stop, abort or fail a paused plan: cleanup runs
                for run in ex.runs.values():
                    run.restore_monitors()
                await release_paused(ex)  # never resumed: nothing goes on moving
                self._throw_interrupt(ex, interrupt)
            # (tripped while devices resumed: the loop below pauses them and suspends)
            if how in ("start", "resume") and self._tripped() and self._interrupt is None:
                try:
                    outcome = await self._suspend(ex, commands, None)
                except Exception as error:  # a suspender's pre/post plan failed
                    return await self._finish(ex, "fail", _reason(error), exception=error)
                if outcome is not None:
                    return outcome
            while True:
                try:
                    await self._segment(ex, commands)
                except PlanDone as done:
                    return await self._finish(ex, "success", "", plan_result=done.value)
                except RequestStop:
                    return await self._finish(ex, "success", "stopped by the user")
                except RequestAbort as abort:
                    return await self._finish(ex, "abort", str(abort) or "aborted")
                except Exception as error:
                    return await self._finish(ex, "fail", _reason(error), exception=error)
                interrupt = self._take_interrupt()
                if interrupt is not None:
                    try:
                        outcome = await self._handle(ex, commands, interrupt)
                    except Exception as error:  # a suspender's pre/post plan failed
                        return await self._finish(ex, "fail", _reason(error), exception=error)
                    if outcome is not None:
                        return outcome
        except BaseException as error:  # cancelled from outside, KeyboardInterrupt, ...
            await self._finish(ex, "abort", f"interrupted: {type(error).__name__}", halt=True)
            raise

    async def _segment(self, ex: Execution, commands: dict[str, Handler]) -> None:
        """Drive the plan until it ends (raises) or an interruption arrives (returns)."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                if self._interrupt is None:
                    await self._drive(ex, commands)
            finally:
                self._scope = None
                self._in_plan = False

    async def _drive(self, ex: Execution, commands: dict[str, Handler]) -> None:
        """The hot loop: one iteration per message."""
        stack = ex.stack
        replay = ex.replay
        policy = CACHE_POLICY
        clock = time.perf_counter
        call_soon = asyncio.get_running_loop().call_soon
        dispatcher = self._dispatcher
        last_look = clock()
        while True:
            if self._interrupt is not None:
                return
            now = clock()
            if now - last_look > _YIELD_EVERY:
                if dispatcher.overloaded:  # a critical subscriber is far behind: wait
                    await dispatcher.relieve(self.subscriber_stall_timeout)
                # Others get a turn at least this often. If this task has waited for
                # something since the last look (the tick ran), they had one already.
                last_look = now
                if not self._ticked:
                    await anyio.lowlevel.checkpoint()
                self._ticked = False
                call_soon(self._tick)  # runs the next time this task lets the loop turn
                continue
            if replay:
                msg = replay.popleft()
            else:
                self._in_plan = True  # reset by _segment if the plan raises
                if ex.pending_exc is None:
                    msg = await stack.send(ex.response)
                else:
                    error, ex.pending_exc = ex.pending_exc, None
                    msg = await stack.throw(error)
                self._in_plan = False
            ex.current = msg
            if self._interrupt is not None:
                return
            handler = commands.get(msg[0])
            ex.step += 1
            try:
                if self.msg_hook is not None:
                    self.msg_hook(msg)
                if handler is None:
                    raise UnknownCommand(
                        f"unknown command {msg[0]!r}; known: {', '.join(self.commands)}. "
                        f"Add one with RE.register_command(name, coroutine_function)"
                    )
                ex.response = await handler(msg)
            except Exception as error:
                if self._interrupt is not None:
                    # interrupted mid-command: a pause re-does it on resume; the error
                    # is not the plan's to handle now, but must not vanish either
                    self._annotate(error, ex, msg)
                    log.error(
                        "step failed while a %s was pending (the %s goes ahead): %s",
                        self._interrupt.kind,
                        self._interrupt.kind,
                        _reason(error),
                        exc_info=error,
                    )
                    return
                self._annotate(error, ex, msg)
                ex.pending_exc = error
                ex.response = None
                ex.current = None
                replay.clear()
                continue
            ex.current = None
            cache = ex.cache
            if cache is not None:
                what = policy.get(msg[0])
                if what is None:
                    cache.append(msg)
                    if len(cache) > _MAX_REPLAY:
                        self._give_up_rewinding(ex)
                elif what == "reset":
                    cache.clear()

    def _tick(self) -> None:
        self._ticked = True

    @staticmethod
    def _give_up_rewinding(ex: Execution) -> None:
        log.warning(
            "plan %s has gone %d messages without a checkpoint; it can no longer be "
            "paused and resumed until its next checkpoint",
            ex.plan_name,
            _MAX_REPLAY,
        )
        ex.cache = None

    @staticmethod
    def _annotate(error: Exception, ex: Execution, msg: Msg) -> None:
        plans = " > ".join(ex.stack.names) or ex.plan_name
        obj = f" on {name_of(msg.obj)}" if msg.obj is not None else ""
        error.add_note(f"in plan {plans}, step {ex.step}: {msg!r}{obj}")

    async def _end(self, kind: Literal["stop", "abort", "halt"], reason: str) -> RunResult | None:
        if self._state == "idle":
            raise RunEngineStateError(f"the RunEngine is idle; there is nothing to {kind}")
        if self._state == "running":
            self._request_interrupt(Interrupt(kind, reason))
            if (
                asyncio.current_task() is self._engine_task
                or self._dispatcher.in_consumer()
                or self._idle is None
            ):
                # asked from inside the plan, or by a subscriber (the call's end waits
                # for it): it cannot wait for the call to end
                return None
            await self._idle.wait()
            if self._state != "paused":
                return self.last_result
            # The call paused before it saw the request (`_call` ends a plan for a
            # request made while it drains; this one came as its consumers were being
            # cancelled): end the paused plan now rather than leave it to a resume.
        ex = self._paused_execution(kind)
        result = await self._call(ex, kind, Interrupt(kind, reason))
        if result.exception is not None:
            raise trim_engine_frames(result.exception)
        return result

    # -- scan ids ----------------------------------------------------------------------

    @property
    def counts_scan_ids(self) -> bool:
        """Whether scan_ids come from the counter file (the default source)."""
        return self.scan_id_source == self._persisted_scan_id

    async def _peek_scan_id(self) -> int:
        """The scan_id the counter file would give next (for the validator's eyes)."""
        try:
            with anyio.fail_after(SCAN_ID_TIMEOUT):
                last = await anyio.to_thread.run_sync(self.scan_ids.last, abandon_on_cancel=True)
        except TimeoutError:
            raise MetadataError(
                f"the scan_id file {self.scan_ids.path} could not be read within "
                f"{SCAN_ID_TIMEOUT:g} s (a slow or hung file system?); pass scan_id=... "
                f"or a faster scan_id_source"
            ) from None
        return last + 1

    async def _persisted_scan_id(self, md: Mapping[str, Any]) -> int:
        # file lock + fsync: off the loop; if abandoned on timeout, at worst an id is skipped
        return await anyio.to_thread.run_sync(self.scan_ids.next, abandon_on_cancel=True)

    async def _next_scan_id(self, md: Mapping[str, Any]) -> int:
        source = self.scan_id_source
        try:
            with anyio.fail_after(SCAN_ID_TIMEOUT):
                scan_id = await maybe_await(source(md))
        except TimeoutError:
            raise MetadataError(
                f"the scan_id source {name_of(source)} gave no scan_id within "
                f"{SCAN_ID_TIMEOUT:g} s (a slow or hung file system at "
                f"{self.scan_ids.path}?); pass scan_id=... or a faster scan_id_source"
            ) from None
        if isinstance(scan_id, bool) or not isinstance(scan_id, int):
            raise MetadataError(
                f"the scan_id source {name_of(source)} gave {scan_id!r}, not an int"
            )
        return scan_id

    # -- helpers -----------------------------------------------------------------------

    def _checked_md(self, where: str, md: Mapping[str, Any]) -> dict[str, Any]:
        return check_metadata(md, where)

    def _paused_execution(self, verb: str) -> Execution:
        if self._state != "paused" or self._ex is None:
            raise RunEngineStateError(
                f"nothing to {verb}: the RunEngine is {self._state}"
                + (
                    "; use RE.stop()/RE.abort() from another task to end the running plan"
                    if self._state == "running"
                    else ""
                )
            )
        return self._ex

    def _ex_name(self) -> str:
        return f"plan {self._ex.plan_name!r}" if self._ex else "no plan"


def _subscriptions(subs: Any) -> list[tuple[str, Callback]]:
    """bluesky's per-call ``subs``: a callable, a list, or ``{name: callable or list}``."""
    if subs is None:
        return []
    if callable(subs):
        return [("all", subs)]
    if isinstance(subs, Mapping):
        pairs = []
        for name, funcs in subs.items():
            for func in funcs if isinstance(funcs, list | tuple) else [funcs]:
                pairs.append((str(name), func))
    else:
        pairs = [("all", func) for func in subs]
    for name, func in pairs:
        if not callable(func):
            raise TypeError(
                f"RE(plan, subs): {func!r} (for {name!r}) is not callable; give a "
                f"callback, a list of them, or {{'event': callback, ...}}"
            )
    return pairs


def _reason(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

"""The built-in commands: one coroutine per `Msg` command, bound to one execution.

Each handler takes the `Msg` and returns what the plan receives at its ``yield``. A
handler that raises makes the plan raise at that ``yield``. Handlers do device I/O and
bookkeeping; documents come from `acq.bundler`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from .describe import describe, describe_all, maybe_await, name_of
from .documents import compose_start
from .errors import IllegalMessageSequence, MetadataError, WaitTimeout
from .event_collect import collect_events, is_event_collectable
from .execution import Execution
from .metadata import check_metadata, merge_metadata
from .msg import Msg
from .status import Pending, as_status, is_done, wait_all

if TYPE_CHECKING:
    from .bundler import RunBundler
    from .engine import RunEngine

__all__ = ["Commands", "Handler"]

log = logging.getLogger("acq.engine")

Handler = Callable[[Msg], Awaitable[Any]]

_NO_KWARGS: dict[str, Any] = {}


def _without_group(kwargs: dict[str, Any]) -> dict[str, Any]:
    if not kwargs or (len(kwargs) == 1 and "group" in kwargs):
        return _NO_KWARGS
    return {k: v for k, v in kwargs.items() if k != "group"}


def _verb(obj: Any, verb: str) -> Callable[..., Any]:
    method = getattr(obj, verb, None)
    if method is None:
        raise TypeError(f"{name_of(obj)} cannot {verb}: it has no {verb}() method")
    return method


async def _asset_docs(objs: tuple[Any, ...]) -> list[tuple[str, dict[str, Any]]]:
    """``collect_asset_docs()`` of each object: an async iterator, or ophyd's generator."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for obj in objs:
        found = obj.collect_asset_docs()
        if hasattr(found, "__aiter__"):
            docs.extend([doc async for doc in found])
        else:
            docs.extend(found)
    return docs


def _call_hook(hook: Callable[[Any], None], statuses: list[Any] | None) -> None:
    """A broken progress bar must not break the scan."""
    try:
        hook(statuses)
    except Exception:
        log.exception("the waiting hook %r failed; the scan goes on", hook)


class Commands:
    """Handlers for one `Execution`; `table()` maps command names to them."""

    NAMES = (
        "open_run",
        "close_run",
        "declare_stream",
        "create",
        "read",
        "save",
        "drop",
        "set",
        "trigger",
        "wait",
        "sleep",
        "checkpoint",
        "clear_checkpoint",
        "pause",
        "stage",
        "unstage",
        "stop",
        "locate",
        "configure",
        "monitor",
        "unmonitor",
        "prepare",
        "kickoff",
        "complete",
        "collect",
        "subscribe",
        "unsubscribe",
        "install_suspender",
        "remove_suspender",
        "null",
        "input",
        "wait_for",
        "rewindable",
        "RE_class",
    )

    def __init__(self, engine: RunEngine, ex: Execution) -> None:
        self.engine = engine
        self.ex = ex
        self.emit = engine._dispatcher.emit

    def table(self) -> dict[str, Handler]:
        return {name: getattr(self, name) for name in self.NAMES}

    def _run(self, msg: Msg) -> RunBundler:
        run = self.ex.runs.get(msg.run)
        if run is None:
            which = f" {msg.run!r}" if msg.run is not None else ""
            raise IllegalMessageSequence(
                f"{msg!r} needs an open run{which}; yield Msg('open_run'"
                f"{f', run={msg.run!r}' if msg.run is not None else ''}) first"
            )
        return run

    def _touch(self, obj: Any) -> None:
        self.ex.pausable[id(obj)] = obj

    # -- runs and documents ----------------------------------------------------------

    async def open_run(self, msg: Msg) -> str:
        ex, engine = self.ex, self.engine
        if msg.run in ex.runs:
            which = f" {msg.run!r}" if msg.run is not None else ""
            raise IllegalMessageSequence(
                f"run{which} is already open; close it first, or open another with "
                f"Msg('open_run', run='other_key') for concurrent runs"
            )
        plan_md = check_metadata(msg.kwargs, "open_run")
        md = merge_metadata(engine._checked_md("RE.md", engine.md), plan_md, ex.call_md)
        scan_id = md.pop("scan_id", None)
        counted = scan_id is None and engine.counts_scan_ids
        if scan_id is None:  # the counter file is only peeked at: a refused run uses none
            scan_id = await (engine._peek_scan_id() if counted else engine._next_scan_id(md))
        start = compose_start(
            scan_id=scan_id,
            plan_name=ex.plan_name,
            plan_type=ex.plan_type,
            md=md,
            versions=engine.versions,
        )
        if engine.md_validator is not None:
            try:
                engine.md_validator(start)
            except Exception as error:
                raise MetadataError(f"the metadata validator refused the run: {error}") from error
        if counted:
            start["scan_id"] = await engine._next_scan_id(md)
        engine._open_run(ex, msg.run, start)
        return start["uid"]

    async def close_run(self, msg: Msg) -> str:
        run = self._run(msg)
        if run.bundling:
            raise IllegalMessageSequence(
                f"'close_run' while the event for {run.bundle_name!r} is open; 'save' or "
                f"'drop' it first"
            )
        exit_status = msg.kwargs.get("exit_status") or "success"
        reason = msg.kwargs.get("reason") or ""
        self.engine._close_run(self.ex, msg.run, exit_status, reason)
        return run.uid

    async def declare_stream(self, msg: Msg) -> dict[str, Any]:
        run = self._run(msg)
        name = msg.kwargs.get("name", "primary")
        collect = msg.kwargs.get("collect", False)
        objs = [o for o in (msg.obj, *msg.args) if o is not None]
        if name in run.streams:
            raise IllegalMessageSequence(f"stream {name!r} is already declared in this run")
        stream = run.add_stream(name, objs, await describe_all(objs, collect=collect))
        if collect:
            for obj in objs:
                run.declared[obj] = name
        return stream.descriptor

    async def create(self, msg: Msg) -> None:
        name = msg.kwargs.get("name") or (msg.args[0] if msg.args else None) or msg.obj
        self._run(msg).create(name if isinstance(name, str) else "primary")

    async def read(self, msg: Msg) -> Any:
        obj = msg.obj
        reading = _verb(obj, "read")()
        if type(reading) is not dict:  # the fast path is a plain dict
            reading = await maybe_await(reading)
            if not isinstance(reading, Mapping):
                raise TypeError(
                    f"{name_of(obj)}.read() gave {type(reading).__name__}, not a mapping of "
                    f"data key -> {{'value': ..., 'timestamp': ...}}"
                )
            reading = dict(reading)
        run = self.ex.runs.get(msg.run)
        if run is not None and run.bundle_name is not None:
            run.add_reading(obj, reading)
        return reading

    async def save(self, msg: Msg) -> None:
        run = self._run(msg)
        if run.bundle_name is not None and not run.bundle_objs:
            run.drop()  # nothing read: no empty Event (bluesky's rule)
            return
        stream = run.stream_to_save()
        if stream is None:
            assert run.bundle_name is not None  # stream_to_save raises without an open event
            objs = run.bundle_objs
            stream = run.add_stream(
                run.bundle_name,
                objs,
                await describe_all(objs),
                first_readings=run.bundle_readings,
            )
        if stream.assets:
            try:
                run.emit_step_assets(stream, await _asset_docs(stream.assets))
            except Exception:
                run.drop()  # no Event for this point; the run can still close
                raise
        run.save(stream)

    async def drop(self, msg: Msg) -> None:
        self._run(msg).drop()

    async def monitor(self, msg: Msg) -> None:
        run = self._run(msg)
        obj = msg.obj
        _verb(obj, "subscribe")
        name = msg.kwargs.get("name") or f"{name_of(obj)}_monitor"
        run.monitor(obj, name, await describe(obj))

    async def unmonitor(self, msg: Msg) -> None:
        self._run(msg).unmonitor(msg.obj)
        # updates that arrived from the device's threads before this are waiting in the
        # loop's queue: let them in now, before the run can close. Shielded: the monitor
        # has ended, so a pause here must not leave this message to be re-done.
        with anyio.CancelScope(shield=True):
            await anyio.lowlevel.checkpoint()

    async def collect(self, msg: Msg) -> Any:
        run = self._run(msg)
        objs = [msg.obj, *msg.args]
        if len(objs) == 1 and is_event_collectable(msg.obj):  # a classic ophyd flyer
            return await collect_events(run, msg)
        name = msg.kwargs.get("name") or run.declared.get(msg.obj) or "primary"
        stream = run.streams.get(name)
        if stream is None:
            stream = run.add_stream(name, objs, await describe_all(objs, collect=True))
            for obj in objs:
                run.declared[obj] = name
        elif not all(any(o is d for d in stream.objs) for o in objs):
            raise IllegalMessageSequence(
                f"cannot collect {[name_of(o) for o in objs]} into stream {name!r}: it holds "
                f"{[name_of(o) for o in stream.objs]}; collect into another stream (name=...) "
                f"or declare one for them (declare_stream)"
            )
        payload: list[dict[str, Any]] = []
        if all(hasattr(o, "collect_asset_docs") for o in objs):
            index = None
            if len(objs) > 1:
                index = min([await maybe_await(o.get_index()) for o in objs])
            docs = [doc for o in objs async for doc in o.collect_asset_docs(index)]
            run.emit_stream_assets(stream, docs)
        elif len(objs) == 1 and hasattr(msg.obj, "collect_pages"):
            async for page in msg.obj.collect_pages():
                doc = run.emit_page(stream, page)
                if msg.kwargs.get("return_payload", True):
                    payload.append(doc)
        else:
            raise TypeError(
                f"cannot collect {[name_of(o) for o in objs]}: a collectable has "
                f"collect_pages() (one object) or collect_asset_docs() (one or more)"
            )
        return payload

    # -- moving, triggering, waiting -------------------------------------------------

    async def set(self, msg: Msg) -> Any:
        obj = msg.obj
        kwargs = msg.kwargs
        result = _verb(obj, "set")(*msg.args, **_without_group(kwargs))
        status = as_status(result, self.engine._tg, obj, "set")
        ex = self.ex
        ex.movers[id(obj)] = (obj, status)
        ex.pausable[id(obj)] = obj
        if status is not None:
            ex.add_pending(kwargs.get("group"), Pending(obj, "set", status))
        return status

    async def trigger(self, msg: Msg) -> Any:
        obj = msg.obj
        status = as_status(_verb(obj, "trigger")(), self.engine._tg, obj, "trigger")
        ex = self.ex
        ex.pausable[id(obj)] = obj
        if status is not None:
            ex.add_pending(msg.kwargs.get("group"), Pending(obj, "trigger", status))
        return status

    async def _verb_with_group(self, msg: Msg, verb: str) -> Any:
        obj = msg.obj
        result = _verb(obj, verb)(*msg.args, **_without_group(msg.kwargs))
        status = as_status(result, self.engine._tg, obj, verb)
        self._touch(obj)
        if status is not None:
            group = msg.kwargs.get("group")
            if group is None and verb in ("stage", "unstage"):
                await wait_all([Pending(obj, verb, status)])
            else:
                self.ex.add_pending(group, Pending(obj, verb, status))
        return status

    async def prepare(self, msg: Msg) -> Any:
        return await self._verb_with_group(msg, "prepare")

    async def kickoff(self, msg: Msg) -> Any:
        status = await self._verb_with_group(msg, "kickoff")
        # Flying until its `complete` is done (kickoff's status is done once it flies):
        # a stop, abort, halt or pause stops it.
        self.ex.movers[id(msg.obj)] = (msg.obj, None)
        return status

    async def complete(self, msg: Msg) -> Any:
        kwargs = {k: v for k, v in msg.kwargs.items() if k != "wait"}
        status = await self._verb_with_group(
            Msg("complete", msg.obj, *msg.args, **kwargs), "complete"
        )
        if status is None:  # it completed at once
            self.ex.movers.pop(id(msg.obj), None)
        elif id(msg.obj) in self.ex.movers:
            self.ex.movers[id(msg.obj)] = (msg.obj, status)
        if msg.kwargs.get("wait") and status is not None:
            await self.wait(Msg("wait", group=msg.kwargs.get("group")))
        return status

    async def wait(self, msg: Msg) -> bool:
        """Wait for a group; True when all is done, False when ``timeout`` passed and
        ``error_on_timeout=False`` (or bluesky's ``move_on=True``) says not to raise."""
        kwargs = msg.kwargs
        group = kwargs.get("group", msg.args[0] if msg.args else None)
        pending = self.ex.groups.pop(group, None)
        if not pending:
            return True
        timeout = kwargs.get("timeout")
        hook = self.engine.waiting_hook
        if len(pending) == 1 and timeout is None and hook is None:  # the per-point path
            p = pending[0]
            try:
                await p.status
            except Exception as error:
                error.add_note(f"while waiting for {name_of(p.obj)} to finish its {p.action}")
                raise
            return True
        watching = hook is not None and not all(is_done(p.status) for p in pending)
        if watching:
            _call_hook(hook, [p.status for p in pending])  # type: ignore[arg-type]
        try:
            await wait_all(pending, timeout)
        except Exception as error:
            busy = [p for p in pending if not is_done(p.status)]
            if busy:  # still running: a later wait on this group can pick them up
                self.ex.groups.setdefault(group, []).extend(busy)
            if isinstance(error, WaitTimeout) and (
                not kwargs.get("error_on_timeout", True) or kwargs.get("move_on")
            ):
                return False
            raise
        finally:
            if watching:
                _call_hook(hook, None)  # type: ignore[arg-type]
        return True

    async def sleep(self, msg: Msg) -> None:
        duration = msg.args[0] if msg.args else msg.kwargs.get("duration", msg.obj)
        await anyio.sleep(float(duration))

    async def stop(self, msg: Msg) -> Any:
        success = msg.kwargs.get("success", True)
        return await maybe_await(_verb(msg.obj, "stop")(success=success))

    async def locate(self, msg: Msg) -> Any:
        objs = [msg.obj, *msg.args]
        found = [await maybe_await(_verb(o, "locate")()) for o in objs]
        if len(found) == 1 and msg.kwargs.get("squeeze", True):
            return found[0]
        return found

    async def configure(self, msg: Msg) -> Any:
        obj = msg.obj
        for run in self.ex.runs.values():
            if run.bundling and any(o is obj for o in run.bundle_objs):
                raise IllegalMessageSequence(
                    f"cannot configure {name_of(obj)} between 'create' and 'save' after "
                    f"reading it; 'save' first"
                )
        result = await maybe_await(_verb(obj, "configure")(*msg.args, **msg.kwargs))
        for run in self.ex.runs.values():
            run.invalidate(obj)
        return result

    # -- staging ---------------------------------------------------------------------

    async def stage(self, msg: Msg) -> Any:
        obj = msg.obj
        ex = self.ex
        listed = any(o is obj for o in ex.staged)
        if listed and id(obj) in ex.stage_done:
            return None
        if not hasattr(obj, "stage"):
            return None  # nothing to stage (bluesky's rule)
        if not listed:  # (listed and not done: a pause cut its stage short; stage again)
            ex.staged.append(obj)  # first, so a failed stage is still unstaged
        status = await self._verb_with_group(msg, "stage")
        ex.stage_done.add(id(obj))
        return status

    async def unstage(self, msg: Msg) -> Any:
        obj = msg.obj
        self.ex.staged = [o for o in self.ex.staged if o is not obj]
        self.ex.stage_done.discard(id(obj))
        if not hasattr(obj, "unstage"):
            return None
        return await self._verb_with_group(msg, "unstage")

    # -- checkpoints and interruptions -----------------------------------------------

    async def checkpoint(self, msg: Msg) -> None:
        ex = self.ex
        for run in ex.runs.values():
            if run.bundle_name is not None:
                raise IllegalMessageSequence(
                    "'checkpoint' between 'create' and 'save'; a checkpoint goes before the "
                    "step it protects, outside the event"
                )
            run.checkpoint()
        if ex.cache is None and ex.rewindable:
            ex.cache = deque()
        self.engine._at_checkpoint()

    async def clear_checkpoint(self, msg: Msg) -> None:
        self.ex.cache = None
        for run in self.ex.runs.values():
            run.checkpoint()

    async def pause(self, msg: Msg) -> None:
        self.engine.request_pause(
            defer=msg.kwargs.get("defer", False), reason="the plan asked to pause"
        )

    async def null(self, msg: Msg) -> None:
        return None

    async def rewindable(self, msg: Msg) -> bool:
        """``Msg('rewindable', None, flag)``: allow (True) or forbid (False) re-doing steps
        after a pause; None only asks. Returns the state now in force (bluesky's rule).
        Not rewindable is like ``clear_checkpoint`` until rewinding is allowed again."""
        flag = msg.args[0] if msg.args else msg.kwargs.get("rewindable")
        ex = self.ex
        if flag is not None and bool(flag) != ex.rewindable:
            ex.rewindable = bool(flag)
            ex.cache = deque() if ex.rewindable else None
            for run in ex.runs.values():
                run.checkpoint()
        return ex.rewindable

    async def RE_class(self, msg: Msg) -> type:
        return type(self.engine)

    # -- asking the user, waiting for the plan's own awaitables ----------------------

    async def input(self, msg: Msg) -> str:
        """``Msg('input', prompt='> ')`` (bluesky's ``bps.input_plan``): the user's answer.

        ``RE.input_function(prompt)``: sync ones run in a worker thread, so the loop (and
        a pause or abort requested meanwhile) goes on while the user types.
        """
        prompt = str(msg.kwargs.get("prompt", msg.args[0] if msg.args else ""))
        ask = self.engine.input_function
        if inspect.iscoroutinefunction(ask):
            return await ask(prompt)
        # A pause while the user types must not lose the answer: the reader thread cannot
        # be stopped, so the re-done step (at resume) waits for the same reader.
        pending = self.ex.pending_input
        if pending is None or pending[0] != prompt:
            pending = self.ex.pending_input = (prompt, _read_in_a_thread(ask, prompt))
        answer = await asyncio.shield(pending[1])
        self.ex.pending_input = None
        return answer

    async def wait_for(self, msg: Msg) -> list[asyncio.Future[Any]]:
        """``Msg('wait_for', None, [factory, ...], timeout=...)`` (bluesky's ``bps.wait_for``).

        Each factory returns an awaitable; all are awaited together. Returns the finished
        futures (as bluesky does). On timeout the unfinished ones are cancelled (and
        awaited: nothing is left running) and `WaitTimeout` is raised.
        """
        factories = msg.args[0] if msg.args else msg.kwargs.get("futs", ())
        timeout = msg.kwargs.get("timeout")
        futures = [asyncio.ensure_future(factory()) for factory in factories]
        if not futures:
            return []
        try:
            _, pending = await asyncio.wait(futures, timeout=timeout)
        finally:  # cancelled, or timed out: nothing outlives the command
            unfinished = [f for f in futures if not f.done()]
            for future in unfinished:
                future.cancel()
            if unfinished:
                await asyncio.wait(unfinished)
        if pending:
            raise WaitTimeout(
                f"wait_for: {len(pending)} of {len(futures)} awaitables not done after "
                f"{timeout} s (cancelled)"
            )
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        return futures

    # -- subscriptions and suspenders ------------------------------------------------

    async def subscribe(self, msg: Msg) -> int:
        callback = msg.args[0] if msg.args else msg.kwargs.get("func", msg.obj)
        name = msg.args[1] if len(msg.args) > 1 else msg.kwargs.get("name", "all")
        token = self.engine.subscribe(callback, name)
        self.ex.subscriptions.append(token)
        return token

    async def unsubscribe(self, msg: Msg) -> None:
        token = msg.kwargs.get("token", msg.args[0] if msg.args else msg.obj)
        self.engine.unsubscribe(token)
        if token in self.ex.subscriptions:
            self.ex.subscriptions.remove(token)

    async def install_suspender(self, msg: Msg) -> None:
        suspender = _suspender_of(msg)
        self.engine.install_suspender(suspender)
        self.ex.suspenders.append(suspender)

    async def remove_suspender(self, msg: Msg) -> None:
        suspender = _suspender_of(msg)
        self.engine.remove_suspender(suspender)
        if suspender in self.ex.suspenders:
            self.ex.suspenders.remove(suspender)


def _suspender_of(msg: Msg) -> Any:
    """``Msg("install_suspender", s)``, or bluesky's ``Msg("install_suspender", None, s)``."""
    if msg.obj is None and msg.args:
        return msg.args[0]
    return msg.obj


def _read_in_a_thread(ask: Callable[[str], Any], prompt: str) -> asyncio.Future[Any]:
    """``ask(prompt)`` in a thread of its own; its answer (or error) as a future of the
    running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def read() -> None:
        try:
            result, error = ask(prompt), None
        except BaseException as exc:  # (KeyboardInterrupt, EOFError, ...) for the plan
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop has closed: nobody waits for the answer
            log.warning("an answer to %r came after the event loop closed", prompt)

    threading.Thread(target=read, name="acq input", daemon=True).start()
    return future

"""The worker: takes items off the queue and runs them on the RunEngine, one at a time.

It is one task of the service, in the same loop as the HTTP server and the engine, so
pausing, resuming or aborting is a method call on the engine, not a message to another
process. Its states are bluesky-queueserver's manager states: ``idle``,
``executing_queue``, ``paused``.

What happens after an item follows bluesky-queueserver, so its clients see the same
thing: an item that completes goes to the history (and, in loop mode, to the back of the
queue); an item that is stopped goes to the history and the queue stops; an item that is
aborted, halted or fails goes to the history and a copy goes back to the front of the
queue (with ``ignore_failures`` a failed one does not, and the queue goes on); a
``queue_stop`` instruction stops the queue.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio

from acq import RunEngine, RunEnginePaused, RunResult

from .errors import RequestRejected
from .queue import History, Item, PlanQueue
from .validation import Catalogue, build_plan

__all__ = ["Worker", "exit_status_of", "json_safe"]

log = logging.getLogger("acq.service.worker")

Ending = Literal["resume", "stop", "abort", "halt"]
INTERRUPT_WAIT = 10.0  # s an HTTP request waits for a running plan to end (stop/abort/halt)
START_WAIT = 2.0  # s a pause request waits for an item that is starting to be running


def exit_status_of(result: RunResult, ending: str | None) -> str:
    """bluesky-queueserver's names: completed, stopped, aborted, halted, failed."""
    if result.exit_status == "success":
        return "stopped" if ending == "stop" else "completed"
    if result.exit_status == "abort":
        return "halted" if ending == "halt" else "aborted"
    return "failed"


def json_safe(value: Any) -> Any:
    """`value` if it is JSON as it is, else its repr (a plan's return value)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: json_safe(v) for k, v in value.items()}
    return repr(value)


class Worker:
    """Runs queue items; see the module docstring."""

    def __init__(
        self,
        RE: RunEngine,
        queue: PlanQueue,
        history: History,
        catalogue: Catalogue,
        *,
        persist: Callable[[], Awaitable[None]],
        record: Callable[[Item], Awaitable[None]],
        changed: Callable[[], None],
    ) -> None:
        self.RE = RE
        self.queue = queue
        self.history = history
        self.catalogue = catalogue
        self._persist = persist
        self._record = record
        self._changed = changed
        self.state: Literal["idle", "executing_queue", "paused"] = "idle"
        self.queue_stop_pending = False
        self.pause_pending = False
        self.runs: list[dict[str, Any]] = []  # of the running item (re_runs)
        self._go = anyio.Event()
        self._immediate: Item | None = None
        self._ending: Ending | None = None
        self._send, self._receive = anyio.create_memory_object_stream[Ending](1)
        RE.subscribe(self._on_document)

    # -- requests (from HTTP handlers) ----------------------------------------------------

    def start(self, immediate: Item | None = None) -> None:
        if self.state != "idle":
            raise RequestRejected(409, f"the queue is already {self.state}; nothing to start")
        self.state = "executing_queue"
        self.queue_stop_pending = False
        self._immediate = immediate
        self._go.set()
        self._changed()

    def stop_queue(self, pending: bool = True) -> None:
        if pending and self.state == "idle":
            raise RequestRejected(409, "the queue is not running; nothing to stop")
        self.queue_stop_pending = pending
        self._changed()

    async def pause(self, option: str) -> None:
        if option not in ("deferred", "immediate"):
            raise RequestRejected(400, f"pause option {option!r}: use 'deferred' or 'immediate'")
        await self._until_started()
        if self.state != "executing_queue" or self.RE.state != "running":
            raise RequestRejected(
                409, f"no plan is running (the queue is {self.state}, the engine {self.RE.state})"
            )
        self.RE.request_pause(defer=option == "deferred", reason=f"{option} pause requested")
        self.pause_pending = True
        self._changed()

    async def end_plan(self, how: Ending) -> None:
        """Resume, stop, abort or halt the paused plan (stop/abort/halt: a running one too)."""
        if self.state == "paused":
            try:
                self._send.send_nowait(how)
            except anyio.WouldBlock:
                raise RequestRejected(409, "a request to continue is already on its way") from None
            return
        if how != "resume":
            await self._until_started()
        if how == "resume" or self.state != "executing_queue" or self.RE.state != "running":
            raise RequestRejected(409, f"no plan is paused (the queue is {self.state})")
        self._ending = how
        with anyio.move_on_after(INTERRUPT_WAIT):
            await {"stop": self.RE.stop, "abort": self.RE.abort, "halt": self.RE.halt}[how]()

    async def _until_started(self) -> None:
        """Wait (bounded) while an item is starting: the queue says it runs and the
        engine's call is a moment away. A pause or stop asked then is for that item, not
        refused with "no plan is running"."""
        with anyio.move_on_after(START_WAIT):
            while (
                self.state == "executing_queue"
                and self.queue.running is not None
                and self.RE.state == "idle"
            ):
                await anyio.sleep(0.005)

    # -- the task ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Forever: wait for a start, run the queue (or one item) until it stops."""
        while True:
            await self._go.wait()
            self._go = anyio.Event()
            immediate, self._immediate = self._immediate, None
            try:
                if immediate is not None:
                    item = self.queue.start(immediate, immediate=True)
                    self.runs = []
                    await self._persist()
                    await self._run_item(item)
                else:
                    await self._run_queue()
            except Exception as exc:  # the queue database failed, most likely
                log.exception("the queue worker failed; the queue stops")
                await self._give_up_running(exc)
            finally:
                self.state = "idle"
                self.queue_stop_pending = False
                self.pause_pending = False
                self._changed()

    async def _give_up_running(self, error: Exception) -> None:
        """After a failure of the worker itself: the running item goes to the history
        (failed) and back to the queue, so the next start is not blocked by it."""
        if self.queue.running is None:
            return
        properties = self.queue.running.get("properties", {})
        finished = self.queue.finish(
            {
                "exit_status": "failed",
                "run_uids": properties.get("run_uids", []),
                "scan_ids": properties.get("scan_ids", []),
                "msg": f"the queue service failed while this item ran: {error!r}",
                "traceback": "".join(traceback.format_exception(error)),
                "return_value": None,
            },
            requeue=True,
        )
        self.history.append(finished)
        try:
            await self._record(finished)
            await self._persist()
        except Exception:
            log.exception("could not record item %s in the queue database", finished["item_uid"])

    async def _run_queue(self) -> None:
        while not self.queue_stop_pending:
            front = self.queue.items[0] if self.queue.items else None
            if front is None:
                return
            if front.get("item_type") == "instruction":
                self.queue.remove(pos="front")
                await self._persist()
                log.info("queue_stop instruction: the queue stops")
                return
            item = self.queue.start_next()
            assert item is not None
            self.runs = []  # re_runs lists the runs of the running item only
            await self._persist()
            self._changed()
            if not await self._run_item(item):
                return

    async def _run_item(self, item: Item) -> bool:
        """Run one item and record it; whether the queue may go on."""
        log.info("starting plan %s (item %s)", item.get("name"), item.get("item_uid"))
        self._ending = None
        error: BaseException | None = None
        result: RunResult | None = None
        try:
            plan = build_plan(item, self.catalogue)
            result = await self._drive(self.RE(plan, **dict(item.get("meta", {}))))
        except RequestRejected as exc:  # arguments no longer valid (a device went away?)
            error = exc
        except Exception as exc:
            error = exc
            result = self.RE.last_result
        status = "failed" if error is not None else exit_status_of(result, self._ending)  # type: ignore[arg-type]
        record = self._result(item, status, result, error)
        ignore = self.queue.mode.get("ignore_failures") and status == "failed"
        requeue = status in ("failed", "aborted", "halted") and not ignore
        self.pause_pending = False  # a deferred pause that found no checkpoint lapses
        finished = self.queue.finish(record, requeue=requeue)
        self.history.append(finished)
        await self._record(finished)
        await self._persist()
        self._changed()
        log.info("plan %s ended: %s %s", item.get("name"), status, record.get("msg", ""))
        if status in ("stopped", "aborted", "halted") or (status == "failed" and not ignore):
            return False
        return not finished.get("properties", {}).get("immediate_execution")

    async def _drive(self, call: Awaitable[RunResult]) -> RunResult:
        """Await the engine; while it is paused, wait for resume/stop/abort/halt."""
        while True:
            try:
                return await call
            except RunEnginePaused:
                pass
            self.state = "paused"
            self.pause_pending = False
            self._changed()
            how = await self._receive.receive()  # a person decides; no timeout
            self.state = "executing_queue"
            self._ending = how if how != "resume" else self._ending
            self._changed()
            call = {
                "resume": self.RE.resume,
                "stop": self.RE.stop,
                "abort": self.RE.abort,
                "halt": self.RE.halt,
            }[how]()  # type: ignore[assignment]

    def _result(
        self, item: Item, status: str, result: RunResult | None, error: BaseException | None
    ) -> dict[str, Any]:
        props = item.get("properties", {})
        run_uids = list(result.run_uids) if result is not None else list(props.get("run_uids", []))
        scan_ids = dict(zip(props.get("run_uids", []), props.get("scan_ids", []), strict=False))
        record: dict[str, Any] = {
            "exit_status": status,
            "run_uids": run_uids,
            "scan_ids": [scan_ids.get(u) for u in run_uids],
            "msg": "",
            "traceback": "",
            "return_value": None,
        }
        if result is not None:
            record["msg"] = result.reason
            record["return_value"] = json_safe(result.plan_result)
            if result.subscriber_errors:
                record["subscriber_errors"] = [str(f) for f in result.subscriber_errors]
        if error is not None:
            record["msg"] = f"{type(error).__name__}: {error}"
            record["traceback"] = "".join(traceback.format_exception(error))
        return record

    # -- documents -------------------------------------------------------------------------

    async def _on_document(self, name: str, doc: dict[str, Any]) -> None:
        """Keep the running item's run uids and scan ids (and persist them at each start)."""
        running = self.queue.running
        if name == "start":
            if running is not None:
                props = running.setdefault("properties", {})
                props.setdefault("run_uids", []).append(doc["uid"])
                props.setdefault("scan_ids", []).append(doc.get("scan_id"))
                await self._persist()  # clients hear of the run once it is on disk
            self.runs.append({"uid": doc["uid"], "is_open": True, "exit_status": None})
            self._changed()
        elif name == "stop":
            for run in self.runs:
                if run["uid"] == doc.get("run_start"):
                    run.update(is_open=False, exit_status=doc.get("exit_status"))
            self._changed()

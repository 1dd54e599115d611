"""The queue service: one object that owns a beamline's engine, devices, queue and history.

`Service` is the composition root of ``acq serve``: it loads the startup file, connects
the devices, opens the queue database (marking an item that was running when the last
process died as ``interrupted``), wires the catalog and live plots when they are asked
for, and runs the worker and the HTTP server as two tasks of one task group in the
caller's loop. Nothing here runs in a thread or another process.

    service = Service(ServiceConfig(startup="beamline.py", api_key="secret"))
    await service.serve()          # until cancelled (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from acq import RunEngine

from .console import Console, capture
from .errors import RequestRejected, StartupError
from .permissions import API_KEY_ENV, Permissions, load_permissions
from .queue import History, PlanQueue, new_uid
from .startup import Beamline, load_startup
from .store import Store, open_store
from .stream import Hub
from .validation import Catalogue
from .worker import Worker

__all__ = ["Service", "ServiceConfig"]

log = logging.getLogger("acq.service")

DEFAULT_PORT = 60610
CONNECT_TIMEOUT = 10.0  # s for the startup file's devices to connect
MAX_BODY = 1_000_000  # bytes
SHUTDOWN_TIMEOUT = 15.0  # s for a running plan to be aborted and recorded at SIGTERM


def default_db() -> str:
    state = os.environ.get("ACQ_STATE_DIR") or "~/.local/state/acq"
    return str(Path(state).expanduser() / "queue.db")


@dataclass
class ServiceConfig:
    startup: str | Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    db: str = field(default_factory=default_db)
    permissions: str | Path | None = None
    api_key: str | None = None
    catalog: str | None = None
    plots_port: int | None = None
    max_body: int = MAX_BODY
    connect_timeout: float = CONNECT_TIMEOUT


@dataclass
class Lock:
    environment: bool = False
    queue: bool = False
    key: str = ""
    user: str | None = None
    note: str | None = None
    time: float | None = None
    uid: str = field(default_factory=new_uid)

    @property
    def locked(self) -> bool:
        return self.environment or self.queue

    def stored(self) -> dict[str, Any] | None:
        """What the queue database keeps (the key too, as bluesky-queueserver's Redis)."""
        if not self.locked:
            return None
        fields = ("environment", "queue", "key", "user", "note", "time")
        return {f: getattr(self, f) for f in fields}

    def info(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "queue": self.queue,
            "user": self.user,
            "time": self.time,
            "time_str": "" if self.time is None else datetime.fromtimestamp(self.time).isoformat(),
            "note": self.note,
            "emergency_lock_key_is_set": False,
        }


class Service:
    """See the module docstring."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.permissions: Permissions = load_permissions(
            config.permissions, config.api_key or os.environ.get(API_KEY_ENV)
        )
        self.beamline: Beamline = load_startup(config.startup)
        self.catalogue = Catalogue(self.beamline.plans, self.beamline.devices)
        self.store: Store = open_store(config.db)
        self.console = Console()
        self.hub = Hub()
        self.console.listeners.append(lambda msg: self.hub.publish("console", msg))
        self.RE = RunEngine(md=self.beamline.metadata, handle_sigint=False, waiting_hook=None)
        self.RE.subscribe(self._forward_document)
        self.queue = PlanQueue()
        self.history = History()
        self.lock = Lock()
        self.lists_uid = new_uid()  # plans/devices: fixed for the life of the process
        self.worker = Worker(
            self.RE,
            self.queue,
            self.history,
            self.catalogue,
            persist=self.persist,
            record=self.store.append_history,
            changed=self.changed,
        )
        self.catalog: Any = None
        self.plots: Any = None
        self._status: dict[str, Any] | None = None
        self._status_json: bytes | None = None
        self.port: int | None = None

    # -- state -----------------------------------------------------------------------

    def changed(self) -> None:
        """Something a client can see changed: new status uid, tell the stream."""
        self._status = None
        self._status_json = None
        if self.hub.wants("status"):
            self.hub.publish("status", {"time": time.time(), "msg": {"status": self.status()}})

    async def persist(self) -> None:
        await self.store.save_queue(self.queue.items, self.queue.running)

    def status_json(self) -> bytes:
        status = self.status()
        if self._status_json is None:
            self._status_json = json.dumps(status).encode()
        return self._status_json

    def status(self) -> dict[str, Any]:
        # cached until a change; the engine's own state changes (paused -> running when
        # a resume begins) are noticed here, as they need not pass through the service
        if self._status is not None and self._status["re_state"] == self.RE.state:
            return self._status
        self._status_json = None
        worker, RE = self.worker, self.RE
        running = self.queue.running
        self._status = {
            "msg": "acq queue service",
            "time": datetime.now(UTC).isoformat(),
            "items_in_queue": len(self.queue),
            "items_in_history": len(self.history.items),
            "running_item_uid": running.get("item_uid") if running else None,
            "manager_state": worker.state,
            "queue_stop_pending": worker.queue_stop_pending,
            "queue_autostart_enabled": False,
            "worker_environment_exists": True,
            "worker_environment_state": "idle" if RE.state == "idle" else "executing_plan",
            "worker_background_tasks": 0,
            "re_state": RE.state,
            "ip_kernel_state": None,
            "ip_kernel_captured": None,
            "pause_pending": worker.pause_pending,
            "status_uid": new_uid(),
            "run_list_uid": str(len(worker.runs)) + (running or {}).get("item_uid", ""),
            "plan_queue_uid": self.queue.uid,
            "plan_history_uid": self.history.uid,
            "devices_existing_uid": self.lists_uid,
            "plans_existing_uid": self.lists_uid,
            "devices_allowed_uid": self.lists_uid,
            "plans_allowed_uid": self.lists_uid,
            "plan_queue_mode": dict(self.queue.mode),
            "task_results_uid": self.lists_uid,
            "lock_info_uid": self.lock.uid,
            "lock": {"environment": self.lock.environment, "queue": self.lock.queue},
        }
        return self._status

    def check_lock(self, lock_key: Any, *, queue: bool = False, environment: bool = False) -> None:
        locked = (queue and self.lock.queue) or (environment and self.lock.environment)
        if locked and lock_key != self.lock.key:
            what = "queue" if queue and self.lock.queue else "environment"
            raise RequestRejected(
                403,
                f"the {what} is locked by {self.lock.user!r} ({self.lock.note or 'no note'}); "
                f"pass its lock_key or ask them to unlock it",
            )

    def _forward_document(self, name: str, doc: dict[str, Any]) -> None:
        if self.hub.wants("document"):
            self.hub.publish("document", {"name": name, "doc": doc})

    # -- start-up and shutdown -------------------------------------------------------

    async def restore(self) -> None:
        """Load the queue and history; an item that was running is marked interrupted."""
        snapshot = await self.store.load()
        self.queue.items[:] = snapshot.queue
        self.queue.mode.update(snapshot.mode)
        self.history.items[:] = snapshot.history
        if snapshot.lock:
            self.lock = Lock(**snapshot.lock)
        if snapshot.running is not None:
            self.queue.running = snapshot.running
            props = snapshot.running.get("properties", {})
            finished = self.queue.finish(
                {
                    "exit_status": "interrupted",
                    "run_uids": props.get("run_uids", []),
                    "scan_ids": props.get("scan_ids", []),
                    "msg": "the service stopped while this item was running (killed or "
                    "crashed); its runs may be incomplete. A copy is back at the front of "
                    "the queue.",
                    "traceback": "",
                    "return_value": None,
                    "time_stop": None,
                },
                requeue=True,
            )
            self.history.append(finished)
            await self.store.append_history(finished)
            await self.persist()
            log.warning(
                "item %s (%s) was running when the service last stopped: marked interrupted",
                finished.get("item_uid"),
                finished.get("name"),
            )
        self.changed()

    async def connect_devices(self) -> None:
        from devices import connect

        devices = list(self.beamline.devices.values())
        if not devices:
            return
        try:
            await connect(*devices, timeout=self.config.connect_timeout)
        except Exception as exc:
            raise StartupError(f"the startup file's devices did not connect: {exc}") from exc

    async def open_catalog(self) -> None:
        if not self.config.catalog:
            return
        try:
            from storage import open_catalog
        except ImportError as exc:
            raise StartupError(
                f"--catalog needs the storage package, which is missing: {exc}"
            ) from exc
        self.catalog = await open_catalog(self.config.catalog)
        self.RE.subscribe(self.catalog.writer, critical=True)
        log.info("runs are stored in %s", self.config.catalog)

    def open_plots(self) -> None:
        if self.config.plots_port is None:
            return
        try:
            from viz import LivePlots
        except ImportError as exc:
            raise StartupError(f"--plots needs the viz package, which is missing: {exc}") from exc
        self.plots = LivePlots(port=self.config.plots_port)
        self.RE.subscribe(self.plots)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Service]:
        """Connected, restored and wired; closes catalog and plots on the way out."""
        undo = capture(self.console)
        try:
            await self.restore()  # a database that does not answer fails fast
            await self.connect_devices()
            await self.open_catalog()
            self.open_plots()
            yield self
        finally:
            undo()
            if self.plots is not None:
                await self.plots.close()
            if self.catalog is not None:
                await self.catalog.close()
            await self.store.close()

    async def serve(self, *, ready: anyio.Event | None = None) -> None:
        """Serve HTTP and run the queue until cancelled or SIGINT/SIGTERM."""
        import uvicorn

        from .app import build_app

        async with self.running():
            app = build_app(self)
            config = uvicorn.Config(
                app,
                host=self.config.host,
                port=self.config.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                ws="websockets-sansio",
            )
            server = uvicorn.Server(config)
            # the service owns SIGINT/SIGTERM (a running plan is aborted first)
            server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.worker.run)
                tg.start_soon(self._stop_on_signals, server)
                tg.start_soon(self._announce, server, ready)
                try:
                    await server.serve()
                except SystemExit:
                    raise StartupError(
                        f"cannot serve on {self.config.host}:{self.config.port} "
                        f"(port in use? see the log above)"
                    ) from None
                tg.cancel_scope.cancel()

    async def _announce(self, server: Any, ready: anyio.Event | None) -> None:
        while not server.started:
            await anyio.sleep(0.02)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        print(
            f"acq queue service on http://{self.config.host}:{self.port} "
            f"({len(self.beamline.plans)} plans, {len(self.beamline.devices)} devices, "
            f"queue in {self.store!r})",
            flush=True,
        )
        if ready is not None:
            ready.set()

    async def _stop_on_signals(self, server: Any) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.warning("signal %s: stopping the service", signal.Signals(signum).name)
                if self.worker.state != "idle":
                    with anyio.move_on_after(SHUTDOWN_TIMEOUT):
                        self.worker.stop_queue(True)  # no next item
                        if self.RE.state != "idle":
                            try:
                                await self.worker.end_plan("abort")
                            except RequestRejected as exc:  # it ended meanwhile
                                log.info("no plan to abort at shutdown: %s", exc.detail)
                        while self.worker.state != "idle":  # until the item is recorded
                            await anyio.sleep(0.05)
                server.should_exit = True
                return

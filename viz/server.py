"""`LivePlots`: a Bokeh server in the engine's own asyncio loop, fed by documents.

No thread and no second process: tornado's IOLoop wraps the running asyncio loop, so
the server, the browser sessions' periodic updates and the RunEngine share one thread and
need no locks. The price is that everything must be quick; the document callback only
appends to `viz.runs.Runs`, and each session copies what is new ten times a second
(`viz.app`). See docs/decisions/0007-live-plots.md.

The server starts as soon as there is a running loop: at construction when you build
``LivePlots(...)`` in a notebook cell or in async code, otherwise at `start()` or at the
first document. The URL is printed and logged, and is ``plots.url``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TextIO

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.document import Document
from bokeh.server.server import BaseServer
from bokeh.server.tornado import BokehTornado
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets

from .app import SessionView
from .errors import PlotServerError
from .runs import Runs

__all__ = ["LivePlots"]

log = logging.getLogger("viz.plots")

CLOSE_TIMEOUT = 5.0  # seconds to close browser connections at close()


class LivePlots:
    """Live plots of the runs a RunEngine emits, in the browser: ``RE.subscribe(plots)``.

    ``port=0`` picks a free port. ``allow_websocket_origin`` adds ``host:port`` origins a
    browser may load the page from besides this server's own address (a different local
    port of an SSH tunnel, a proxy). The last `max_runs` runs stay browsable; each keeps
    its last `max_points` points. Browsers are updated every `interval` seconds.
    """

    def __init__(
        self,
        port: int = 5006,
        address: str = "127.0.0.1",
        *,
        allow_websocket_origin: Sequence[str] = (),
        max_runs: int = 10,
        max_points: int = 100_000,
        interval: float = 0.1,
        title: str = "acq live plots",
        announce: TextIO | None = sys.stdout,
    ) -> None:
        if isinstance(allow_websocket_origin, str):
            allow_websocket_origin = [allow_websocket_origin]
        self.runs = Runs(max_runs=max_runs, max_points=max_points)
        self.address = address
        self.interval = interval
        self.title = title
        self._requested_port = port
        self._origins = list(allow_websocket_origin)
        self._announce = announce
        self._server: BaseServer | None = None
        self._http: HTTPServer | None = None
        self._port: int | None = None
        self._closed = False
        self._start_failed = False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: start() or the first document starts the server
        self.start()

    # -- lifecycle -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def browsers(self) -> int:
        """How many browser pages are connected now."""
        if self._server is None:
            return 0
        return sum(session.connection_count for session in self._server.get_sessions())

    @property
    def port(self) -> int:
        if self._port is None:
            raise PlotServerError("the live plot server is not running (call plots.start())")
        return self._port

    @property
    def url(self) -> str:
        host = self.address if self.address not in ("", "0.0.0.0", "::") else socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def start(self) -> LivePlots:
        """Bind the port and serve, in the running asyncio loop. Idempotent."""
        if self._server is not None:
            return self
        if self._closed:
            raise PlotServerError("these live plots were closed; create a new LivePlots")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise PlotServerError(
                "LivePlots.start() needs the running asyncio loop the RunEngine uses: "
                "call it from async code or a notebook cell (or let the first document start it)"
            ) from None
        sockets = self._bind()
        self._port = sockets[0].getsockname()[1]
        tornado_app = BokehTornado(
            {"/": Application(FunctionHandler(self._new_session))},
            extra_websocket_origins=self._allowed_origins(),
            # a browser that went away: its session (and periodic update) ends soon after
            check_unused_sessions_milliseconds=1000,
            unused_session_lifetime_milliseconds=2000,
        )
        self._http = HTTPServer(tornado_app)
        self._http.add_sockets(sockets)
        self._server = BaseServer(IOLoop.current(), tornado_app, self._http)
        self._server.start()
        log.info("live plots at %s", self.url)
        if self._announce is not None:
            print(f"Live plots: {self.url}", file=self._announce, flush=True)
        return self

    def _bind(self) -> list[socket.socket]:
        try:
            return bind_sockets(self._requested_port, self.address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PlotServerError(
                    f"live plots cannot start: port {self._requested_port} on {self.address} "
                    "is already in use; pass another port (LivePlots(port=...)) or port=0 "
                    "for any free one"
                ) from None
            raise PlotServerError(
                f"live plots cannot listen on {self.address}:{self._requested_port}: {exc}"
            ) from exc

    def _allowed_origins(self) -> list[str]:
        port = self._port
        hosts = {"localhost", "127.0.0.1", self.address}
        return sorted({f"{h}:{port}" for h in hosts if h} | set(self._origins))

    def _new_session(self, doc: Document) -> None:
        SessionView(doc, self.runs, self.interval, self.title)

    async def close(self) -> None:
        """Stop serving: close browser connections and free the port."""
        self._closed = True
        server, http, self._server, self._http = self._server, self._http, None, None
        if server is None or http is None:
            return
        sessions = server.get_sessions()
        for session in sessions:
            _close_websockets(session)
        server.stop()
        await asyncio.wait_for(http.close_all_connections(), CLOSE_TIMEOUT)
        # a session's document must outlive its websockets' on_close: end sessions after
        async with asyncio.timeout(CLOSE_TIMEOUT):
            while any(session.connection_count for session in sessions):
                await asyncio.sleep(0.01)
        for session in sessions:
            session.destroy()  # stops its periodic update
        log.info("live plots at port %s closed", self._port)

    async def __aenter__(self) -> LivePlots:
        return self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- documents -----------------------------------------------------------------

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.runs(name, doc)
        if self._server is None and not self._closed and not self._start_failed:
            try:
                self.start()
            except PlotServerError:
                self._start_failed = True  # said once (the engine logs it); runs still kept
                raise

    # -- notebooks -----------------------------------------------------------------

    def show(self, height: int = 700) -> Any:
        """The live page inline in a Jupyter cell (an IFrame of `url`)."""
        from IPython.display import IFrame

        return IFrame(self.url, width="100%", height=height)

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not running"
        return f"<LivePlots {where}, {len(self.runs.runs)} run(s), {self.browsers} browser(s)>"


def _close_websockets(session: Any) -> None:
    """Close a session's websockets (bokeh's own stop() leaves them open)."""
    for connection in list(getattr(session, "_subscribed_connections", ())):
        socket_handler = getattr(connection, "_socket", None)
        if socket_handler is not None:
            socket_handler.close()

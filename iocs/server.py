"""Serve a PV database with caproto until SIGINT or SIGTERM.

caproto's asyncio server leaves Nagle's algorithm on, so a small reply can sit for a
delayed ACK (~40 ms on Linux); `NoDelayContext` sets TCP_NODELAY on every accepted socket
(docs/decisions/0001-test-peers-and-ca-isolation.md).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from caproto.asyncio.server import Context
from caproto.asyncio.utils import _TransportWrapper


class NoDelayContext(Context):
    """A caproto asyncio server context whose TCP connections send without delay."""

    def __init__(self, pvdb: Mapping[str, Any], interfaces: Sequence[str]) -> None:
        super().__init__(pvdb, list(interfaces))
        self.tcp_servers: list[asyncio.Server] = []

    async def server_accept_loop(self, sock: socket.socket) -> None:
        def new_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = _TransportWrapper(reader, writer)
            self.server_tasks.create(self.tcp_handler(transport, transport.getpeername()))

        self.tcp_servers.append(await asyncio.start_server(new_client, sock=sock))


async def serve(
    pvdb: Mapping[str, Any], interfaces: Sequence[str], on_ready: Callable[[NoDelayContext], None]
) -> None:
    """Run the server until SIGINT or SIGTERM; call ``on_ready`` once it is listening."""
    context = NoDelayContext(pvdb, interfaces)

    async def startup_hook(async_lib: object) -> None:
        on_ready(context)

    def stop() -> None:
        for tcp_server in context.tcp_servers:  # stop accepting before caproto closes them
            tcp_server.close()
        server.cancel()

    loop = asyncio.get_running_loop()
    server = asyncio.create_task(context.run(startup_hook=startup_hook))
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop)
    try:
        await server
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we were cancelled ourselves, not stopped by a signal
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


class _RejectedPutsWithoutTraceback(logging.Filter):
    """caproto logs every refused put with a traceback; a refused put is the client's
    mistake, not a fault in the IOC, so log it as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ValueError):
            record.msg = f"{record.getMessage()} refused: {type(error).__name__}: {error}"
            record.args = ()
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("caproto.circ").addFilter(_RejectedPutsWithoutTraceback())

"""Peers for storage tests and benchmarks: an ``nx-27017`` Mongo-wire server process on
loopback, and a TCP proxy that makes a database slow. Not used by the catalog itself.

``MongoServer(workdir).start()`` runs ``nx-27017 --db memory`` (or a file db, which
survives a restart on the same port) and waits for its port, bounded; ``stop()`` ends
that process by its pid. ``with SlowProxy(port, delay=0.2) as proxy:`` forwards
``127.0.0.1:proxy.port`` to ``port``, holding each client request `delay` seconds, in a
thread with its own event loop (so it costs the caller's loop nothing; its forwarding
still takes the caller's GIL). `SlowProxyProcess` is the same proxy in a process of its
own, for benchmarks, where a slow database must cost the measured process nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["MongoServer", "SlowProxy", "SlowProxyProcess", "free_port", "wait_for_port"]

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class MongoServer:
    """``nx-27017`` on loopback: ``--db memory`` by default, or a file (survives restart)."""

    def __init__(self, workdir: Path, port: int | None = None, db: str = "memory") -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.db = db
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"nx-{self.port}.out", "ab")  # handed to Popen
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "nx-27017"),
                "--db",
                self.db,
                "--host",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--log-file",
                str(self.workdir / f"nx-{self.port}.log"),
                "--pid-file",
                str(self.workdir / f"nx-{self.port}.pid"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, 30, self.process)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class SlowProxy:
    """A loopback TCP proxy that holds every client->server chunk `delay` seconds
    (one Mongo request is one chunk or a few), in a thread with its own event loop.
    `delay` may be changed while it runs: each chunk reads it when it arrives."""

    def __init__(self, target_port: int, delay: float = 0.2) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    def __enter__(self) -> SlowProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: Any, client_w: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pipe(client_r, server_w, lambda: self.delay))
                tg.create_task(self._pipe(server_r, client_w, lambda: 0.0))
        except (OSError, ExceptionGroup, asyncio.CancelledError):
            pass  # a peer hung up, or the proxy is closing: the connection ends either way
        finally:
            client_w.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: Any, writer: Any, delay: Callable[[], float]) -> None:
        try:
            while data := await reader.read(1 << 20):
                if hold := delay():
                    await asyncio.sleep(hold)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


class SlowProxyProcess:
    """`SlowProxy` run by ``python -m storage.testing PORT DELAY`` in a child process,
    which ends when this closes its standard input (or when this process dies)."""

    def __init__(self, target_port: int, delay: float = 0.2) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> SlowProxyProcess:
        process = self._process = subprocess.Popen(
            [sys.executable, "-m", "storage.testing", str(self.target_port), str(self.delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.__exit__()
            raise RuntimeError(f"the slow proxy did not start within 30 s (said {line!r})")
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _serve_slowly(target_port: int, delay: float) -> None:
    with SlowProxy(target_port, delay) as proxy:
        print(proxy.port, flush=True)
        sys.stdin.buffer.read()  # until the parent closes the pipe (or dies)


if __name__ == "__main__":
    _serve_slowly(int(sys.argv[1]), float(sys.argv[2]))

"""Start and stop the Channel Access peers that tests, demos and benchmarks talk to.

Everything here binds to loopback on private ports, so two sessions on one machine
never see each other's PVs:

- `CAEnvironment` picks the ports and produces the ``EPICS_*`` variables. libca reads
  them once, at its first call, so `CAEnvironment.apply()` must run before anything
  touches Channel Access in this process.
- `start_repeater`, `start_sim_ioc` and `start_base_ioc` launch subprocesses that inherit
  that environment; `wait_for_pvs` blocks until they answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(lo: int = 20000, hi: int = 60000) -> int:
    """A port number free for both TCP and UDP on loopback (CA servers need both)."""
    for _ in range(200):
        port = random.randint(lo, hi)
        with contextlib.ExitStack() as stack:
            try:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = stack.enter_context(socket.socket(socket.AF_INET, kind))
                    s.bind((LOOPBACK, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP+UDP port on {LOOPBACK} between {lo} and {hi}")


def busy_protocols(port: int, address: str = LOOPBACK) -> list[str]:
    """Which of ``["UDP", "TCP"]`` another process already holds on ``address:port``.

    CA servers bind their UDP port with SO_REUSEADDR, so a second server on the same port
    starts without complaint and clients then reach either one at random. The UDP probe
    binds without that option to see any earlier owner; the TCP probe sets it, so a
    listener is a conflict but connections lingering in TIME_WAIT are not.
    """
    busy = []
    for name, kind, reuse in (("UDP", socket.SOCK_DGRAM, 0), ("TCP", socket.SOCK_STREAM, 1)):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, reuse)
            try:
                probe.bind((address, port))
                if kind == socket.SOCK_STREAM:
                    probe.listen()
            except OSError:
                busy.append(name)
    return busy


@dataclass(frozen=True)
class CAEnvironment:
    """The private CA ports of one session: a server port per IOC and a repeater port."""

    server_ports: tuple[int, ...]
    repeater_port: int = field(default_factory=free_port)

    @classmethod
    def allocate(cls, n_servers: int) -> CAEnvironment:
        ports: list[int] = []
        while len(ports) < n_servers + 1:
            port = free_port()
            if port not in ports:
                ports.append(port)
        return cls(server_ports=tuple(ports[:-1]), repeater_port=ports[-1])

    @property
    def addr_list(self) -> str:
        return " ".join(f"{LOOPBACK}:{port}" for port in self.server_ports)

    def client_env(self) -> dict[str, str]:
        """What a CA client needs: search only our IOCs, talk to our repeater."""
        return {
            "EPICS_CA_AUTO_ADDR_LIST": "NO",
            "EPICS_CA_ADDR_LIST": self.addr_list,
            "EPICS_CA_REPEATER_PORT": str(self.repeater_port),
            "EPICS_CAS_INTF_ADDR_LIST": LOOPBACK,
            "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
            "EPICS_CAS_BEACON_ADDR_LIST": LOOPBACK,
            "EPICS_CAS_BEACON_PORT": str(self.repeater_port),
            # a search for a missing PV should give up quickly in tests and demos
            "EPICS_CA_CONN_TMO": "5",
        }

    def server_env(self, port: int) -> dict[str, str]:
        """What an IOC serving on `port` needs (caproto reads EPICS_CA_SERVER_PORT)."""
        env = self.client_env()
        env["EPICS_CA_SERVER_PORT"] = str(port)
        env["EPICS_CAS_SERVER_PORT"] = str(port)
        return env

    def apply(self) -> None:
        """Export the client variables into this process (before the first CA call)."""
        os.environ.update(self.client_env())


class ManagedProcess:
    """A child process we started, ended by pid (never by name) and reaped."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        keep_stdin_open: bool = False,
        log: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._log_path = log
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.argv,
            env={**os.environ, **env},
            stdin=subprocess.PIPE if keep_stdin_open else subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal goes to us, not to our peers
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if not isinstance(self._log, int):  # an open log file, not subprocess.DEVNULL
            self._log.close()

    def __repr__(self) -> str:
        return f"<{self.name} pid={self.pid} alive={self.alive()}>"


def when_stdin_closes(action: Callable[[], object]) -> None:
    """Call `action` (in a daemon thread) once standard input reaches its end: the parent
    that holds our end of the pipe stopped us, or died (a killed test run or demo)."""

    def watch() -> None:
        # os.read, not sys.stdin: a daemon thread blocked in a buffered read holds its lock
        # at interpreter shutdown, which is fatal
        while os.read(0, 4096):
            pass
        action()

    threading.Thread(target=watch, name="stdin watch", daemon=True).start()


def start_repeater(env: CAEnvironment, log: Path | None = None) -> ManagedProcess:
    """EPICS base's CA repeater (libca wants one that confirms its registration)."""
    return ManagedProcess(
        "ca-repeater",
        [sys.executable, "-m", "iocs.repeater"],
        env.client_env(),
        keep_stdin_open=True,
        log=log,
    )


def start_sim_ioc(
    env: CAEnvironment, port: int, prefix: str, *extra: str, log: Path | None = None
) -> ManagedProcess:
    """The simulated beamline (`python -m iocs`) serving `prefix` on `port`; it stops by
    itself if this process dies (its standard input closes)."""
    argv = [sys.executable, "-m", "iocs", "--prefix", prefix, "--port", str(port)]
    argv += ["--exit-with-stdin", *extra]
    return ManagedProcess(
        f"sim-ioc {prefix}", argv, env.server_env(port), keep_stdin_open=True, log=log
    )


def start_base_ioc(
    env: CAEnvironment, port: int, database: Path, macros: str = "", log: Path | None = None
) -> ManagedProcess:
    """A real EPICS base soft IOC from the epicscorelibs wheel.

    It runs an interactive shell on stdin, so the pipe stays open while it serves.
    """
    argv = [sys.executable, "-m", "epicscorelibs.ioc", "-m", macros, "-d", str(database)]
    return ManagedProcess(
        f"base-ioc {database.name}", argv, env.server_env(port), keep_stdin_open=True, log=log
    )


def wait_for_pvs(
    pvs: Sequence[str], timeout: float = 20.0, process: ManagedProcess | None = None
) -> None:
    """Block until every PV connects, or raise naming the ones that did not.

    Runs its own short event loop, so call it from synchronous code (fixtures, CLIs).
    """
    import aioca

    async def connect() -> list[str]:
        try:
            results = await aioca.connect(list(pvs), timeout=timeout, throw=False)
            return [pv for pv, ok in zip(pvs, results, strict=True) if not ok.ok]
        finally:
            aioca.purge_channel_caches()

    missing = asyncio.run(connect())
    if missing:
        detail = ""
        if process is not None:
            state = "running" if process.alive() else f"exited ({process.proc.returncode})"
            detail = f"\n{process.name} is {state}; its last output:\n{process.log_tail()}"
        raise TimeoutError(
            f"PVs did not connect within {timeout:.0f} s: {', '.join(missing)}{detail}"
        )


@contextlib.contextmanager
def running(*processes: ManagedProcess) -> Iterator[tuple[ManagedProcess, ...]]:
    """Stop the given processes on exit, whatever happens."""
    try:
        yield processes
    finally:
        for process in reversed(processes):
            process.stop()

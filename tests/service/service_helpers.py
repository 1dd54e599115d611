"""``acq serve`` as a child process, for tests and benches: start, wait, stop by pid.

The child inherits this process's Channel Access environment (tests/conftest.py exports
it at import), binds a free loopback port (``--port 0``) and announces it on its first
line of output, which is how the parent learns the URL without a race for the port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from iocs.processes import ManagedProcess

ADMIN_KEY = "admin-key"  # the single-user key (ACQ_SERVE_API_KEY)
STAFF_KEY = "staff-key"
USER_KEY = "user-key"  # group "users": no m2/sx, a few plans, scopes read + queue
READER_KEY = "reader-key"  # scope read only

PERMISSIONS = f"""
user_groups:
  staff:
    allowed_plans: [".*"]
    allowed_devices: [".*"]
  users:
    allowed_plans: ["^count$", "^scan$", "^slow_count$"]
    allowed_devices: [".*"]
    forbidden_devices: ["^sx$"]
users:
  stella:
    group: staff
    api_key: {STAFF_KEY}
    scopes: [read, queue, control]
  ulla:
    group: users
    api_key: {USER_KEY}
    scopes: [read, queue]
  rita:
    group: users
    api_key: {READER_KEY}
    scopes: [read]
"""

STARTUP = '''
"""A small beamline on the simulated IOC (written by tests/service)."""
from acq import Msg, Plan
from devices.epics import EpicsMotor, Scaler
from plans import count, rel_scan, scan

m1 = EpicsMotor("{prefix}m1", name="m1")
sx = EpicsMotor("{prefix}sx", name="sx")
scaler = Scaler("{prefix}scaler1", name="scaler")

RE_METADATA = {{"beamline_id": "sim-service"}}


def slow_count(detectors: list, num: int = 5, delay: float = 0.3) -> Plan:
    """count with time between shots: long enough to pause, resume or abort."""
    return count(detectors, num=num, delay=delay)


def broken() -> Plan:
    """Saves an event it never created: fails when it runs (a dry run cannot tell)."""
    yield Msg("open_run", plan_name="broken")
    yield Msg("save")


def answer(value: int = 42) -> Plan:
    """A plan that opens no run and returns a value."""
    yield Msg("null")
    return {{"answer": value}}
'''


def write_beamline(directory: Path, prefix: str) -> tuple[Path, Path]:
    startup = directory / "beamline.py"
    startup.write_text(STARTUP.format(prefix=prefix))
    permissions = directory / "permissions.yml"
    permissions.write_text(PERMISSIONS)
    return startup, permissions


@dataclass
class ServiceProcess:
    """One ``acq serve`` child; `url` once it has announced itself."""

    startup: Path
    log: Path
    db: str
    permissions: Path | None = None
    extra: list[str] = field(default_factory=list)
    process: ManagedProcess | None = None
    url: str = ""

    def start(self, timeout: float = 60.0) -> ServiceProcess:
        argv = [sys.executable, "-m", "acq.cli", "serve", "--config", str(self.startup)]
        argv += ["--port", "0", "--db", self.db, *self.extra]
        if self.permissions is not None:
            argv += ["--permissions", str(self.permissions)]
        self.log.touch()
        seen = self.log.stat().st_size  # a restart appends: find this start's announcement
        # scan_ids (and the default queue db) in a state directory of its own
        env = {"ACQ_SERVE_API_KEY": ADMIN_KEY, "ACQ_STATE_DIR": str(self.log.parent / "state")}
        self.process = ManagedProcess("acq serve", argv, env, log=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"acq queue service on (http://\S+) ", self.log.read_text()[seen:])
            if match:
                self.url = match.group(1)
                self.wait_ready(deadline - time.monotonic())
                return self
            if not self.process.alive():
                break
            time.sleep(0.05)
        tail = self.process.log_tail(40)
        self.stop()
        raise RuntimeError(f"acq serve did not start within {timeout:.0f} s:\n{tail}")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 1.0)
        while True:
            try:
                reply = httpx.get(f"{self.url}/api/status", headers=auth(ADMIN_KEY), timeout=2)
                if reply.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.url} did not answer /api/status")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no cleanup at all."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.proc.wait(10)
        self.process.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=15)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


def manager(service: ServiceProcess, key: str = ADMIN_KEY, **options: Any) -> Any:
    """bluesky-queueserver-api's HTTP client for `service`, holding API key `key`."""
    from bluesky_queueserver_api.http import REManagerAPI

    RM = REManagerAPI(http_server_uri=service.url, **options)
    RM.set_authorization_key(api_key=key)
    return RM


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll `condition()` until it returns something truthy; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_scaler_preset(prefix: str, seconds: float) -> None:
    """Short counts keep the tests quick (the IOC is shared by the session)."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio, aioca, sys; "
            "asyncio.run(aioca.caput(sys.argv[1], float(sys.argv[2]), wait=True, timeout=10))",
            f"{prefix}scaler1.TP",
            str(seconds),
        ],
        check=True,
        timeout=30,
    )

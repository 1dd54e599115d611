"""Headless Chromium driven over the Chrome DevTools Protocol, for the live-plot tests.

Why CDP and not Selenium/Playwright: Debian's ``chromium`` plus the ``websockets`` package
(already a test peer) is all it takes; no driver binary to match to the browser version.
The tests read the plotted data back from Bokeh's document in the page (``Bokeh.documents``)
and take screenshots.

`ensure_chromium()` installs the browser when it is missing (``apt-get install chromium``,
as root, bounded in time); if that is impossible the tests skip, except under CI
(``CI=true``), where a missing browser fails the run.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_TIMEOUT = 600  # seconds for apt-get update + install
STEP_TIMEOUT = 15.0  # seconds for one CDP command


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> str:
    """The browser's path; installs Debian's chromium if missing, else skips (fails on CI)."""
    path = find_chromium()
    if path:
        return path
    problem = _install_chromium()
    path = find_chromium()
    if path:
        return path
    message = f"headless chromium is needed for the live-plot browser tests: {problem}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def _install_chromium() -> str:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not installed, and installing it needs root and apt-get (apt-get install chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    deadline = time.monotonic() + INSTALL_TIMEOUT
    for command in (install, ["apt-get", "update"], install):
        remaining = deadline - time.monotonic()
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=remaining
            )
        except subprocess.TimeoutExpired:
            return f"{' '.join(command)} did not finish within {INSTALL_TIMEOUT} s"
        if done.returncode == 0 and command == install:
            return ""
    return f"apt-get install chromium failed: {done.stderr.strip()[-500:]}"


class Browser:
    """One headless chromium process with one page, driven over CDP (one command at a time)."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.executable = executable
        self.profile = profile
        self.process: subprocess.Popen[bytes] | None = None
        self._ws: Any = None
        self._session: str | None = None
        self._ids = itertools.count(1)

    async def start(self, url: str, width: int = 1400, height: int = 1000) -> None:
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                self.executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.profile / "chromium.log").open("wb"),
        )
        lines = await wait_for(lambda: _read_lines(port_file), 30, "chromium's DevTools port")
        port, path = lines[0], lines[1]
        self._ws = await asyncio.wait_for(
            websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=64 * 2**20), STEP_TIMEOUT
        )
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        self._session = attached["sessionId"]
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events in between are dropped)."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if self._session is not None and not method.startswith("Target."):
            message["sessionId"] = self._session
        await self._ws.send(json.dumps(message))
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                reply = json.loads(await self._ws.recv())
                if reply.get("id") == ident:
                    break
        if "error" in reply:
            raise RuntimeError(f"chromium: {method} failed: {reply['error']}")
        return reply["result"]

    async def evaluate(self, expression: str) -> Any:
        """The value of a JS expression in the page (awaiting it if it is a promise)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"JS error in the page: {text}")
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        if self._ws is not None:
            await asyncio.wait_for(self._ws.close(), STEP_TIMEOUT)
            self._ws = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await wait_for(lambda: self.process.poll() is not None or None, 10, "chromium exit")
            except TimeoutError:
                self.process.kill()
            self.process.wait(timeout=10)


def _read_lines(path: Path) -> list[str] | None:
    try:
        lines = path.read_text().split()
    except FileNotFoundError:
        return None
    return lines if len(lines) >= 2 else None


async def wait_for(
    probe: Callable[[], Any | Awaitable[Any]], timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll `probe` until it returns something other than None/False; its value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last is not None and last is not False:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        await asyncio.sleep(every)


# JS helpers: what the page's Bokeh document holds.
JS_READY = "typeof Bokeh !== 'undefined' && Bokeh.documents.length > 0"


def js_source(name: str) -> str:
    """JS: the named ColumnDataSource's data as {column: array} (null if absent)."""
    return f"""(() => {{
        if (typeof Bokeh === 'undefined' || Bokeh.documents.length === 0) return null;
        const src = Bokeh.documents[0].get_model_by_name({json.dumps(name)});
        if (!src) return null;
        const out = {{}};
        for (const [k, v] of src.data.entries ? src.data.entries() : Object.entries(src.data)) {{
            out[k] = Array.from(v, x => (x && x.length !== undefined && typeof x !== 'string')
                ? Array.from(x) : x);
        }}
        return out;
    }})()"""

"""The live WebSocket stream, and the queue kept in a real redis-server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bluesky_queueserver_api import BPlan
from service_helpers import (
    ADMIN_KEY,
    READER_KEY,
    ServiceProcess,
    auth,
    free_port,
    manager,
    wait_for,
)
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from iocs.processes import ManagedProcess

pytestmark = pytest.mark.slow


def ws_url(service: ServiceProcess, path: str) -> str:
    return service.url.replace("http://", "ws://") + path


def receive_until(ws: Any, want: Any, timeout: float) -> list[dict[str, Any]]:
    """Messages until `want(messages)` holds; TimeoutError otherwise."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not want(messages):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"stream ended without what was wanted; got {messages[-5:]}")
        messages.append(json.loads(ws.recv(timeout=left)))
    return messages


def test_stream_of_status_console_and_documents(shared_service: ServiceProcess) -> None:
    service = shared_service
    headers = auth(READER_KEY)
    with connect(ws_url(service, "/api/stream?documents=true"), additional_headers=headers) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "status" and first["msg"]["status"]["manager_state"] == "idle"
        with httpx.Client(base_url=service.url, headers=auth(ADMIN_KEY), timeout=30) as http:
            http.post("/api/queue/clear").raise_for_status()
            item = BPlan("count", ["scaler"], num=3).to_dict()
            http.post("/api/queue/item/add", json={"item": item}).raise_for_status()
            http.post("/api/queue/start").raise_for_status()

        def finished(messages: list[dict[str, Any]]) -> bool:
            return any(
                m["type"] == "status"
                and m["msg"]["status"]["manager_state"] == "idle"
                and m["msg"]["status"]["items_in_history"] > 0
                for m in messages
            ) and any(m["type"] == "document" and m["name"] == "stop" for m in messages)

        messages = receive_until(ws, finished, 30)
    states = [m["msg"]["status"]["manager_state"] for m in messages if m["type"] == "status"]
    assert "executing_queue" in states and states[-1] == "idle"
    names = [m["name"] for m in messages if m["type"] == "document"]
    assert names[0] == "start" and names.count("event") == 3 and names[-1] == "stop"
    console = "".join(m["msg"] for m in messages if m["type"] == "console")
    assert "starting plan count" in console


def test_stream_needs_a_key(shared_service: ServiceProcess) -> None:
    with pytest.raises(InvalidStatus):
        with connect(ws_url(shared_service, "/api/stream")) as ws:
            ws.recv(timeout=5)


def test_console_output_polling_as_the_client_does(shared_service: ServiceProcess) -> None:
    RM = manager(shared_service)
    try:
        RM.console_monitor.enable()
        RM.item_add(BPlan("count", ["scaler"]))
        RM.queue_start()
        RM.wait_for_idle(timeout=30)

        def seen() -> str:
            text = RM.console_monitor.text()
            return text if "plan count ended: completed" in text else ""

        assert wait_for(seen, 10, "the console monitor to show the plan's end")
        reply = RM.send_request(method=("GET", "/api/console_output"))
        assert "starting plan count" in reply["text"]
    finally:
        RM.console_monitor.disable()
        RM.close()


# -- Redis --------------------------------------------------------------------------------


def _redis_server() -> str:
    """The redis-server binary; installed from Debian when missing and we may (root)."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("redis-server is not installed and cannot be installed (not root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["apt-get", *args], capture_output=True, text=True, timeout=150, env=env, check=False
        )

    done = apt("install", "-y", "-q", "redis-server")
    if done.returncode != 0:  # a fresh container has no package lists yet
        apt("update", "-q")
        done = apt("install", "-y", "-q", "redis-server")
    found = shutil.which("redis-server")
    if not found:
        pytest.skip(f"could not install redis-server: {done.stderr.strip()[-300:]}")
    return found


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[str, ManagedProcess]]:
    binary = _redis_server()
    port = free_port()
    process = ManagedProcess(
        "redis-server",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
        {},
        log=tmp_path / "redis.log",
    )
    try:
        wait_for(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout.strip()
                == "PONG"
            ),
            20,
            "redis-server to answer",
        )
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.stop()


@pytest.fixture
def redis_url(redis_server: tuple[str, ManagedProcess]) -> str:
    return redis_server[0]


@pytest.mark.timeout(480)  # may install redis-server first
def test_queue_and_history_survive_a_kill_in_redis(
    redis_url: str, beamline_files: tuple[Path, Path], tmp_path: Path
) -> None:
    startup, permissions = beamline_files
    service = ServiceProcess(startup, tmp_path / "serve.log", redis_url, permissions)
    try:
        service.start()
        RM = manager(service)
        try:
            RM.item_add(BPlan("count", ["scaler"], num=2))
            RM.queue_start()
            RM.wait_for_idle(timeout=30)
            RM.item_add(BPlan("slow_count", ["scaler"], num=50, delay=0.3))
            RM.item_add(BPlan("scan", ["scaler"], "m1", -1, 1, 3))
            RM.queue_start()
            wait_for(lambda: RM.re_runs()["run_list"], 30, "the slow count to open its run")
        finally:
            RM.close()
        assert "RedisStore" in service.output()
        service.kill()
        service.start()
        RM = manager(service)
        try:
            history = RM.history_get()["items"]
            assert [h["result"]["exit_status"] for h in history] == ["completed", "interrupted"]
            assert [i["name"] for i in RM.queue_get()["items"]] == ["slow_count", "scan"]
        finally:
            RM.close()
    finally:
        service.stop()


@pytest.mark.timeout(480)  # may install redis-server first
def test_redis_going_away(
    redis_server: tuple[str, ManagedProcess], beamline_files: tuple[Path, Path], tmp_path: Path
) -> None:
    url, redis = redis_server
    startup, permissions = beamline_files
    service = ServiceProcess(startup, tmp_path / "serve.log", url, permissions)
    try:
        service.start()
        RM = manager(service)
        try:
            RM.item_add(BPlan("slow_count", ["scaler"], num=8, delay=0.3))
            RM.queue_start()
            wait_for(lambda: RM.re_runs()["run_list"], 30, "the run to open")
            redis.stop()  # the database goes away while the plan runs
            RM.wait_for_idle(timeout=60)
            # the plan itself was not disturbed; the service still answers and says why
            # the queue stopped
            history = RM.history_get(reload=True)["items"]
            assert [h["result"]["exit_status"] for h in history] == ["completed"]
            assert RM.status(reload=True)["manager_state"] == "idle"
        finally:
            RM.close()
        assert "the queue worker failed" in service.output()
        assert "Error" in service.output()
    finally:
        service.stop()
    done = subprocess.run(
        [sys.executable, "-m", "acq.cli", "serve", "--config", str(startup), "--db", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ACQ_SERVE_API_KEY": ADMIN_KEY},
        check=False,
    )
    assert done.returncode == 1
    assert "cannot read the queue from Redis" in done.stderr
    assert "is redis-server running?" in done.stderr

"""``acq queue ...`` as a user types it (subprocesses) against a running ``acq serve``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from service_helpers import ADMIN_KEY, READER_KEY, ServiceProcess, free_port, wait_for


def acq(*args: str, key: str | None = ADMIN_KEY, url: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ACQ_SERVE_API_KEY", "ACQ_QUEUE_URL")}
    if key is not None:
        env["ACQ_SERVE_API_KEY"] = key
    if url:
        env["ACQ_QUEUE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "acq.cli", "queue", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("acq: ")
    return lines[0]


@pytest.mark.slow
def test_everyday_calls(new_service: ServiceProcess) -> None:
    service = new_service.start()
    url = service.url

    done = acq("status", url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("idle (engine idle): 0 queued, 0 in history")

    done = acq("add", "slow_count", '["scaler"]', "num=30", "delay=0.3", url=url)
    assert done.returncode == 0, done.stderr
    assert 'slow_count(["scaler"], num=30, delay=0.3)' in done.stdout
    done = acq("add", "count", '["scaler"]', url=url)
    assert done.returncode == 0, done.stderr

    listed = acq("list", url=url).stdout.splitlines()
    assert len(listed) == 2
    assert "slow_count" in listed[0] and "count([" in listed[1]

    assert acq("start", url=url).returncode == 0
    wait_for(lambda: "running" in acq("status", url=url).stdout, 30, "the queue to run")
    assert acq("pause", url=url).returncode == 0
    wait_for(lambda: acq("status", url=url).stdout.startswith("paused"), 30, "the pause")
    assert acq("list", url=url).stdout.startswith("running: ")
    assert acq("resume", url=url).returncode == 0
    wait_for(lambda: acq("status", url=url).stdout.startswith("executing_queue"), 30, "the resume")
    assert acq("stop", url=url).returncode == 0  # after the current item
    wait_for(lambda: acq("status", url=url).stdout.startswith("idle"), 60, "the end")

    history = acq("history", url=url)
    assert history.returncode == 0
    assert "slow_count" in history.stdout and "-> completed scan_ids=[" in history.stdout
    assert "1 queued, 1 in history" in acq("status", url=url).stdout

    # one-line errors
    error = one_line_error(acq("add", "nope", url=url))
    assert "unknown plan 'nope'" in error
    error = one_line_error(acq("add", "count", '["scaler"]', "num=1.5", url=url))
    assert "argument 'num' must be int" in error
    error = one_line_error(acq("start", key=READER_KEY, url=url))
    assert "403" in error and "'control' scope" in error
    error = one_line_error(acq("resume", url=url))
    assert "409" in error and "no plan is paused" in error
    error = one_line_error(acq("status", key=None, url=url))
    assert "no API key" in error
    error = one_line_error(acq("status", url=f"http://127.0.0.1:{free_port()}"))
    assert "cannot reach the queue service" in error


def test_serve_refuses_a_bad_startup_file(tmp_path) -> None:
    startup = tmp_path / "beamline.py"
    startup.write_text("raise RuntimeError('typo in line 1')\n")
    done = subprocess.run(
        [sys.executable, "-m", "acq.cli", "serve", "--config", str(startup), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ACQ_SERVE_API_KEY": "k"},
        check=False,
    )
    assert done.returncode == 1
    assert "the startup file" in done.stderr and "typo in line 1" in done.stderr

    startup.write_text("from plans import count\n")
    done = subprocess.run(
        [sys.executable, "-m", "acq.cli", "serve", "--config", str(startup), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "ACQ_SERVE_API_KEY"},
        check=False,
    )
    assert done.returncode == 1
    assert "no API key is configured" in done.stderr

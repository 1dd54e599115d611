"""Ctrl-C, for real: SIGINT sent to a process running a scan."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "ctrl_c_scan.py"


class Scan:
    def __init__(self, velocity: float, tmp_path: Path, *extra: str) -> None:
        env = {**os.environ, "ACQ_STATE_DIR": str(tmp_path)}
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(velocity), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {prefix!r} line within {timeout} s")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line

    def ctrl_c(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def scan_process(tmp_path):
    started: list[Scan] = []

    def start(velocity: float, *extra: str) -> Scan:
        started.append(Scan(velocity, tmp_path, *extra))
        return started[-1]

    yield start
    for scan in started:
        scan.close()


def test_ctrl_c_once_pauses_at_the_next_checkpoint_and_resume_finishes(scan_process):
    scan = scan_process(velocity=4.0)  # 0.25 s per step
    scan.expect("READY")
    scan.expect("EVENT 2")
    scan.ctrl_c()
    paused = scan.expect("PAUSED")
    events = int(paused.split("events=")[1].split()[0])
    position = float(paused.split("position=")[1].split()[0])
    assert events in (2, 3)
    assert position == float(events)  # paused at a checkpoint, not mid-move
    assert "await RE.resume()" in paused
    scan.send("resume")
    assert scan.expect("RESULT") == "RESULT success seq_nums=[1, 2, 3, 4, 5]"
    scan.expect("IDLE")
    scan.ctrl_c()  # the engine's handler is gone: an ordinary KeyboardInterrupt
    scan.process.wait(timeout=30)  # the script idles for 120 s if the Ctrl-C is lost
    assert scan.process.returncode != 0
    assert "KeyboardInterrupt" in scan.process.stderr.read()


def test_ctrl_c_twice_pauses_now_mid_move(scan_process):
    scan = scan_process(velocity=0.5)  # 2 s per step
    scan.expect("READY")
    scan.expect("EVENT 1")
    time.sleep(0.3)
    scan.ctrl_c()
    time.sleep(0.3)
    scan.ctrl_c()
    paused = scan.expect("PAUSED")
    position = float(paused.split("position=")[1].split()[0])
    assert 1.0 < position < 2.0
    scan.send("abort")
    assert scan.expect("RESULT") == "RESULT abort seq_nums=[1]"


def test_ctrl_c_three_times_halts_a_plan_stuck_in_its_own_code(scan_process):
    scan = scan_process(10.0, "hang")
    scan.expect("READY")
    scan.expect("HANGING")
    for _ in range(3):
        scan.ctrl_c()
        time.sleep(0.3)
    assert scan.expect("RESULT") == "RESULT abort seq_nums=[1]"
    scan.process.kill()
    assert "Press Ctrl-C again to halt" in scan.process.stderr.read()

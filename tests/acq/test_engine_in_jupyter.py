"""`await RE(plan)` in a real Jupyter kernel: the engine runs in the kernel's own loop and
shows its waits as ipywidget progress bars."""

from __future__ import annotations

import textwrap

import ipykernel  # noqa: F401 (the kernel the test starts: the test extra installs it)
import ipywidgets  # noqa: F401 (the progress bars it shows)
import pytest
from kernels import run_cell, start_kernel

CELL = textwrap.dedent(
    """
    import asyncio
    from acq import RunEngine
    from devices.sim import SimDetector, SimMotor
    from plans import scan

    RE = RunEngine()
    m = SimMotor("m", velocity=20.0)
    d = SimDetector("d", m)
    kernel_loop = asyncio.get_running_loop()
    result = await RE(scan([d], m, 0, 2, 3))   # top-level await, no asyncio.run
    print(type(RE.waiting_hook).__name__, result.exit_status, len(result.run_uids),
          asyncio.get_running_loop() is kernel_loop)
    """
)


@pytest.fixture
def kernel(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACQ_STATE_DIR", str(tmp_path / "state"))
    yield from start_kernel(tmp_path)


def test_a_scan_runs_with_top_level_await_and_shows_progress_widgets(kernel) -> None:
    by_type, printed = run_cell(kernel, CELL)
    assert printed.split() == ["JupyterProgressBar", "success", "1", "True"]

    # a progress bar per move still under way when the scan waits (the first, 0 -> 0, may
    # already be done), each displayed and driven to completion
    bars = [
        c
        for c in by_type.get("comm_open", [])
        if c["data"]["state"].get("_model_name") == "FloatProgressModel"
    ]
    assert 2 <= len(bars) <= 3
    shown = [
        d
        for d in by_type.get("display_data", [])
        if "application/vnd.jupyter.widget-view+json" in d["data"]
    ]
    assert len(shown) == len(bars)
    final_values = [
        m["data"]["state"]["value"]
        for m in by_type.get("comm_msg", [])
        if "value" in m["data"].get("state", {})
    ]
    assert final_values and max(final_values) == pytest.approx(1.0)

"""LivePlots in a real Jupyter kernel: the server runs in the kernel's own loop (top-level
await, no thread), serves the page while the cell's scan runs, and `plots.show()` puts the
live page in the cell's output."""

from __future__ import annotations

import textwrap

import ipykernel  # noqa: F401 (the kernel the test starts: the test extra installs it)
import pytest
from kernels import run_cell, start_kernel

pytestmark = pytest.mark.slow

CELL = textwrap.dedent(
    """
    import asyncio
    from tornado.httpclient import AsyncHTTPClient
    from tornado.ioloop import IOLoop
    from acq import RunEngine
    from devices.sim import SimDetector, SimMotor
    from plans import scan
    from viz import LivePlots

    plots = LivePlots(port=0)          # a loop is running: serving already
    RE = RunEngine()
    RE.subscribe(plots)
    m = SimMotor("m", velocity=20.0)
    result = await RE(scan([SimDetector("d", m), m], m, 0, 1, 5))
    page = await AsyncHTTPClient().fetch(plots.url, request_timeout=10)
    display(plots.show(height=500))
    same_loop = IOLoop.current().asyncio_loop is asyncio.get_running_loop()
    print(result.exit_status, page.code, b"bokeh" in page.body, same_loop,
          len(plots.runs.latest.columns["d"]))
    await plots.close()
    """
)


@pytest.fixture
def kernel(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACQ_STATE_DIR", str(tmp_path / "state"))
    yield from start_kernel(tmp_path)


def test_live_plots_serve_from_the_kernel_loop_and_show_inline(kernel) -> None:
    by_type, printed = run_cell(kernel, CELL)
    url_line, result_line = printed.strip().splitlines()[-2:]
    assert url_line.startswith("Live plots: http://127.0.0.1:")
    url = url_line.split()[-1]
    status, code, is_bokeh, loop_is_kernels, points = result_line.split()
    assert (status, code, is_bokeh, points) == ("success", "200", "True", "5")
    assert loop_is_kernels == "True"  # tornado's IOLoop is the kernel's asyncio loop

    shown = [d["data"].get("text/html", "") for d in by_type.get("display_data", [])]
    assert any(f'src="{url}"' in html and "iframe" in html for html in shown)

"""A real Jupyter kernel for tests (IPC transport, the suite's state dir), and running one
cell in it: what the cell printed and sent, grouped by message type."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jupyter_client


def start_kernel(tmp_path: Path) -> Iterator[Any]:
    """Body of a ``kernel`` fixture: a ready kernel client, shut down afterwards."""
    manager = jupyter_client.KernelManager(
        kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel")
    )
    manager.start_kernel(cwd=os.getcwd())
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_cell(kernel: Any, cell: str, timeout: float = 90) -> tuple[dict[str, list[Any]], str]:
    """Execute `cell`; its messages' contents by type, and its stdout. Fails if it raised."""
    messages: list[dict[str, Any]] = []
    reply = kernel.execute_interactive(cell, timeout=timeout, output_hook=messages.append)
    by_type: dict[str, list[Any]] = {}
    for message in messages:
        by_type.setdefault(message["header"]["msg_type"], []).append(message["content"])
    errors = [f"{e['ename']}: {e['evalue']}" for e in by_type.get("error", [])]
    assert reply["content"]["status"] == "ok", errors
    printed = "".join(s["text"] for s in by_type.get("stream", []) if s["name"] == "stdout")
    return by_type, printed

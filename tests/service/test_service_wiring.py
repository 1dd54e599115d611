"""What the service owns besides the queue: the catalog, the live plots, and an orderly
stop on SIGTERM (the running plan is aborted and recorded, not left interrupted)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx
import pytest
from bluesky_queueserver_api import BPlan
from service_helpers import ServiceProcess, manager, wait_for

from storage import open_catalog

pytestmark = pytest.mark.slow


def test_runs_go_to_the_catalog_and_the_plots(
    beamline_files: tuple[Path, Path], tmp_path: Path
) -> None:
    import asyncio

    startup, permissions = beamline_files
    catalog_uri = f"sqlite:///{tmp_path}/catalog.db"
    service = ServiceProcess(
        startup,
        tmp_path / "serve.log",
        f"sqlite:///{tmp_path}/queue.db",
        permissions,
        extra=["--catalog", catalog_uri, "--plots", "0"],
    )
    try:
        service.start()
        plots_url = re.search(r"Live plots: (http://\S+)", service.output())
        assert plots_url, service.output()
        page = httpx.get(plots_url.group(1), timeout=30)
        assert page.status_code == 200 and "bokeh" in page.text.lower()
        RM = manager(service)
        try:
            RM.item_add(
                {**BPlan("scan", ["scaler"], "m1", -1, 1, 4).to_dict(), "meta": {"sample": "Si"}}
            )
            RM.item_add(
                {
                    "item_type": "plan",
                    "name": "count",
                    "args": [["scaler"]],
                    "kwargs": {"num": 2},
                    "meta": {"sample": "Ge"},
                }
            )
            RM.queue_start()
            RM.wait_for_idle(timeout=60)
            results = [h["result"] for h in RM.history_get()["items"]]
        finally:
            RM.close()
    finally:
        service.stop()
    assert [r["exit_status"] for r in results] == ["completed", "completed"]

    async def read_back() -> None:
        async with await open_catalog(f"{catalog_uri}?mode=ro") as catalog:
            for result, sample, rows in zip(results, ("Si", "Ge"), (4, 2), strict=True):
                run = await catalog.run(result["run_uids"][0])
                assert run.scan_id == result["scan_ids"][0]
                assert run.start["beamline_id"] == "sim-service"  # the startup file's RE_METADATA
                assert run.start["sample"] == sample  # an item's meta is its run's metadata
                table = await run.table("primary")
                assert len(next(iter(table.values()))) == rows
            assert (await catalog.run(-1)).uid == results[1]["run_uids"][0]

    asyncio.run(read_back())


def test_sigterm_aborts_the_running_plan_and_records_it(new_service: ServiceProcess) -> None:
    service = new_service.start()
    RM = manager(service)
    try:
        RM.item_add(BPlan("slow_count", ["scaler"], num=100, delay=0.3))
        RM.queue_start()
        wait_for(lambda: RM.re_runs()["run_list"], 30, "the run to open")
    finally:
        RM.close()
    assert service.process is not None
    service.process.proc.send_signal(signal.SIGTERM)
    assert service.process.proc.wait(30) == 0
    assert "signal SIGTERM: stopping the service" in service.output()
    service.start()
    RM = manager(service)
    try:
        history = RM.history_get()["items"]
        assert [h["result"]["exit_status"] for h in history] == ["aborted"]
        assert len(history[0]["result"]["run_uids"]) == 1
        assert [i["name"] for i in RM.queue_get()["items"]] == ["slow_count"]  # back in front
    finally:
        RM.close()

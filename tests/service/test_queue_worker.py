"""The queue worker in-process: requests that arrive while an item is starting."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from acq import RunEngine
from acq.service.queue import History, PlanQueue
from acq.service.validation import Catalogue
from acq.service.worker import Worker
from devices.sim import SimDetector
from plans import count


@pytest.mark.parametrize("option", ["deferred", "immediate"])
async def test_a_pause_asked_while_an_item_starts_pauses_it(option: str) -> None:
    """The queue has marked the item running and is saving the queue when the user
    pauses: the pause is for that item (it was refused: "no plan is running")."""
    RE = RunEngine(waiting_hook=None, handle_sigint=False)
    queue, history = PlanQueue(), History()
    saving, saved = anyio.Event(), anyio.Event()

    async def persist() -> None:
        if queue.running is not None and not saved.is_set():
            saving.set()
            await saved.wait()  # a slow disk, when the item starts

    async def record(item: Any) -> None:
        return None

    catalogue = Catalogue(plans={"count": count}, devices={"det": SimDetector("det")})
    worker = Worker(
        RE, queue, history, catalogue, persist=persist, record=record, changed=lambda: None
    )
    queue.add(
        {
            "item_type": "plan",
            "name": "count",
            "args": [["det"]],
            "kwargs": {"num": 50, "delay": 0.02},
        }
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        worker.start()
        await saving.wait()
        assert RE.state == "idle"  # the engine's call is still to come

        async def release() -> None:
            await anyio.sleep(0.05)
            saved.set()

        tg.start_soon(release)
        with anyio.fail_after(10):
            await worker.pause(option)  # waits for the item to be running, then pauses it
            while worker.state != "paused":
                await anyio.sleep(0.01)
        assert RE.state == "paused"
        await worker.end_plan("abort")
        with anyio.fail_after(10):
            while worker.state != "idle":
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert history.items[-1]["result"]["exit_status"] == "aborted"

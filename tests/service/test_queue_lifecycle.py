"""A queue's life through bluesky-queueserver-api's own HTTP client, against ``acq serve``
on the simulated IOC: queue, start, pause, resume, abort, SIGKILL, restart."""

from __future__ import annotations

import pytest
from bluesky_queueserver_api import BPlan
from bluesky_queueserver_api.http import REManagerAPI
from service_helpers import ADMIN_KEY, ServiceProcess, manager, wait_for

pytestmark = pytest.mark.slow


def client(service: ServiceProcess) -> REManagerAPI:
    return manager(service, status_expiration_period=0.05)


def state(RM: REManagerAPI) -> str:
    return RM.status(reload=True)["manager_state"]


def test_three_plans_pause_resume_abort_kill_restart(new_service: ServiceProcess) -> None:
    service = new_service.start()
    RM = client(service)
    try:
        RM.environment_open()  # as a queueserver client would: it is always open here
        RM.wait_for_idle(timeout=10)
        first = RM.item_add(BPlan("slow_count", ["scaler"], num=4, delay=0.3))["item"]
        second = RM.item_add(BPlan("slow_count", ["scaler"], num=40, delay=0.3))["item"]
        third = RM.item_add(BPlan("scan", ["scaler"], "m1", -1, 1, 3))["item"]
        queue = RM.queue_get()
        assert [i["item_uid"] for i in queue["items"]] == [
            first["item_uid"],
            second["item_uid"],
            third["item_uid"],
        ]
        assert {i["user"] for i in queue["items"]} == {"single_user"}

        RM.queue_start()
        # the first runs to the end; pause the second while it counts
        wait_for(
            lambda: RM.status(reload=True)["running_item_uid"] == second["item_uid"],
            30,
            "the second item to start",
        )
        RM.re_pause(option="deferred")
        wait_for(lambda: state(RM) == "paused", 30, "the engine to pause")
        assert RM.status(reload=True)["re_state"] == "paused"
        RM.re_resume()
        wait_for(lambda: state(RM) == "executing_queue", 10, "the plan to go on")
        assert RM.status(reload=True)["re_state"] == "running"
        RM.re_pause(option="immediate")
        wait_for(lambda: state(RM) == "paused", 30, "the engine to pause again")
        RM.re_abort()
        RM.wait_for_idle(timeout=30)

        history = RM.history_get()["items"]
        assert [h["item_uid"] for h in history] == [first["item_uid"], second["item_uid"]]
        done, aborted = history[0]["result"], history[1]["result"]
        assert done["exit_status"] == "completed"
        assert len(done["run_uids"]) == 1 and isinstance(done["scan_ids"][0], int)
        assert done["time_start"] < done["time_stop"]
        assert aborted["exit_status"] == "aborted"
        assert len(aborted["run_uids"]) == 1 and aborted["scan_ids"][0] == done["scan_ids"][0] + 1
        # as in bluesky-queueserver: an aborted item goes back to the front (new uid)
        items = RM.queue_get()["items"]
        assert [i["name"] for i in items] == ["slow_count", "scan"]
        assert items[0]["kwargs"] == second["kwargs"]
        assert items[0]["item_uid"] != second["item_uid"]
        assert items[1]["item_uid"] == third["item_uid"]

        # the copy of the aborted item runs again; kill the service while it counts
        RM.queue_start()
        wait_for(
            lambda: (
                RM.status(reload=True)["running_item_uid"] == items[0]["item_uid"]
                and RM.re_runs()["run_list"]
            ),
            30,
            "the copy to open its run",
        )
        running_uid = items[0]["item_uid"]
    finally:
        RM.close()

    service.kill()
    service.start()
    RM = client(service)
    try:
        history = RM.history_get()["items"]
        assert [h["result"]["exit_status"] for h in history] == [
            "completed",
            "aborted",
            "interrupted",
        ]
        interrupted = history[2]
        assert interrupted["item_uid"] == running_uid
        assert "killed or crashed" in interrupted["result"]["msg"]
        assert len(interrupted["result"]["run_uids"]) == 1  # the run it had opened
        status = RM.status(reload=True)
        assert status["manager_state"] == "idle" and status["running_item_uid"] is None
        items = RM.queue_get()["items"]
        assert [i["name"] for i in items] == ["slow_count", "scan"]  # intact, copy in front
        assert items[1]["item_uid"] == third["item_uid"]

        # the restarted service runs what is left
        RM.item_remove(pos="front")
        RM.queue_start()
        RM.wait_for_idle(timeout=60)
        last = RM.history_get()["items"][-1]
        assert last["item_uid"] == third["item_uid"]
        assert last["result"]["exit_status"] == "completed"
        assert RM.queue_get()["items"] == []
    finally:
        RM.close()


def test_stop_halt_execute_loop_and_return_value(new_service: ServiceProcess) -> None:
    service = new_service.start()
    RM = client(service)
    try:
        # queue_stop after the current item: the second item stays queued
        RM.item_add(BPlan("slow_count", ["scaler"], num=3, delay=0.3))
        RM.item_add(BPlan("count", ["scaler"]))
        RM.queue_start()
        wait_for(lambda: RM.status(reload=True)["running_item_uid"], 10, "the first item")
        RM.queue_stop()
        assert RM.status(reload=True)["queue_stop_pending"] is True
        RM.wait_for_idle(timeout=30)
        assert [h["result"]["exit_status"] for h in RM.history_get()["items"]] == ["completed"]
        assert [i["name"] for i in RM.queue_get()["items"]] == ["count"]
        RM.queue_clear()

        # stop a paused plan: its run ends as a success, the item is "stopped", queue stops
        RM.item_add(BPlan("slow_count", ["scaler"], num=30, delay=0.3))
        RM.item_add(BPlan("count", ["scaler"]))
        RM.queue_start()
        wait_for(lambda: RM.re_runs()["run_list"], 30, "a run to open")
        RM.re_pause(option="immediate")
        wait_for(lambda: state(RM) == "paused", 30, "the pause")
        RM.re_stop()
        RM.wait_for_idle(timeout=30)
        stopped = RM.history_get()["items"][-1]["result"]
        assert stopped["exit_status"] == "stopped" and len(stopped["run_uids"]) == 1
        assert [i["name"] for i in RM.queue_get()["items"]] == ["count"]
        RM.queue_clear()

        # a plan that fails: failed, with the error and its traceback; back in the queue
        RM.item_add(BPlan("broken"))
        RM.queue_start()
        RM.wait_for_idle(timeout=30)
        failed = RM.history_get()["items"][-1]["result"]
        assert failed["exit_status"] == "failed"
        assert failed["msg"].startswith("IllegalMessageSequence")
        assert "Traceback" in failed["traceback"] and "save" in failed["traceback"]
        assert len(failed["run_uids"]) == 1
        assert [i["name"] for i in RM.queue_get()["items"]] == ["broken"]
        RM.queue_clear()

        # halt a paused plan: exit status halted
        RM.item_add(BPlan("slow_count", ["scaler"], num=30, delay=0.3))
        RM.queue_start()
        wait_for(lambda: RM.re_runs()["run_list"], 30, "a run to open")
        RM.re_pause(option="immediate")
        wait_for(lambda: state(RM) == "paused", 30, "the pause")
        RM.re_halt()
        RM.wait_for_idle(timeout=30)
        assert RM.history_get()["items"][-1]["result"]["exit_status"] == "halted"
        RM.queue_clear()

        # execute one item now: to the history, not the queue; its return value is kept
        RM.item_execute(BPlan("answer", value=7))
        RM.wait_for_idle(timeout=30)
        last = RM.history_get()["items"][-1]
        assert last["name"] == "answer"
        assert last["result"]["exit_status"] == "completed"
        assert last["result"]["return_value"] == {"answer": 7}
        assert last["result"]["run_uids"] == []
        assert RM.queue_get()["items"] == []

        # loop mode: a completed item goes to the back again
        RM.queue_mode_set(loop=True)
        assert RM.status(reload=True)["plan_queue_mode"]["loop"] is True
        RM.item_add(BPlan("count", ["scaler"]))
        RM.item_add({"item_type": "instruction", "name": "queue_stop"})
        RM.queue_start()
        RM.wait_for_idle(timeout=30)
        names = [i.get("name") for i in RM.queue_get()["items"]]
        assert names == ["count"]  # the instruction stopped the queue; the plan looped
        RM.queue_mode_set(mode="default")
    finally:
        RM.close()


def test_async_client_and_lock(new_service: ServiceProcess) -> None:
    import asyncio

    from bluesky_queueserver_api.http.aio import REManagerAPI as AsyncAPI

    service = new_service.start()

    async def lock_for_maintenance() -> None:
        RM = AsyncAPI(http_server_uri=service.url)
        RM.set_authorization_key(api_key=ADMIN_KEY)
        try:
            status = await RM.status()
            assert status["manager_state"] == "idle"
            added = await RM.item_add(BPlan("count", ["scaler"], num=2))
            assert added["qsize"] == 1
            await RM.lock_queue(lock_key="maintenance", note="aligning")
            info = await RM.lock_info()
            assert info["lock_info"]["queue"] is True and info["lock_info"]["note"] == "aligning"
            with pytest.raises(RM.HTTPClientError, match="locked"):
                await RM.item_add(BPlan("count", ["scaler"]))
            await RM.item_add(BPlan("count", ["scaler"]), lock_key="maintenance")
        finally:
            await RM.close()

    async def after_restart() -> None:
        RM = AsyncAPI(http_server_uri=service.url)
        RM.set_authorization_key(api_key=ADMIN_KEY)
        try:
            assert (await RM.status(reload=True))["lock"] == {"environment": False, "queue": True}
            with pytest.raises(RM.HTTPClientError, match="locked by 'single_user'"):
                await RM.queue_clear()
            with pytest.raises(RM.HTTPClientError, match="wrong lock_key"):
                await RM.unlock(lock_key="guess")
            await RM.unlock(lock_key="maintenance")
            await RM.item_add(BPlan("count", ["scaler"]))
            assert len((await RM.queue_get())["items"]) == 3
            await RM.queue_start()
            await RM.wait_for_idle(timeout=30)
            history = (await RM.history_get())["items"]
            assert [h["result"]["exit_status"] for h in history] == ["completed"] * 3
        finally:
            await RM.close()

    asyncio.run(lock_for_maintenance())
    service.stop()  # a maintenance lock outlives a restart
    service.start()
    asyncio.run(after_restart())

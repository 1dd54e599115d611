"""Editing the queue and reading the lists through REManagerAPI, as a GUI does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bluesky_queueserver_api import BPlan
from bluesky_queueserver_api.http import REManagerAPI
from service_helpers import ADMIN_KEY, USER_KEY, ServiceProcess, manager


@pytest.fixture
def RM(shared_service: ServiceProcess) -> Iterator[REManagerAPI]:
    RM = manager(shared_service, status_expiration_period=0.01)
    RM.queue_clear()
    try:
        yield RM
    finally:
        RM.close()


def names(RM: REManagerAPI) -> list[str]:
    return [f"{i['name']}:{i['kwargs'].get('num')}" for i in RM.queue_get(reload=True)["items"]]


def test_add_get_update_move_remove(RM: REManagerAPI) -> None:
    uids = [RM.item_add(BPlan("count", ["scaler"], num=n))["item"]["item_uid"] for n in (1, 2, 3)]
    RM.item_add(BPlan("count", ["scaler"], num=0 + 9), pos="front")
    assert names(RM) == ["count:9", "count:1", "count:2", "count:3"]
    assert RM.item_get(pos=-1)["item"]["item_uid"] == uids[2]
    assert RM.item_get(uid=uids[0])["item"]["kwargs"] == {"num": 1}

    item = RM.item_get(uid=uids[1])["item"]
    item["kwargs"]["num"] = 20
    updated = RM.item_update(item)["item"]
    assert updated["item_uid"] == uids[1] and names(RM)[2] == "count:20"
    replaced = RM.item_update(item, replace=True)["item"]
    assert replaced["item_uid"] != uids[1]
    bad = dict(replaced, kwargs={"num": "many"})
    with pytest.raises(RM.HTTPClientError, match="argument 'num'"):
        RM.item_update(bad)
    assert names(RM)[2] == "count:20"

    RM.item_move(pos="front", pos_dest="back")
    assert names(RM) == ["count:1", "count:20", "count:3", "count:9"]
    RM.item_move(uid=uids[2], before_uid=uids[0])
    assert names(RM) == ["count:3", "count:1", "count:20", "count:9"]
    RM.item_move_batch(uids=[uids[0], uids[2]], pos_dest="back")
    assert names(RM) == ["count:20", "count:9", "count:1", "count:3"]
    RM.item_remove_batch(uids=[uids[0], uids[2]])
    assert names(RM) == ["count:20", "count:9"]
    RM.item_remove()  # the back
    assert names(RM) == ["count:20"]
    with pytest.raises(RM.HTTPClientError, match="no item with uid"):
        RM.item_remove(uid=uids[0])

    batch = RM.item_add_batch([BPlan("count", ["scaler"], num=5), BPlan("count", ["scaler"])])
    assert len(batch["items"]) == 2 and all(r["success"] for r in batch["results"])
    assert len(RM.queue_get(reload=True)["items"]) == 3


def test_lists_config_permissions_and_identity(RM: REManagerAPI) -> None:
    plans = RM.plans_existing()["plans_existing"]
    assert {"count", "scan", "slow_count", "answer", "rel_scan"} <= set(plans)
    params = {p["name"]: p for p in plans["slow_count"]["parameters"]}
    assert params["num"]["default"] == "5" and params["num"]["annotation"]["type"] == "int"
    assert "pause" in plans["slow_count"]["description"]
    devices = RM.devices_existing()["devices_existing"]
    assert devices["scaler"]["is_readable"] and devices["m1"]["classname"] == "EpicsMotor"
    assert RM.config_get()["success"] is True
    groups = RM.permissions_get()["user_group_permissions"]["user_groups"]
    assert groups["users"]["forbidden_devices"] == ["^sx$"]
    assert RM.whoami()["identities"][0]["id"] == "single_user"
    RM.set_authorization_key(api_key=USER_KEY)
    assert sorted(RM.api_scopes()["scopes"]) == ["queue", "read"]
    RM.set_authorization_key(api_key=ADMIN_KEY)

    for call in (RM.environment_open, RM.environment_close, RM.environment_destroy):
        assert call()["success"] is True
    assert RM.status(reload=True)["worker_environment_exists"] is True
    with pytest.raises(RM.HTTPClientError, match="not supported"):
        RM.queue_autostart(True)
    with pytest.raises(RM.HTTPClientError, match="not supported"):
        RM.script_upload("print(1)")


def test_history_clear(RM: REManagerAPI) -> None:
    RM.item_add(BPlan("count", ["scaler"]))
    RM.item_add(BPlan("count", ["scaler"]))
    RM.queue_start()
    RM.wait_for_idle(timeout=30)
    history = RM.history_get(reload=True)["items"]
    assert len(history) >= 2
    RM.history_clear(size=1)
    assert RM.history_get(reload=True)["items"] == history[-1:]
    RM.set_authorization_key(api_key=USER_KEY)
    with pytest.raises(RM.HTTPClientError, match="403"):
        RM.history_clear()
    RM.set_authorization_key(api_key=ADMIN_KEY)
    RM.history_clear()
    assert RM.history_get(reload=True)["items"] == []

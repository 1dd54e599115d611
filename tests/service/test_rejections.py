"""Requests the service must refuse with a clear 4xx and without changing anything:
unknown plan, forbidden plan or device, wrong argument types, out-of-limit positions,
missing or wrong key, wrong scope, malformed JSON, oversized body."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bluesky_queueserver_api import BPlan
from service_helpers import ADMIN_KEY, READER_KEY, USER_KEY, ServiceProcess, auth, manager


@pytest.fixture
def http(shared_service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_service.url, timeout=30) as client:
        client.post("/api/queue/clear", headers=auth(ADMIN_KEY))
        client.post(
            "/api/queue/item/add",
            json={"item": BPlan("count", ["scaler"], num=2).to_dict()},
            headers=auth(ADMIN_KEY),
        ).raise_for_status()
        yield client


def snapshot(http: httpx.Client) -> tuple[Any, ...]:
    status = http.get("/api/status", headers=auth(ADMIN_KEY)).json()
    queue = http.get("/api/queue/get", headers=auth(ADMIN_KEY)).json()
    history = http.get("/api/history/get", headers=auth(ADMIN_KEY)).json()
    return (
        status["plan_queue_uid"],
        status["plan_history_uid"],
        status["manager_state"],
        queue["items"],
        history["items"],
    )


def add(http: httpx.Client, item: dict[str, Any], key: str = USER_KEY) -> httpx.Response:
    return http.post("/api/queue/item/add", json={"item": item}, headers=auth(key))


def plan(name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    return BPlan(name, *args, **kwargs).to_dict()


@pytest.mark.parametrize(
    ("item", "status", "words"),
    [
        (plan("no_such_plan", ["scaler"]), 400, ["unknown plan 'no_such_plan'", "count"]),
        (plan("rel_scan", ["scaler"], "m1", -1, 1, 3), 403, ["plan 'rel_scan' is not allowed"]),
        (plan("scan", ["scaler"], "sx", -1, 1, 3), 403, ["device 'sx' is not allowed"]),
        (plan("count", ["scaler"], num="five"), 400, ["argument 'num'", "int", "'five'"]),
        (plan("slow_count", ["scaler"], delay=[1, 2]), 400, ["argument 'delay'", "float"]),
        (plan("count", ["scaler"], numb=3), 400, ["unexpected keyword", "numb"]),
        (plan("scan", ["scaler"], "m1", -1, 500, 3), 400, ["to 249.5", "[-100.0, 100.0]"]),
        (plan("scan", ["no_such_detector"], "m1", 0, 1, 3), 400, ["no_such_detector"]),
        ({"item_type": "plan", "args": []}, 400, ["no plan 'name'"]),
        ({"item_type": "function", "name": "count"}, 400, ["unsupported item_type"]),
    ],
    ids=[
        "unknown-plan",
        "forbidden-plan",
        "forbidden-device",
        "wrong-type",
        "wrong-element-type",
        "unknown-keyword",
        "out-of-limits",
        "unknown-device",
        "no-name",
        "bad-item-type",
    ],
)
def test_bad_items_are_refused_and_nothing_changes(
    http: httpx.Client, item: dict[str, Any], status: int, words: list[str]
) -> None:
    before = snapshot(http)
    reply = add(http, item)
    assert reply.status_code == status, reply.text
    detail = reply.json()["detail"]
    for word in words:
        assert word in detail
    assert snapshot(http) == before


def test_the_client_shows_the_reason(shared_service: ServiceProcess) -> None:
    RM = manager(shared_service, USER_KEY)
    try:
        with pytest.raises(RM.HTTPClientError, match=r"400: .*m1 would move to -500"):
            RM.item_add(BPlan("scan", ["scaler"], "m1", -500, 0, 3))
        with pytest.raises(RM.HTTPClientError, match=r"403: .*lacks the 'control' scope"):
            RM.queue_start()
    finally:
        RM.close()


def test_batch_is_all_or_nothing(http: httpx.Client) -> None:
    before = snapshot(http)
    items = [plan("count", ["scaler"]), plan("count", ["scaler"], num="x"), plan("nope")]
    reply = http.post("/api/queue/item/add/batch", json={"items": items}, headers=auth(USER_KEY))
    assert reply.status_code == 400
    assert "2 of 3 failed" in reply.json()["detail"]
    assert snapshot(http) == before


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 401, "no API key"),
        (auth("not-a-key"), 401, "invalid API key"),
        ({"Authorization": "Bearer token"}, 401, "ApiKey"),
        (auth(READER_KEY), 403, "lacks the 'queue' scope"),
    ],
    ids=["missing-key", "wrong-key", "wrong-scheme", "wrong-scope"],
)
def test_keys_and_scopes(
    http: httpx.Client, headers: dict[str, str], status: int, words: str
) -> None:
    before = snapshot(http)
    reply = http.post(
        "/api/queue/item/add", json={"item": plan("count", ["scaler"])}, headers=headers
    )
    assert reply.status_code == status
    assert words in reply.json()["detail"]
    assert http.post("/api/queue/clear", headers=headers).status_code == status
    assert snapshot(http) == before


def test_scopes_separate_reading_queueing_and_control(http: httpx.Client) -> None:
    assert http.get("/api/status", headers=auth(READER_KEY)).status_code == 200
    assert http.get("/api/queue/get", headers=auth(READER_KEY)).status_code == 200
    assert http.post("/api/queue/start", headers=auth(USER_KEY)).status_code == 403
    assert http.post("/api/re/pause", headers=auth(USER_KEY)).status_code == 403
    assert http.post("/api/history/clear", headers=auth(USER_KEY)).status_code == 403
    allowed = http.get("/api/plans/allowed", headers=auth(USER_KEY)).json()["plans_allowed"]
    assert sorted(allowed) == ["count", "scan", "slow_count"]
    devices = http.get("/api/devices/allowed", headers=auth(USER_KEY)).json()["devices_allowed"]
    assert "sx" not in devices and devices["m1"]["is_movable"] is True


def test_malformed_json_and_oversized_body(http: httpx.Client) -> None:
    before = snapshot(http)
    headers = {**auth(USER_KEY), "Content-Type": "application/json"}
    reply = http.post("/api/queue/item/add", content=b'{"item": {"name": ', headers=headers)
    assert reply.status_code == 400
    assert "malformed JSON" in reply.json()["detail"]
    reply = http.post("/api/queue/item/add", content=b"[1, 2]", headers=headers)
    assert reply.status_code == 400 and "must be an object" in reply.json()["detail"]
    big = {"item": plan("count", ["scaler"], md={"pad": "x" * 2_000_000})}
    reply = http.post("/api/queue/item/add", json=big, headers=auth(USER_KEY))
    assert reply.status_code == 413
    assert "limit" in reply.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit still holds
        yield b'{"item": {"name": "count", "pad": "'
        for _ in range(30):
            yield b"y" * 100_000
        yield b'"}}'

    reply = http.post("/api/queue/item/add", content=chunks(), headers=headers)
    assert reply.status_code == 413
    assert snapshot(http) == before


def test_would_it_run(http: httpx.Client) -> None:
    before = snapshot(http)
    good = http.post(
        "/api/queue/item/validate",
        json={"item": plan("scan", ["scaler"], "m1", -1, 1, 5)},
        headers=auth(READER_KEY),
    )
    assert good.status_code == 200
    assert good.json()["dry_run"] == {
        "runs": 1,
        "messages": good.json()["dry_run"]["messages"],
        "moves": 5,
        "sleep_time": 0.0,
    }
    bad = http.post(
        "/api/queue/item/validate",
        json={"item": plan("scan", ["scaler"], "m1", -1, 1000, 5)},
        headers=auth(READER_KEY),
    )
    assert bad.status_code == 400 and "outside its soft limits" in bad.json()["detail"]
    assert snapshot(http) == before


def test_wrong_state_and_unknown_paths(http: httpx.Client) -> None:
    before = snapshot(http)
    for path in ("/api/re/resume", "/api/re/abort", "/api/queue/stop", "/api/re/pause"):
        reply = http.post(path, headers=auth(ADMIN_KEY))
        assert reply.status_code == 409, path
        assert "detail" in reply.json()
    reply = http.post("/api/queue/item/remove", json={"uid": "nope"}, headers=auth(ADMIN_KEY))
    assert reply.status_code == 400 and "no item with uid 'nope'" in reply.json()["detail"]
    assert http.get("/api/no/such/thing", headers=auth(ADMIN_KEY)).status_code == 404
    assert snapshot(http) == before


def test_a_change_the_database_cannot_keep_is_undone(
    shared_service: ServiceProcess, http: httpx.Client
) -> None:
    """The queue database refuses the write (another process holds its write lock past
    the 5 s busy timeout): the request fails saying so, and the queue is as it was: a
    client never sees a change that a restart would forget."""
    before = snapshot(http)
    blocker = sqlite3.connect(shared_service.db.removeprefix("sqlite:///"), timeout=1)
    blocker.isolation_level = None
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        refused = add(http, plan("count", ["scaler"], num=3), ADMIN_KEY)
        cleared = http.post("/api/queue/clear", headers=auth(ADMIN_KEY))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    for response in (refused, cleared):
        assert response.status_code == 500
        assert "could not be saved" in response.json()["detail"]
        assert "nothing changed" in response.json()["detail"]
    assert snapshot(http) == before
    assert add(http, plan("count", ["scaler"], num=3), ADMIN_KEY).status_code == 200

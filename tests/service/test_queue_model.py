"""The pure parts of the service: queue positions and moves, argument types, permissions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from acq.service.errors import RequestRejected, StartupError
from acq.service.permissions import load_permissions
from acq.service.queue import History, PlanQueue, QueueError
from acq.service.validation import fits


def names(queue: PlanQueue) -> list[str]:
    return [i["name"] for i in queue.items]


def filled(*names_: str) -> PlanQueue:
    queue = PlanQueue()
    for name in names_:
        queue.add({"item_type": "plan", "name": name})
    return queue


def test_positions_follow_bluesky_queueserver() -> None:
    queue = filled("a", "b", "c")
    queue.add({"item_type": "plan", "name": "front"}, pos="front")
    queue.add({"item_type": "plan", "name": "before_last"}, pos=-1)
    queue.add({"item_type": "plan", "name": "at1"}, pos=1)
    assert names(queue) == ["front", "at1", "a", "b", "before_last", "c"]
    uid_b = queue.items[3]["item_uid"]
    queue.add({"item_type": "plan", "name": "after_b"}, after_uid=uid_b)
    queue.add({"item_type": "plan", "name": "before_b"}, before_uid=uid_b)
    assert names(queue)[3:6] == ["before_b", "b", "after_b"]
    assert queue.get(pos=-1)["name"] == "c" and queue.get(uid=uid_b)["name"] == "b"


def test_moves_and_batches() -> None:
    queue = filled("a", "b", "c", "d")
    uid = {i["name"]: i["item_uid"] for i in queue.items}
    queue.move(pos="front", pos_dest="back")
    assert names(queue) == ["b", "c", "d", "a"]
    queue.move(uid=uid["a"], before_uid=uid["c"])
    assert names(queue) == ["b", "a", "c", "d"]
    queue.move(uid=uid["d"], pos_dest=0)
    assert names(queue) == ["d", "b", "a", "c"]
    queue.move_batch([uid["c"], uid["b"]], pos_dest="front")
    assert names(queue) == ["c", "b", "d", "a"]
    queue.move_batch([uid["c"], uid["b"]], after_uid=uid["a"], reorder=True)
    assert names(queue) == ["d", "a", "c", "b"]
    assert [i["name"] for i in queue.remove_batch([uid["a"], "missing"])] == ["a"]
    with pytest.raises(QueueError, match="no item with uid 'missing'"):
        queue.remove_batch(["missing"], ignore_missing=False)
    assert names(queue) == ["d", "c", "b"]


@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.remove(uid="nope"),
        lambda q: q.get(pos=7),
        lambda q: q.add({"name": "x"}, pos="middle"),
        lambda q: q.add({"name": "x"}, pos=1, after_uid="y"),
        lambda q: q.move(pos=0),
        lambda q: q.move_batch(["a", "a"], pos_dest="front"),
        lambda q: q.set_mode({"loop": "yes"}),
        lambda q: q.set_mode({"shuffle": True}),
        lambda q: q.update({"name": "x"}),
    ],
)
def test_a_failed_operation_changes_nothing(call) -> None:  # type: ignore[no-untyped-def]
    queue = filled("a", "b")
    before = (list(queue.items), queue.uid, dict(queue.mode))
    with pytest.raises(QueueError):
        call(queue)
    assert (list(queue.items), queue.uid, dict(queue.mode)) == before


def test_finish_requeues_or_loops() -> None:
    queue = filled("a", "b")
    running = queue.start_next()
    assert running is not None and names(queue) == ["b"]
    done = queue.finish({"exit_status": "aborted"}, requeue=True)
    assert done["result"]["exit_status"] == "aborted" and "properties" not in done
    assert names(queue) == ["a", "b"] and queue.items[0]["item_uid"] != done["item_uid"]
    queue.set_mode({"loop": True})
    queue.start_next()
    queue.finish({"exit_status": "completed"})
    assert names(queue) == ["b", "a"]
    history = History()
    history.items = [{"item_uid": str(i)} for i in range(5)]
    history.clear(item_uid="2")
    assert [h["item_uid"] for h in history.items] == ["3", "4"]
    history.clear(size=1)
    assert [h["item_uid"] for h in history.items] == ["4"]


class Motor:
    pass


@pytest.mark.parametrize(
    ("value", "ann", "ok"),
    [
        (3, int, True),
        (True, int, False),
        (3, float, True),
        ("3", float, False),
        (None, int | None, True),
        ([1, 2.5], list[float], True),
        ([1, "x"], Sequence[float], False),
        ({"a": 1}, dict[str, int], True),
        ("m1", Motor, True),
        ("det", Motor, False),
        ("nothing", Motor, False),
        ([1, 2], tuple[int, int], True),
        ([1, 2, 3], tuple[int, int], False),
    ],
)
def test_json_values_against_annotations(value, ann, ok) -> None:  # type: ignore[no-untyped-def]
    devices = {"m1": Motor(), "det": object()}
    assert fits(value, ann, devices) is ok


def test_permissions_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "permissions.yml"
    path.write_text(
        "user_groups:\n"
        "  users: {allowed_plans: ['^count$'], forbidden_devices: ['^m2$']}\n"
        "users:\n"
        "  ann: {group: users, api_key: '${ANN_KEY}', scopes: [read, queue]}\n"
    )
    with pytest.raises(StartupError, match="api_key is missing or its variable is not set"):
        load_permissions(path)
    monkeypatch.setenv("ANN_KEY", "k-ann")
    perms = load_permissions(path, single_user_key="k-admin")
    ann = perms.authenticate("ApiKey k-ann")
    assert ann.name == "ann" and ann.has("queue") and not ann.has("control")
    group = perms.group_of(ann)
    assert group.allows_plan("count") and not group.allows_plan("count2")
    assert group.allows_device("m1") and not group.allows_device("m2")
    admin = perms.authenticate("ApiKey k-admin")
    assert admin.has("control") and perms.group_of(admin).allows_plan("anything")
    with pytest.raises(RequestRejected, match="invalid API key"):
        perms.authenticate("ApiKey nope")
    with pytest.raises(StartupError, match="no API key is configured"):
        load_permissions(None)

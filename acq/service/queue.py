"""The plan queue and its history, as plain data: no I/O, no loop, no engine.

Items are the dictionaries bluesky-queueserver uses, so its clients read them unchanged::

    {"item_type": "plan", "name": "count", "args": [["det"]], "kwargs": {"num": 3},
     "item_uid": "...", "user": "alice", "user_group": "users"}

Positions follow bluesky-queueserver: an int (negative counts from the back), "front" or
"back"; or a place relative to another item (``before_uid`` / ``after_uid``). Every
change gives the queue (or the history) a new uid, which is how clients know to fetch it
again (``status()["plan_queue_uid"]``). A failed operation raises `QueueError` and leaves
everything as it was.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_MODE", "History", "Item", "PlanQueue", "QueueError", "new_uid"]

Item = dict[str, Any]
DEFAULT_MODE: dict[str, bool] = {"loop": False, "ignore_failures": False}


class QueueError(ValueError):
    """A queue operation that cannot be done (unknown uid, bad position, ...)."""


def new_uid() -> str:
    return str(uuid.uuid4())


@dataclass
class History:
    """Finished items, oldest first, each with a ``result``."""

    items: list[Item] = field(default_factory=list)
    uid: str = field(default_factory=new_uid)

    def append(self, item: Item) -> None:
        self.items.append(item)
        self.uid = new_uid()

    def restorer(self) -> Callable[[], None]:
        """A function that puts the history back as it is now (a change not saved)."""
        items, uid = list(self.items), self.uid

        def restore() -> None:
            self.items, self.uid = items, uid

        return restore

    def clear(self, *, size: int | None = None, item_uid: str | None = None) -> None:
        """Drop everything, or keep the newest `size` items, or drop up to `item_uid`."""
        if size is not None and item_uid is not None:
            raise QueueError("'size' and 'item_uid' are mutually exclusive")
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise QueueError(f"'size' must be a non-negative integer, got {size!r}")
            self.items = self.items[len(self.items) - size :] if size else []
        elif item_uid is not None:
            index = next(
                (i for i, it in enumerate(self.items) if it.get("item_uid") == item_uid), None
            )
            if index is None:
                raise QueueError(f"no item with uid {item_uid!r} in the history")
            self.items = self.items[index + 1 :]
        else:
            self.items = []
        self.uid = new_uid()


class PlanQueue:
    """The items waiting to run, the one running (if any), the queue mode."""

    def __init__(
        self,
        items: Iterable[Item] = (),
        running: Item | None = None,
        mode: Mapping[str, bool] | None = None,
    ) -> None:
        self.items: list[Item] = [dict(i) for i in items]
        self.running: Item | None = running
        self.mode: dict[str, bool] = {**DEFAULT_MODE, **(mode or {})}
        self.uid = new_uid()

    def __len__(self) -> int:
        return len(self.items)

    def _changed(self) -> None:
        self.uid = new_uid()

    def restorer(self) -> Callable[[], None]:
        """A function that puts the queue back as it is now (a change not saved)."""
        items, running, mode, uid = list(self.items), self.running, dict(self.mode), self.uid

        def restore() -> None:
            self.items[:] = items
            self.running, self.mode, self.uid = running, mode, uid

        return restore

    # -- lookups ---------------------------------------------------------------------

    def index_of(self, uid: str) -> int:
        for i, item in enumerate(self.items):
            if item.get("item_uid") == uid:
                return i
        if self.running is not None and self.running.get("item_uid") == uid:
            raise QueueError(f"item {uid!r} is running; it is no longer in the queue")
        raise QueueError(f"no item with uid {uid!r} in the queue")

    def _index_at(self, pos: int | str | None) -> int:
        """The index of an existing item at `pos` (default: the back)."""
        if not self.items:
            raise QueueError("the queue is empty")
        if pos is None or pos == "back":
            return len(self.items) - 1
        if pos == "front":
            return 0
        if isinstance(pos, bool) or not isinstance(pos, int):
            raise QueueError(f"position must be an integer, 'front' or 'back', got {pos!r}")
        index = pos if pos >= 0 else len(self.items) + pos
        if not 0 <= index < len(self.items):
            raise QueueError(f"position {pos} is outside the queue ({len(self.items)} items)")
        return index

    def _insertion_index(
        self,
        pos: int | str | None,
        before_uid: str | None,
        after_uid: str | None,
        items: Sequence[Item] | None = None,
    ) -> int:
        given = [p for p in (pos, before_uid, after_uid) if p is not None]
        if len(given) > 1:
            raise QueueError("give only one of 'pos', 'before_uid' and 'after_uid'")
        items = self.items if items is None else items
        if before_uid is not None or after_uid is not None:
            uid = before_uid if before_uid is not None else after_uid
            index = next((i for i, it in enumerate(items) if it.get("item_uid") == uid), None)
            if index is None:
                self.index_of(str(uid))  # raises with the right message
                raise QueueError(f"no item with uid {uid!r} in the queue")
            return index if before_uid is not None else index + 1
        if pos is None or pos == "back":
            return len(items)
        if pos == "front":
            return 0
        if isinstance(pos, bool) or not isinstance(pos, int):
            raise QueueError(f"position must be an integer, 'front' or 'back', got {pos!r}")
        if pos < 0:  # -1: before the last item (bluesky-queueserver's convention)
            return max(0, len(items) + pos)
        return min(pos, len(items))

    def get(self, *, pos: int | str | None = None, uid: str | None = None) -> Item:
        if uid is not None:
            if self.running is not None and self.running.get("item_uid") == uid:
                return copy.deepcopy(self.running)
            return copy.deepcopy(self.items[self.index_of(uid)])
        return copy.deepcopy(self.items[self._index_at(pos)])

    # -- changes ---------------------------------------------------------------------

    def _check_new_uids(self, items: Sequence[Item]) -> None:
        known = {i.get("item_uid") for i in self.items}
        if self.running is not None:
            known.add(self.running.get("item_uid"))
        for item in items:
            if item.get("item_uid") in known:
                raise QueueError(f"an item with uid {item['item_uid']!r} is already queued")

    def add(
        self,
        item: Item,
        *,
        pos: int | str | None = None,
        before_uid: str | None = None,
        after_uid: str | None = None,
    ) -> Item:
        """Insert `item` (with a fresh uid) and return it."""
        return self.add_batch([item], pos=pos, before_uid=before_uid, after_uid=after_uid)[0]

    def add_batch(
        self,
        items: Sequence[Item],
        *,
        pos: int | str | None = None,
        before_uid: str | None = None,
        after_uid: str | None = None,
    ) -> list[Item]:
        added = [{**item, "item_uid": new_uid()} for item in items]
        index = self._insertion_index(pos, before_uid, after_uid)
        self._check_new_uids(added)
        self.items[index:index] = added
        self._changed()
        return copy.deepcopy(added)

    def update(self, item: Item, *, replace: bool = False) -> Item:
        """Replace the queued item with ``item["item_uid"]``; a new uid if `replace`."""
        uid = item.get("item_uid")
        if not uid:
            raise QueueError("the item has no 'item_uid': which queued item should change?")
        index = self.index_of(uid)
        updated = {**item, "item_uid": new_uid() if replace else uid}
        self.items[index] = updated
        self._changed()
        return copy.deepcopy(updated)

    def remove(self, *, pos: int | str | None = None, uid: str | None = None) -> Item:
        index = self.index_of(uid) if uid is not None else self._index_at(pos)
        item = self.items.pop(index)
        self._changed()
        return item

    def remove_batch(self, uids: Sequence[str], *, ignore_missing: bool = True) -> list[Item]:
        if not ignore_missing:
            if len(set(uids)) != len(uids):
                raise QueueError("the list of uids repeats an item")
            for uid in uids:
                self.index_of(uid)
        wanted = set(uids)
        removed = [i for i in self.items if i.get("item_uid") in wanted]
        self.items = [i for i in self.items if i.get("item_uid") not in wanted]
        self._changed()
        return removed

    def move(
        self,
        *,
        pos: int | str | None = None,
        uid: str | None = None,
        pos_dest: int | str | None = None,
        before_uid: str | None = None,
        after_uid: str | None = None,
    ) -> Item:
        if pos is None and uid is None:
            raise QueueError("say which item to move: 'pos' or 'uid'")
        if pos_dest is None and before_uid is None and after_uid is None:
            raise QueueError("say where to move it: 'pos_dest', 'before_uid' or 'after_uid'")
        source = self.index_of(uid) if uid is not None else self._index_at(pos)
        item = self.items[source]
        if item.get("item_uid") in (before_uid, after_uid):
            raise QueueError("an item cannot be moved next to itself")
        rest = self.items[:source] + self.items[source + 1 :]
        if pos_dest is not None and before_uid is None and after_uid is None:
            # a destination position names where the item ends up
            dest = self._index_at(pos_dest) if pos_dest not in ("front", "back") else None
            index = {"front": 0, "back": len(rest)}.get(pos_dest, dest)  # type: ignore[arg-type]
        else:
            index = self._insertion_index(pos_dest, before_uid, after_uid, rest)
        rest.insert(int(index or 0), item)
        self.items = rest
        self._changed()
        return copy.deepcopy(item)

    def move_batch(
        self,
        uids: Sequence[str],
        *,
        pos_dest: str | None = None,
        before_uid: str | None = None,
        after_uid: str | None = None,
        reorder: bool = False,
    ) -> list[Item]:
        if len(set(uids)) != len(uids):
            raise QueueError("the list of uids repeats an item")
        if pos_dest not in (None, "front", "back"):
            raise QueueError(f"'pos_dest' of a batch must be 'front' or 'back', got {pos_dest!r}")
        if pos_dest is None and before_uid is None and after_uid is None:
            raise QueueError("say where to move them: 'pos_dest', 'before_uid' or 'after_uid'")
        if before_uid in uids or after_uid in uids:
            raise QueueError("the destination item is part of the batch")
        indices = [self.index_of(uid) for uid in uids]
        if reorder:
            indices.sort()
        batch = [self.items[i] for i in indices]
        moving = set(uids)
        rest = [i for i in self.items if i.get("item_uid") not in moving]
        index = self._insertion_index(pos_dest, before_uid, after_uid, rest)
        rest[index:index] = batch
        self.items = rest
        self._changed()
        return copy.deepcopy(batch)

    def clear(self) -> None:
        self.items = []
        self._changed()

    def set_mode(self, mode: Mapping[str, Any] | str) -> None:
        if mode == "default":
            self.mode = dict(DEFAULT_MODE)
        elif isinstance(mode, Mapping):
            unknown = set(mode) - set(DEFAULT_MODE)
            if unknown:
                raise QueueError(
                    f"unknown queue mode option(s) {sorted(unknown)}; known: {sorted(DEFAULT_MODE)}"
                )
            for key, value in mode.items():
                if not isinstance(value, bool):
                    raise QueueError(f"queue mode {key!r} must be true or false, got {value!r}")
            self.mode.update(mode)
        else:
            raise QueueError(f"queue mode must be a dictionary or 'default', got {mode!r}")
        self._changed()

    # -- running -----------------------------------------------------------------------

    def start_next(self) -> Item | None:
        """Take the front item and mark it running (None if the queue is empty)."""
        if self.running is not None:
            raise QueueError(f"item {self.running.get('item_uid')!r} is already running")
        if not self.items:
            return None
        item = self.items.pop(0)
        return self.start(item)

    def start(self, item: Item, *, immediate: bool = False) -> Item:
        props = {**item.get("properties", {}), "time_start": time.time()}
        if immediate:
            props["immediate_execution"] = True
        self.running = {**item, "properties": props}
        self._changed()
        return self.running

    def finish(self, result: Mapping[str, Any], *, requeue: bool = False) -> Item:
        """End the running item: returns it with ``result`` for the history.

        `requeue` puts a copy (new uid) back at the front, for items that did not complete;
        in loop mode a completed item goes to the back again.
        """
        if self.running is None:
            raise QueueError("no item is running")
        item = self.running
        props = item.get("properties", {})
        immediate = bool(props.get("immediate_execution"))
        finished = {k: v for k, v in item.items() if k != "properties"}
        finished["result"] = {"time_start": props.get("time_start"), **result}
        finished["result"].setdefault("time_stop", time.time())
        clean = {k: v for k, v in finished.items() if k != "result"}
        self.running = None
        if not immediate:
            if requeue:
                self.items.insert(0, {**clean, "item_uid": new_uid()})
            elif self.mode.get("loop"):
                self.items.append({**clean, "item_uid": new_uid()})
        self._changed()
        return finished

"""Where the queue and its history live between restarts: SQLite (default) or Redis.

The service keeps the queue in memory (`acq.service.queue`) and writes it through after
every change, so a restart (or a SIGKILL) finds what clients last saw. Each write is one
transaction: the whole queue (small: items are a few hundred bytes), the running item,
the mode, and history entries appended one at a time.

``sqlite:///path/queue.db`` (or a plain path) needs no server; a committed transaction
survives the process being killed. ``redis://host:port/db`` is for a facility that
already runs Redis (as bluesky-queueserver does); every call is bounded by a timeout.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import anyio
import anyio.to_thread

from .errors import ServiceError
from .queue import DEFAULT_MODE, Item

__all__ = ["RedisStore", "SQLiteStore", "Snapshot", "Store", "open_store"]

log = logging.getLogger("acq.service.store")

REDIS_TIMEOUT = 5.0  # s for any one Redis call
SLOW_WRITE = 1.0  # s


@dataclass
class Snapshot:
    """What a store holds: enough to rebuild the queue and the history."""

    queue: list[Item] = field(default_factory=list)
    running: Item | None = None
    history: list[Item] = field(default_factory=list)
    mode: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_MODE))
    lock: dict[str, Any] | None = None  # a maintenance lock outlives a restart


class Store(Protocol):
    async def load(self) -> Snapshot: ...
    async def save_queue(self, queue: Sequence[Item], running: Item | None) -> None: ...
    async def save_mode(self, mode: dict[str, bool]) -> None: ...
    async def save_lock(self, lock: dict[str, Any] | None) -> None: ...
    async def append_history(self, item: Item) -> None: ...
    async def replace_history(self, items: Sequence[Item]) -> None: ...
    async def close(self) -> None: ...


def _dumps(value: Any) -> str:
    # plan arguments and return values were checked to be JSON when they came in; a
    # return value that is not JSON was stored as its repr by the worker
    return json.dumps(value, default=repr)


class SQLiteStore:
    """One file; tables ``state`` (key -> JSON) and ``history`` (append-only).

    Each commit is fsynced (a write that returned survives a power cut, not just a
    SIGKILL), and an fsync on a busy disk can take a second: so writes run in a worker
    thread, one at a time and in order, and the loop serving the engine never waits on
    the disk. A write slower than `SLOW_WRITE` is logged.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._limiter = anyio.CapacityLimiter(1)  # one writer, first come first served
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=5.0, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, item TEXT)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ServiceError(
                f"cannot open the queue database {self.path}: {exc}; "
                f"check the directory exists and is writable, or pass --db"
            ) from exc

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    async def _run(self, func: Callable[..., Any], *args: Any) -> Any:
        started = time.monotonic()
        result = await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)
        took = time.monotonic() - started
        if took > SLOW_WRITE:
            log.warning("the queue database %s took %.1f s for one write", self.path, took)
        return result

    def _get(self, key: str, default: Any) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def _load(self) -> Snapshot:
        rows = self._db.execute("SELECT item FROM history ORDER BY seq")
        return Snapshot(
            queue=self._get("queue", []),
            running=self._get("running", None),
            history=[json.loads(r[0]) for r in rows],
            mode={**DEFAULT_MODE, **self._get("mode", {})},
            lock=self._get("lock", None),
        )

    async def load(self) -> Snapshot:
        return await self._run(self._load)

    def _put(self, pairs: dict[str, str]) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for key, value in pairs.items():
                self._db.execute(
                    "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value)
                )

    async def save_queue(self, queue: Sequence[Item], running: Item | None) -> None:
        # serialised now, in the loop: the thread writes this moment's queue
        await self._run(self._put, {"queue": _dumps(list(queue)), "running": _dumps(running)})

    async def save_mode(self, mode: dict[str, bool]) -> None:
        await self._run(self._put, {"mode": _dumps(mode)})

    async def save_lock(self, lock: dict[str, Any] | None) -> None:
        await self._run(self._put, {"lock": _dumps(lock)})

    def _append(self, item: str) -> None:
        with self._db:
            self._db.execute("INSERT INTO history (item) VALUES (?)", (item,))

    async def append_history(self, item: Item) -> None:
        await self._run(self._append, _dumps(item))

    def _replace(self, items: list[str]) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM history")
            self._db.executemany("INSERT INTO history (item) VALUES (?)", [(i,) for i in items])

    async def replace_history(self, items: Sequence[Item]) -> None:
        await self._run(self._replace, [_dumps(i) for i in items])

    async def close(self) -> None:
        await self._run(self._db.close)


class RedisStore:
    """Keys ``<prefix>queue``, ``running``, ``mode``, ``lock`` (JSON) and list ``history``."""

    def __init__(self, url: str, prefix: str = "acq:") -> None:
        import redis.asyncio as aioredis

        self.url = url
        self.prefix = prefix
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r})"

    def _k(self, name: str) -> str:
        return f"{self.prefix}{name}"

    async def load(self) -> Snapshot:
        try:
            queue, running, mode, lock = await self._redis.mget(
                self._k("queue"), self._k("running"), self._k("mode"), self._k("lock")
            )
            history = await self._redis.lrange(self._k("history"), 0, -1)
        except Exception as exc:
            raise ServiceError(
                f"cannot read the queue from Redis at {self.url}: {exc}; is redis-server running?"
            ) from exc
        return Snapshot(
            queue=json.loads(queue) if queue else [],
            running=json.loads(running) if running else None,
            history=[json.loads(h) for h in history],
            mode={**DEFAULT_MODE, **(json.loads(mode) if mode else {})},
            lock=json.loads(lock) if lock else None,
        )

    async def save_queue(self, queue: Sequence[Item], running: Item | None) -> None:
        await self._redis.mset(
            {self._k("queue"): _dumps(list(queue)), self._k("running"): _dumps(running)}
        )

    async def save_mode(self, mode: dict[str, bool]) -> None:
        await self._redis.set(self._k("mode"), _dumps(mode))

    async def save_lock(self, lock: dict[str, Any] | None) -> None:
        await self._redis.set(self._k("lock"), _dumps(lock))

    async def append_history(self, item: Item) -> None:
        await self._redis.rpush(self._k("history"), _dumps(item))

    async def replace_history(self, items: Sequence[Item]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("history"))
            if items:
                pipe.rpush(self._k("history"), *[_dumps(i) for i in items])
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


def open_store(uri: str) -> Store:
    """``sqlite:///path``, a plain path, or ``redis://host:port/db``."""
    parsed = urlparse(uri)
    if parsed.scheme in ("redis", "rediss", "unix"):
        return RedisStore(uri)
    if parsed.scheme == "sqlite":
        return SQLiteStore(
            uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else parsed.path
        )
    if parsed.scheme in ("", "file"):
        return SQLiteStore(parsed.path if parsed.scheme == "file" else uri)
    raise ServiceError(
        f"unknown queue database {uri!r}: use sqlite:///path/queue.db or redis://host:6379/0"
    )

"""The embedded catalog: one SQLite file, one table per document kind.

Layout (why): each kind has its own table with the fields queries use as real, indexed
columns (uid, run_start, time, scan_id, plan_name, descriptor, seq_num), so lookups
never parse JSON. Events keep ``data`` and ``timestamps`` as compact JSON objects next to
indexed ``descriptor``/``seq_num``/``time``; reading a stream is one indexed range scan
and one JSON parse per row, no per-row document reassembly. Every table has ``ord``, the
writer's emission sequence, so a run's documents replay in the order they were emitted.
``run_start`` also keeps ``search``, what metadata searches read (`search_json`: strict
JSON, since SQLite's JSON functions refuse a whole text for one NaN), and ``text``, what
full-text search reads (`search_text`: the values as plain case-folded text, the same
text the Mongo backend matches in Python); ``doc`` stays the document as emitted.
Catalogs from before those columns get them at a writable open (`ADDED_COLUMNS`).

SQLite is synchronous: every call runs in a worker thread (``anyio.to_thread``), one at
a time on one connection, so the event loop never waits on the disk. A stored batch is
one transaction of multi-row INSERTs; its rows are built before, in the loop's thread.
WAL mode lets other processes (``acq runs``) read while a run writes.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import anyio

from .backend import (
    CONTENT_ERRORS,
    AnyOf,
    BackendUnavailable,
    EventRow,
    Query,
    by_kind,
    is_scalar,
)
from .documents import canonical, datum_ids, dumps, sanitize, search_json, search_text
from .errors import CatalogReadOnlyError, CatalogUnreachableError, StorageError
from .journal import Record

__all__ = ["WRITER_PRAGMAS", "SQLiteBackend", "insert_rows", "open_sqlite"]

T = TypeVar("T")

SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS run_start (
    uid TEXT PRIMARY KEY, ord INTEGER, time REAL, scan_id INTEGER, plan_name TEXT,
    doc TEXT NOT NULL, search TEXT, text TEXT);
CREATE INDEX IF NOT EXISTS run_start_time ON run_start (time DESC);
CREATE INDEX IF NOT EXISTS run_start_scan_id ON run_start (scan_id, time DESC);
CREATE TABLE IF NOT EXISTS run_stop (
    uid TEXT PRIMARY KEY, ord INTEGER, run_start TEXT UNIQUE, time REAL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_descriptor (
    uid TEXT PRIMARY KEY, ord INTEGER, run_start TEXT, name TEXT, time REAL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS event_descriptor_run ON event_descriptor (run_start);
CREATE TABLE IF NOT EXISTS event (
    uid TEXT NOT NULL UNIQUE, ord INTEGER, descriptor TEXT NOT NULL, seq_num INTEGER,
    time REAL, data TEXT NOT NULL, timestamps TEXT NOT NULL, filled TEXT);
CREATE INDEX IF NOT EXISTS event_descriptor_seq ON event (descriptor, seq_num);
CREATE TABLE IF NOT EXISTS resource (
    uid TEXT PRIMARY KEY, ord INTEGER, run_start TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS resource_run ON resource (run_start);
CREATE TABLE IF NOT EXISTS datum (
    datum_id TEXT PRIMARY KEY, ord INTEGER, resource TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS datum_resource ON datum (resource);
CREATE TABLE IF NOT EXISTS stream_resource (
    uid TEXT PRIMARY KEY, ord INTEGER, run_start TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS stream_resource_run ON stream_resource (run_start);
CREATE TABLE IF NOT EXISTS stream_datum (
    uid TEXT PRIMARY KEY, ord INTEGER, descriptor TEXT, stream_resource TEXT,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS stream_datum_descriptor ON stream_datum (descriptor);
"""

#: How a writing catalog's connection is set. Commits are not fsynced (WAL keeps the file
#: consistent; the writer's journal covers a crash of the process). A 32 MB page cache,
#: and a WAL checkpoint every 10,000 pages (~40 MB) instead of 1,000: a checkpoint copies
#: every B-tree page changed since the last, and each batch of events touches the same
#: index pages again (100,000 events inserted in batches of 1,000: 11.4 -> 8.6 us each,
#: the deferred checkpoint counted). After a checkpoint the WAL file is cut to 64 MB.
WRITER_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA cache_size = -32768",
    "PRAGMA wal_autocheckpoint = 10000",
    "PRAGMA journal_size_limit = 67108864",
)

#: "Newest first" for run starts: by start time, and among starts of the same time (runs
#: imported together, a coarse clock) the one written last first, as on MongoDB.
NEWEST = "time DESC, ord DESC"

# kind -> (table, id column, INSERT statement, row builder)
_Row = tuple[Any, ...]


def _start_row(seq: int, d: dict[str, Any]) -> _Row:
    return (
        d["uid"],
        seq,
        d.get("time"),
        d.get("scan_id"),
        d.get("plan_name"),
        dumps(d),
        search_json(d),
        search_text(d),
    )


def _stop_row(seq: int, d: dict[str, Any]) -> _Row:
    return (d["uid"], seq, d.get("run_start"), d.get("time"), dumps(d))


def _descriptor_row(seq: int, d: dict[str, Any]) -> _Row:
    return (d["uid"], seq, d.get("run_start"), d.get("name"), d.get("time"), dumps(d))


def event_row(seq: int, d: dict[str, Any]) -> _Row:
    filled = d.get("filled")
    return (
        d["uid"],
        seq,
        d["descriptor"],
        d.get("seq_num"),
        d.get("time"),
        dumps(d["data"]),
        dumps(d["timestamps"]),
        None if filled is None else "{}" if not filled else dumps(filled),  # {}: most events
    )


def _resource_row(seq: int, d: dict[str, Any]) -> _Row:
    return (d["uid"], seq, d.get("run_start"), dumps(d))


def _datum_row(seq: int, d: dict[str, Any]) -> _Row:
    return (d["datum_id"], seq, d.get("resource"), dumps(d))


def _stream_datum_row(seq: int, d: dict[str, Any]) -> _Row:
    return (d["uid"], seq, d.get("descriptor"), d.get("stream_resource"), dumps(d))


TABLES: dict[str, tuple[str, str, str, Callable[[int, dict[str, Any]], _Row]]] = {
    "start": (
        "run_start",
        "uid",
        "(uid, ord, time, scan_id, plan_name, doc, search, text)",
        _start_row,
    ),
    "stop": ("run_stop", "uid", "(uid, ord, run_start, time, doc)", _stop_row),
    "descriptor": (
        "event_descriptor",
        "uid",
        "(uid, ord, run_start, name, time, doc)",
        _descriptor_row,
    ),
    "event": (
        "event",
        "uid",
        "(uid, ord, descriptor, seq_num, time, data, timestamps, filled)",
        event_row,
    ),
    "resource": ("resource", "uid", "(uid, ord, run_start, doc)", _resource_row),
    "datum": ("datum", "datum_id", "(datum_id, ord, resource, doc)", _datum_row),
    "stream_resource": ("stream_resource", "uid", "(uid, ord, run_start, doc)", _resource_row),
    "stream_datum": (
        "stream_datum",
        "uid",
        "(uid, ord, descriptor, stream_resource, doc)",
        _stream_datum_row,
    ),
}


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    """`values` a statement's worth at a time (SQLite limits the parameters of one)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


@functools.lru_cache(maxsize=64)
def insert_sql(kind: str, rows: int = 1) -> str:
    """``INSERT OR IGNORE`` of `rows` rows of a kind in one statement."""
    table, _, cols, _ = TABLES[kind]
    marks = "(" + ", ".join("?" * (cols.count(",") + 1)) + ")"
    return f"INSERT OR IGNORE INTO {table} {cols} VALUES {', '.join([marks] * rows)}"


#: Most ``?`` in one statement (SQLITE_MAX_VARIABLE_NUMBER: 32766 since SQLite 3.32).
_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def insert_rows(conn: sqlite3.Connection, kind: str, rows: Sequence[_Row]) -> None:
    """Insert rows of one kind (``OR IGNORE``: a duplicate uid is left as stored) as few
    multi-row statements. ``executemany`` steps the statement once per row and lets go
    of the GIL each time, so in a worker thread beside a busy event loop every row waits
    for the GIL again; one statement of 1000 rows steps once, and is ~25 % faster
    besides (2.7 against 3.5 us an event row)."""
    if not rows:
        return
    per_statement = max(1, _MAX_VARIABLES // len(rows[0]))
    for i in range(0, len(rows), per_statement):
        chunk = rows[i : i + per_statement]
        conn.execute(insert_sql(kind, len(chunk)), list(chain.from_iterable(chunk)))


#: Columns of ``run_start`` that catalogs written by an older acq lack, and how a row's
#: value is made from its ``doc``: a writable open adds and fills them (`_migrate`); a
#: query reads ``coalesce(column, acq_column(doc))``, so a read-only open of an older
#: catalog, or a row an older writer added since, is searched the same, only slower.
ADDED_COLUMNS: dict[str, Callable[[str], str]] = {
    "search": lambda doc: search_json(json.loads(doc)),
    "text": lambda doc: search_text(json.loads(doc)),
}


def _register_functions(conn: sqlite3.Connection) -> None:
    for column, make in ADDED_COLUMNS.items():
        conn.create_function(f"acq_{column}", 1, make, deterministic=True)


def _missing_columns(conn: sqlite3.Connection) -> list[str]:
    have = {row[1] for row in conn.execute("PRAGMA table_info(run_start)")}
    return [column for column in ADDED_COLUMNS if column not in have]


def _migrate(conn: sqlite3.Connection) -> None:
    """Add to an older catalog's ``run_start`` the columns it lacks, filled."""
    missing = _missing_columns(conn)
    if not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for column in missing:
            conn.execute(f"ALTER TABLE run_start ADD COLUMN {column} TEXT")
        settings = ", ".join(f"{column} = acq_{column}(doc)" for column in missing)
        conn.execute(f"UPDATE run_start SET {settings}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _event_doc(row: sqlite3.Row) -> dict[str, Any]:
    doc = {
        "uid": row["uid"],
        "time": row["time"],
        "seq_num": row["seq_num"],
        "descriptor": row["descriptor"],
        "data": json.loads(row["data"]),
        "timestamps": json.loads(row["timestamps"]),
    }
    if row["filled"] is not None:
        doc["filled"] = json.loads(row["filled"])
    return doc


class SQLiteBackend:
    """See the module docstring. Create with `open_sqlite`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, writable: bool) -> None:
        self.path = path
        self.label = f"sqlite:///{path}"
        self.content_errors = (*CONTENT_ERRORS, sqlite3.InterfaceError)
        self.writable = writable
        self._conn = conn
        self._lock = threading.Lock()
        missing = _missing_columns(conn)
        #: SQL for a start's added columns (see `ADDED_COLUMNS`)
        self._column = {
            c: f"acq_{c}(doc)" if c in missing else f"coalesce({c}, acq_{c}(doc))"
            for c in ADDED_COLUMNS
        }

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with self._lock:
                return fn(*args)

        return await anyio.to_thread.run_sync(locked)

    # -- writing ---------------------------------------------------------------------

    async def store(self, records: Sequence[Record]) -> list[tuple[Record, str]]:
        # Rows are built here, in the loop's thread; the worker only binds and steps the
        # multi-row INSERTs (it lets go of the GIL while SQLite works). Built in the worker,
        # they held the GIL there for ~4 us an event, and journalling in the loop's thread
        # and the worker took turns at it instead of overlapping.
        groups = by_kind(records, TABLES)
        rows = {
            kind: [TABLES[kind][3](seq, doc) for seq, _, doc in group]
            for kind, group in groups.items()
        }
        try:
            return await self._run(self._store, groups, rows)
        except sqlite3.OperationalError as exc:  # locked by another writer, disk full...
            raise BackendUnavailable(f"{self.label}: {exc}") from exc
        except sqlite3.ProgrammingError as exc:
            if "binding" not in str(exc):  # a closed connection, a bug: not the document
                raise
            raise TypeError(str(exc)) from exc  # a value SQLite has no type for

    def _store(
        self, groups: dict[str, list[Record]], rows: dict[str, list[_Row]]
    ) -> list[tuple[Record, str]]:
        conn = self._conn
        conflicts: list[tuple[Record, str]] = []
        conn.execute("BEGIN")
        try:
            for kind, kind_rows in rows.items():
                before = conn.total_changes
                insert_rows(conn, kind, kind_rows)
                if conn.total_changes - before < len(kind_rows):
                    conflicts += self._conflicts(kind, groups[kind])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return conflicts

    def _conflicts(self, kind: str, group: list[Record]) -> list[tuple[Record, str]]:
        """Some rows were ignored as duplicates: the ones whose stored copy differs, and
        any not stored at all (ignored on another unique column: a second stop for a
        run)."""
        out = []
        for record in group:
            doc = record[2]
            stored = self._stored(kind, doc[TABLES[kind][1]])
            if stored is None:
                out.append((record, f"refused: a stored {kind} document holds the same key"))
            elif canonical(stored) != canonical(sanitize(doc)):
                out.append((record, f"stored differently: {stored!r}"))
        return out

    def _stored(self, kind: str, key: str) -> dict[str, Any] | None:
        table, id_col, _, _ = TABLES[kind]
        row = self._conn.execute(f"SELECT * FROM {table} WHERE {id_col} = ?", (key,)).fetchone()
        if row is None:
            return None
        return _event_doc(row) if kind == "event" else json.loads(row["doc"])

    # -- reading ---------------------------------------------------------------------

    def _docs(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._conn.execute(sql, args)]

    async def search(self, query: Query, limit: int, offset: int) -> list[dict[str, Any]]:
        where: list[str] = []
        args: list[Any] = []
        if query.plan_name is not None:
            where.append("plan_name = ?")
            args.append(query.plan_name)
        if query.since is not None:
            where.append("time >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("time < ?")
            args.append(query.until)
        if query.text:
            for word in query.text.split():
                where.append(f"instr({self._column['text']}, ?) > 0")
                args.append(word.casefold())
        for key, value in query.metadata.items():
            clause, values = self._match(key, value)
            where.append(clause)
            args += values
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT doc FROM run_start {clause} ORDER BY {NEWEST} LIMIT ? OFFSET ?"
        try:
            return await self._run(self._docs, sql, [*args, limit, offset])
        except sqlite3.Error as exc:  # a key SQLite cannot make a JSON path of...
            raise StorageError(f"{self.label}: the search failed: {exc}") from exc

    def _match(self, key: str, value: Any) -> tuple[str, list[Any]]:
        """SQL for `storage.backend.matches` on the search column, and its arguments."""
        if isinstance(value, AnyOf):
            clauses, args = [], []
            for one in value:
                clause, values = self._match(key, one)
                clauses.append(clause)
                args += values
            return f"({' OR '.join(clauses) or '0'})", args
        doc = self._column["search"]
        path = "$." + ".".join(f'"{part}"' for part in key.split("."))
        if value is None:
            return f"json_type({doc}, ?) = 'null'", [path]
        if not is_scalar(value):
            kind = "object" if isinstance(value, dict) else "array"
            return (
                f"(json_type({doc}, ?) = '{kind}' AND json_extract({doc}, ?) = json(?))",
                [path, path, search_json({"v": value})[len('{"v":') : -1]],  # as stored
            )
        return (
            f"(CASE json_type({doc}, ?) WHEN 'array' THEN EXISTS (SELECT 1 FROM "
            f"json_each({doc}, ?) AS item WHERE item.type NOT IN ('object', 'array') AND "
            f"item.value = ?) WHEN 'object' THEN 0 ELSE json_extract({doc}, ?) = ? END)",
            [path, path, value, path, value],
        )

    async def start(self, uid: str) -> dict[str, Any] | None:
        docs = await self._run(self._docs, "SELECT doc FROM run_start WHERE uid = ?", [uid])
        return docs[0] if docs else None

    async def starts_with_prefix(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        sql = f"SELECT doc FROM run_start WHERE uid >= ? AND uid < ? ORDER BY {NEWEST} LIMIT ?"
        return await self._run(self._docs, sql, [prefix, prefix + "\U0010ffff", limit])

    async def start_by_scan_id(self, scan_id: int) -> dict[str, Any] | None:
        sql = f"SELECT doc FROM run_start WHERE scan_id = ? ORDER BY {NEWEST} LIMIT 1"
        docs = await self._run(self._docs, sql, [scan_id])
        return docs[0] if docs else None

    async def nth_latest(self, n: int) -> dict[str, Any] | None:
        sql = f"SELECT doc FROM run_start ORDER BY {NEWEST} LIMIT 1 OFFSET ?"
        docs = await self._run(self._docs, sql, [n - 1])
        return docs[0] if docs else None

    async def stops(self, run_uids: Sequence[str]) -> dict[str, dict[str, Any]]:
        marks = ", ".join("?" * len(run_uids))
        sql = f"SELECT doc FROM run_stop WHERE run_start IN ({marks})"
        docs = await self._run(self._docs, sql, list(run_uids))
        return {d["run_start"]: d for d in docs}

    async def descriptors(self, run_uid: str) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM event_descriptor WHERE run_start = ? ORDER BY ord"
        return await self._run(self._docs, sql, [run_uid])

    async def event_rows(
        self, descriptor_uids: Sequence[str], field: str = "data"
    ) -> list[EventRow]:
        if field not in ("data", "timestamps"):
            raise ValueError(f"events have data and timestamps, not {field!r}")

        def read() -> list[EventRow]:
            loads = json.loads
            out: list[EventRow] = []
            for uid in descriptor_uids:
                cursor = self._conn.execute(
                    f"SELECT seq_num, time, {field} FROM event WHERE descriptor = ? "
                    "ORDER BY seq_num",
                    (uid,),
                )
                out += [(s, t, loads(d)) for s, t, d in cursor]
            return out

        return await self._run(read)

    async def run_documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        return await self._run(self._run_documents, run_uid)

    def _run_documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        conn = self._conn
        found: list[tuple[int, str, dict[str, Any]]] = []

        def add(kind: str, sql: str, args: Sequence[Any]) -> None:
            found.extend((o, kind, json.loads(d)) for o, d in conn.execute(sql, args))

        add("start", "SELECT ord, doc FROM run_start WHERE uid = ?", [run_uid])
        add("stop", "SELECT ord, doc FROM run_stop WHERE run_start = ?", [run_uid])
        add("descriptor", "SELECT ord, doc FROM event_descriptor WHERE run_start = ?", [run_uid])
        add("resource", "SELECT ord, doc FROM resource WHERE run_start = ?", [run_uid])
        add(
            "stream_resource",
            "SELECT ord, doc FROM stream_resource WHERE run_start = ?",
            [run_uid],
        )
        descriptors = [d["uid"] for o, k, d in found if k == "descriptor"]
        resources = [d["uid"] for o, k, d in found if k == "resource"]
        for uid in resources:
            add("datum", "SELECT ord, doc FROM datum WHERE resource = ?", [uid])
        for uid in descriptors:
            add("stream_datum", "SELECT ord, doc FROM stream_datum WHERE descriptor = ?", [uid])
            rows = conn.execute("SELECT * FROM event WHERE descriptor = ?", (uid,))
            found.extend((r["ord"], "event", _event_doc(r)) for r in rows)
        # Older data: resources without run_start, found through the events' datums.
        have = {d["datum_id"] for o, k, d in found if k == "datum"}
        for ids in _chunks(sorted(datum_ids((k, d) for o, k, d in found) - have)):
            marks = ",".join("?" * len(ids))
            add("datum", f"SELECT ord, doc FROM datum WHERE datum_id IN ({marks})", ids)
        have = {d["uid"] for o, k, d in found if k == "resource"}
        wanted = {d["resource"] for o, k, d in found if k == "datum"} - have
        for ids in _chunks(sorted(wanted)):
            marks = ",".join("?" * len(ids))
            add("resource", f"SELECT ord, doc FROM resource WHERE uid IN ({marks})", ids)
        found.sort(key=lambda item: item[0])
        return [(kind, doc) for _, kind, doc in found]

    async def close(self) -> None:
        await self._run(self._conn.close)


def _connect(path: Path, read_only: bool, immutable: bool = False) -> sqlite3.Connection:
    if read_only:
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(
            f"file:{path}?{flags}", uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    _register_functions(conn)
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection, also where this user may not write the directory.

    Reading a WAL database needs its ``-shm`` file, which SQLite creates beside it; in a
    read-only directory (an archived catalog, another user's) it cannot. When there is
    no ``-wal`` holding data either, nobody is writing and the file alone is the whole
    catalog: it is opened ``immutable`` (SQLite then takes no locks; a writer that
    starts later, as a user who may, is not seen). With a ``-wal`` but no ``-shm``, the
    latest transactions are in a file SQLite cannot read this way: one clear error."""

    def first_read(conn: sqlite3.Connection) -> sqlite3.Connection:
        try:
            conn.execute("SELECT count(*) FROM run_start").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    try:
        return first_read(_connect(path, read_only=True))
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorname not in _NO_SHM:
            raise
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise CatalogReadOnlyError(
                f"cannot read the catalog sqlite:///{path}: its latest transactions are in "
                f"{wal.name} (a writer is running or was not closed) and SQLite cannot "
                f"create {path.name}-shm in {path.parent}, where this user may not write; "
                "read it as a user who may write there, or once the writer has closed it"
            ) from exc
    return first_read(_connect(path, read_only=True, immutable=True))


#: How a read-only open fails when SQLite cannot create the ``-shm`` file it needs.
_NO_SHM = frozenset(
    ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_READONLY_CANTINIT")
)


async def open_sqlite(path: Path, read_only: bool = False) -> SQLiteBackend:
    """Open (and create, unless read-only) the catalog file; errors name the cause."""

    def open_() -> SQLiteBackend:
        if read_only and not path.exists():
            raise CatalogUnreachableError(
                f"there is no catalog at sqlite:///{path}; check the path (or acquire a run first)"
            )
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CatalogReadOnlyError(
                    f"cannot create the catalog directory {path.parent}: {exc.strerror}"
                ) from exc
        try:
            if read_only:
                conn = _connect_read_only(path)
            else:
                conn = _connect(path, read_only)
                conn.executescript(SCHEMA)
                _migrate(conn)
                for pragma in WRITER_PRAGMAS:
                    conn.execute(pragma)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if read_only:
                raise CatalogUnreachableError(
                    f"cannot read the catalog sqlite:///{path}: {text}"
                ) from exc
            if "readonly" in text or "read-only" in text:
                raise CatalogReadOnlyError(
                    f"the catalog sqlite:///{path} is read-only ({text}); open it with "
                    "?mode=ro to browse, or choose a writable path"
                ) from exc
            raise CatalogUnreachableError(
                f"cannot open the catalog sqlite:///{path}: {text}"
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise CatalogUnreachableError(
                f"sqlite:///{path} is not a usable SQLite catalog: {exc}"
            ) from exc
        return SQLiteBackend(path, conn, writable=not read_only)

    return await anyio.to_thread.run_sync(open_)

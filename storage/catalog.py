"""`open_catalog` and `Catalog`: where runs are written (`catalog.writer`) and found again.

The catalog owns one backend (SQLite file or MongoDB database) and, when writable, one
journal and its `CatalogWriter`. Opening replays what an earlier process left in the
journal, so documents journalled before a crash reach the database on the next open.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from .backend import AnyOf, Backend, Query
from .documents import plain
from .errors import (
    AmbiguousRunError,
    CatalogReadOnlyError,
    DocumentConflictError,
    RunNotFoundError,
    StorageError,
)
from .journal import Journal
from .run import Run
from .writer import CatalogWriter

log = logging.getLogger("storage.catalog")

__all__ = ["Catalog", "open_catalog", "state_dir"]

MIN_PARTIAL_UID = 5
_SEARCHABLE = (str, int, float, bool, type(None), list, dict)


def state_dir() -> Path:
    """``$ACQ_STATE_DIR``, else ``$XDG_STATE_HOME/acq``, else ``~/.local/state/acq``."""
    if os.environ.get("ACQ_STATE_DIR"):
        return Path(os.environ["ACQ_STATE_DIR"]).expanduser()
    if os.environ.get("XDG_STATE_HOME"):
        return Path(os.environ["XDG_STATE_HOME"]).expanduser() / "acq"
    return Path.home() / ".local" / "state" / "acq"


def _sqlite_target(uri: str) -> tuple[Path, bool]:
    """Path and read-only flag of ``sqlite:///path[?mode=ro]`` or a plain path."""
    text = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else uri
    text, _, query = text.partition("?")
    read_only = "mode=ro" in query.split("&")
    return Path(text).expanduser(), read_only


def _mongo_journal_name(uri: str) -> str:
    body = re.sub(r"^mongodb(\+srv)?://([^@/]*@)?", "", uri).split("?")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", body).strip("_") or "mongo"


def _when(value: float | str | _dt.datetime | None) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    return value.timestamp()  # a naive datetime is local time, as the engine's clock


class Catalog:
    """Runs in one database. Use `open_catalog` to make one; ``await catalog.close()``
    (or ``async with``) when done."""

    def __init__(self, backend: Backend, writer: CatalogWriter | None, uri: str) -> None:
        self.backend = backend
        self.uri = uri
        self._writer = writer

    def __repr__(self) -> str:
        return f"<Catalog {self.backend.label}>"

    @property
    def writer(self) -> CatalogWriter:
        """The subscriber: ``RE.subscribe(catalog.writer, critical=True)``."""
        if self._writer is None:
            raise CatalogReadOnlyError(
                f"{self.backend.label} was opened read-only; open it without ?mode=ro to write"
            )
        return self._writer

    async def __aenter__(self) -> Catalog:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self, timeout: float = 30.0) -> None:
        """Store what is still waiting (bounded by `timeout`), release journal and client.

        A writer holding documents that exist only in memory stays open, and so does the
        database client it stores them with (see `CatalogWriter.close`)."""
        try:
            if self._writer is not None:
                await self._writer.close(timeout)
        finally:
            if self._writer is None or self._writer.closed:
                await self.backend.close()

    # -- finding runs --------------------------------------------------------------------

    async def run(self, key: str | int) -> Run:
        """A run by uid, partial uid (>= 5 characters), scan_id, or -N (N-th latest).

        Text as typed on a command line works too: ``"-1"`` is the latest run, and a
        string of digits is a scan_id or the start of a uid (a uid can begin with
        digits); when it is both, `AmbiguousRunError` lists the candidates.
        """
        start = await self._find_start(key)
        stops = await self.backend.stops([start["uid"]])
        run = Run(self.backend, start, stops.get(start["uid"]))
        await run.streams()
        return run

    async def _find_start(self, key: str | int) -> dict[str, Any]:
        backend = self.backend
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise TypeError(f"a run key is a uid, partial uid, scan_id or -N, not {key!r}")
        if isinstance(key, str) and re.fullmatch(r"-[0-9]+", key.strip()):
            key = int(key)
        if isinstance(key, int):
            if key < 0:
                found = await backend.nth_latest(-key)
                if found is None:
                    raise RunNotFoundError(f"there is no run {key} in {backend.label}")
                return found
            found = await backend.start_by_scan_id(key)
            if found is None:
                raise RunNotFoundError(f"no run with scan_id {key} in {backend.label}")
            return found
        by_uid = await self._find_by_uid(key)
        if not key.isdecimal():
            if isinstance(by_uid, Exception):
                raise by_uid
            return by_uid
        scan_id = int(key)
        by_scan_id = await backend.start_by_scan_id(scan_id)
        if by_scan_id is None:
            if isinstance(by_uid, Exception):
                uid_too = (
                    f" and none whose uid starts with {key!r}"
                    if len(key) >= MIN_PARTIAL_UID
                    else ""
                )
                raise RunNotFoundError(f"no run with scan_id {scan_id}{uid_too} in {backend.label}")
            return by_uid
        if isinstance(by_uid, dict) and by_uid["uid"] != by_scan_id["uid"]:
            raise AmbiguousRunError(
                f"{key!r} is scan {scan_id} ({by_scan_id['uid']}) and the start of uid "
                f"{by_uid['uid']} (scan {by_uid.get('scan_id')}); pass the scan_id as a "
                "number or give more characters of the uid"
            )
        if isinstance(by_uid, AmbiguousRunError):
            raise AmbiguousRunError(f"{by_uid.args[0]}; it is also scan {scan_id}")
        return by_scan_id

    async def _find_by_uid(self, key: str) -> dict[str, Any] | RunNotFoundError:
        """The start whose uid is or begins with `key`, else the error saying why not."""
        backend = self.backend
        found = await backend.start(key)
        if found is not None:
            return found
        if len(key) < MIN_PARTIAL_UID:
            return RunNotFoundError(
                f"no run with uid {key!r} in {backend.label}; a partial uid needs at least "
                f"{MIN_PARTIAL_UID} characters"
            )
        matches = await backend.starts_with_prefix(key, limit=11)
        if not matches:
            return RunNotFoundError(f"no run whose uid starts with {key!r} in {backend.label}")
        if len(matches) > 1:
            listed = ", ".join(f"{d['uid']} (scan {d.get('scan_id')})" for d in matches[:10])
            more = " and more" if len(matches) > 10 else ""
            return AmbiguousRunError(
                f"{key!r} matches {len(matches)}{'+' if more else ''} runs: {listed}{more}; "
                "give more characters of the uid"
            )
        return matches[0]

    async def search(
        self,
        text: str | None = None,
        *,
        plan_name: str | None = None,
        since: float | str | _dt.datetime | None = None,
        until: float | str | _dt.datetime | None = None,
        limit: int = 20,
        offset: int = 0,
        **metadata: Any,
    ) -> list[Run]:
        """Runs matching every criterion, newest first, `limit` from `offset`.

        `text`: words that must all appear in the start document's values (each a
        case-insensitive substring); `metadata`: key/value matches on start fields
        (``sample="Si"``; nested keys with ``**{"md.key": value}``), see
        `storage.backend.matches`: a value equals the stored one or an item of a stored
        list, None only an explicit null, a dict or list the whole stored value,
        ``AnyOf([...])`` any of its values;
        `since`/`until`: epoch seconds, ISO strings or datetimes.
        """
        if limit < 1 or offset < 0:
            raise ValueError(f"search needs limit >= 1 and offset >= 0, got {limit}, {offset}")
        metadata = {  # numpy values made plain, tuples lists
            k: AnyOf(map(plain, v)) if isinstance(v, AnyOf) else plain(v)
            for k, v in metadata.items()
        }
        for key, value in metadata.items():
            for one in value if isinstance(value, AnyOf) else [value]:
                if not isinstance(one, _SEARCHABLE):
                    raise TypeError(
                        f"search {key}={one!r}: a metadata value is text, a number, a "
                        "bool, None, a list or a dict (or AnyOf such values)"
                    )
        query = Query(plan_name, _when(since), _when(until), text, metadata)
        starts = await self.backend.search(query, limit, offset)
        stops = await self.backend.stops([s["uid"] for s in starts]) if starts else {}
        return [Run(self.backend, s, stops.get(s["uid"])) for s in starts]


async def open_catalog(
    uri: str | os.PathLike[str] | Any,
    *,
    read_only: bool = False,
    journal: str | os.PathLike[str] | None = None,
    timeout: float = 5.0,
    read_timeout: float = 60.0,
    replay_timeout: float = 60.0,
    batch_size: int = 1000,
    sync_interval: float = 0.05,
    max_delay: float = 0.5,
    store_timeout: float = 10.0,
    max_in_memory: int = 50_000,
) -> Catalog:
    """Open a catalog: ``sqlite:///path`` (or a plain path), ``mongodb://host/db``, or a
    pymongo-async / motor database object.

    Checks at once that the database answers (within `timeout` seconds) and takes writes,
    and that the journal can be written; raises one `StorageError` subclass naming the
    cause otherwise. A read may take longer, but a server that sends nothing for
    `read_timeout` seconds fails it. Documents an earlier process left in the journal
    are stored before this returns (bounded by `replay_timeout`).

    ``read_only=True`` (or ``sqlite:///path?mode=ro``) opens for reading only: no
    journal, no writer, nothing created; for browsing while another process acquires.

    Writer tuning (see `CatalogWriter`): `batch_size` documents per insert, journal
    written at most `sync_interval` s after a document arrives (the most a SIGKILL can
    lose), database batches at least every `max_delay` s, each within `store_timeout` s;
    at most `max_in_memory` documents waiting for the database are held in memory (the
    rest wait in the journal only, and are read back from it).
    """
    from .mongo import MongoBackend, open_mongo
    from .sqlite import open_sqlite

    backend: Backend
    if isinstance(uri, str) and uri.startswith(("mongodb://", "mongodb+srv://")):
        backend = await open_mongo(uri, timeout, read_only, read_timeout)
        label = uri
        default_journal = state_dir() / "journal" / f"{_mongo_journal_name(uri)}.journal"
    elif isinstance(uri, str | os.PathLike):
        path, ro_uri = _sqlite_target(os.fspath(uri))
        read_only = read_only or ro_uri
        backend = await open_sqlite(path, read_only)
        label = f"sqlite:///{path}"
        default_journal = path.with_name(path.name + ".journal")
    elif hasattr(uri, "get_collection") and hasattr(uri, "command"):
        backend = await open_mongo(uri, timeout, read_only, read_timeout)
        label = backend.label
        default_journal = state_dir() / "journal" / f"{getattr(uri, 'name', 'mongo')}.journal"
    else:
        raise TypeError(
            f"open_catalog needs 'sqlite:///path', a path, 'mongodb://host/db' or a Mongo "
            f"database object, not {uri!r}"
        )
    if read_only:
        return Catalog(backend, None, label)
    try:
        journal_ = Journal(Path(journal).expanduser() if journal else default_journal)
    except StorageError:
        await backend.close()
        raise
    if isinstance(backend, MongoBackend):
        backend.id_tag = journal_.tag
    writer = CatalogWriter(
        backend,
        journal_,
        batch_size=batch_size,
        sync_interval=sync_interval,
        max_delay=max_delay,
        store_timeout=store_timeout,
        max_in_memory=max_in_memory,
    )
    try:
        if writer.load_pending():
            await _replay(writer, replay_timeout)
    except BaseException:
        await writer.shut()  # its store task too
        await backend.close()
        raise
    return Catalog(backend, writer, label)


async def _replay(writer: CatalogWriter, timeout: float) -> None:
    """Store what an earlier process journalled. Its conflicts are not this process's:
    logged (the store task did, and kept them in ``<journal>.rejected``) and passed over,
    so one refused document cannot keep the catalog from opening."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await writer.flush(max(0.0, deadline - time.monotonic()))
            return
        except DocumentConflictError as exc:
            log.warning("replaying the journal %s: %s", writer.journal.path, exc)

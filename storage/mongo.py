"""The facility catalog: MongoDB in databroker's ``mongo_normalized`` layout.

Collections ``run_start``, ``run_stop``, ``event_descriptor``, ``event``, ``resource``,
``datum`` (what databroker 2 / tiled read) plus ``stream_resource`` and ``stream_datum``;
one Mongo document per Event and per Datum, numpy values made plain, and the indexes
suitcase-mongo's ``mongo_normalized.Serializer`` creates. Documents carry no extra field
except ``_id``: the writer derives it from its emission sequence and its journal
(`object_id`), so sorting a run's documents by ``_id`` replays them in emission order, a
replay of the journal by a later process hits the same ``_id``, and two writers into one
database never share one. ``resource`` has no unique index on uid (databroker's layout),
so resources are looked up by uid before they are inserted: a run stored twice (imported
again, or replayed from a journal that lost its ``.id``) keeps one copy.

Reads are plain ``find`` queries (no aggregation pipelines): they work on MongoDB and on
Mongo-wire servers with partial aggregation support such as nx-27017. Every operation
is bounded by ``anyio.fail_after``.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Sequence
from typing import Any

import anyio
from bson import ObjectId
from bson.codec_options import TypeRegistry
from bson.errors import InvalidDocument

from .backend import (
    CONTENT_ERRORS,
    AnyOf,
    BackendUnavailable,
    EventRow,
    Query,
    by_kind,
    is_scalar,
    matches,
)
from .documents import canonical, datum_ids, id_field, plain, search_text, text_matches
from .errors import (
    CatalogAuthError,
    CatalogReadOnlyError,
    CatalogUnreachableError,
    StorageError,
)
from .journal import Record

__all__ = ["MongoBackend", "object_id", "open_mongo"]

log = logging.getLogger("storage.mongo")

COLLECTIONS = {
    "start": "run_start",
    "stop": "run_stop",
    "descriptor": "event_descriptor",
    "event": "event",
    "resource": "resource",
    "datum": "datum",
    "stream_resource": "stream_resource",
    "stream_datum": "stream_datum",
}

ASC, DESC = 1, -1

# (collection, keys, options): suitcase-mongo's mongo_normalized indexes, then ours for
# the two stream collections. The "$**" text indexes are created where the server can.
INDEXES: list[tuple[str, Any, dict[str, Any]]] = [
    ("resource", "uid", {"unique": False}),
    ("resource", "resource_id", {}),
    ("datum", "datum_id", {"unique": True}),
    ("datum", "resource", {}),
    ("run_start", "uid", {"unique": True}),
    ("run_start", "scan_id", {"unique": False}),
    ("run_start", [("time", DESC), ("scan_id", DESC)], {"unique": False, "background": True}),
    ("run_start", "data_session", {"unique": False}),
    ("run_start", "data_groups", {"unique": False}),
    ("run_stop", "run_start", {"unique": True}),
    ("run_stop", "uid", {"unique": True}),
    ("run_stop", [("time", DESC)], {"unique": False, "background": True}),
    ("event_descriptor", "uid", {"unique": True}),
    (
        "event_descriptor",
        [("run_start", DESC), ("time", DESC)],
        {"unique": False, "background": True},
    ),
    ("event_descriptor", [("time", DESC)], {"unique": False, "background": True}),
    ("event", "uid", {"unique": True}),
    ("event", [("descriptor", DESC), ("time", ASC)], {"unique": False, "background": True}),
    ("stream_resource", "uid", {"unique": True}),
    ("stream_resource", "run_start", {}),
    ("stream_datum", "uid", {"unique": True}),
    ("stream_datum", "descriptor", {}),
]
TEXT_INDEXES = ["run_start", "run_stop", "event_descriptor"]

_NO_ID = {"_id": False}
#: "Newest first" for run starts: by start time, then by ``_id`` (the writer's emission
#: order), so starts of the same time come back in the same order as from SQLite.
NEWEST = [("time", DESC), ("_id", DESC)]
_NO_UNIQUE_UID = frozenset(("resource",))  # kinds whose collection may hold a uid twice
_CHUNK = 10_000  # documents per bounded read


def object_id(seq: int, tag: int = 0) -> ObjectId:
    """A Mongo ``_id`` that sorts like the emission sequence and dates like the document.

    4 bytes of epoch seconds (what ObjectId.generation_time reads), 4 bytes of the
    nanoseconds within that second (the sequence is a clock reading in ns, strictly
    increasing per writer), then 4 bytes of `tag`, the writer's journal (`Journal.tag`):
    two writers into one database read their clocks independently, and at a thousand
    documents a second each, two readings are equal every few minutes.
    """
    seconds, nanoseconds = divmod(seq, 1_000_000_000)
    return ObjectId(struct.pack(">III", seconds & 0xFFFFFFFF, nanoseconds, tag & 0xFFFFFFFF))


def _is_transient(exc: BaseException) -> bool:
    from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout, NetworkTimeout

    return isinstance(exc, AutoReconnect | ConnectionFailure | ExecutionTimeout | NetworkTimeout)


class MongoBackend:
    """See the module docstring. Create with `open_mongo`."""

    writable = True

    def __init__(
        self, db: Any, label: str, timeout: float, client: Any = None, read_timeout: float = 60.0
    ) -> None:
        self.db = db
        self.label = label
        self.content_errors = (*CONTENT_ERRORS, InvalidDocument)  # a value BSON cannot hold
        self.timeout = timeout
        self.read_timeout = max(read_timeout, timeout)
        self.has_text_index = False
        self.id_tag = 0  # set to the writer's `Journal.tag` by open_catalog
        self._client = client  # closed by us only when we created it
        # Inserts make numpy values plain inside the BSON encoder (called only for what
        # BSON cannot encode): a document is not copied value by value before encoding,
        # which cost ~1.3 us an event on the engine's thread.
        self._insert_options = db.codec_options.with_options(
            type_registry=TypeRegistry(fallback_encoder=plain)
        )

    def _col(self, name: str) -> Any:
        return self.db.get_collection(name)

    async def _find(
        self,
        collection: str,
        flt: dict[str, Any],
        projection: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        keep_id: bool = False,
    ) -> list[dict[str, Any]]:
        """Documents of `collection` matching `flt`. A server that does not answer within
        `read_timeout` (or a lost connection) raises `CatalogUnreachableError`, one that
        refuses the query `StorageError`; both name the server."""
        from pymongo.errors import PyMongoError

        if keep_id:
            projection = None
        elif projection is None:
            projection = _NO_ID
        try:
            cursor = self._col(collection).find(flt, projection, batch_size=10_000)
            if sort:
                cursor = cursor.sort(sort)
            if skip:
                cursor = cursor.skip(skip)
            if limit:
                cursor = cursor.limit(limit)
            # Bounded per chunk, not in total: a 100,000-event stream may take a while to
            # read, but a server that stops answering fails within `read_timeout`.
            found: list[dict[str, Any]] = []
            while True:
                with anyio.fail_after(self.read_timeout):
                    chunk = await cursor.to_list(_CHUNK)
                found += chunk
                if len(chunk) < _CHUNK or (limit and len(found) >= limit):
                    return found
        except TimeoutError as exc:
            raise CatalogUnreachableError(
                f"{self.label} did not answer a read of {collection} within "
                f"{self.read_timeout} s; is the server running and reachable?"
            ) from exc
        except PyMongoError as exc:
            text = str(exc).split(", full error")[0] or type(exc).__name__
            if _is_transient(exc):
                raise CatalogUnreachableError(
                    f"{self.label} did not answer a read of {collection} ({text}); is the "
                    "server running and reachable?"
                ) from exc
            raise StorageError(f"{self.label} refused a query on {collection}: {text}") from exc

    # -- writing ---------------------------------------------------------------------

    async def store(self, records: Sequence[Record]) -> list[tuple[Record, str]]:
        from pymongo.errors import BulkWriteError, PyMongoError

        conflicts: list[tuple[Record, str]] = []
        for kind, group in by_kind(records, COLLECTIONS).items():
            if kind in _NO_UNIQUE_UID:
                try:
                    group, refused = await self._not_stored_yet(kind, group)
                except (StorageError, PyMongoError, TimeoutError) as exc:
                    raise BackendUnavailable(
                        f"{self.label}: looking for stored {kind} documents: "
                        f"{exc or type(exc).__name__}"
                    ) from exc
                conflicts += refused
                if not group:
                    continue
            tag = self.id_tag
            docs = [{"_id": object_id(seq, tag), **doc} for seq, _, doc in group]
            collection = self.db.get_collection(
                COLLECTIONS[kind], codec_options=self._insert_options
            )
            try:
                with anyio.fail_after(self.timeout):
                    await collection.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                duplicates: list[tuple[Record, str]] = []
                for error in exc.details.get("writeErrors", []):
                    record = group[error["index"]]
                    if error.get("code") == 11000:
                        duplicates.append((record, str(error.get("errmsg"))))
                    else:  # the server will never take this one (e.g. a value it cannot hold)
                        conflicts.append((record, f"refused: {error.get('errmsg')}"))
                try:  # (an outage here is an outage, not a refusal)
                    conflicts += await self._conflicts(kind, duplicates)
                except (StorageError, PyMongoError, TimeoutError) as lookup:
                    raise BackendUnavailable(
                        f"{self.label}: checking {len(duplicates)} duplicate {kind} "
                        f"documents: {lookup or type(lookup).__name__}"
                    ) from lookup
            except TimeoutError as exc:
                raise BackendUnavailable(
                    f"{self.label} did not store {len(docs)} {kind} documents within "
                    f"{self.timeout} s"
                ) from exc
            except PyMongoError as exc:
                raise BackendUnavailable(f"{self.label}: {exc}") from exc
        return conflicts

    async def _not_stored_yet(
        self, kind: str, group: list[Record]
    ) -> tuple[list[Record], list[tuple[Record, str]]]:
        """For a collection whose uid index is not unique (``resource``, as databroker
        made it): the records not stored yet, and those that differ from the stored copy.
        The ``_id`` catches a replay of the same journal; this catches the rest (a run
        imported again, a journal replayed without its ``.id``)."""
        uids = list({doc["uid"] for _, _, doc in group})
        stored = {d["uid"]: d for d in await self._find(COLLECTIONS[kind], {"uid": {"$in": uids}})}
        new: list[Record] = []
        refused: list[tuple[Record, str]] = []
        for record in group:
            doc = record[2]
            copy = stored.get(doc["uid"])
            if copy is None:
                stored[doc["uid"]] = doc  # a second copy in this batch is a duplicate too
                new.append(record)
            elif canonical(copy) != canonical(doc):
                refused.append((record, f"stored differently: {copy!r}"))
        return new, refused

    async def _conflicts(
        self, kind: str, duplicates: list[tuple[Record, str]]
    ) -> list[tuple[Record, str]]:
        """Of records the server refused as duplicates, those whose stored copy differs.
        Two queries however many (a replay after a crash re-sends a whole batch): by uid,
        then by ``_id`` (the emission slot) for those not found by uid. A duplicate found
        by neither collided on another unique index (a second stop for a run)."""
        if not duplicates:
            return []
        collection, key = COLLECTIONS[kind], id_field(kind)
        keys = [record[2][key] for record, _ in duplicates]
        stored = {d[key]: d for d in await self._find(collection, {key: {"$in": keys}})}
        by_slot: dict[Any, dict[str, Any]] = {}
        tag = self.id_tag
        unknown = [
            object_id(record[0], tag) for record, _ in duplicates if record[2][key] not in stored
        ]
        if unknown:
            found = await self._find(collection, {"_id": {"$in": unknown}}, keep_id=True)
            by_slot = {d["_id"]: d for d in found}
        out = []
        for record, why in duplicates:
            seq, _, doc = record
            copy = stored.get(doc[key]) or by_slot.get(object_id(seq, tag))
            if copy is None:
                out.append((record, f"refused as a duplicate: {why}"))
            elif canonical(copy) != canonical(doc):
                out.append((record, f"stored differently: {copy!r}"))
        return out

    # -- reading ---------------------------------------------------------------------

    async def search(self, query: Query, limit: int, offset: int) -> list[dict[str, Any]]:
        flt: dict[str, Any] = {}
        if query.plan_name is not None:
            flt["plan_name"] = query.plan_name
        if query.since is not None or query.until is not None:
            span: dict[str, float] = {}
            if query.since is not None:
                span["$gte"] = query.since
            if query.until is not None:
                span["$lt"] = query.until
            flt["time"] = span
        # A scalar is matched by the server (``{key: value}`` finds it alone or in a list,
        # as `matches` means); None, dicts and lists here, by `matches` itself: MongoDB's
        # null matches a missing key too, its dict equality depends on key order, and
        # nx-27017 refuses some of those queries.
        here: dict[str, Any] = {}
        conditions = [flt]
        for key, value in query.metadata.items():
            if is_scalar(value):
                conditions.append({key: value})
            elif isinstance(value, AnyOf) and all(map(is_scalar, value)):
                conditions.append({key: {"$in": list(value)}})
            else:
                here[key] = value
        text_here = bool(query.text) and not self.has_text_index
        if query.text and self.has_text_index:
            flt["$text"] = {"$search": query.text}
        if len(conditions) > 1:
            flt = {"$and": [c for c in conditions if c]}
        if not here and not text_here:
            return await self._find("run_start", flt, sort=NEWEST, skip=offset, limit=limit)
        hits = [
            doc
            for doc in await self._find("run_start", flt, sort=NEWEST)
            if all(matches(doc, key, value) for key, value in here.items())
            and (not text_here or text_matches(search_text(doc), query.text or ""))
        ]
        return hits[offset : offset + limit]

    async def start(self, uid: str) -> dict[str, Any] | None:
        found = await self._find("run_start", {"uid": uid}, limit=1)
        return found[0] if found else None

    async def starts_with_prefix(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        flt = {"uid": {"$regex": "^" + re.escape(prefix)}}
        return await self._find("run_start", flt, sort=NEWEST, limit=limit)

    async def start_by_scan_id(self, scan_id: int) -> dict[str, Any] | None:
        found = await self._find("run_start", {"scan_id": scan_id}, sort=NEWEST, limit=1)
        return found[0] if found else None

    async def nth_latest(self, n: int) -> dict[str, Any] | None:
        found = await self._find("run_start", {}, sort=NEWEST, skip=n - 1, limit=1)
        return found[0] if found else None

    async def stops(self, run_uids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = await self._find("run_stop", {"run_start": {"$in": list(run_uids)}})
        return {d["run_start"]: d for d in found}

    async def descriptors(self, run_uid: str) -> list[dict[str, Any]]:
        return await self._find("event_descriptor", {"run_start": run_uid}, sort=[("time", ASC)])

    async def event_rows(
        self, descriptor_uids: Sequence[str], field: str = "data"
    ) -> list[EventRow]:
        projection = {"_id": False, "seq_num": True, "time": True, field: True}
        found = await self._find(
            "event", {"descriptor": {"$in": list(descriptor_uids)}}, projection
        )
        return [(d["seq_num"], d["time"], d[field]) for d in found]

    async def run_documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[Any, str, dict[str, Any]]] = []

        async def add(kind: str, flt: dict[str, Any]) -> list[dict[str, Any]]:
            docs = await self._find(COLLECTIONS[kind], flt, keep_id=True)
            found.extend((d.pop("_id"), kind, d) for d in docs)
            return docs

        await add("start", {"uid": run_uid})
        await add("stop", {"run_start": run_uid})
        descriptors = [d["uid"] for d in await add("descriptor", {"run_start": run_uid})]
        resources = [d["uid"] for d in await add("resource", {"run_start": run_uid})]
        await add("stream_resource", {"run_start": run_uid})
        if resources:
            await add("datum", {"resource": {"$in": resources}})
        if descriptors:
            await add("event", {"descriptor": {"$in": descriptors}})
            await add("stream_datum", {"descriptor": {"$in": descriptors}})
        # Older data: resources without run_start, found through the events' datums.
        have = {d["datum_id"] for _, k, d in found if k == "datum"}
        wanted = sorted(datum_ids((k, d) for _, k, d in found) - have)
        if wanted:
            await add("datum", {"datum_id": {"$in": wanted}})
        have = {d["uid"] for _, k, d in found if k == "resource"}
        wanted = sorted({d["resource"] for _, k, d in found if k == "datum"} - have)
        if wanted:
            await add("resource", {"uid": {"$in": wanted}})
        found.sort(key=lambda item: item[0])
        return [(kind, doc) for _, kind, doc in found]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    # -- setup -----------------------------------------------------------------------

    async def detect_text_index(self) -> None:
        with anyio.fail_after(self.timeout):
            indexes = await self._col("run_start").index_information()
        self.has_text_index = any(
            "text" in [str(kind) for _, kind in spec.get("key", [])] for spec in indexes.values()
        )

    async def create_indexes(self) -> None:
        for collection, keys, options in INDEXES:
            with anyio.fail_after(self.timeout):
                await self._col(collection).create_index(keys, **options)
        for collection in TEXT_INDEXES:
            try:
                with anyio.fail_after(self.timeout):
                    await self._col(collection).create_index([("$**", "text")])
            except Exception as exc:  # an optional feature: logged, not fatal
                if _is_transient(exc):
                    raise
                log.info(
                    "%s has no text index on %s (%s); full-text search filters run "
                    "start documents in Python instead",
                    self.label,
                    collection,
                    str(exc).split(", full error")[0],
                )
            else:
                if collection == "run_start":
                    self.has_text_index = True


def _classify(label: str, exc: BaseException, timeout: float) -> StorageError:
    from pymongo.errors import OperationFailure

    if isinstance(exc, OperationFailure):
        code = exc.code or 0
        text = str(exc).lower()
        # "not authorized" (13: this user may not do that) is no login failure (18)
        unauthorized = code == 13 or "not authorized" in text
        if code == 18 or (not unauthorized and "authentication" in text):
            return CatalogAuthError(
                f"{label} refused the credentials in the URI ({exc}); check user and "
                "password (and authSource)"
            )
        if unauthorized or "read-only" in text:
            return CatalogReadOnlyError(
                f"{label} does not let this user write ({exc}); ask for readWrite on the "
                "database or open the catalog for reading only"
            )
    if isinstance(exc, TimeoutError) or _is_transient(exc):
        return CatalogUnreachableError(
            f"no MongoDB server answered at {label} within {timeout} s ({type(exc).__name__}); "
            "is it running, and is the host/port right?"
        )
    return CatalogUnreachableError(f"cannot use the catalog {label}: {exc}")


def _label(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)  # never print a password


async def open_mongo(
    target: Any, timeout: float = 5.0, read_only: bool = False, read_timeout: float = 60.0
) -> MongoBackend:
    """Connect to a ``mongodb://`` URI (or wrap a pymongo-async or motor database),
    check that the server answers and takes writes, and create the indexes."""
    client: Any = None
    if isinstance(target, str):
        from pymongo import AsyncMongoClient, uri_parser

        parsed = uri_parser.parse_uri(target)
        label = _label(target)
        ms = int(timeout * 1000)
        client = AsyncMongoClient(
            target,
            serverSelectionTimeoutMS=ms,
            connectTimeoutMS=ms,
            socketTimeoutMS=max(ms, 30_000),
            tz_aware=False,
        )
        db = client.get_database(parsed.get("database") or "acq")
    else:
        db = target
        label = f"mongodb database {getattr(db, 'name', db)!r}"
    backend = MongoBackend(db, label, timeout, client, read_timeout)
    backend.writable = not read_only
    try:
        with anyio.fail_after(timeout * 2):
            await db.command("ping")
            if read_only:
                await backend.detect_text_index()
            else:
                await backend.create_indexes()
    except Exception as exc:
        if client is not None:
            await client.close()
        raise _classify(label, exc, timeout) from exc
    return backend

"""The local write-ahead journal: every document reaches this file before the database.

A journal is one append-only file of frames ``<length u32><crc32 u32><pickle>``; each
frame holds the records ``(seq, name, doc)`` appended since the previous write (one
frame per write, so a record costs one list append until then). A sidecar file
``<journal>.stored`` holds the byte offset up to which the database has every record
(the end of the last frame it holds completely; written after each stored batch, not
fsynced: if it lags, replay re-sends documents the database has, and identical
duplicates are accepted). When the database has caught up the journal is truncated;
while newer frames follow (a long run), the disk blocks of stored frames are freed every
16 MB (a hole punched at the start of the file; its size stays).

Why pickle: it round-trips numpy values, NaN and tuples exactly, costs about half a
microsecond per event (fast mode: no memo), and the file never leaves the machine that
wrote it. (Not marshal, which is no faster and silently writes numpy values as bytes.)

A torn last frame (the process died mid-write) fails its CRC and is dropped with a log
line; frames before it are intact. A write that fails part-way (the disk filled up) is
cut off again at once, so a later write lands right after the last whole frame; the
records it held stay appended, for the next write. One process at a time: the file is
locked (flock).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import io
import logging
import mmap
import os
import pickle
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import JournalError

__all__ = ["UNJOURNALLABLE", "UNREADABLE", "Journal", "Record"]

log = logging.getLogger("storage.journal")

_HEADER = struct.Struct("<II")
_PAYLOAD_START = b"\x80\x05"  # pickle protocol 5: every frame's payload begins so
_END, _TORN, _NOT_A_FRAME = "end", "torn", "not a frame"  # what `_read_frame` finds
_MARK = "{:20d}\n"  # the .stored file: a byte offset, padded to a fixed width
_PUNCH_STEP = 16 << 20  # free the disk blocks of stored frames every 16 MB of them


def _punch_hole(fd: int, offset: int, length: int) -> None:
    """Free the disk blocks of a byte range, keeping the file's size (Linux
    ``fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)``). Raises OSError."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong)
    if libc.fallocate(fd, 0x02 | 0x01, offset, length) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


#: One journalled document, ``(seq, name, doc)``; `seq` orders documents across kinds
#: (emission order). A plain tuple, not a NamedTuple: pickle writes a plain tuple in C,
#: a NamedTuple through its ``__reduce__`` (about 0.2 us a document more, converting).
Record = tuple[int, str, dict[str, Any]]


def _encode(records: list[Record]) -> bytes:
    """A frame's payload: pickle in fast mode (no memo), about twice as fast as a plain
    ``pickle.dumps`` for event documents. Documents are trees; one that is not (a cycle
    makes fast mode raise ValueError) is pickled the ordinary way."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True
    try:
        pickler.dump(records)
    except ValueError:
        return pickle.dumps(records, protocol=5)
    return buffer.getvalue()


#: The kind of a record journalled in place of a document pickle cannot write.
UNJOURNALLABLE = "unjournallable"
#: The kind of what `Journal.read_back` gives in place of records it cannot read back.
UNREADABLE = "unreadable"


def _stand_in(record: Record) -> Record:
    """`record`, or if pickle cannot write it a stand-in of the same place in the journal
    (the count of records must not change) that no backend stores: the document itself
    is stored from memory, and a crash before that loses it (logged here, and again by
    whoever finds the stand-in)."""
    try:
        pickle.dumps(record, protocol=5)
        return record
    except Exception as exc:
        seq, name, doc = record
        reason = f"{type(exc).__name__}: {exc}"
        log.error("cannot journal the %s %r (%s): %r", name, doc.get("uid"), reason, doc)
        return (seq, UNJOURNALLABLE, {"name": name, "uid": doc.get("uid"), "error": reason})


def _journal_error(path: Path, action: str, exc: OSError) -> JournalError:
    hint = {
        errno.ENOSPC: "the disk is full; free space or point the journal elsewhere "
        "(open_catalog(..., journal=PATH))",
        errno.EACCES: "no permission; choose a writable journal path",
        errno.EROFS: "the file system is read-only; choose a writable journal path",
    }.get(exc.errno or 0, "check the path and the disk")
    return JournalError(f"cannot {action} the storage journal {path}: {exc.strerror}; {hint}")


class Journal:
    """An open, locked journal file. Not thread-safe; one owner (the catalog writer)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._mark_path = self.path.with_name(self.path.name + ".stored")
        self._id_path = self.path.with_name(self.path.name + ".id")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise _journal_error(self.path, "create", exc) from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            raise JournalError(
                f"the storage journal {self.path} is in use by another catalog (in this or "
                "another process); close that catalog first, or give this one its own "
                "journal=PATH"
            ) from exc
        #: appended, not yet written (the writer appends to this list directly)
        self.unwritten_records: list[Record] = []
        self._records = 0  # records written (or replayed) since open
        self._frames: deque[tuple[int, int]] = deque()  # (end offset, records through it)
        self._frames_base = 0  # records before the first frame in `_frames` (stored ones)
        self.size = os.fstat(self._fd).st_size  # bytes in the file (written)
        mark = self._read_mark()
        self._mark_beyond_end = mark > self.size  # left from before a truncation
        self.stored = min(mark, self.size)
        self._freed = 0  # bytes at the start whose disk blocks were freed (a hole)
        self._can_free = True  # False on a file system without holes
        self._torn: JournalError | None = None  # a failed write left bytes that stay
        #: seq -> document that has a stand-in in the file (until the file is emptied)
        self._originals: dict[int, Record] = {}
        self._probe()

    def _probe(self) -> None:
        """Fail at open, not mid-run, if the journal cannot be written (full, read-only)."""
        try:
            os.write(self._fd, b"")
            os.fsync(self._fd)
            self._mark_fd = os.open(self._mark_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            os.close(self._fd)
            raise _journal_error(self.path, "write", exc) from exc

    @property
    def tag(self) -> int:
        """32 random bits made when the journal was first created, kept beside it in
        ``<journal>.id`` (copy it with the journal): the Mongo backend puts it in every
        ``_id``, so writers with different journals never share one, and a replay of
        this journal, wherever it runs, hits the same ones. A journal that lost it
        gets a new one: documents it replays are then recognised by uid instead."""
        try:
            return int(self._id_path.read_text().strip(), 16)
        except FileNotFoundError as exc:
            problem: Exception | None = exc if self.size > self.stored else None
        except (OSError, ValueError) as exc:
            problem = exc
        if problem is not None:
            log.warning(
                "the storage journal's id %s is missing or unreadable (%s); a new one is "
                "made. Documents replayed from %s that the database already has are "
                "recognised by their uid, not their _id",
                self._id_path,
                problem,
                self.path,
            )
        tag = int.from_bytes(os.urandom(4), "big")
        partial = self._id_path.with_name(self._id_path.name + ".new")
        try:  # whole or not at all: a torn id would be replaced at the next open
            partial.write_text(f"{tag:08x}\n")
            os.replace(partial, self._id_path)
        except OSError as exc:
            raise _journal_error(self._id_path, "write", exc) from exc
        return tag

    def _read_mark(self) -> int:
        try:
            return int(self._mark_path.read_text() or 0)
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            log.warning("unreadable journal mark %s (%s): replaying all", self._mark_path, exc)
            return 0

    # -- writing ---------------------------------------------------------------------

    def append(self, record: Record) -> None:
        """Keep one record for the next `write`."""
        self.unwritten_records.append(record)

    def write(self) -> None:
        """Hand the appended records to the OS as one frame (they survive a SIGKILL from
        here on)."""
        records = self.unwritten_records
        if not records:
            return
        if self._torn is not None:
            raise self._torn
        try:
            payload = _encode(records)
        except Exception:  # a document pickle cannot write (it holds a lock, ...)
            for i, record in enumerate(records):
                stand_in = _stand_in(record)
                if stand_in is not record:  # the document stays here, for `read_back`
                    self._originals[record[0]] = record
                    records[i] = stand_in
            payload = _encode(records)
        data = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        written = 0
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                written += n
                view = view[n:]
        except OSError as exc:
            error = _journal_error(self.path, "write", exc)
            if written:
                self._cut_partial_frame(error)
            raise error from exc
        self.size += len(data)
        self._records += len(records)
        self._frames.append((self.size, self._records))
        records.clear()

    def _cut_partial_frame(self, error: JournalError) -> None:
        """A write failed part-way: cut the file back to its last whole frame, or (if
        even that fails) refuse further writes, which would follow unreadable bytes."""
        try:
            os.ftruncate(self._fd, self.size)
        except OSError as exc:
            self._torn = JournalError(
                f"{error}; and its partly written frame at byte {self.size} cannot be "
                f"removed ({exc.strerror}), so nothing more can be appended to it: "
                "open the catalog again (the next open drops the partial frame)"
            )

    def forget_stored(self, stored: int) -> None:
        """The database holds the first `stored` records, some of them never written
        here (the journal could not be written): drop those from `unwritten_records`,
        counted as a frame of no bytes, so the next write holds only unstored ones."""
        n = min(stored - self._records, len(self.unwritten_records))
        if n <= 0:
            return
        del self.unwritten_records[:n]
        self._records += n
        self._frames.append((self.size, self._records))

    def sync(self) -> None:
        """Write and fsync (they survive a power cut from here on)."""
        self.write()
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise _journal_error(self.path, "sync", exc) from exc

    def mark_stored(self, records: int) -> None:
        """The database holds the first `records` records (counted from this journal's
        open, replayed ones first); truncate the file when it holds all."""
        advanced = False
        while self._frames and self._frames[0][1] <= records:
            self.stored, self._frames_base = self._frames.popleft()
            advanced = True
        if not advanced:
            return
        # The mark is written first, so that a SIGKILL between the two steps leaves it
        # behind the file (a replay re-sends stored documents), never pointing past a
        # truncation or into a freed hole. Overwritten in place, fixed width: rewriting
        # the file (open, truncate, write) costs ~150 us on ext4, which flushes a file
        # replaced that way.
        try:
            if self.stored >= self.size:
                os.pwrite(self._mark_fd, _MARK.format(0).encode(), 0)
                os.ftruncate(self._fd, 0)
                self.size = self.stored = self._freed = 0
                self._torn = None  # a partial frame that could not be cut is gone too
                self._originals.clear()
                return
            os.pwrite(self._mark_fd, _MARK.format(self.stored).encode(), 0)
            if self._can_free and self.stored - self._freed >= _PUNCH_STEP:
                self._free_stored()
        except OSError as exc:
            raise _journal_error(self.path, "update", exc) from exc

    def _free_stored(self) -> None:
        """The database has the first `stored` bytes but newer frames follow them (a
        long run keeps a batch in flight while the next is journalled, so the file is
        truncated only at the run's end): give their disk space back. Best effort."""
        try:
            _punch_hole(self._fd, self._freed, self.stored - self._freed)
        except (OSError, AttributeError) as exc:  # a file system without holes
            log.info("cannot free stored journal space in %s (%s)", self.path, exc)
            self._can_free = False
            return
        self._freed = self.stored

    def read_back(self, first: int, limit: int) -> list[Record]:
        """Up to `limit` records from record `first` on (counted from this open, replayed
        ones first): read from the file, then from the records not yet written. A writer
        that holds too many records in memory lets go of the newest and reads them back
        here when it gets to them."""
        out: list[Record] = []
        start, before = self.stored, self._frames_base
        for end, through in self._frames:
            if through > first and through > before and end > start:  # it holds records
                wanted = slice(max(0, first - before), first + limit - before)
                try:
                    payload = self._read_frame(start)
                except JournalError as exc:  # EIO: the disk lost it
                    payload = str(exc)
                if isinstance(payload, bytes) and start + _HEADER.size + len(payload) == end:
                    records: list[Record] = pickle.loads(payload)
                else:  # damaged on disk, or the file changed under this process
                    records = self._unreadable(start, through - before, payload)
                out += records[wanted]
                if len(out) >= limit:
                    break
            start, before = end, through
        else:
            unwritten = max(0, first + len(out) - self._records)
            out += self.unwritten_records[unwritten : unwritten + limit - len(out)]
        if self._originals:  # documents with a stand-in in the file: the real ones
            out = [self._originals.get(r[0], r) if r[1] == UNJOURNALLABLE else r for r in out]
        return out

    def _unreadable(self, offset: int, count: int, found: bytes | str) -> list[Record]:
        """Stand-ins for the `count` records of the frame at `offset`, which no longer
        reads back (the caller tells what is lost): they keep the count of records
        right, and no backend stores them."""
        if isinstance(found, bytes) or found == _NOT_A_FRAME:
            found = "its bytes changed: the disk damaged it, or something wrote to the file"
        return [(0, UNREADABLE, {"offset": offset, "error": found})] * count

    # -- replay ----------------------------------------------------------------------

    def pending(self) -> Iterator[Record]:
        """Records written by an earlier process and not yet stored, in order. Call once,
        right after opening, before appending.

        The mark is not fsynced, so after a power cut it may lag or be left from an
        earlier file (it is then past the end, or not at a frame): replay starts at the
        first whole frame instead (stored documents are accepted again as duplicates).
        Bytes that are not a frame in the middle (a hole, damage) are skipped with an
        error; a torn frame at the end (the process died mid-write) is dropped."""
        offset = self.stored
        if offset and (self._mark_beyond_end or self._read_frame(offset) == _NOT_A_FRAME):
            log.warning(
                "the journal mark %s (byte %d) does not point at a frame of %s (a power "
                "cut, or a mark left from an earlier file): replaying from its first frame "
                "(documents the database has are accepted again)",
                self._mark_path,
                offset,
                self.path,
            )
            offset = self.stored = self._next_frame(0)
        while True:
            payload = self._read_frame(offset)
            if payload == _NOT_A_FRAME:
                found = self._next_frame(offset + 1)
                log.error(
                    "the journal %s holds %d bytes at byte %d that are not a frame (the "
                    "disk damaged it?); the documents in them are skipped",
                    self.path,
                    found - offset,
                    offset,
                )
                self._frames.append((found, self._records))  # a frame of no records
                offset = found
                continue
            if not isinstance(payload, bytes):
                if payload == _TORN:
                    self._drop_torn_tail(offset)
                return
            offset += _HEADER.size + len(payload)
            records: list[Record] = pickle.loads(payload)
            self._records += len(records)
            self._frames.append((offset, self._records))
            yield from records

    def _read_frame(self, offset: int) -> bytes | str:
        """The payload of the whole frame at `offset`; else `_END` (end of file),
        `_TORN` (a frame that runs past the end, begun as frames begin) or `_NOT_A_FRAME`
        (no frame is empty, a whole one passes its CRC, and a mark left pointing into
        the middle of one reads a length that runs past the end, but not the prefix).
        The one reader of frames: replay, and the read-back of records let go of."""
        if offset >= self.size:
            return _END
        try:
            header = os.pread(self._fd, _HEADER.size, offset)
            if len(header) < _HEADER.size:
                return _TORN
            length, crc = _HEADER.unpack(header)
            if not length:
                return _NOT_A_FRAME
            # never more than the file holds: a length read at a stale mark is any number
            there = min(length, self.size - offset - _HEADER.size)
            payload = os.pread(self._fd, there, offset + _HEADER.size)
        except OSError as exc:
            raise _journal_error(self.path, "read", exc) from exc
        if len(payload) < length:  # torn if what is there begins as every payload does
            return _TORN if _PAYLOAD_START.startswith(payload[:2]) else _NOT_A_FRAME
        if zlib.crc32(payload) != crc:
            return _NOT_A_FRAME
        return payload

    def _next_frame(self, start: int) -> int:
        """The offset of the first whole frame at or after `start` (the end of the file
        if there is none). A payload begins with pickle's protocol-5 prefix: candidates
        are found by searching for it, and kept only if header and CRC agree."""
        if start >= self.size or isinstance(self._read_frame(start), bytes):
            return min(start, self.size)
        with mmap.mmap(self._fd, self.size, access=mmap.ACCESS_READ) as data:
            position = start
            while True:
                found = data.find(_PAYLOAD_START, position + _HEADER.size)
                if found < 0:
                    return self.size
                candidate = found - _HEADER.size
                if isinstance(self._read_frame(candidate), bytes):
                    return candidate
                position = candidate + 1

    def _drop_torn_tail(self, offset: int) -> None:
        log.warning(
            "journal %s ends in a torn frame at byte %d (the writing process died "
            "mid-write); dropping %d bytes",
            self.path,
            offset,
            self.size - offset,
        )
        os.ftruncate(self._fd, offset)
        self.size = offset

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.sync()
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            os.close(self._mark_fd)
            self._fd = -1

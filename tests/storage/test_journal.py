"""The write-ahead journal on its own, and a write to it that fails part-way."""

from __future__ import annotations

import errno
import math
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import storage.journal as journal_module
from storage.catalog import state_dir
from storage.errors import JournalError
from storage.journal import Journal


def test_a_torn_last_frame_is_dropped_and_the_rest_replays(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    for seq in range(3):
        journal.append((seq, "event", {"uid": f"e{seq}", "data": {"x": seq}}))
        journal.write()  # one frame each
    journal.close()
    with open(tmp_path / "j", "r+b") as f:  # the process died in the middle of a write
        f.truncate(os.path.getsize(tmp_path / "j") - 5)

    reopened = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in reopened.pending()] == ["e0", "e1"]
    reopened.append((9, "event", {"uid": "e9"}))
    reopened.close()
    again = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in again.pending()] == ["e0", "e1", "e9"]
    again.close()


def test_stored_records_are_not_replayed_and_the_journal_shrinks(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    for frame in (["e0", "e1"], ["e2", "e3"], ["e4"]):
        for uid in frame:
            journal.append((int(uid[1]), "event", {"uid": uid}))
        journal.write()
    journal.mark_stored(3)  # the database has e0..e2: only the first frame is wholly stored
    journal.close()
    reopened = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in reopened.pending()] == ["e2", "e3", "e4"]  # e2 again: fine
    reopened.mark_stored(3)
    assert reopened.size == 0  # everything stored: the file is emptied
    reopened.close()
    last = Journal(tmp_path / "j")
    assert list(last.pending()) == []
    last.close()


def test_written_records_read_back_across_frames_after_some_were_stored(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j")
    for frame in (["e0", "e1"], ["e2", "e3", "e4"], ["e5"]):
        for uid in frame:
            journal.append((int(uid[1]), "event", {"uid": uid}))
        journal.write()
    assert [d["uid"] for _, _, d in journal.read_back(1, 4)] == ["e1", "e2", "e3", "e4"]
    journal.mark_stored(3)  # the first frame is wholly stored (and e2 of the second)
    assert [d["uid"] for _, _, d in journal.read_back(3, 10)] == ["e3", "e4", "e5"]
    assert journal.read_back(6, 5) == []
    journal.close()
    reopened = Journal(tmp_path / "j")  # replayed frames read back too, counted from open
    assert [d["uid"] for _, _, d in reopened.pending()] == ["e2", "e3", "e4", "e5"]
    assert [d["uid"] for _, _, d in reopened.read_back(2, 2)] == ["e4", "e5"]
    reopened.close()


def test_a_long_run_gives_back_the_disk_space_of_stored_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames keep following the stored ones (a batch is always in flight), so the file
    is not truncated until the run ends; the stored part's blocks are freed meanwhile."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"x" * 8192)
    with open(probe, "r+b") as f:
        try:
            journal_module._punch_hole(f.fileno(), 0, 4096)
        except OSError as exc:
            pytest.skip(f"this file system cannot punch holes ({exc})")
    monkeypatch.setattr(journal_module, "_PUNCH_STEP", 1 << 20)
    journal = Journal(tmp_path / "j")
    payload = os.urandom(64 << 10).hex()  # 128 kB of text a record, incompressible
    for seq in range(40):  # 40 frames, ~5 MB
        journal.append((seq, "event", {"uid": f"e{seq}", "data": {"blob": payload}}))
        journal.write()
    on_disk = os.stat(tmp_path / "j").st_blocks * 512
    journal.mark_stored(30)  # the database has 30 of them; 10 frames follow
    freed = on_disk - os.stat(tmp_path / "j").st_blocks * 512
    assert freed > 3 << 20 and os.path.getsize(tmp_path / "j") == journal.size
    journal.close()
    reopened = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in reopened.pending()] == [f"e{i}" for i in range(30, 40)]
    reopened.close()


def test_documents_replay_exactly_and_older_journals_still_replay(tmp_path: Path) -> None:
    """NaN, tuples and numpy values (types and arrays) come back as written, a document
    that is not a tree (a cycle) too, and a journal an older acq wrote (pickle with memo,
    a .stored mark of unpadded digits) replays."""
    journal = Journal(tmp_path / "j")
    plain = {"uid": "e0", "data": {"x": float("nan"), "shape": (2, 3)}, "filled": {}}
    with_numpy = {"uid": "e1", "data": {"x": np.float32(1.5), "img": np.arange(4)}}
    cyclic: dict = {"uid": "s0"}
    cyclic["self"] = cyclic
    for seq, (name, doc) in enumerate([("event", plain), ("event", with_numpy), ("start", cyclic)]):
        journal.append((seq, name, doc))
        journal.write()
    journal.close()
    assert len(_frames(tmp_path / "j")) == 3

    reopened = Journal(tmp_path / "j")
    records = list(reopened.pending())
    reopened.close()
    assert [seq for seq, _, _ in records] == [0, 1, 2]
    docs = [doc for _, _, doc in records]
    assert math.isnan(docs[0]["data"]["x"]) and docs[0]["data"]["shape"] == (2, 3)
    assert type(docs[1]["data"]["x"]) is np.float32
    np.testing.assert_array_equal(docs[1]["data"]["img"], np.arange(4))
    assert docs[2]["self"] is docs[2]

    old = tmp_path / "old"  # as the journal of an earlier acq wrote it
    payload = pickle.dumps([(7, "event", {"uid": "e7"}), (8, "event", {"uid": "e8"})], 5)
    old.write_bytes(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload)
    (tmp_path / "old.stored").write_text("0")
    legacy = Journal(old)
    assert [doc["uid"] for _, _, doc in legacy.pending()] == ["e7", "e8"]
    legacy.mark_stored(2)
    assert legacy.size == 0
    legacy.close()
    assert int((tmp_path / "old.stored").read_text()) == 0


def _frames(path: Path) -> list[bytes]:
    data, out = path.read_bytes(), []
    while data:
        length, _ = struct.unpack("<II", data[:8])
        out.append(data[8 : 8 + length])
        data = data[8 + length :]
    return out


def test_the_mongo_journal_lives_in_acq_state_dir(acq_state_dir: Path) -> None:
    assert state_dir() == acq_state_dir


def after_a_failed_write(
    path: Path, monkeypatch: pytest.MonkeyPatch, fail_truncate: bool = False
) -> Journal:
    """A journal holding e1 whose write of e2 failed part-way: the disk filled up (half
    the bytes, then ENOSPC; with `fail_truncate`, cutting the file failed too)."""
    journal = Journal(path)
    journal.append((1, "event", {"uid": "e1"}))
    journal.write()
    journal.append((2, "event", {"uid": "e2", "data": {"x": list(range(100))}}))
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if len(data) > 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def ftruncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as patched:
        patched.setattr(journal_module.os, "write", write)
        if fail_truncate:
            patched.setattr(journal_module.os, "ftruncate", ftruncate)
        with pytest.raises(JournalError, match="the disk is full"):
            journal.write()
    return journal


def test_a_write_that_fails_part_way_is_cut_off_and_kept_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = after_a_failed_write(tmp_path / "j", monkeypatch)
    assert journal.size == os.path.getsize(tmp_path / "j")  # no partial frame left
    journal.append((3, "event", {"uid": "e3"}))
    journal.write()  # space again: e2 and e3, right after e1
    journal.close()
    again = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in again.pending()] == ["e1", "e2", "e3"]
    again.close()


def test_a_partial_frame_that_cannot_be_cut_off_stops_further_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = after_a_failed_write(tmp_path / "j", monkeypatch, fail_truncate=True)
    with pytest.raises(JournalError, match="cannot be removed"):
        journal.write()  # a frame after unreadable bytes would never replay
    with pytest.raises(JournalError, match="cannot be removed"):
        journal.close()  # it still lets go of the file
    again = Journal(tmp_path / "j")  # the next open drops the partial frame
    assert [doc["uid"] for _, _, doc in again.pending()] == ["e1"]
    again.close()


def test_records_stored_without_being_written_are_not_written_later(tmp_path: Path) -> None:
    """The database took records the journal could not write: they are dropped from
    what waits for the next write, and reading back skips them."""
    journal = Journal(tmp_path / "j")
    for seq in range(1, 6):
        journal.append((seq, "event", {"uid": f"e{seq}"}))
    journal.write()  # e1..e5
    for seq in range(6, 12):
        journal.append((seq, "event", {"uid": f"e{seq}"}))  # e6..e11: not written (full)
    journal.forget_stored(8)  # the database has e1..e8
    journal.mark_stored(8)
    assert [doc["uid"] for _, _, doc in journal.read_back(8, 10)] == ["e9", "e10", "e11"]
    journal.write()
    assert [doc["uid"] for _, _, doc in journal.read_back(8, 2)] == ["e9", "e10"]
    journal.close()
    again = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in again.pending()] == ["e9", "e10", "e11"]
    again.close()


def test_a_mark_left_from_an_earlier_file_does_not_cut_the_journal(tmp_path: Path) -> None:
    """The journal file was replaced (deleted by hand) while its mark stayed: the mark
    points into the middle of the new file's frames. Replay starts from the beginning
    instead of dropping everything from the mark on as a torn tail."""
    journal = Journal(tmp_path / "j")
    for frame in range(3):
        for i in range(frame * 5, frame * 5 + 5):
            journal.append((i + 1, "event", {"uid": f"old{i}"}))
        journal.write()
    journal.mark_stored(5)  # the mark: the end of the first frame
    journal.close()
    (tmp_path / "j").unlink()
    journal = Journal(tmp_path / "j")
    for i in range(40):
        journal.append((100 + i, "event", {"uid": f"new{i}", "data": {"x": i}}))
        if i % 10 == 9:
            journal.write()
    journal.close()  # (a SIGKILL before any was stored: the old mark stays)
    again = Journal(tmp_path / "j")
    assert [doc["uid"] for _, _, doc in again.pending()] == [f"new{i}" for i in range(40)]
    again.close()


def test_the_mark_is_written_before_the_journal_is_truncated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGKILL between the two steps must leave the mark behind the file, never past
    it: the truncation sees a mark of 0 already."""
    journal = Journal(tmp_path / "j")
    journal.append((1, "event", {"uid": "e1"}))
    journal.write()
    marks: list[str] = []
    real_ftruncate = os.ftruncate

    def ftruncate(fd: int, length: int) -> None:
        marks.append((tmp_path / "j.stored").read_text().strip())
        real_ftruncate(fd, length)

    monkeypatch.setattr(journal_module.os, "ftruncate", ftruncate)
    journal.mark_stored(1)
    assert marks == ["0"]
    journal.close()


def frames(path: Path, n: int) -> list[int]:
    """A journal of `n` frames of 3 unstored records each, closed; their end offsets."""
    journal = Journal(path)
    for frame in range(n):
        for i in range(3):
            journal.append((frame * 100 + i, "event", {"uid": f"e{frame}-{i}", "pad": "x" * 200}))
        journal.write()
    ends = [end for end, _ in journal._frames]
    journal.close()
    return ends


def set_mark(path: Path, offset: int) -> None:
    path.with_name(path.name + ".stored").write_text(journal_module._MARK.format(offset))


def pending_uids(path: Path) -> list[str]:
    journal = Journal(path)
    uids = [doc["uid"] for _, _, doc in journal.pending()]
    journal.close()
    return uids


def test_a_mark_past_the_end_replays_the_whole_journal(tmp_path: Path) -> None:
    """A power cut after a truncation and a new run were on disk, but not the mark
    (never fsynced): it is the old, larger offset. Nothing was skipped as stored."""
    frames(tmp_path / "j", 3)
    set_mark(tmp_path / "j", 50_000)
    assert len(pending_uids(tmp_path / "j")) == 9


def test_a_mark_lagging_into_a_freed_hole_replays_from_the_first_whole_frame(
    tmp_path: Path,
) -> None:
    ends = frames(tmp_path / "j", 6)
    fd = os.open(tmp_path / "j", os.O_RDWR)
    journal_module._punch_hole(fd, 0, ends[2])  # frames 0-2 stored, their space freed
    os.close(fd)
    set_mark(tmp_path / "j", ends[0])  # the mark on disk lags (a power cut)
    uids = pending_uids(tmp_path / "j")
    assert uids == [f"e{frame}-{i}" for frame in (3, 4, 5) for i in range(3)]


def test_a_torn_frame_right_at_the_mark_is_dropped_and_nothing_replayed(
    tmp_path: Path,
) -> None:
    ends = frames(tmp_path / "j", 4)
    whole = (tmp_path / "j").read_bytes()[ends[2] : ends[3]]
    with open(tmp_path / "j", "ab") as f:
        f.write(whole[: len(whole) // 2])  # the process died writing a fifth frame
    set_mark(tmp_path / "j", ends[3])  # the first four were stored
    assert pending_uids(tmp_path / "j") == []
    assert os.path.getsize(tmp_path / "j") == ends[3]


def test_damaged_bytes_mid_journal_are_skipped_not_the_frames_after_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ends = frames(tmp_path / "j", 4)
    with open(tmp_path / "j", "r+b") as f:
        f.seek(ends[0] + 20)
        f.write(b"\xff" * 10)  # the second frame is damaged
    journal = Journal(tmp_path / "j")
    expected = [f"e{frame}-{i}" for frame in (0, 2, 3) for i in range(3)]
    assert [doc["uid"] for _, _, doc in journal.pending()] == expected
    assert "not a frame" in caplog.text
    # a writer that let them go reads them back across the skipped bytes
    assert [doc["uid"] for _, _, doc in journal.read_back(1, 20)] == expected[1:]
    journal.close()


def test_a_partial_frame_that_could_not_be_cut_off_is_forgotten_once_all_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = after_a_failed_write(tmp_path / "j", monkeypatch, fail_truncate=True)
    journal.forget_stored(2)  # the database took e1 and e2: the file is cut to nothing
    journal.mark_stored(2)
    journal.append((3, "event", {"uid": "e3"}))
    journal.write()  # no longer refused
    journal.close()
    assert pending_uids(tmp_path / "j") == ["e3"]

"""The write-ahead journal on its own, and a journal that fails mid-run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storage_helpers import subscribe_writer

from acq import RunEngine
from acq.errors import CriticalSubscriberError
from devices.sim import SimDetector
from plans import count
from storage import open_catalog
from storage.catalog import state_dir
from storage.journal import Journal, Record


def test_a_torn_last_frame_is_dropped_and_the_rest_replays(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    for seq in range(3):
        journal.append(Record(seq, "event", {"uid": f"e{seq}", "data": {"x": seq}}))
        journal.write()  # one frame each
    journal.close()
    with open(tmp_path / "j", "r+b") as f:  # the process died in the middle of a write
        f.truncate(os.path.getsize(tmp_path / "j") - 5)

    reopened = Journal(tmp_path / "j")
    assert [r.doc["uid"] for r in reopened.pending()] == ["e0", "e1"]
    reopened.append(Record(9, "event", {"uid": "e9"}))
    reopened.close()
    again = Journal(tmp_path / "j")
    assert [r.doc["uid"] for r in again.pending()] == ["e0", "e1", "e9"]
    again.close()


def test_stored_records_are_not_replayed_and_the_journal_shrinks(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    for frame in (["e0", "e1"], ["e2", "e3"], ["e4"]):
        for uid in frame:
            journal.append(Record(int(uid[1]), "event", {"uid": uid}))
        journal.write()
    journal.mark_stored(3)  # the database has e0..e2: only the first frame is wholly stored
    journal.close()
    reopened = Journal(tmp_path / "j")
    assert [r.doc["uid"] for r in reopened.pending()] == ["e2", "e3", "e4"]  # e2 again: fine
    reopened.mark_stored(3)
    assert reopened.size == 0  # everything stored: the file is emptied
    reopened.close()
    last = Journal(tmp_path / "j")
    assert list(last.pending()) == []
    last.close()


def test_the_mongo_journal_lives_in_acq_state_dir(acq_state_dir: Path) -> None:
    assert state_dir() == acq_state_dir


async def test_a_journal_that_fails_mid_run_fails_the_run(tmp_path: Path) -> None:
    RE = RunEngine(waiting_hook=None)
    async with await open_catalog(tmp_path / "c.db") as catalog:
        subscribe_writer(RE, catalog.writer)
        await RE(count([SimDetector("det")], 2))
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, catalog.writer.journal._fd)  # the disk fills up
        os.close(full)
        with pytest.raises(CriticalSubscriberError, match="disk is full"):
            await RE(count([SimDetector("det")], 3))
        stored = await catalog.run(-1)  # the earlier run is intact and readable
        assert stored.stop is not None and stored.stop["num_events"] == {"primary": 2}
        catalog.writer._journal_failure = None  # let close() release the journal
        catalog.writer.journal._fd = os.open(tmp_path / "spare", os.O_RDWR | os.O_CREAT)

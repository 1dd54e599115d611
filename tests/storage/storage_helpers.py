"""Helpers for the storage tests: a `Docs` recorder, comparing stored documents with
emitted ones, and the peers from `storage.testing`. (A module name no other test folder
uses.)"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage.documents import canonical, split
from storage.testing import MongoServer, SlowProxy, free_port, wait_for_port

__all__ = [
    "Docs",
    "MongoServer",
    "SlowProxy",
    "free_port",
    "journal_disk_full",
    "journalled",
    "stored_form",
    "subscribe_writer",
    "wait_for_port",
]


class Docs(list):
    """Documents as a subscriber received them."""

    def __call__(self, name: str, doc: dict) -> None:
        self.append((name, doc))

    def of(self, name: str) -> list[dict]:
        return [d for n, d in self if n == name]


def stored_form(docs: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """Emitted documents as a catalog stores them (pages split), comparable text."""
    return [(n, canonical(d)) for name, doc in docs for n, d in split(name, doc)]


def subscribe_writer(RE: Any, writer: Any) -> int:
    """``RE.subscribe(writer, critical=True)``, or plain where the engine has no critical
    subscriptions yet."""
    try:
        return int(RE.subscribe(writer, critical=True))
    except TypeError:
        return int(RE.subscribe(writer))


def journalled(path: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """The records in a journal file's intact frames, read from outside (no lock)."""
    data, records = path.read_bytes(), []
    while len(data) >= 8:
        length, _ = struct.unpack("<II", data[:8])
        if len(data) < 8 + length:
            break  # a frame being written
        records += pickle.loads(data[8 : 8 + length])
        data = data[8 + length :]
    return records


@contextmanager
def journal_disk_full(journal: Any) -> Iterator[None]:
    """The disk under an open `Journal` is full until the block ends: its file descriptor
    writes to /dev/full (ENOSPC), then to the journal file again (lock and all)."""
    saved = os.dup(journal._fd)
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, journal._fd)
    os.close(full)
    try:
        yield
    finally:
        os.dup2(saved, journal._fd)
        os.close(saved)

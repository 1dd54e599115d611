"""Bad input at open time: one clear `StorageError` naming the cause, within a bound."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_mongo import refusing_mongo
from storage_helpers import free_port

from storage import (
    CatalogAuthError,
    CatalogReadOnlyError,
    CatalogUnreachableError,
    JournalError,
    StorageError,
    open_catalog,
)
from storage.testing import SlowProxy


async def test_an_unreachable_mongo_server_is_named_within_the_timeout() -> None:
    uri = f"mongodb://127.0.0.1:{free_port()}/acq"
    with pytest.raises(CatalogUnreachableError) as info:
        await open_catalog(uri, timeout=0.5)
    assert f"127.0.0.1:{uri.split(':')[2].split('/')[0]}" in str(info.value)
    assert "running" in str(info.value)


async def test_a_password_never_appears_in_an_error() -> None:
    uri = f"mongodb://beamline:s3cret@127.0.0.1:{free_port()}/acq"
    with pytest.raises(StorageError) as info:
        await open_catalog(uri, timeout=0.5)
    assert "s3cret" not in str(info.value)


async def test_wrong_credentials_are_named_at_open_without_the_password() -> None:
    async with refusing_mongo("login") as server:
        uri = f"mongodb://beamline:wrong-pw@127.0.0.1:{server.port}/acq"
        started = time.monotonic()
        with pytest.raises(CatalogAuthError, match="refused the credentials") as info:
            await open_catalog(uri, timeout=2)
    assert time.monotonic() - started < 4
    assert "wrong-pw" not in str(info.value) and "***" in str(info.value)
    assert "saslStart" in server.commands  # it did try to log in


async def test_a_user_who_may_not_write_is_named_at_open(tmp_path: Path) -> None:
    async with refusing_mongo("writes") as server:
        uri = f"mongodb://127.0.0.1:{server.port}/acq"
        with pytest.raises(CatalogReadOnlyError, match="readWrite"):
            await open_catalog(uri, timeout=2, journal=tmp_path / "j")
        # reading is what such a user may do
        catalog = await open_catalog(uri, timeout=2, read_only=True)
        await catalog.close()
    assert server.commands.count("createIndexes") == 1


async def test_a_full_disk_for_the_journal_fails_at_open(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="disk is full"):
        await open_catalog(tmp_path / "c.db", journal="/dev/full")


async def test_a_journal_path_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(JournalError, match="a-file"):
        await open_catalog(tmp_path / "c.db", journal=blocker / "journal")


async def test_a_journal_in_use_by_another_catalog_is_refused(tmp_path: Path) -> None:
    async with await open_catalog(tmp_path / "c.db"):
        with pytest.raises(JournalError, match="in use by another catalog"):
            await open_catalog(f"sqlite:///{tmp_path}/c.db")


async def test_a_read_only_catalog_reads_but_refuses_a_writer(tmp_path: Path) -> None:
    async with await open_catalog(tmp_path / "c.db") as catalog:
        await catalog.writer("start", {"uid": "ro-run-0001", "time": time.time()})
    async with await open_catalog(f"sqlite:///{tmp_path}/c.db?mode=ro") as read_only:
        assert (await read_only.run("ro-run-0001")).uid == "ro-run-0001"
        with pytest.raises(CatalogReadOnlyError, match="read-only"):
            read_only.writer  # noqa: B018 - the property raises


async def test_a_file_that_is_not_a_catalog_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not SQLite\n" * 100)
    with pytest.raises(CatalogUnreachableError, match=r"notes\.txt"):
        await open_catalog(bogus, journal=tmp_path / "j")


async def test_a_mongo_server_that_stops_answering_reads_is_named_within_the_bound(
    mongo_uri: str,
) -> None:
    base, _, db = mongo_uri.rpartition("/")
    host, _, port = base.removeprefix("mongodb://").rpartition(":")
    if host != "127.0.0.1":
        pytest.skip("the proxy forwards to a server on 127.0.0.1 only")
    async with await open_catalog(mongo_uri, timeout=10) as catalog:
        await catalog.writer("start", {"uid": "silent-run-1", "time": time.time()})
    with SlowProxy(int(port), delay=0) as proxy:
        catalog = await open_catalog(
            f"mongodb://127.0.0.1:{proxy.port}/{db}", read_only=True, timeout=1, read_timeout=1
        )
        try:
            assert (await catalog.run(-1)).uid == "silent-run-1"
            proxy.delay = 5  # the server stops answering
            with pytest.raises(CatalogUnreachableError) as info:
                await catalog.run(-1)
        finally:
            proxy.delay = 0
            await catalog.close()
    message = str(info.value)
    assert f"127.0.0.1:{proxy.port}" in message and "within 1" in message, message

"""Storage test peers: a Mongo-wire server (nx-27017) for the session, and a catalog
per test parametrised over the two backends (the shared conformance suite).

``ACQ_TEST_MONGO_URI=mongodb://host:port`` runs the Mongo half against that server
instead (each test uses its own database). scan_ids and Mongo journals live in a
temporary ``ACQ_STATE_DIR``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from storage_helpers import Docs, MongoServer

from acq import RunEngine
from storage import Catalog, open_catalog


@pytest.fixture(autouse=True)
def acq_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "acq-state"
    monkeypatch.setenv("ACQ_STATE_DIR", str(state))
    return state


@pytest.fixture(scope="session")
def mongo_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mongodb://127.0.0.1:PORT`` of the session's server (no database part)."""
    if os.environ.get("ACQ_TEST_MONGO_URI"):
        yield os.environ["ACQ_TEST_MONGO_URI"].rstrip("/")
        return
    server = MongoServer(tmp_path_factory.mktemp("nx-27017"))
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture
def mongo_uri(mongo_base: str) -> str:
    return f"{mongo_base}/acq_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", "mongo"])
def catalog_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/catalog.db"
    return str(request.getfixturevalue("mongo_uri"))


@pytest.fixture
async def catalog(catalog_uri: str) -> AsyncIterator[Catalog]:
    cat = await open_catalog(catalog_uri, timeout=10)
    try:
        yield cat
    finally:
        await cat.close()


@pytest.fixture
def docs() -> Docs:
    return Docs()


@pytest.fixture
def RE(docs: Docs) -> RunEngine:
    engine = RunEngine(waiting_hook=None)
    engine.subscribe(docs)
    return engine

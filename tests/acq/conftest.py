"""Engine test fixtures.

Every document is checked by the suite-wide autouse fixture in tests/conftest.py
(`checked_documents`). scan_ids live in a temporary state directory.
"""

from __future__ import annotations

import pytest
from acq_helpers import Docs

from acq import RunEngine


@pytest.fixture(autouse=True)
def acq_state_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    state = tmp_path / "acq-state"
    monkeypatch.setenv("ACQ_STATE_DIR", str(state))
    return state


@pytest.fixture
def docs() -> Docs:
    return Docs()


@pytest.fixture
def RE(docs: Docs) -> RunEngine:
    engine = RunEngine(waiting_hook=None)
    engine.subscribe(docs)
    return engine

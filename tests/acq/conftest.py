"""Engine test fixtures.

Every document is checked by the suite-wide autouse fixture in tests/conftest.py
(`checked_documents`); scan_ids live in each test's own state directory (`acq_state_dir`,
also suite-wide).
"""

from __future__ import annotations

import pytest
from acq_helpers import Docs

from acq import RunEngine


@pytest.fixture
def docs() -> Docs:
    return Docs()


@pytest.fixture
def RE(docs: Docs) -> RunEngine:
    engine = RunEngine(waiting_hook=None)
    engine.subscribe(docs)
    return engine

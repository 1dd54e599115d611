"""Engine test fixtures.

Every document emitted by any RunEngine in these tests goes through `DocumentChecker`
(event-model's schemas and the relations between documents): the autouse fixture wraps
the dispatcher's `emit`, so nothing escapes the check, and fails the test on any error
or on a run left open. scan_ids live in a temporary state directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from acq_doccheck import DocumentChecker
from acq_helpers import Docs

from acq import RunEngine
from acq.dispatch import Dispatcher


@pytest.fixture(autouse=True)
def acq_state_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    state = tmp_path / "acq-state"
    monkeypatch.setenv("ACQ_STATE_DIR", str(state))
    return state


@pytest.fixture(autouse=True)
def checked_documents(monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentChecker]:
    checker = DocumentChecker()
    emit = Dispatcher.emit

    def checked_emit(self: Dispatcher, name: str, doc: dict[str, Any]) -> None:
        checker(name, doc)
        emit(self, name, doc)

    monkeypatch.setattr(Dispatcher, "emit", checked_emit)
    yield checker
    assert not checker.errors, "documents broke event-model's rules:\n" + "\n".join(
        checker.errors[:20]
    )


@pytest.fixture
def docs() -> Docs:
    return Docs()


@pytest.fixture
def RE(docs: Docs) -> RunEngine:
    engine = RunEngine(waiting_hook=None)
    engine.subscribe(docs)
    return engine

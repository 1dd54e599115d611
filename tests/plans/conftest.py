"""A real RunEngine for plan tests, with every document checked against event-model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import event_model
import pytest

from acq import RunEngine


class Documents:
    """Every document of the engine, validated against event-model's JSON schemas."""

    def __init__(self) -> None:
        self.all: list[tuple[str, dict]] = []

    def __call__(self, name: str, doc: dict) -> None:
        event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)
        self.all.append((name, doc))

    def of(self, name: str) -> list[dict]:
        return [doc for n, doc in self.all if n == name]

    @property
    def starts(self) -> list[dict]:
        return self.of("start")

    @property
    def stops(self) -> list[dict]:
        return self.of("stop")

    def events(self, stream: str = "primary", run: int = -1) -> list[dict]:
        """The events of `stream` in run number `run` (by start order), event pages unpacked."""
        start = self.starts[run]
        descriptors = {
            d["uid"]
            for d in self.of("descriptor")
            if d["run_start"] == start["uid"] and d["name"] == stream
        }
        events = [e for e in self.of("event") if e["descriptor"] in descriptors]
        for page in self.of("event_page"):
            if page["descriptor"] in descriptors:
                events.extend(event_model.unpack_event_page(page))
        return sorted(events, key=lambda e: e["seq_num"])

    def column(self, key: str, stream: str = "primary", run: int = -1) -> list:
        return [e["data"][key] for e in self.events(stream, run)]

    def streams(self, run: int = -1) -> list[str]:
        start = self.starts[run]
        return [d["name"] for d in self.of("descriptor") if d["run_start"] == start["uid"]]


@pytest.fixture
def documents() -> Documents:
    return Documents()


@pytest.fixture
async def RE(tmp_path: Path, documents: Documents) -> AsyncIterator[RunEngine]:
    engine = RunEngine(state_dir=str(tmp_path), waiting_hook=None, handle_sigint=False)
    engine.subscribe(documents)
    yield engine
    await engine.flush()

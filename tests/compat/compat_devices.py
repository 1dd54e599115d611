"""Shared by the device-compatibility tests: a document collector, a RunEngine, and the
helper IOC that completes the sim IOC's motor records for ophyd's and ophyd-async's motors.

Import the fixtures into a test module (``from compat_devices import RE, docs, ...``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from acq import RunEngine

HERE = Path(__file__).parent
# motors whose records the compatibility tests complete (others' tests use m1..m3 and th/tth)
MOTORS = ("m4", "sy")


class Docs:
    """Every (name, doc) a RunEngine emitted, with lookups by name and by stream."""

    def __init__(self) -> None:
        self.all: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.all.append((name, doc))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [doc for n, doc in self.all if n == name]

    def names(self) -> list[str]:
        return [n for n, _ in self.all]

    def events(self, stream: str = "primary") -> list[dict[str, Any]]:
        uids = {d["uid"] for d in self.named("descriptor") if d["name"] == stream}
        return [e for e in self.named("event") if e["descriptor"] in uids]

    def column(self, key: str, stream: str = "primary") -> list[Any]:
        return [e["data"][key] for e in self.events(stream)]

    def by_name(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for n, _ in self.all:
            counts[n] += 1
        return dict(counts)


@pytest.fixture
def docs() -> Docs:
    return Docs()


@pytest.fixture
def RE(docs: Docs) -> RunEngine:
    engine = RunEngine(waiting_hook=None)
    engine.subscribe(docs)
    return engine


@pytest.fixture(scope="module")
def motor_fields(sim_ioc: Any) -> tuple[str, ...]:
    """The motors ophyd's and ophyd-async's motor classes use (the sim IOC serves every
    field they connect to); yields the motor names."""
    return MOTORS

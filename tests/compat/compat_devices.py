"""Shared by the device-compatibility tests: a document collector, a RunEngine, and the
helper IOC that completes the sim IOC's motor records for ophyd's and ophyd-async's motors.

Import the fixtures into a test module (``from compat_devices import RE, docs, ...``).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acq import RunEngine
from iocs.processes import CAEnvironment, ManagedProcess, wait_for_pvs

HERE = Path(__file__).parent
FIELDS_PORT = 3  # index into ca_env.server_ports: SPARE_PORT_B, unused by the other suites
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
def motor_fields(sim_ioc: Any, ca_env: CAEnvironment, ioc_logs: Path) -> Iterator[tuple[str, ...]]:
    """The motor-record fields the sim IOC lacks (tests/compat/motor_fields_ioc.py), for
    `MOTORS`; yields the motor names."""
    from motor_fields_ioc import FIELDS

    port = ca_env.server_ports[FIELDS_PORT]
    argv = [sys.executable, str(HERE / "motor_fields_ioc.py"), "--prefix", sim_ioc.prefix]
    process = ManagedProcess(
        "motor-fields-ioc",
        [*argv, *MOTORS],
        ca_env.server_env(port),
        log=ioc_logs / "motor-fields-ioc.log",
    )
    try:
        pvs = [f"{sim_ioc.prefix}{m}.{f}" for m in MOTORS for f in FIELDS]
        wait_for_pvs(pvs, timeout=30, process=process)
        yield MOTORS
    finally:
        process.stop()

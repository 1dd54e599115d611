"""Peers for the device tests: EPICS base records (records.db) on the session's base port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from iocs.processes import CAEnvironment, ManagedProcess, start_base_ioc, wait_for_pvs

RECORDS = Path(__file__).with_name("records.db")
# indexes into ca_env.server_ports, as tests/conftest.py assigns them
BASE_PORT, SPARE_PORT_A = 1, 2


def unique_prefix(stem: str) -> str:
    return f"{stem}{uuid.uuid4().hex[:5]}:"


@dataclass
class BaseIOC:
    prefix: str
    process: ManagedProcess

    def pv(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"


@pytest.fixture(scope="session")
def base_ioc(
    ca_env: CAEnvironment, ca_repeater: ManagedProcess, ioc_logs: Path
) -> Iterator[BaseIOC]:
    """records.db served by a real EPICS base soft IOC."""
    prefix = unique_prefix("dev")
    process = start_base_ioc(
        ca_env,
        ca_env.server_ports[BASE_PORT],
        RECORDS,
        f"P={prefix}",
        log=ioc_logs / "devices-base-ioc.log",
    )
    try:
        wait_for_pvs([f"{prefix}ai", f"{prefix}locked"], timeout=30, process=process)
        yield BaseIOC(prefix, process)
    finally:
        process.stop()


class RestartableIOC:
    """restart.db on the spare port, stopped and started again by the test."""

    database = Path(__file__).with_name("restart.db")

    def __init__(self, env: CAEnvironment, logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.prefix = unique_prefix("rst")
        self.process: ManagedProcess | None = None

    def pv(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"

    def start(self, value: float, units: str) -> None:
        """Start the IOC (without waiting: the test's own signals see when it serves)."""
        self.process = start_base_ioc(
            self.env,
            self.env.server_ports[SPARE_PORT_A],
            self.database,
            f"P={self.prefix},VAL={value},EGU={units}",
            log=self.logs / "restartable-ioc.log",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def restartable_ioc(
    ca_env: CAEnvironment, ca_repeater: ManagedProcess, ioc_logs: Path
) -> Iterator[RestartableIOC]:
    ioc = RestartableIOC(ca_env, ioc_logs)
    try:
        yield ioc
    finally:
        ioc.stop()

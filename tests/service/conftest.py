"""Fixtures for the queue service: a beamline startup file on the session's simulated IOC
and ``acq serve`` processes started from it (stopped by pid at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import ServiceProcess, set_scaler_preset, write_beamline


@pytest.fixture(scope="module")
def beamline_files(
    sim_ioc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path]]:
    set_scaler_preset(sim_ioc.prefix, 0.05)  # short counts; the IOC's default back after
    try:
        yield write_beamline(tmp_path_factory.mktemp("beamline"), sim_ioc.prefix)
    finally:
        set_scaler_preset(sim_ioc.prefix, 1.0)


@pytest.fixture(scope="module")
def shared_service(
    beamline_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """One service for the tests that only read or are refused (module-wide)."""
    startup, permissions = beamline_files
    work = tmp_path_factory.mktemp("service")
    service = ServiceProcess(
        startup, work / "serve.log", f"sqlite:///{work}/queue.db", permissions
    ).start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def new_service(beamline_files: tuple[Path, Path], tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service of this test's own (not started: the test starts, kills, restarts it)."""
    startup, permissions = beamline_files
    service = ServiceProcess(
        startup, tmp_path / "serve.log", f"sqlite:///{tmp_path}/queue.db", permissions
    )
    try:
        yield service
    finally:
        service.stop()

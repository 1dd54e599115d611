"""Session-wide test peers (a private Channel Access environment and the IOCs in it) and
the suite-wide checks: no leaked tasks, every emitted document obeys event-model, and no
test uses the user's real scan_id file (each test gets its own ``ACQ_STATE_DIR``).

libca reads its environment once, at the first CA call, so the ports are chosen and
exported here, at import time, before any test module imports aioca. Each IOC gets its
own port (on loopback one UDP port reaches one IOC) and all of them are in the address list.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from doccheck import DocumentChecker

from iocs.processes import (
    CAEnvironment,
    ManagedProcess,
    start_repeater,
    start_sim_ioc,
    wait_for_pvs,
)

# Server ports, by role. Tests that restart an IOC use the spare ones, so a restart never
# disturbs the session's shared IOCs.
SIM_PORT, BASE_PORT, SPARE_PORT_A, SPARE_PORT_B = range(4)
CA_ENV = CAEnvironment.allocate(n_servers=4)
CA_ENV.apply()


@dataclass
class RunningIOC:
    prefix: str
    port: int
    process: ManagedProcess

    def pv(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"


@pytest.fixture(scope="session")
def ca_env() -> CAEnvironment:
    return CA_ENV


@pytest.fixture(scope="session")
def ioc_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where peer processes write their output (shown in errors when they fail)."""
    return tmp_path_factory.mktemp("ioc-logs")


@pytest.fixture(scope="session")
def ca_repeater(ioc_logs: Path) -> Iterator[ManagedProcess]:
    process = start_repeater(CA_ENV, log=ioc_logs / "repeater.log")
    yield process
    process.stop()


def unique_prefix(stem: str) -> str:
    """A PV prefix no other test session uses, e.g. ``t3f9a:``."""
    return f"{stem}{uuid.uuid4().hex[:5]}:"


@pytest.fixture(scope="session")
def sim_ioc(ca_repeater: ManagedProcess, ioc_logs: Path) -> Iterator[RunningIOC]:
    """The simulated beamline (`python -m iocs`) on a private prefix and port."""
    prefix = unique_prefix("sim")
    port = CA_ENV.server_ports[SIM_PORT]
    process = start_sim_ioc(CA_ENV, port, prefix, log=ioc_logs / "sim-ioc.log")
    try:
        wait_for_pvs([f"{prefix}m1.RBV", f"{prefix}scaler1.CNT"], timeout=30, process=process)
        yield RunningIOC(prefix, port, process)
    finally:
        process.stop()


@pytest.fixture
async def ring(sim_ioc: RunningIOC) -> AsyncIterator[Any]:
    """The simulated IOC's storage ring, connected; refilled after the test (tests dump
    its beam), so the shared IOC is left with beam whatever happened."""
    import anyio

    from devices import connect
    from devices.aps import StorageRing

    ring = StorageRing(sim_ioc.pv("ring:"), name="ring")
    await connect(ring, timeout=20)
    try:
        yield ring
    finally:
        await ring.refill.trigger()
        with anyio.fail_after(20):
            while await ring.current.get_value() < 90.0:
                await anyio.sleep(0.1)


@pytest.fixture(autouse=True)
def acq_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private state directory (scan_ids) for every test and the subprocesses it starts
    (they inherit ``ACQ_STATE_DIR``). A test that makes this process use the user's real
    scan_id file anyway (``state_dir=`` pointing there, or the variable removed) fails.

    The guard sits on the scan_id store, not on the file's mtime: on a shared machine
    other acq sessions may write that file while a test runs.
    """
    # imported here, not at the top: with tests/ on sys.path, an early `import acq` would
    # find the folder tests/acq (a namespace package) instead of the real package
    from acq.metadata import STATE_DIR_ENV, ScanIdStore, default_state_dir

    real = (default_state_dir() / "scan_id.json").resolve()  # before we move it
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "acq-state"))
    touched: list[str] = []

    def guard(method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(store: Any, *args: Any, **kwargs: Any) -> Any:
            if Path(store.path).resolve() == real:
                touched.append(method.__name__)
                raise AssertionError(f"a test used the user's real scan_id file {real}")
            return method(store, *args, **kwargs)

        return guarded

    for name in ("next", "last"):
        monkeypatch.setattr(ScanIdStore, name, guard(getattr(ScanIdStore, name)))
    yield tmp_path / "acq-state"
    assert not touched, (
        f"the test used the user's real scan_id file {real} ({', '.join(touched)}); give "
        f"RunEngine a state_dir under tmp_path or leave {STATE_DIR_ENV} alone"
    )


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running, and drop aioca's per-loop channel cache."""
    before = asyncio.all_tasks()
    yield
    leaked: set[asyncio.Task] = set()
    for _ in range(20):  # let tasks that are finishing finish
        leaked = asyncio.all_tasks() - before - {asyncio.current_task()}
        if not leaked:
            break
        await asyncio.sleep(0.01)
    for task in leaked:
        task.cancel()
    if "aioca" in sys.modules:
        import aioca

        aioca.purge_channel_caches()
    assert not leaked, f"test left {len(leaked)} task(s) running: {sorted(map(repr, leaked))}"


@pytest.fixture(autouse=True)
def checked_documents(monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentChecker]:
    """Every document any RunEngine emits in any test: event-model's schemas and the
    relations between documents. A test fails on any broken rule or on a run left open."""
    from acq.dispatch import Dispatcher

    checker = DocumentChecker()
    emit = Dispatcher.emit

    def checked_emit(self: Dispatcher, name: str, doc: dict) -> None:
        checker(name, doc)
        emit(self, name, doc)

    monkeypatch.setattr(Dispatcher, "emit", checked_emit)
    yield checker
    assert not checker.errors, "documents broke event-model's rules:\n" + "\n".join(
        checker.errors[:20]
    )

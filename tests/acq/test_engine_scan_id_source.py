"""The scan_id source is pluggable (sync or async) and never stalls the loop: the default
counter file is locked and fsynced in a worker thread, so a slow (NFS) home directory
delays only `open_run`, not everything else in the loop.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from acq_helpers import Docs
from acq_plans import count

import acq.engine
from acq import RunEngine
from acq.errors import MetadataError
from acq.metadata import ScanIdStore
from devices.sim import SimDetector, SimMotor


@pytest.fixture
def det() -> SimDetector:
    return SimDetector("det", SimMotor("m1"))


async def _ticks_during(coro: Any) -> tuple[Any, int]:
    """Run `coro` while a ticker counts how often the loop let it run."""
    ticks = 0
    result: list[Any] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        result.append(await coro)
        tg.cancel_scope.cancel()
    return result[0], ticks


async def test_a_slow_scan_id_file_does_not_stall_the_loop(
    det: SimDetector, docs: Docs, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_next = ScanIdStore.next

    def nfs_next(self: ScanIdStore) -> int:
        time.sleep(0.5)  # an NFS home directory on a bad day
        return slow_next(self)

    monkeypatch.setattr(ScanIdStore, "next", nfs_next)
    RE = RunEngine(waiting_hook=None)
    RE.subscribe(docs)
    result, ticks = await _ticks_during(RE(count([det], 1)))
    assert result.exit_status == "success"
    assert ticks >= 10  # the loop kept turning while the file was slow
    assert docs.of("start")[0]["scan_id"] == 1


async def test_an_async_scan_id_source_is_awaited(det: SimDetector, docs: Docs) -> None:
    asked: list[dict[str, Any]] = []

    async def from_a_service(md: Any) -> int:
        asked.append(dict(md))
        await anyio.sleep(0.2)
        return 4000 + len(asked)

    RE = RunEngine(waiting_hook=None, scan_id_source=from_a_service, md={"beamline_id": "x"})
    RE.subscribe(docs)
    _, ticks = await _ticks_during(RE(count([det], 1)))
    await RE(count([det], 1))
    assert [d["scan_id"] for d in docs.of("start")] == [4001, 4002]
    assert asked[0]["beamline_id"] == "x"
    assert ticks >= 5


async def test_a_sync_scan_id_source_and_an_explicit_scan_id(det: SimDetector, docs: Docs) -> None:
    RE = RunEngine(waiting_hook=None, scan_id_source=lambda md: 77)
    RE.subscribe(docs)
    await RE(count([det], 1))
    await RE(count([det], 1), scan_id=5)
    assert [d["scan_id"] for d in docs.of("start")] == [77, 5]


async def test_a_scan_id_source_that_hangs_fails_open_run_with_a_clear_error(
    det: SimDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acq.engine, "SCAN_ID_TIMEOUT", 0.2)

    async def hung(md: Any) -> int:
        await anyio.sleep_forever()
        return 0

    RE = RunEngine(waiting_hook=None, scan_id_source=hung)
    with pytest.raises(MetadataError, match=r"no scan_id within 0\.2 s"):
        await RE(count([det], 1))


async def test_a_scan_id_source_must_give_an_int(det: SimDetector) -> None:
    RE = RunEngine(waiting_hook=None, scan_id_source=lambda md: "7")
    with pytest.raises(MetadataError, match="not an int"):
        await RE(count([det], 1))

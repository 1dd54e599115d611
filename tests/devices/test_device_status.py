"""Status objects: awaitable, callbacks, cancellation, progress."""

from __future__ import annotations

import asyncio

import pytest

from acq.protocols import Progress
from acq.protocols import Status as StatusProtocol
from devices import Status, StatusCancelledError, StatusTimeoutError


async def test_finished_status_is_done_and_awaits_at_once() -> None:
    status = Status.finished(42, name="instant")
    assert isinstance(status, StatusProtocol)
    assert status.done and status.success
    assert await status == 42
    seen: list[Status] = []
    status.add_callback(seen.append)
    assert seen == [status]


async def test_status_of_a_coroutine_reports_result_and_calls_back() -> None:
    gate = asyncio.Event()

    async def operation() -> str:
        await gate.wait()
        return "done"

    status = Status(operation(), name="op")
    called: list[bool] = []
    status.add_callback(lambda s: called.append(s.success))
    assert not status.done
    gate.set()
    assert await status == "done"
    assert status.success and called == [True]


async def test_failed_operation_raises_at_every_await() -> None:
    async def operation() -> None:
        raise RuntimeError("motor fault")

    status = Status(operation(), name="op")
    with pytest.raises(RuntimeError, match="motor fault"):
        await status
    with pytest.raises(RuntimeError, match="motor fault"):
        await status
    assert status.done and not status.success
    assert isinstance(status.exception(), RuntimeError)


async def test_cancel_fails_the_status_with_a_clear_error() -> None:
    status = Status(asyncio.Event().wait(), name="m1 -> 5")
    await asyncio.sleep(0)
    assert status.cancel()
    with pytest.raises(StatusCancelledError, match="m1 -> 5 was cancelled"):
        await status


async def test_an_awaiter_giving_up_does_not_cancel_the_operation() -> None:
    gate = asyncio.Event()
    status = Status(gate.wait(), name="op")
    with pytest.raises(StatusTimeoutError, match=r"op did not finish within 0\.01 s"):
        await status.wait(timeout=0.01)
    assert not status.done
    gate.set()
    await asyncio.wait_for(status.wait(), timeout=5)
    assert status.success


async def test_timeout_given_at_creation_fails_the_operation() -> None:
    status = Status(asyncio.Event().wait(), name="slow", timeout=0.01)
    with pytest.raises(StatusTimeoutError, match=r"slow did not finish within 0\.01 s"):
        await asyncio.wait_for(status.wait(), timeout=5)


async def test_watchers_get_the_latest_progress_and_every_update() -> None:
    async def updates():
        for current in (0.0, 0.5, 1.0):
            yield Progress("m1", current=current, initial=0.0, target=1.0)
            await asyncio.sleep(0)

    status = Status.from_progress(updates(), name="m1")
    early: list[float | None] = []
    status.watch(lambda p: early.append(p.fraction))
    await asyncio.wait_for(status.wait(), timeout=5)
    assert early == [0.0, 0.5, 1.0]
    late: list[float | None] = []
    status.watch(lambda p: late.append(p.fraction))
    assert late == [1.0]


async def test_manual_status_is_finished_by_its_producer() -> None:
    status = Status(name="callback-driven")
    asyncio.get_running_loop().call_soon(status.set_finished, 7)
    assert await asyncio.wait_for(status.wait(), timeout=5) == 7


async def test_wrap_turns_an_async_method_into_one_returning_a_status() -> None:
    class Shutter:
        name = "shutter"

        @Status.wrap
        async def open(self, delay: float) -> str:
            await asyncio.sleep(delay)
            return "Open"

    status = Shutter().open(0)
    assert isinstance(status, Status) and status.name == "shutter.open"
    assert await status.wait(timeout=5) == "Open"

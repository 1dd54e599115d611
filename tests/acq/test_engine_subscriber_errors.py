"""Subscriber failures are never silent: counted, logged, on the result; a critical
subscriber that fails fails the run; a subscriber that falls behind is reported, and its
queue stops growing (non-critical: events dropped and reported; critical: the scan waits).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import anyio
import pytest
from acq_helpers import Docs
from acq_plans import count, trigger_and_read

from acq import Msg, RunEngine
from acq.errors import CriticalSubscriberError
from devices.sim import SimDetector, SimMotor


@pytest.fixture
def det() -> SimDetector:
    return SimDetector("det", SimMotor("m1"))


class Writer:
    """Stands for a storage writer: fails from the `fail_at`-th event on."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.events = 0

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        if name == "event":
            self.events += 1
            if self.events >= self.fail_at:
                raise OSError("disk full")


async def test_a_critical_subscriber_that_fails_fails_the_run_naming_it(
    RE: RunEngine, docs: Docs, det: SimDetector
) -> None:
    writer = Writer(fail_at=3)
    RE.subscribe(writer, critical=True)
    cleanup: list[str] = []

    async def plan() -> Any:
        try:
            yield Msg("open_run", plan_name="slow_count")
            for _ in range(50):
                yield Msg("sleep", None, 0.01)
                yield trigger_and_read([det])
            yield Msg("close_run")
        finally:
            cleanup.append("ran")

    with pytest.raises(CriticalSubscriberError, match=r"Writer.*disk full") as caught:
        await RE(plan())
    assert isinstance(caught.value.__cause__, OSError)
    assert cleanup == ["ran"]  # the plan's finally ran: the error arrived at its yield
    result = RE.last_result
    assert result is not None and result.exit_status == "fail"
    assert "Writer" in result.reason and "critical subscriber" in result.reason
    assert any(f.critical for f in result.subscriber_errors)
    stop = docs.of("stop")[-1]
    assert stop["exit_status"] == "fail" and "Writer" in stop["reason"]
    assert len(docs.of("event")) < 50  # the run ended early, not at its last point


async def test_a_critical_subscriber_failing_on_the_stop_document_still_raises(
    RE: RunEngine, det: SimDetector
) -> None:
    def fails_at_stop(name: str, doc: dict[str, Any]) -> None:
        if name == "stop":
            raise OSError("database gone")

    RE.subscribe(fails_at_stop, critical=True)
    with pytest.raises(CriticalSubscriberError, match="database gone"):
        await RE(count([det], 2))
    assert RE.last_result is not None and RE.last_result.subscriber_errors


async def test_a_non_critical_failure_leaves_the_run_alone_and_is_listed(
    RE: RunEngine, det: SimDetector, caplog: pytest.LogCaptureFixture
) -> None:
    RE.subscribe(Writer(fail_at=1))
    with caplog.at_level(logging.ERROR, logger="acq.subscribers"):
        result = await RE(count([det], 4))
    assert result.exit_status == "success"
    assert [f.count for f in result.subscriber_errors] == [1, 2, 3, 4]
    assert caplog.text.count("Writer") >= 4
    # the next call starts with a clean list
    result = await RE(count([det], 1))
    assert [f.count for f in result.subscriber_errors] == [5]


async def test_a_threaded_subscriber_failure_is_listed_too(RE: RunEngine, det: SimDetector) -> None:
    RE.subscribe(Writer(fail_at=2), threaded=True)
    result = await RE(count([det], 3))
    assert [f.count for f in result.subscriber_errors] == [1, 2]


async def test_a_subscriber_falling_behind_is_warned_about_by_name_and_backlog(
    RE: RunEngine, det: SimDetector, caplog: pytest.LogCaptureFixture
) -> None:
    gate = anyio.Event()

    async def stuck_until_released(name: str, doc: dict[str, Any]) -> None:
        await gate.wait()

    RE.subscribe(stuck_until_released)

    async def plan() -> Any:
        yield count([det], 1_200)
        yield Msg("sleep", None, 1.1)  # stuck for longer than a subscriber that keeps up
        yield count([det], 1_000)
        gate.set()

    with caplog.at_level(logging.WARNING, logger="acq.subscribers"):
        result = await RE(plan())
    assert result.exit_status == "success" and not result.subscriber_errors
    assert re.search(r"stuck_until_released is \d+ documents behind", caplog.text)


async def test_a_subscriber_that_keeps_up_in_batches_is_not_warned_about(
    RE: RunEngine, det: SimDetector, caplog: pytest.LogCaptureFixture
) -> None:
    got = []

    async def stores_now_and_then(name: str, doc: dict[str, Any]) -> None:
        got.append(name)
        if len(got) % 4_000 == 0:  # a slow database round trip, as the catalog writer
            await anyio.sleep(0.5)  # makes: the count queues thousands of documents

    RE.subscribe(stores_now_and_then)
    with caplog.at_level(logging.WARNING, logger="acq.subscribers"):
        await RE(count([det], 8_000))
    assert len(got) == 8_003
    assert "behind" not in caplog.text


async def test_a_full_queue_drops_events_for_a_slow_subscriber_and_says_so(
    RE: RunEngine, det: SimDetector
) -> None:
    gate = anyio.Event()
    seen: list[str] = []

    async def slow(name: str, doc: dict[str, Any]) -> None:
        await gate.wait()
        seen.append(name)

    RE.subscribe(slow, max_backlog=100)

    async def plan() -> Any:
        yield count([det], 300)
        gate.set()

    result = await RE(plan())
    assert result.exit_status == "success"
    # memory bounded: it missed events, but never the run's frame
    assert seen[0] == "start" and seen[1] == "descriptor" and seen[-1] == "stop"
    assert seen.count("event") < 300
    assert result.subscriber_errors and "dropped" in str(result.subscriber_errors[0])


async def test_a_full_queue_of_a_critical_subscriber_holds_the_scan_and_loses_nothing(
    RE: RunEngine, det: SimDetector
) -> None:
    seen: list[int] = []

    async def slow_but_critical(name: str, doc: dict[str, Any]) -> None:
        if name == "event":
            await anyio.sleep(0.0005)
            seen.append(doc["seq_num"])

    RE.subscribe(slow_but_critical, critical=True, max_backlog=50)
    result = await RE(count([det], 400))
    assert result.exit_status == "success" and not result.subscriber_errors
    assert seen == list(range(1, 401))


async def test_flush_raises_when_a_critical_subscriber_failed(
    RE: RunEngine, det: SimDetector
) -> None:
    RE.subscribe(Writer(fail_at=1), critical=True)
    with pytest.raises(CriticalSubscriberError):
        await RE(count([det], 1))
    await RE.flush(timeout=5)  # nothing new failed since: quiet


async def test_msg_read_accepts_any_mapping(RE: RunEngine, docs: Docs) -> None:
    from types import MappingProxyType

    class MappingReader:
        name = "mapper"
        parent = None

        def read(self) -> Any:
            return MappingProxyType({"mapper": {"value": 1.5, "timestamp": 1.0}})

        def describe(self) -> Any:
            return MappingProxyType({"mapper": {"source": "test", "dtype": "number", "shape": []}})

    reader = MappingReader()

    async def plan() -> Any:
        yield Msg("open_run")
        yield Msg("create", name="primary")
        yield Msg("read", reader)
        yield Msg("save")
        yield Msg("close_run")

    result = await RE(plan())
    assert result.exit_status == "success"
    assert docs.of("event")[0]["data"] == {"mapper": 1.5}


@pytest.mark.parametrize("which", ["pre", "post"])
async def test_a_failing_suspender_plan_ends_the_run_with_its_error_as_the_reason(
    RE: RunEngine, docs: Docs, which: str
) -> None:
    from acq.suspenders import SuspendFloor
    from devices import soft_signal_rw

    ring = soft_signal_rw(float, 100.0, "ring_current")
    det = SimDetector("det", SimMotor("m1"))

    async def broken_shutter() -> Any:
        yield Msg("null")
        raise RuntimeError("shutter PV is not answering")

    async def fine() -> Any:
        yield Msg("null")

    RE.install_suspender(
        SuspendFloor(
            ring,
            10.0,
            resume_thresh=50.0,
            pre_plan=broken_shutter if which == "pre" else fine,
            post_plan=broken_shutter if which == "post" else fine,
        )
    )
    second = anyio.Event()
    RE.subscribe(lambda n, d: second.set() if n == "event" and d["seq_num"] == 2 else None)

    async def dump_and_refill() -> None:
        await second.wait()
        await ring.set(0.0)
        await anyio.sleep(0.1)
        await ring.set(100.0)

    async def plan() -> Any:
        yield Msg("open_run")
        for _ in range(100):
            yield Msg("checkpoint")
            yield Msg("sleep", None, 0.01)
            yield trigger_and_read([det])
        yield Msg("close_run")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(dump_and_refill)
            with pytest.raises(RuntimeError, match="shutter PV is not answering"):
                await RE(plan())
    finally:
        RE.clear_suspenders()
    result = RE.last_result
    assert result is not None and result.exit_status == "fail"
    assert "shutter PV is not answering" in result.reason
    assert docs.of("stop")[0]["exit_status"] == "fail"


async def test_a_status_callback_that_raises_is_logged_and_the_plan_goes_on(
    RE: RunEngine, caplog: pytest.LogCaptureFixture
) -> None:
    class CoroutineMover:
        name = "mover"
        parent = None

        def set(self, value: float) -> Any:
            async def move() -> None:
                await anyio.sleep(0.01)

            return move()

    def buggy(status: Any) -> None:
        raise ValueError("bug in a status callback")

    async def plan() -> Any:
        status = yield Msg("set", CoroutineMover(), 1.0, group="g")
        status.add_callback(buggy)
        yield Msg("wait", None, group="g")
        status.add_callback(buggy)  # on a finished status: called at once

    with caplog.at_level(logging.ERROR, logger="acq.engine"):
        result = await RE(plan())
    assert result.exit_status == "success"
    logged = [r for r in caplog.records if "status callback" in r.getMessage()]
    assert len(logged) == 2 and all("bug in a status callback" in str(r.exc_info) for r in logged)


async def test_a_critical_subscriber_that_fails_again_fails_the_next_run_too(
    RE: RunEngine, docs: Docs, det: SimDetector
) -> None:
    RE.subscribe(Writer(fail_at=1), critical=True)

    async def slow_count() -> Any:  # slow enough for the failure to arrive mid-run
        yield Msg("open_run", plan_name="slow_count")
        for _ in range(50):
            yield Msg("sleep", None, 0.01)
            yield trigger_and_read([det])
        yield Msg("close_run")

    for _ in range(2):
        with pytest.raises(CriticalSubscriberError):
            await RE(slow_count())
        assert RE.last_result is not None and RE.last_result.exit_status == "fail"
    assert [d["exit_status"] for d in docs.of("stop")] == ["fail", "fail"]


async def test_failures_are_listed_per_call_however_many_came_before(
    RE: RunEngine, det: SimDetector
) -> None:
    RE.subscribe(Writer(fail_at=1))
    first = await RE(count([det], 150))
    assert len(first.subscriber_errors) == 100  # the first 100 of the call; all logged
    second = await RE(count([det], 2))
    assert [f.count for f in second.subscriber_errors] == [151, 152]

"""Subscribers: sync or async, slow, blocked or failing, never stall or break the scan."""

from __future__ import annotations

import logging
import threading
import time

import anyio
import pytest
from acq_helpers import Docs
from acq_plans import count

from acq import RunEngine
from devices.sim import SimDetector, SimMotor


@pytest.fixture
def det() -> SimDetector:
    return SimDetector("det", SimMotor("m1"))


async def test_sync_and_async_subscribers_get_every_document_in_order(det):
    RE = RunEngine(waiting_hook=None)
    sync_docs, async_docs = Docs(), []

    async def async_cb(name, doc):
        await anyio.sleep(0)
        async_docs.append(name)

    RE.subscribe(sync_docs)
    RE.subscribe(async_cb)
    await RE(count([det], 5))
    assert sync_docs.names == ["start", "descriptor", *["event"] * 5, "stop"]
    assert async_docs == sync_docs.names


async def test_subscribe_to_one_document_name(RE, det):
    starts = []
    RE.subscribe(lambda name, doc: starts.append(name), "start")
    await RE(count([det], 3))
    assert starts == ["start"]
    with pytest.raises(ValueError, match="'events'"):
        RE.subscribe(print, "events")


async def test_a_slow_subscriber_does_not_slow_the_scan(det):
    RE = RunEngine(waiting_hook=None)
    seen = []

    async def slow(name, doc):
        await anyio.sleep(0.01)
        seen.append(name)

    token = RE.subscribe(slow)
    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        finished = anyio.Event()

        async def run():
            await RE(count([det], 50))
            finished.set()

        tg.start_soon(run)
        # the scan itself is done long before the subscriber has caught up: RE(...)
        # returns once the subscriber has every document
        await finished.wait()
    elapsed = time.perf_counter() - t0
    assert len(seen) == 53
    assert elapsed >= 0.5  # RE() waited for the subscriber to catch up
    RE.unsubscribe(token)


async def test_a_blocked_subscriber_does_not_hold_the_engine_forever(det, caplog):
    RE = RunEngine(waiting_hook=None, subscriber_stall_timeout=0.2)
    release = anyio.Event()
    got = []

    async def stuck(name, doc):
        if name == "descriptor":
            await release.wait()
        got.append(name)

    RE.subscribe(stuck)
    with caplog.at_level(logging.WARNING, logger="acq.engine"):
        result = await RE(count([det], 3))
    assert result.exit_status == "success"
    assert "made no progress" in caplog.text and "stuck" in caplog.text
    assert got == ["start"]
    # nothing is lost: the rest is delivered later
    release.set()
    await RE.flush()
    assert got == ["start", "descriptor", "event", "event", "event", "stop"]


async def test_a_failing_subscriber_is_logged_by_name_and_keeps_receiving(RE, det, caplog):
    got = []

    def picky(name, doc):
        got.append(name)
        if name == "event":
            raise RuntimeError("cannot handle events")

    RE.subscribe(picky)
    with caplog.at_level(logging.ERROR, logger="acq.subscribers"):
        result = await RE(count([det], 3))
    assert result.exit_status == "success"
    assert got[-1] == "stop" and got.count("event") == 3
    assert "picky" in caplog.text and "cannot handle events" in caplog.text
    # logged every time, with a running count (the traceback only the first time)
    assert [f"(failure {n})" in caplog.text for n in (1, 2, 3)] == [True] * 3
    assert caplog.text.count("Traceback") == 1
    # and listed on the result
    assert [(f.document, f.count, f.critical) for f in result.subscriber_errors] == [
        ("event", 1, False),
        ("event", 2, False),
        ("event", 3, False),
    ]
    assert "picky" in result.subscriber_errors[0].subscriber


async def test_a_threaded_subscriber_may_block(det):
    RE = RunEngine(waiting_hook=None)
    threads, got = set(), []

    def blocking(name, doc):
        time.sleep(0.001)
        threads.add(threading.get_ident())
        got.append(name)

    RE.subscribe(blocking, threaded=True)
    await RE(count([det], 10))
    assert len(got) == 13 and got[-1] == "stop"
    assert threading.get_ident() not in threads


async def test_unsubscribe_still_delivers_what_was_already_sent(det):
    RE = RunEngine(waiting_hook=None)
    got = []
    token = RE.subscribe(lambda name, doc: got.append(name))
    RE._dispatcher.emit("start", {"uid": "x", "time": 0.0})  # queued, not yet delivered
    RE.unsubscribe(token)
    await RE.flush()
    assert got == ["start"]
    with pytest.raises(KeyError):
        RE.unsubscribe(token)


async def test_flush_with_a_timeout_names_the_laggard():
    RE = RunEngine(waiting_hook=None)
    never = anyio.Event()

    async def laggard(name, doc):
        await never.wait()

    RE.subscribe(laggard)
    RE._dispatcher.emit("start", {"uid": "x", "time": 0.0})
    with pytest.raises(TimeoutError, match="laggard"):
        await RE.flush(timeout=0.05)


async def test_flush_during_a_run_waits_for_what_was_emitted_so_far(det):
    from acq_plans import trigger_and_read

    from acq import Msg

    RE = RunEngine(waiting_hook=None)
    got = []

    async def slowish(name, doc):
        await anyio.sleep(0.005)
        got.append(name)

    RE.subscribe(slowish)
    three_saved, release = anyio.Event(), anyio.Event()

    async def plan():
        yield Msg("open_run")
        for _ in range(3):
            yield trigger_and_read([det])
        three_saved.set()
        await release.wait()  # the run goes on, but emits nothing for now
        yield trigger_and_read([det])
        yield Msg("close_run")

    async with anyio.create_task_group() as tg:
        tg.start_soon(RE, plan())
        await three_saved.wait()
        await RE.flush()
        assert got == ["start", "descriptor", "event", "event", "event"]
        assert RE.state == "running"
        release.set()
    assert got[-2:] == ["event", "stop"]


async def test_documents_reach_subscribers_while_the_engine_waits(det):
    from acq import Msg
    from devices import soft_signal_rw

    RE = RunEngine(waiting_hook=None)
    temperature = soft_signal_rw(float, 1.0, "temperature")
    slow = SimMotor("slow", velocity=2.0)
    seen = anyio.Event()
    values = []
    delivered_at = []  # where the motor was when the new temperature reached us

    def on_event(name, doc):
        if "temperature" in doc["data"]:
            values.append(doc["data"]["temperature"])
            if doc["data"]["temperature"] == 2.0:
                delivered_at.append(slow.position)
                seen.set()

    RE.subscribe(on_event, "event")

    async def plan():
        yield Msg("open_run")
        yield Msg("monitor", temperature)
        yield Msg("set", slow, 3.0, group="move")  # 1.5 s
        yield Msg("wait", None, group="move")
        yield Msg("close_run")

    async def change_during_the_move():
        with anyio.fail_after(10):
            while slow.position == 0.0:
                await anyio.sleep(0.005)
        await temperature.set(2.0)
        with anyio.fail_after(10):
            await seen.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(change_during_the_move)
        await RE(plan())
    assert values == [1.0, 2.0]
    assert 0.0 < delivered_at[0] < 3.0, "delivered during the move, not after it"


class BatchRecorder:
    """A subscriber with ``handle_batch``: it pops each document before handling it."""

    def __init__(self, block_on: str = "", fail_on: str = "") -> None:
        self.got: list[str] = []
        self.calls = 0
        self.block_on, self.fail_on = block_on, fail_on
        self.release = anyio.Event()

    def __call__(self, name, doc):
        raise AssertionError("a subscriber with handle_batch is not called per document")

    async def handle_batch(self, batch):
        self.calls += 1
        while batch:
            name, doc = batch.popleft()
            if name == self.block_on:
                await self.release.wait()
            if name == self.fail_on:
                raise RuntimeError(f"cannot handle {name} {doc['seq_num']}")
            self.got.append(name)


async def test_a_batch_subscriber_gets_every_document_in_order_in_few_calls(det):
    RE = RunEngine(waiting_hook=None)
    batched, plain = BatchRecorder(), Docs()
    RE.subscribe(batched)
    RE.subscribe(plain)
    await RE(count([det], 200))
    assert batched.got == plain.names and len(batched.got) == 203
    assert batched.calls < 50


async def test_a_cancelled_batch_call_is_given_the_documents_it_had_not_taken(det):
    RE = RunEngine(waiting_hook=None, subscriber_stall_timeout=0.2)
    stuck = BatchRecorder(block_on="descriptor")
    RE.subscribe(stuck)
    result = await RE(count([det], 3))  # gives up on it after 0.2 s: its call is cancelled
    assert result.exit_status == "success"
    assert stuck.got == ["start"]
    # It had popped the descriptor (it is the subscriber's from then on: the catalog
    # writer journals a document before it awaits anything), so only the rest comes.
    stuck.block_on = ""
    await RE.flush()
    assert stuck.got == ["start", "event", "event", "event", "stop"]


async def test_a_failing_batch_subscriber_is_charged_with_the_document_it_took(det):
    RE = RunEngine(waiting_hook=None)
    picky = BatchRecorder(fail_on="event")
    RE.subscribe(picky)
    result = await RE(count([det], 3))
    assert result.exit_status == "success"
    assert picky.got == ["start", "descriptor", "stop"]  # each event failed; the rest came
    assert [(f.document, f.count) for f in result.subscriber_errors] == [
        ("event", 1),
        ("event", 2),
        ("event", 3),
    ]
    assert "cannot handle event 2" in str(result.subscriber_errors[1])


async def test_a_slow_critical_batch_subscriber_holds_the_scan_and_loses_nothing(det):
    RE = RunEngine(waiting_hook=None)
    seen = []

    class SlowStore:
        def __call__(self, name, doc):
            raise AssertionError("a subscriber with handle_batch is not called per document")

        async def handle_batch(self, batch):
            while batch:
                name, doc = batch.popleft()
                if name == "event":
                    await anyio.sleep(0.0005)
                    seen.append(doc["seq_num"])

    RE.subscribe(SlowStore(), critical=True, max_backlog=50)
    result = await RE(count([det], 400))
    assert result.exit_status == "success" and not result.subscriber_errors
    assert seen == list(range(1, 401))

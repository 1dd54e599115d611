"""The session's heap is frozen (left out of garbage collection) while the engine drives a
plan, and only then: see acq/heap.py."""

from __future__ import annotations

import gc
import weakref

import pytest
from acq_plans import trigger_and_read

from acq import Msg, RunEngine, RunEnginePaused
from acq.heap import heap_frozen
from devices.sim import SimDetector


@pytest.fixture(autouse=True)
def collector_on():
    """Each test starts with the collector on and nothing frozen, and leaves it so."""
    was_enabled = gc.isenabled()
    gc.enable()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()
    if not was_enabled:
        gc.disable()


class Node:
    """Something that can form a reference cycle (and be watched with a weakref)."""

    other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


async def test_the_heap_is_frozen_during_a_call_and_its_own_garbage_is_collected():
    RE = RunEngine(waiting_hook=None)
    seen: dict[str, object] = {}
    before = cycle()  # garbage from before the call: frozen with the rest

    async def plan():
        seen["frozen"] = gc.get_freeze_count()
        during = cycle()  # garbage made by the call: collected as usual
        gc.collect()
        seen["during collected"] = during() is None
        seen["before collected"] = before() is None
        yield Msg("open_run")
        yield trigger_and_read([SimDetector("det")])
        yield Msg("close_run")

    await RE(plan())
    assert seen["frozen"] > 0
    assert seen == {"frozen": seen["frozen"], "during collected": True, "before collected": False}
    assert gc.get_freeze_count() == 0  # unfrozen when the call returned
    gc.collect()
    assert before() is None  # and the older garbage is collected after it


async def test_a_paused_session_is_not_frozen_and_resume_freezes_again():
    RE = RunEngine(waiting_hook=None)
    counts = []

    async def plan():
        yield Msg("checkpoint")
        counts.append(gc.get_freeze_count())
        RE.request_pause()
        yield Msg("checkpoint")
        counts.append(gc.get_freeze_count())

    with pytest.raises(RunEnginePaused):
        await RE(plan())
    assert gc.get_freeze_count() == 0
    await RE.resume()
    assert gc.get_freeze_count() == 0
    assert len(counts) == 2 and min(counts) > 0


async def test_a_failing_plan_leaves_the_heap_unfrozen():
    RE = RunEngine(waiting_hook=None)

    async def plan():
        yield Msg("checkpoint")
        raise RuntimeError("the plan fails")

    with pytest.raises(RuntimeError, match="the plan fails"):
        await RE(plan())
    assert gc.get_freeze_count() == 0


async def test_code_that_freezes_itself_owns_the_permanent_generation():
    gc.freeze()
    theirs = gc.get_freeze_count()
    RE = RunEngine(waiting_hook=None)
    await RE(_one_point())
    # not unfrozen by the engine (a frozen object freed by its refcount still leaves)
    assert gc.get_freeze_count() > theirs // 2


async def test_nothing_is_frozen_while_the_collector_is_off():
    RE = RunEngine(waiting_hook=None)
    seen = []

    async def plan():
        seen.append(gc.get_freeze_count())
        yield Msg("checkpoint")

    gc.disable()
    try:
        await RE(plan())
    finally:
        gc.enable()
    assert seen == [0]


def test_overlapping_holders_share_one_freeze():
    with heap_frozen():
        first = gc.get_freeze_count()
        with heap_frozen():
            pass
        assert gc.get_freeze_count() > first // 2 > 0  # the inner exit did not unfreeze
    assert gc.get_freeze_count() == 0


async def _one_point():
    yield Msg("open_run")
    yield trigger_and_read([SimDetector("det")])
    yield Msg("close_run")

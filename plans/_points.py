"""The default point of a step scan or count, as precomputed messages: the hot path.

`one_nd_step` as a sub-plan per point costs three generators and their return values per
point. The standard plans instead build the point's constant messages once (the waits,
the triggers, the reads, ``create``/``save``) and yield them from one generator; only
the ``set`` messages are made per point. The messages are the same as `one_nd_step`'s.
Reusing a group name from point to point is safe: each ``wait`` empties its group.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from acq.msg import Msg
from acq.protocols import Triggerable

from ._devices import new_group, unique
from ._plan import Plan

__all__ = ["PointMessages", "default_counts", "default_points"]

CHECKPOINT = Msg("checkpoint")
SAVE = Msg("save")
DROP = Msg("drop")
_UNSET = object()


class PointMessages:
    """The constant messages of one point that reads `detectors` and `motors`."""

    __slots__ = ("create", "move_group", "reads", "triggers", "wait_move", "wait_trigger")

    def __init__(
        self, detectors: Sequence[Any], motors: Sequence[Any], stream: str = "primary"
    ) -> None:
        readers = unique([*detectors, *motors])
        trigger_group = new_group("trigger")
        self.move_group = new_group("step")
        self.wait_move = Msg("wait", None, group=self.move_group)
        self.triggers = tuple(
            Msg("trigger", obj, group=trigger_group)
            for obj in readers
            if isinstance(obj, Triggerable)
        )
        self.wait_trigger = Msg("wait", None, group=trigger_group) if self.triggers else None
        self.create = Msg("create", None, name=stream)
        self.reads = tuple(Msg("read", obj) for obj in readers)


async def default_points(
    detectors: Sequence[Any], motors: Sequence[Any], points: Sequence[tuple[Any, ...]]
) -> Plan:
    """Each point: checkpoint, move (only motors that change), trigger, read all, save."""
    pm = PointMessages(detectors, motors)
    group = pm.move_group
    last: list[Any] = [_UNSET] * len(motors)
    for point in points:
        yield CHECKPOINT
        for k, position in enumerate(point):
            if last[k] is _UNSET or last[k] != position:
                yield Msg("set", motors[k], position, group=group)
                last[k] = position
        yield pm.wait_move
        for msg in pm.triggers:
            yield msg
        if pm.wait_trigger is not None:
            yield pm.wait_trigger
        yield pm.create
        try:
            for msg in pm.reads:
                yield msg
        except Exception:
            yield DROP
            raise
        yield SAVE


async def default_counts(
    detectors: Sequence[Any], num: int | None, delay_of: Callable[[int], float] | None
) -> Plan:
    """`count`'s shots: checkpoint, trigger, read, save; `delay_of(i)` from shot i's start."""
    pm = PointMessages(detectors, [])
    i = 0
    while num is None or i < num:
        started = time.monotonic() if delay_of is not None else 0.0
        yield CHECKPOINT
        for msg in pm.triggers:
            yield msg
        if pm.wait_trigger is not None:
            yield pm.wait_trigger
        yield pm.create
        try:
            for msg in pm.reads:
                yield msg
        except Exception:
            yield DROP
            raise
        yield SAVE
        i += 1
        if delay_of is not None and (num is None or i < num):
            remaining = delay_of(i - 1) - (time.monotonic() - started)
            if remaining > 0:
                yield Msg("sleep", None, remaining)

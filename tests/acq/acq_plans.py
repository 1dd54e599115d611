"""Tiny plans written with Msg directly, so engine tests do not depend on `plans`."""

from __future__ import annotations

from typing import Any

from acq import Msg, plan_return


async def trigger_and_read(dets: list[Any], stream: str = "primary", run: str | None = None):
    for det in dets:
        if hasattr(det, "trigger"):
            yield Msg("trigger", det, group="det", run=run)
    yield Msg("wait", None, group="det", run=run)
    yield Msg("create", None, name=stream, run=run)
    readings = {}
    for det in dets:
        readings.update((yield Msg("read", det, run=run)))
    yield Msg("save", run=run)
    yield plan_return(readings)


async def count(dets: list[Any], num: int = 1, *, md: dict | None = None, run: str | None = None):
    yield Msg(
        "open_run",
        run=run,
        plan_name="count",
        detectors=[d.name for d in dets],
        num_points=num,
        **(md or {}),
    )
    for _ in range(num):
        yield Msg("checkpoint", run=run)
        yield trigger_and_read(dets, run=run)
    yield Msg("close_run", run=run)


async def scan(dets: list[Any], motor: Any, positions: list[float], *, md: dict | None = None):
    yield Msg(
        "open_run",
        plan_name="scan",
        detectors=[d.name for d in dets],
        motors=[motor.name],
        num_points=len(positions),
        hints={"dimensions": [([motor.name], "primary")]},
        **(md or {}),
    )
    for x in positions:
        yield Msg("checkpoint")
        yield Msg("set", motor, x, group="move")
        yield Msg("wait", None, group="move")
        yield trigger_and_read([motor, *dets])
    yield Msg("close_run")

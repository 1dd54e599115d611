"""Fly scanning: the devices acquire on their own; the plan starts, finishes and collects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acq.msg import Msg
from acq.protocols import Flyable

from ._devices import new_group, unique
from ._metadata import start_metadata
from ._plan import Plan, named
from ._validate import describe_value
from .errors import PlanArgumentError
from .wrappers import run_wrapper

__all__ = ["fly"]


def fly(flyers: Sequence[Any], *, md: Mapping[str, Any] | None = None) -> Plan:
    """One run: kick off every flyer, wait for all to complete, collect each one's data.

    Flyers that must be prepared (``prepare``) or staged should be prepared before, e.g.
    with ``bps.prepare(flyer, value, wait=True)`` and `stage_wrapper`. Returns the run uid.
    """
    if (
        isinstance(flyers, Flyable)
        or isinstance(flyers, str | bytes)
        or not isinstance(flyers, Sequence)
    ):
        raise PlanArgumentError(
            f"fly: flyers must be a list of flyable devices, got {describe_value(flyers)}"
        )
    flyers = unique(flyers)
    if not flyers:
        raise PlanArgumentError("fly: no flyers given")
    for i, flyer in enumerate(flyers):
        if not isinstance(flyer, Flyable):
            raise PlanArgumentError(
                f"fly: flyers[{i}] is {describe_value(flyer)}, which is not flyable "
                "(a flyer needs name, kickoff() and complete())"
            )
    meta = start_metadata(
        "fly",
        detectors=flyers,
        motors=[],
        num_points=None,
        plan_args={"flyers": flyers},
        md=md,
        dimensions=[],
    )
    return named(run_wrapper(_fly(flyers), md=meta), "fly")


async def _fly(flyers: list[Any]) -> Plan:
    group = new_group("kickoff")
    for flyer in flyers:
        yield Msg("kickoff", flyer, group=group)
    yield Msg("wait", None, group=group)
    group = new_group("complete")
    for flyer in flyers:
        yield Msg("complete", flyer, group=group)
    yield Msg("wait", None, group=group)
    for flyer in flyers:
        yield Msg("collect", flyer, stream=False, return_payload=False, name=None)

"""Dry run: list what a plan would do, without hardware, and check soft limits first.

``report = await dry_run(scan([det], m1, -1, 1, 11))`` drives the plan the way the engine
would, but answers every message from a simulation instead of touching devices:

- ``set`` moves a simulated position (checked against the motor's soft limits: a
  ``limits = (low, high)`` attribute or the control limits its ``describe()`` reports);
- ``locate`` and ``read`` of a motor answer from the simulated position;
- ``read`` of a detector answers 0.0, or what the `readings` argument says;
- ``open_run`` answers a made-up uid; everything else finishes at once.

The plan is walked by the engine's own interpreter (`acq.plan_stack`), so whatever the
engine runs, a dry run runs too: acq plans, bluesky plans (plain generators yielding
bluesky's ``Msg``), sub-plans and their return values.

A move outside the limits raises `SoftLimitError` naming the motor, the target, the limits
and the message, before anything has run. A plan object runs only once, so dry-run one
and give the engine a fresh one::

    await dry_run(rel_scan([det], m1, -1, 1, 11), positions={m1: 4.2})
    await RE(rel_scan([det], m1, -1, 1, 11))

`dry_run_sync` does the same from code that has no running event loop.
"""

from __future__ import annotations

import asyncio
import math
import numbers
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from acq.msg import Msg
from acq.plan_stack import drive_plan
from acq.protocols import Movable, Progress, Status

from ._validate import motor_limits, name_of
from .errors import PlanError, SoftLimitError

__all__ = ["DryRunReport", "Move", "dry_run", "dry_run_sync"]

ReadingsSpec = Callable[[Any, Mapping[str, Any]], Any] | Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Move:
    """One ``set`` the plan would send: which device, from where, to where."""

    index: int
    device: str
    start: Any
    target: Any

    def __str__(self) -> str:
        return f"{self.device}: {self.start!r} -> {self.target!r}"


@dataclass
class DryRunReport:
    """What a plan would do: its messages in order, the moves, the runs it would open."""

    messages: list[Msg] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    sleep_time: float = 0.0
    result: Any = None

    @property
    def commands(self) -> list[str]:
        return [msg.command for msg in self.messages]

    def positions(self, device: str) -> list[Any]:
        """The targets of every move of `device` (by name), in order."""
        return [move.target for move in self.moves if move.device == device]

    def __str__(self) -> str:
        moves_at = {move.index: move for move in self.moves}
        lines = [
            f"dry run: {len(self.runs)} run(s), {len(self.messages)} messages, "
            f"{len(self.moves)} moves, {self.sleep_time:g} s of sleeps"
        ]
        for i, msg in enumerate(self.messages):
            line = f"{i:5d}  {msg!r}"
            if len(line) > 110:
                line = line[:107] + "..."
            if i in moves_at:
                line += f"    # {moves_at[i]}"
            lines.append(line)
        return "\n".join(lines)


class _Done:
    """A finished, successful status: what every operation in a dry run returns."""

    done = True
    success = True

    def __await__(self) -> Iterator[Any]:
        return iter(())

    def add_callback(self, callback: Callable[[Status], None]) -> None:
        callback(self)

    def watch(self, callback: Callable[[Progress], None]) -> None:
        return None


class _Simulation:
    """Answers messages from simulated positions; checks soft limits."""

    def __init__(
        self,
        report: DryRunReport,
        positions: Mapping[Any, Any] | None,
        readings: ReadingsSpec,
        check_limits: bool,
        use_describe: bool,
    ) -> None:
        self.report = report
        self.given = dict(positions or {})
        self.readings = readings
        self.check_limits = check_limits
        self.use_describe = use_describe
        self.position: dict[int, Any] = {}
        self.devices: dict[int, Any] = {}
        self.limits: dict[int, tuple[float, float] | None] = {}
        self.runs = 0
        self.tokens = 0

    def _start_position(self, obj: Any) -> Any:
        for key in (obj, name_of(obj)):
            try:
                if key in self.given:
                    return self.given[key]
            except TypeError:  # an unhashable device: look it up by name only
                continue
        try:
            position = obj.position
        except Exception:  # a property that needs hardware: assume 0
            position = None
        return position if isinstance(position, numbers.Real) else 0.0

    def where(self, obj: Any) -> Any:
        key = id(obj)
        if key not in self.position:
            self.position[key] = self._start_position(obj)
            self.devices[key] = obj
        return self.position[key]

    async def _limits_of(self, obj: Any) -> tuple[float, float] | None:
        key = id(obj)
        if key not in self.limits:
            limits = motor_limits(obj)
            if limits is None and self.use_describe:
                limits = await _described_limits(obj)
            self.limits[key] = limits
        return self.limits[key]

    def positions_by_name(self) -> dict[str, Any]:
        return {name_of(self.devices[k]): v for k, v in self.position.items()}

    async def respond(self, index: int, msg: Msg) -> Any:
        handler = getattr(self, f"_on_{msg.command}", None)
        if handler is None:
            return None
        return await handler(index, msg)

    async def _on_set(self, index: int, msg: Msg) -> Any:
        obj, (target, *_rest) = msg.obj, msg.args
        start = self.where(obj)
        if self.check_limits and isinstance(target, numbers.Real):
            limits = await self._limits_of(obj)
            # typeshed's numbers.Real lacks float's operators; every Real compares like one
            value = cast(float, target)
            if limits is not None and not limits[0] <= value <= limits[1]:
                raise SoftLimitError(
                    name_of(obj), value, *limits, where=f"message {index}: {msg!r}"
                )
        self.position[id(obj)] = target
        self.report.moves.append(Move(index, name_of(obj), start, target))
        return _Done()

    async def _on_locate(self, index: int, msg: Msg) -> Any:
        objs = [msg.obj, *msg.args] if msg.obj is not None else list(msg.args)
        locations = [{"setpoint": self.where(o), "readback": self.where(o)} for o in objs]
        if len(locations) == 1 and msg.kwargs.get("squeeze", True):
            return locations[0]
        return locations

    async def _on_read(self, index: int, msg: Msg) -> Any:
        obj = msg.obj
        now = time.time()
        if isinstance(obj, Movable) and (id(obj) in self.position or self._given(obj)):
            value: Any = self.where(obj)
        else:
            value = self._detector_value(obj)
        if isinstance(value, Mapping):
            return {k: {"value": v, "timestamp": now} for k, v in value.items()}
        return {f: {"value": value, "timestamp": now} for f in _fields(obj)}

    def _given(self, obj: Any) -> bool:
        return name_of(obj) in self.given or any(k is obj for k in self.given)

    def _detector_value(self, obj: Any) -> Any:
        spec = self.readings
        if spec is None:
            return 0.0
        if isinstance(spec, Mapping):
            value = spec.get(name_of(obj), 0.0)
            return value(self.positions_by_name()) if callable(value) else value
        return spec(obj, self.positions_by_name())

    async def _on_open_run(self, index: int, msg: Msg) -> Any:
        self.runs += 1
        self.report.runs.append(dict(msg.kwargs))
        return f"dry-run-{self.runs}"

    async def _on_close_run(self, index: int, msg: Msg) -> Any:
        return f"dry-run-{self.runs}"

    async def _on_sleep(self, index: int, msg: Msg) -> Any:
        self.report.sleep_time += float(msg.args[0]) if msg.args else 0.0

    async def _on_subscribe(self, index: int, msg: Msg) -> Any:
        self.tokens += 1
        return self.tokens

    async def _finished(self, index: int, msg: Msg) -> Any:
        return _Done()

    _on_trigger = _on_stage = _on_unstage = _on_kickoff = _on_complete = _finished
    _on_prepare = _finished


def _fields(obj: Any) -> list[str]:
    fields = list(getattr(obj, "hints", {}).get("fields", ()))
    return fields or [name_of(obj)]


async def _described_limits(obj: Any) -> tuple[float, float] | None:
    """Control limits of the device's main data key, if ``describe()`` answers at once."""
    describe: Callable[[], Awaitable[Mapping[str, Any]]] | None = getattr(obj, "describe", None)
    if describe is None:
        return None
    try:
        async with asyncio.timeout(1.0):
            keys = await describe()
    except Exception:  # not connected, or no describe worth asking: no limits known
        return None
    for key in (*_fields(obj), name_of(obj)):
        control = (keys.get(key) or {}).get("limits", {}).get("control", {})
        low, high = control.get("low"), control.get("high")
        if isinstance(low, numbers.Real) and isinstance(high, numbers.Real):
            if low == high == 0 or not (math.isfinite(low) and math.isfinite(high)):
                return None
            return (float(min(low, high)), float(max(low, high)))
    return None


async def dry_run(
    plan: Any,
    *,
    positions: Mapping[Any, Any] | None = None,
    readings: ReadingsSpec = None,
    check_limits: bool = True,
    use_describe: bool = True,
    max_messages: int = 1_000_000,
) -> DryRunReport:
    """Drive `plan` against a simulation and report its messages and moves.

    `positions` gives motors' starting positions (by device or name; default: the
    device's ``position`` attribute, else 0). `readings` gives detector values: a
    mapping ``{name: value or f(positions)}`` or a function ``f(device, positions)``
    (positions by motor name). Raises `SoftLimitError` at the first move outside a
    motor's soft limits, and `PlanError` for a plan that does not end within
    `max_messages` messages (``count(num=None)``, for instance).
    """
    report = DryRunReport()
    sim = _Simulation(report, positions, readings, check_limits, use_describe)

    async def respond(msg: Msg) -> Any:
        if len(report.messages) >= max_messages:
            raise PlanError(
                f"dry run stopped after {max_messages} messages: the plan does not "
                "end by itself (count(num=None)?)"
            )
        index = len(report.messages)
        report.messages.append(msg)
        return await sim.respond(index, msg)

    report.result = await drive_plan(plan, respond, fatal=(SoftLimitError, PlanError))
    return report


def dry_run_sync(plan: Any, **kwargs: Any) -> DryRunReport:
    """`dry_run` for code without a running event loop (a script, a plain REPL)."""
    return asyncio.run(dry_run(plan, **kwargs))

"""Plan stubs: the building blocks of plans, one or a few messages each.

``from plans import stubs as bps``. Each stub is a small plan; yield it from your plan and
the engine runs it inline and sends back its result::

    async def my_plan(det, m1):
        yield bps.mv(m1, 1.5)
        readings = yield bps.trigger_and_read([det, m1])

Stubs that take several motors (`mv`, `mvr`) start every move in one group and then wait
for the group, so the motors move concurrently. Stubs that check their arguments
(`mv`, `abs_set`, ...) do so when called, not when the engine reaches them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from acq.msg import Msg
from acq.protocols import Locatable, Readable, Stageable, Triggerable

from ._devices import main_field, new_group, stageable
from ._per_step import (
    TakeReading,
    move_per_step,
    one_1d_step,
    one_nd_step,
    one_shot,
    repeat,
    trigger_and_read,
)
from ._plan import Plan, named, plan_return
from ._validate import check_movable, describe_value, name_of
from .errors import PlanArgumentError

__all__ = [
    "TakeReading",
    "abs_set",
    "checkpoint",
    "clear_checkpoint",
    "close_run",
    "collect",
    "complete",
    "configure",
    "create",
    "declare_stream",
    "deferred_pause",
    "drop",
    "install_suspender",
    "kickoff",
    "locate",
    "monitor",
    "move_per_step",
    "mv",
    "mvr",
    "null",
    "one_1d_step",
    "one_nd_step",
    "one_shot",
    "open_run",
    "pause",
    "position_of",
    "prepare",
    "rd",
    "read",
    "rel_set",
    "remove_suspender",
    "repeat",
    "save",
    "sleep",
    "stage",
    "stage_all",
    "stop",
    "subscribe",
    "trigger",
    "trigger_and_read",
    "unmonitor",
    "unstage",
    "unstage_all",
    "unsubscribe",
    "wait",
]


def _pairs(stub: str, args: Sequence[Any]) -> list[tuple[Any, Any]]:
    """``motor1, value1, motor2, value2`` -> pairs, each motor checked to be movable."""
    if not args or len(args) % 2:
        raise PlanArgumentError(
            f"{stub}: expected motor, value pairs (motor1, value1, motor2, value2, ...), "
            f"got {len(args)} argument(s): {', '.join(describe_value(a) for a in args)}"
        )
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
    for i, (obj, _value) in enumerate(pairs):
        check_movable(stub, obj, what=f"argument {2 * i + 1}")
    return pairs


# -- single messages ------------------------------------------------------------------


async def null() -> Plan:
    """A message that does nothing (a placeholder, or to give the engine a turn)."""
    yield Msg("null")


async def checkpoint() -> Plan:
    """Mark a point the engine may rewind to when it resumes after a pause."""
    yield Msg("checkpoint")


async def clear_checkpoint() -> Plan:
    """Forget the last checkpoint: a pause until the next one cannot be resumed."""
    yield Msg("clear_checkpoint")


async def pause() -> Plan:
    """Pause the engine here; ``await RE.resume()`` continues."""
    yield Msg("pause", None, defer=False)


async def deferred_pause() -> Plan:
    """Pause at the next checkpoint."""
    yield Msg("pause", None, defer=True)


async def sleep(seconds: float) -> Plan:
    """Wait `seconds` (the engine sleeps; pausing interrupts it)."""
    yield Msg("sleep", None, seconds)


async def wait(group: Hashable | None = None, *, timeout: float | None = None) -> Plan:
    """Wait for every operation started in `group` (all of them when None) to finish."""
    yield Msg("wait", None, group=group, timeout=timeout)


async def create(name: str = "primary") -> Plan:
    """Start bundling readings into one event of stream `name`."""
    yield Msg("create", None, name=name)


async def save() -> Plan:
    """Close the bundle: emit the event of the readings since `create`."""
    yield Msg("save")


async def drop() -> Plan:
    """Discard the bundle opened by `create` without emitting an event."""
    yield Msg("drop")


async def declare_stream(*objs: Any, name: str, collect: bool = False) -> Plan:
    """Declare stream `name` (its descriptor) for `objs` before the first event."""
    yield Msg("declare_stream", None, *objs, name=name, collect=collect)


async def read(obj: Readable) -> Plan:
    """Read `obj` into the open bundle; returns its readings ``{key: reading}``."""
    readings = yield Msg("read", obj)
    yield plan_return(readings)


async def locate(*objs: Locatable, squeeze: bool = True) -> Plan:
    """Where the movables are (setpoint and readback); one location when `squeeze` and one obj."""
    locations = yield Msg("locate", *objs, squeeze=squeeze)
    yield plan_return(locations)


async def rd(obj: Readable, *, default_value: Any = 0) -> Plan:
    """The current value of a single-valued readable (its hinted field), outside any bundle.

    Returns `default_value` when the engine has nothing to report (e.g. in a listing).
    """
    value = yield position_of(obj, default=default_value)
    yield plan_return(value)


async def position_of(obj: Any, *, default: Any = 0.0) -> Plan:
    """Where a movable is now: its located setpoint, else the value of its main field.

    Used by relative moves. Returns `default` if the engine answers nothing.
    """
    if isinstance(obj, Locatable):
        location = yield Msg("locate", obj)
        if isinstance(location, Sequence) and not isinstance(location, Mapping):
            (location,) = location
        if location is None:
            yield plan_return(default)
            return
        yield plan_return(location["setpoint"])
        return
    readings = yield Msg("read", obj)
    if not readings:
        yield plan_return(default)
        return
    yield plan_return(readings[main_field(obj, readings)]["value"])


async def stop(obj: Any) -> Plan:
    """Stop `obj` (a moving motor, an acquiring detector)."""
    yield Msg("stop", obj)


async def monitor(obj: Readable, *, name: str | None = None, **kwargs: Any) -> Plan:
    """Record every update of `obj` into stream `name` (default ``<obj>_monitor``)."""
    yield Msg("monitor", obj, name=name or f"{name_of(obj)}_monitor", **kwargs)


async def unmonitor(obj: Readable) -> Plan:
    """Stop the monitor started by `monitor`."""
    yield Msg("unmonitor", obj)


async def configure(obj: Any, *args: Any, **kwargs: Any) -> Plan:
    """Change `obj`'s configuration; returns what the engine reports (old, new)."""
    result = yield Msg("configure", obj, *args, **kwargs)
    yield plan_return(result)


async def subscribe(name: str, func: Callable[[str, Mapping[str, Any]], Any]) -> Plan:
    """Subscribe `func(name, doc)` to documents of type `name`; returns a token."""
    token = yield Msg("subscribe", None, func, name)
    yield plan_return(token)


async def unsubscribe(token: Any) -> Plan:
    """Remove a subscription made by `subscribe`."""
    yield Msg("unsubscribe", None, token=token)


async def install_suspender(suspender: Any) -> Plan:
    """Install a suspender for the rest of the plan (see also `wrappers.suspend_wrapper`)."""
    yield Msg("install_suspender", suspender)


async def remove_suspender(suspender: Any) -> Plan:
    """Remove a suspender installed by `install_suspender`."""
    yield Msg("remove_suspender", suspender)


async def open_run(md: Mapping[str, Any] | None = None) -> Plan:
    """Open a run with metadata `md`; returns the run's uid."""
    uid = yield Msg("open_run", **(md or {}))
    yield plan_return(uid)


async def close_run(exit_status: str | None = None, reason: str | None = None) -> Plan:
    """Close the open run; returns what the engine reports (the run's uid)."""
    result = yield Msg("close_run", exit_status=exit_status, reason=reason)
    yield plan_return(result)


# -- verbs that start an operation ----------------------------------------------------


def abs_set(
    obj: Any,
    value: Any,
    *args: Any,
    group: Hashable | None = None,
    wait: bool = False,
    **kwargs: Any,
) -> Plan:
    """Start moving `obj` to `value`; with ``wait=True`` wait for it. Returns the status."""
    check_movable("abs_set", obj)
    return named(_abs_set(obj, value, args, group, wait, kwargs), "abs_set")


async def _abs_set(
    obj: Any,
    value: Any,
    args: tuple[Any, ...],
    group: Hashable | None,
    wait: bool,
    kwargs: dict[str, Any],
) -> Plan:
    if wait and group is None:
        group = new_group("set")
    status = yield Msg("set", obj, value, *args, group=group, **kwargs)
    if wait:
        yield Msg("wait", None, group=group)
    yield plan_return(status)


def rel_set(
    obj: Any,
    value: Any,
    *args: Any,
    group: Hashable | None = None,
    wait: bool = False,
    **kwargs: Any,
) -> Plan:
    """Start moving `obj` by `value` from where it is now. Returns the status."""
    check_movable("rel_set", obj)
    return named(_rel_set(obj, value, args, group, wait, kwargs), "rel_set")


async def _rel_set(
    obj: Any,
    value: Any,
    args: tuple[Any, ...],
    group: Hashable | None,
    wait: bool,
    kwargs: dict[str, Any],
) -> Plan:
    here = yield position_of(obj)
    status = yield _abs_set(obj, here + value, args, group, wait, kwargs)
    yield plan_return(status)


def mv(
    *args: Any, group: Hashable | None = None, timeout: float | None = None, **kwargs: Any
) -> Plan:
    """Move motors to positions, concurrently, and wait: ``mv(m1, 1, m2, 2)``.

    Returns the moves' statuses. Extra keywords go to each ``set``.
    """
    pairs = _pairs("mv", args)
    return named(_mv(pairs, group, timeout, kwargs), "mv")


async def _mv(
    pairs: list[tuple[Any, Any]],
    group: Hashable | None,
    timeout: float | None,
    kwargs: dict[str, Any],
) -> Plan:
    group = group if group is not None else new_group("mv")
    statuses = []
    for obj, value in pairs:
        statuses.append((yield Msg("set", obj, value, group=group, **kwargs)))
    yield Msg("wait", None, group=group, timeout=timeout)
    yield plan_return(tuple(statuses))


def mvr(
    *args: Any, group: Hashable | None = None, timeout: float | None = None, **kwargs: Any
) -> Plan:
    """Move motors by offsets from where they are, concurrently, and wait: ``mvr(m1, 0.1)``."""
    pairs = _pairs("mvr", args)
    return named(_mvr(pairs, group, timeout, kwargs), "mvr")


async def _mvr(
    pairs: list[tuple[Any, Any]],
    group: Hashable | None,
    timeout: float | None,
    kwargs: dict[str, Any],
) -> Plan:
    targets = []
    for obj, delta in pairs:
        here = yield position_of(obj)
        targets.append((obj, here + delta))
    statuses = yield _mv(targets, group, timeout, kwargs)
    yield plan_return(statuses)


async def trigger(obj: Triggerable, *, group: Hashable | None = None, wait: bool = False) -> Plan:
    """Trigger `obj` (start an acquisition); with ``wait=True`` wait for it."""
    if wait and group is None:
        group = new_group("trigger")
    status = yield Msg("trigger", obj, group=group)
    if wait:
        yield Msg("wait", None, group=group)
    yield plan_return(status)


async def _start(
    command: str,
    obj: Any,
    args: tuple[Any, ...],
    group: Hashable | None,
    wait: bool,
    kwargs: dict[str, Any],
) -> Plan:
    if wait and group is None:
        group = new_group(command)
    status = yield Msg(command, obj, *args, group=group, **kwargs)
    if wait:
        yield Msg("wait", None, group=group)
    yield plan_return(status)


def prepare(
    obj: Any, *args: Any, group: Hashable | None = None, wait: bool = False, **kwargs: Any
) -> Plan:
    """Prepare `obj` for a fly scan (``obj.prepare(value)``)."""
    return named(_start("prepare", obj, args, group, wait, kwargs), "prepare")


def kickoff(obj: Any, *, group: Hashable | None = None, wait: bool = False, **kwargs: Any) -> Plan:
    """Start a flyer's acquisition."""
    return named(_start("kickoff", obj, (), group, wait, kwargs), "kickoff")


def complete(obj: Any, *, group: Hashable | None = None, wait: bool = False, **kwargs: Any) -> Plan:
    """Tell a flyer to finish; with ``wait=True`` wait until it has."""
    return named(_start("complete", obj, (), group, wait, kwargs), "complete")


async def collect(
    obj: Any, *, stream: bool = False, return_payload: bool = True, name: str | None = None
) -> Plan:
    """Collect a flyer's data into documents (stream `name`)."""
    result = yield Msg("collect", obj, stream=stream, return_payload=return_payload, name=name)
    yield plan_return(result)


async def stage(obj: Stageable, *, group: Hashable | None = None, wait: bool | None = None) -> Plan:
    """Stage `obj` (arm it for acquisition); waits unless a `group` is given."""
    yield _start("stage", obj, (), group, wait if wait is not None else group is None, {})


async def unstage(
    obj: Stageable, *, group: Hashable | None = None, wait: bool | None = None
) -> Plan:
    """Unstage `obj` (undo `stage`)."""
    yield _start("unstage", obj, (), group, wait if wait is not None else group is None, {})


async def stage_all(*objs: Any) -> Plan:
    """Stage every stageable object concurrently, then wait."""
    todo = stageable(objs)
    if todo:
        group = new_group("stage")
        for obj in todo:
            yield Msg("stage", obj, group=group)
        yield Msg("wait", None, group=group)


async def unstage_all(*objs: Any) -> Plan:
    """Unstage every stageable object concurrently, then wait."""
    todo = stageable(objs)
    if todo:
        group = new_group("unstage")
        for obj in todo:
            yield Msg("unstage", obj, group=group)
        yield Msg("wait", None, group=group)

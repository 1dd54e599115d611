"""Plan stubs: the building blocks of plans, one or a few messages each.

``from plans import stubs as bps``. Each stub is a small plan; yield it from your plan and
the engine runs it inline and sends back its result::

    async def my_plan(det, m1):
        yield bps.mv(m1, 1.5)
        readings = yield bps.trigger_and_read([det, m1])

Stubs that take several motors (`mv`, `mvr`) start every move in one group and then wait
for the group, so the motors move concurrently. Every stub checks its arguments when it
is called, not when the engine reaches it: ``mv(m1)``, ``sleep(-1)`` or
``abs_set(None, 1)`` raise `PlanArgumentError` at the prompt, before any run opens.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from acq.msg import Msg
from acq.protocols import Locatable, Readable, Stageable, Triggerable

from ._compose import (
    broadcast_msg,
    collect_while_completing,
    complete_all,
    kickoff_all,
    pchain,
    repeater,
)
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
from ._validate import (
    DOCUMENT_NAMES,
    EXIT_STATUSES,
    check_detectors,
    check_flag,
    check_group,
    check_movable,
    check_name,
    check_position,
    check_readable,
    check_seconds,
    check_suspender,
    check_unique,
    check_verb,
    describe_value,
    name_of,
)
from .errors import PlanArgumentError

__all__ = [
    "TakeReading",
    "abs_set",
    "broadcast_msg",
    "checkpoint",
    "clear_checkpoint",
    "close_run",
    "collect",
    "collect_while_completing",
    "complete",
    "complete_all",
    "configure",
    "create",
    "declare_stream",
    "deferred_pause",
    "drop",
    "input_plan",
    "install_suspender",
    "kickoff",
    "kickoff_all",
    "locate",
    "monitor",
    "mov",
    "move_per_step",
    "movr",
    "mv",
    "mvr",
    "null",
    "one_1d_step",
    "one_nd_step",
    "one_shot",
    "open_run",
    "pause",
    "pchain",
    "position_of",
    "prepare",
    "rd",
    "read",
    "rel_set",
    "remove_suspender",
    "repeat",
    "repeater",
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
    "wait_for",
]


def _pairs(stub: str, args: Sequence[Any], *, relative: bool) -> list[tuple[Any, Any]]:
    """``motor1, value1, motor2, value2`` -> pairs: each motor movable, each value a
    position (a number for a relative move or a motor with limits; never None or a
    device), each target within the motor's soft limits."""
    if not args or len(args) % 2:
        raise PlanArgumentError(
            f"{stub}: expected motor, value pairs (motor1, value1, motor2, value2, ...), "
            f"got {len(args)} argument(s): {', '.join(describe_value(a) for a in args)}"
        )
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
    for i, (obj, value) in enumerate(pairs):
        check_movable(stub, obj, what=f"argument {2 * i + 1}")
        check_position(stub, obj, value, what=f"argument {2 * i + 2}", relative=relative)
    check_unique(stub, [obj for obj, _ in pairs])
    return pairs


# -- single messages ------------------------------------------------------------------
#
# Each stub is an ordinary function: it checks its arguments when called, so a typo fails
# at the prompt, and only then returns the generator that yields the message(s).


async def _one(msg: Msg) -> Plan:
    yield msg


async def _ask(msg: Msg) -> Plan:
    """Yield `msg` and return the engine's answer."""
    reply = yield msg
    yield plan_return(reply)


def null() -> Plan:
    """A message that does nothing (a placeholder, or to give the engine a turn)."""
    return named(_one(Msg("null")), "null")


def checkpoint() -> Plan:
    """Mark a point the engine may rewind to when it resumes after a pause."""
    return named(_one(Msg("checkpoint")), "checkpoint")


def clear_checkpoint() -> Plan:
    """Forget the last checkpoint: a pause until the next one cannot be resumed."""
    return named(_one(Msg("clear_checkpoint")), "clear_checkpoint")


def pause() -> Plan:
    """Pause the engine here; ``await RE.resume()`` continues."""
    return named(_one(Msg("pause", None, defer=False)), "pause")


def deferred_pause() -> Plan:
    """Pause at the next checkpoint."""
    return named(_one(Msg("pause", None, defer=True)), "deferred_pause")


def sleep(seconds: float) -> Plan:
    """Wait `seconds` (the engine sleeps; pausing interrupts it)."""
    check_seconds("sleep", seconds, "seconds")
    return named(_one(Msg("sleep", None, seconds)), "sleep")


def wait(group: Hashable | None = None, *, timeout: float | None = None) -> Plan:
    """Wait for every operation started in `group` to finish.

    ``wait()`` with no group waits for the operations started without a group (`group` is
    None); to wait for a `mv` or ``abs_set(..., group="g")``, name its group.
    """
    check_group("wait", group)
    if timeout is not None:
        check_seconds("wait", timeout, "timeout")
    return named(_one(Msg("wait", None, group=group, timeout=timeout)), "wait")


def create(name: str = "primary") -> Plan:
    """Start bundling readings into one event of stream `name`."""
    check_name("create", name, "stream name")
    return named(_one(Msg("create", None, name=name)), "create")


def save() -> Plan:
    """Close the bundle: emit the event of the readings since `create`."""
    return named(_one(Msg("save")), "save")


def drop() -> Plan:
    """Discard the bundle opened by `create` without emitting an event."""
    return named(_one(Msg("drop")), "drop")


def declare_stream(*objs: Any, name: str, collect: bool = False) -> Plan:
    """Declare stream `name` (its descriptor) for `objs` before the first event."""
    check_name("declare_stream", name, "stream name")
    if not objs:
        raise PlanArgumentError(f"declare_stream: no devices given for stream {name!r}")
    if not collect:
        check_detectors("declare_stream", objs)
    return named(
        _one(Msg("declare_stream", None, *objs, name=name, collect=collect)), "declare_stream"
    )


def read(obj: Readable) -> Plan:
    """Read `obj` into the open bundle; returns its readings ``{key: reading}``."""
    check_readable("read", obj)
    return named(_ask(Msg("read", obj)), "read")


def locate(*objs: Locatable, squeeze: bool = True) -> Plan:
    """Where the movables are (setpoint and readback); one location when `squeeze` and one obj."""
    if not objs:
        raise PlanArgumentError("locate: no devices given; pass the motors to locate")
    for i, obj in enumerate(objs):
        check_verb("locate", obj, "locate", what=f"argument {i + 1}")
    return named(_ask(Msg("locate", *objs, squeeze=squeeze)), "locate")


def rd(obj: Readable, *, default_value: Any = 0) -> Plan:
    """The current value of a single-valued readable (its hinted field), outside any bundle.

    Returns `default_value` when the engine has nothing to report (e.g. in a listing).
    """
    check_readable("rd", obj)
    return named(_rd(obj, default_value), "rd")


async def _rd(obj: Readable, default_value: Any) -> Plan:
    value = yield _position_of(obj, default_value)
    yield plan_return(value)


def position_of(obj: Any, *, default: Any = 0.0) -> Plan:
    """Where a movable is now: its located setpoint, else the value of its main field.

    Used by relative moves. Returns `default` if the engine answers nothing.
    """
    if not isinstance(obj, Locatable):
        check_readable("position_of", obj)
    return named(_position_of(obj, default), "position_of")


async def _position_of(obj: Any, default: Any) -> Plan:
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


def stop(obj: Any) -> Plan:
    """Stop `obj` (a moving motor, an acquiring detector)."""
    check_verb("stop", obj, "stop")
    return named(_one(Msg("stop", obj)), "stop")


def monitor(obj: Readable, *, name: str | None = None, **kwargs: Any) -> Plan:
    """Record every update of `obj` into stream `name` (default ``<obj>_monitor``)."""
    check_readable("monitor", obj)
    check_verb("monitor", obj, "subscribe")
    if name is not None:
        check_name("monitor", name, "stream name")
    msg = Msg("monitor", obj, name=name or f"{name_of(obj)}_monitor", **kwargs)
    return named(_one(msg), "monitor")


def unmonitor(obj: Readable) -> Plan:
    """Stop the monitor started by `monitor`."""
    check_readable("unmonitor", obj)
    return named(_one(Msg("unmonitor", obj)), "unmonitor")


def configure(obj: Any, *args: Any, **kwargs: Any) -> Plan:
    """Change `obj`'s configuration; returns what the engine reports (old, new)."""
    check_verb("configure", obj, "configure")
    return named(_ask(Msg("configure", obj, *args, **kwargs)), "configure")


def subscribe(name: str, func: Callable[[str, Mapping[str, Any]], Any]) -> Plan:
    """Subscribe `func(name, doc)` to documents of type `name`; returns a token."""
    if name not in DOCUMENT_NAMES:
        raise PlanArgumentError(
            f"subscribe: name must be one of {', '.join(sorted(DOCUMENT_NAMES))}, got {name!r}"
            " (the argument order is subscribe(name, func))"
        )
    if not callable(func):
        raise PlanArgumentError(
            f"subscribe: func must be a callable func(name, doc), got {describe_value(func)}"
        )
    return named(_ask(Msg("subscribe", None, func, name)), "subscribe")


def unsubscribe(token: Any) -> Plan:
    """Remove a subscription made by `subscribe`."""
    if token is None:
        raise PlanArgumentError("unsubscribe: token is None; pass what subscribe returned")
    return named(_one(Msg("unsubscribe", None, token=token)), "unsubscribe")


def install_suspender(suspender: Any) -> Plan:
    """Install a suspender for the rest of the plan (see also `wrappers.suspend_wrapper`)."""
    check_suspender("install_suspender", suspender)
    return named(_one(Msg("install_suspender", suspender)), "install_suspender")


def remove_suspender(suspender: Any) -> Plan:
    """Remove a suspender installed by `install_suspender`."""
    check_suspender("remove_suspender", suspender)
    return named(_one(Msg("remove_suspender", suspender)), "remove_suspender")


def open_run(md: Mapping[str, Any] | None = None) -> Plan:
    """Open a run with metadata `md`; returns the run's uid."""
    if md is not None and not isinstance(md, Mapping):
        raise PlanArgumentError(f"open_run: md must be a dict or None, got {describe_value(md)}")
    return named(_ask(Msg("open_run", **(md or {}))), "open_run")


def close_run(exit_status: str | None = None, reason: str | None = None) -> Plan:
    """Close the open run; returns what the engine reports (the run's uid)."""
    if exit_status not in EXIT_STATUSES:
        raise PlanArgumentError(
            f"close_run: exit_status must be None, 'success', 'abort' or 'fail', "
            f"got {exit_status!r}"
        )
    if reason is not None and not isinstance(reason, str):
        raise PlanArgumentError(f"close_run: reason must be text, got {describe_value(reason)}")
    msg = Msg("close_run", exit_status=exit_status, reason=reason)
    return named(_ask(msg), "close_run")


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
    check_position("abs_set", obj, value, what="value", relative=False)
    check_group("abs_set", group)
    check_flag("abs_set", wait, "wait")
    return named(_start("set", obj, (value, *args), group, wait, kwargs), "abs_set")


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
    check_position("rel_set", obj, value, what="value", relative=True)
    check_group("rel_set", group)
    check_flag("rel_set", wait, "wait")
    return named(_rel_set(obj, value, args, group, wait, kwargs), "rel_set")


async def _rel_set(
    obj: Any,
    value: Any,
    args: tuple[Any, ...],
    group: Hashable | None,
    wait: bool,
    kwargs: dict[str, Any],
) -> Plan:
    here = yield _position_of(obj, 0.0)
    status = yield _start("set", obj, (here + value, *args), group, wait, kwargs)
    yield plan_return(status)


def mv(
    *args: Any, group: Hashable | None = None, timeout: float | None = None, **kwargs: Any
) -> Plan:
    """Move motors to positions, concurrently, and wait: ``mv(m1, 1, m2, 2)``.

    Returns the moves' statuses. Extra keywords go to each ``set``.
    """
    pairs = _pairs("mv", args, relative=False)
    check_group("mv", group)
    if timeout is not None:
        check_seconds("mv", timeout, "timeout")
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
    pairs = _pairs("mvr", args, relative=True)
    check_group("mvr", group)
    if timeout is not None:
        check_seconds("mvr", timeout, "timeout")
    return named(_mvr(pairs, group, timeout, kwargs), "mvr")


async def _mvr(
    pairs: list[tuple[Any, Any]],
    group: Hashable | None,
    timeout: float | None,
    kwargs: dict[str, Any],
) -> Plan:
    targets = []
    for obj, delta in pairs:
        here = yield _position_of(obj, 0.0)
        targets.append((obj, here + delta))
    statuses = yield _mv(targets, group, timeout, kwargs)
    yield plan_return(statuses)


def trigger(obj: Triggerable, *, group: Hashable | None = None, wait: bool = False) -> Plan:
    """Trigger `obj` (start an acquisition); with ``wait=True`` wait for it."""
    return _verb("trigger", obj, (), group, wait, {})


def _verb(
    command: str,
    obj: Any,
    args: tuple[Any, ...],
    group: Hashable | None,
    wait: bool,
    kwargs: dict[str, Any],
) -> Plan:
    """The checked plan of a verb that starts an operation on `obj` (``obj.<command>()``)."""
    check_verb(command, obj, command)
    check_group(command, group)
    check_flag(command, wait, "wait")
    return named(_start(command, obj, args, group, wait, kwargs), command)


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
    return _verb("prepare", obj, args, group, wait, kwargs)


def kickoff(obj: Any, *, group: Hashable | None = None, wait: bool = False, **kwargs: Any) -> Plan:
    """Start a flyer's acquisition."""
    return _verb("kickoff", obj, (), group, wait, kwargs)


def complete(obj: Any, *, group: Hashable | None = None, wait: bool = False, **kwargs: Any) -> Plan:
    """Tell a flyer to finish; with ``wait=True`` wait until it has."""
    return _verb("complete", obj, (), group, wait, kwargs)


def collect(
    obj: Any, *, stream: bool = False, return_payload: bool = True, name: str | None = None
) -> Plan:
    """Collect a flyer's data into documents (stream `name`)."""
    check_verb("collect", obj, "describe_collect")
    if name is not None:
        check_name("collect", name, "stream name")
    msg = Msg("collect", obj, stream=stream, return_payload=return_payload, name=name)
    return named(_ask(msg), "collect")


def stage(obj: Stageable, *, group: Hashable | None = None, wait: bool | None = None) -> Plan:
    """Stage `obj` (arm it for acquisition); waits unless a `group` is given."""
    if wait is not None:
        check_flag("stage", wait, "wait")
    return _verb("stage", obj, (), group, wait if wait is not None else group is None, {})


def unstage(obj: Stageable, *, group: Hashable | None = None, wait: bool | None = None) -> Plan:
    """Unstage `obj` (undo `stage`)."""
    if wait is not None:
        check_flag("unstage", wait, "wait")
    return _verb("unstage", obj, (), group, wait if wait is not None else group is None, {})


def stage_all(*objs: Any) -> Plan:
    """Stage every stageable object concurrently, then wait."""
    return named(_stage_all(_spread("stage_all", objs)), "stage_all")


def _spread(stub: str, objs: tuple[Any, ...]) -> list[Any]:
    """The devices of ``stub(*objs)``; a list passed whole gets a hint to spread it."""
    for obj in objs:
        if isinstance(obj, list | tuple | set):
            raise PlanArgumentError(
                f"{stub}: pass the devices themselves, not a list: {stub}(*devices)"
            )
    return stageable(objs)


async def _stage_all(todo: list[Any]) -> Plan:
    if todo:
        group = new_group("stage")
        for obj in todo:
            yield Msg("stage", obj, group=group)
        yield Msg("wait", None, group=group)


def unstage_all(*objs: Any) -> Plan:
    """Unstage every stageable object concurrently, then wait."""
    return named(_unstage_all(_spread("unstage_all", objs)), "unstage_all")


async def _unstage_all(todo: list[Any]) -> Plan:
    if todo:
        group = new_group("unstage")
        for obj in todo:
            yield Msg("unstage", obj, group=group)
        yield Msg("wait", None, group=group)


mov = mv  # bluesky's alias
movr = mvr  # bluesky's alias


def input_plan(prompt: str = "") -> Plan:
    """Ask the user (``RE.input_function``, by default `input`); returns the answer."""
    if not isinstance(prompt, str):
        raise PlanArgumentError(
            f"input_plan: prompt must be a string, got {describe_value(prompt)}"
        )
    return named(_ask(Msg("input", prompt=prompt)), "input_plan")


def wait_for(futures: Sequence[Callable[[], Any]], *, timeout: float | None = None) -> Plan:
    """Wait for awaitables the plan creates (each ``factory()`` is called by the engine,
    in its loop); returns the finished futures. bluesky's ``wait_for``."""
    factories = list(futures)
    for i, factory in enumerate(factories):
        if not callable(factory):
            raise PlanArgumentError(
                f"wait_for: futures[{i}] is {describe_value(factory)}; give functions that "
                "return an awaitable (lambda: some_coroutine()), so it is made in the loop"
            )
    if timeout is None:
        return named(_ask(Msg("wait_for", None, factories)), "wait_for")
    seconds = check_seconds("wait_for", timeout, "timeout")
    return named(_ask(Msg("wait_for", None, factories, timeout=seconds)), "wait_for")

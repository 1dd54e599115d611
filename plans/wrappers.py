"""Plan wrappers (bluesky's preprocessors): change what a plan does without editing it.

Each wrapper comes in two forms::

    plan = baseline_wrapper(scan([det], m1, 0, 1, 11), [ring_current, temperature])

    @baseline_decorator([ring_current, temperature])
    def my_scan(...):
        return scan(...)

A wrapper returns a new plan whose result is the wrapped plan's result. Wrappers that
rewrite messages (`relative_set_wrapper`, `baseline_wrapper`, ...) see the messages of
every sub-plan too. Cleanup (`finalize_wrapper` and the wrappers built on it) runs when
the plan ends, when it fails, and when the engine stops or aborts it; only ``halt``
(which closes the plan without letting it yield) skips it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec

from acq.msg import Msg
from acq.protocols import Readable

from ._devices import new_group, unique
from ._mutate import bracket_runs, msg_mutator, plan_mutator
from ._plan import Plan, is_plan, named, plan_return
from ._validate import describe_value
from .errors import PlanArgumentError
from .stubs import position_of, stage_all, trigger_and_read, unstage_all

__all__ = [
    "SupplementalData",
    "baseline_decorator",
    "baseline_wrapper",
    "configure_count_time_decorator",
    "configure_count_time_wrapper",
    "contingency_decorator",
    "contingency_wrapper",
    "finalize_decorator",
    "finalize_wrapper",
    "fly_during_decorator",
    "fly_during_wrapper",
    "inject_md_decorator",
    "inject_md_wrapper",
    "lazily_stage_decorator",
    "lazily_stage_wrapper",
    "monitor_during_decorator",
    "monitor_during_wrapper",
    "msg_mutator",
    "plan_mutator",
    "relative_set_decorator",
    "relative_set_wrapper",
    "reset_positions_decorator",
    "reset_positions_wrapper",
    "run_decorator",
    "run_wrapper",
    "set_run_key_decorator",
    "set_run_key_wrapper",
    "stage_decorator",
    "stage_wrapper",
    "suspend_decorator",
    "suspend_wrapper",
]

P = ParamSpec("P")


def _check_plan(wrapper: str, plan: Any) -> None:
    if not is_plan(plan):
        hint = " (call it: pass scan(...), not scan)" if callable(plan) else ""
        raise PlanArgumentError(
            f"{wrapper}: expected a plan (the generator a plan function returns), "
            f"got {describe_value(plan)}{hint}"
        )


def _plan_factory(wrapper: str, what: str, plan: Any) -> Callable[[], Any]:
    """A final/except/else plan may be given as a plan function or as a plan."""
    if plan is None:
        return lambda: None
    if is_plan(plan):
        return lambda: plan
    if callable(plan):
        return plan
    raise PlanArgumentError(
        f"{wrapper}: {what} must be a plan or a function returning one, got {describe_value(plan)}"
    )


def _decorator(wrapper: Callable[..., Plan]) -> Callable[..., Any]:
    """``X_decorator(*args)`` applies ``X_wrapper(plan, *args)`` to what a function returns."""

    def decorator(*args: Any, **kwargs: Any) -> Callable[[Callable[P, Any]], Callable[P, Plan]]:
        def decorate(func: Callable[P, Any]) -> Callable[P, Plan]:
            @functools.wraps(func)
            def wrapped(*fargs: P.args, **fkwargs: P.kwargs) -> Plan:
                return wrapper(func(*fargs, **fkwargs), *args, **kwargs)

            return wrapped

        return decorate

    decorator.__name__ = wrapper.__name__.replace("_wrapper", "_decorator")
    decorator.__qualname__ = decorator.__name__
    decorator.__doc__ = f"Decorator form of `{wrapper.__name__}`: {wrapper.__doc__}"
    return decorator


# -- try/finally, try/except ----------------------------------------------------------


def finalize_wrapper(plan: Plan, final_plan: Any) -> Plan:
    """Run `plan`, then `final_plan` (a plan function or a plan) whatever happened.

    The cleanup runs after success, after an error raised in the plan or by a command,
    and when the engine stops or aborts the plan (it throws into the plan); the error is
    raised again afterwards. It cannot run when the plan is closed (``aclose()``, the
    engine's ``halt``): a closing generator may not yield.
    """
    _check_plan("finalize_wrapper", plan)
    factory = _plan_factory("finalize_wrapper", "final_plan", final_plan)
    return named(_finalize(plan, factory), "finalize_wrapper")


async def _finalize(plan: Plan, final: Callable[[], Any]) -> Plan:
    try:
        result = yield plan
    except GeneratorExit:
        await _close(plan)
        raise
    except BaseException:
        yield _as_plan(final())
        raise
    yield _as_plan(final())
    yield plan_return(result)


async def _close(plan: Any) -> None:
    """Close a plan that may never have started (the engine closes the ones it runs)."""
    if hasattr(plan, "aclose"):
        await plan.aclose()
    else:
        plan.close()


async def _as_plan(plan: Any) -> Plan:
    """Run `plan` (a plan, a list of messages, or None) and pass its result on."""
    if plan is None:
        return
    if is_plan(plan):
        result = yield plan
        yield plan_return(result)
        return
    for msg in plan:
        yield msg


finalize_decorator = _decorator(finalize_wrapper)


def contingency_wrapper(
    plan: Plan,
    *,
    except_plan: Any = None,
    else_plan: Any = None,
    final_plan: Any = None,
    auto_raise: bool = True,
) -> Plan:
    """try/except/else/finally for plans.

    ``except_plan(exc)`` runs if the plan raises an `Exception` (re-raised afterwards
    unless ``auto_raise=False``); `else_plan` after success; `final_plan` always (as in
    `finalize_wrapper`).
    """
    _check_plan("contingency_wrapper", plan)
    if except_plan is not None and not callable(except_plan):
        raise PlanArgumentError(
            "contingency_wrapper: except_plan must be a function of the exception, "
            f"got {describe_value(except_plan)}"
        )
    else_factory = _plan_factory("contingency_wrapper", "else_plan", else_plan)
    final_factory = _plan_factory("contingency_wrapper", "final_plan", final_plan)
    return named(
        _contingency(plan, except_plan, else_factory, final_factory, auto_raise),
        "contingency_wrapper",
    )


async def _contingency(
    plan: Plan,
    except_plan: Callable[[BaseException], Any] | None,
    else_plan: Callable[[], Any],
    final_plan: Callable[[], Any],
    auto_raise: bool,
) -> Plan:
    result = None
    try:
        result = yield plan
    except GeneratorExit:
        await _close(plan)
        raise
    except Exception as exc:
        try:
            if except_plan is not None:
                yield _as_plan(except_plan(exc))
            if auto_raise:
                raise
        finally:
            yield _as_plan(final_plan())
        return
    except BaseException:
        yield _as_plan(final_plan())
        raise
    try:
        yield _as_plan(else_plan())
    finally:
        yield _as_plan(final_plan())
    yield plan_return(result)


contingency_decorator = _decorator(contingency_wrapper)


# -- runs and staging ----------------------------------------------------------------


def run_wrapper(plan: Plan, *, md: Mapping[str, Any] | None = None) -> Plan:
    """Enclose `plan` in one run (open_run with `md` ... close_run); returns the run uid.

    If the plan raises an error, the run is closed with exit status ``fail`` and the error
    as reason, then the error is raised again. When the engine stops, aborts or halts the
    plan, the engine closes the run itself, with the matching exit status.
    """
    _check_plan("run_wrapper", plan)
    return named(_run(plan, dict(md or {})), "run_wrapper")


async def _run(plan: Plan, md: dict[str, Any]) -> Plan:
    uid = yield Msg("open_run", **md)
    try:
        yield plan
    except GeneratorExit:
        await _close(plan)
        raise
    except Exception as exc:
        yield Msg("close_run", exit_status="fail", reason=f"{type(exc).__name__}: {exc}")
        raise
    yield Msg("close_run", exit_status="success", reason="")
    yield plan_return(uid)


run_decorator = _decorator(run_wrapper)


def stage_wrapper(plan: Plan, devices: Iterable[Any]) -> Plan:
    """Stage the (stageable) devices before `plan`, unstage them after, whatever happens."""
    _check_plan("stage_wrapper", plan)
    devices = unique(devices)
    return named(_stage(plan, devices), "stage_wrapper")


async def _stage(plan: Plan, devices: list[Any]) -> Plan:
    try:
        yield stage_all(*devices)
    except GeneratorExit:
        await _close(plan)
        raise
    result = yield _finalize(plan, lambda: unstage_all(*reversed(devices)))
    yield plan_return(result)


stage_decorator = _decorator(stage_wrapper)


# -- message rewriting ----------------------------------------------------------------


def inject_md_wrapper(plan: Plan, md: Mapping[str, Any]) -> Plan:
    """Add `md` to every run the plan opens (it wins over the plan's own metadata)."""
    _check_plan("inject_md_wrapper", plan)
    extra = dict(md)

    def inject(msg: Msg) -> Msg:
        if msg.command != "open_run":
            return msg
        return msg._replace(kwargs={**msg.kwargs, **extra})

    return named(msg_mutator(plan, inject), "inject_md_wrapper")


inject_md_decorator = _decorator(inject_md_wrapper)


def _with_run_key(plan: Plan, run: str | None) -> Plan:
    if run is None:
        return plan
    return msg_mutator(plan, lambda msg: msg._replace(run=run))


def set_run_key_wrapper(plan: Plan, run: str) -> Plan:
    """Send every message of `plan` to run `run` (``Msg.run``), for concurrent runs:
    ``pchain(set_run_key_wrapper(count([det]), "a"), ...)``."""
    _check_plan("set_run_key_wrapper", plan)
    if run is None or not isinstance(run, str | int):
        raise PlanArgumentError(
            f"set_run_key_wrapper: run must be a run key (a string), got {describe_value(run)}"
        )
    return named(msg_mutator(plan, lambda msg: msg._replace(run=run)), "set_run_key_wrapper")


set_run_key_decorator = _decorator(set_run_key_wrapper)


def baseline_wrapper(plan: Plan, devices: Iterable[Any], name: str = "baseline") -> Plan:
    """Read `devices` into stream `name` just after each run opens and just before it closes."""
    _check_plan("baseline_wrapper", plan)
    devices = unique(devices)
    for i, dev in enumerate(devices):
        if not isinstance(dev, Readable):
            raise PlanArgumentError(
                f"baseline_wrapper: devices[{i}] is {describe_value(dev)}, which is not readable"
            )
    if not devices:
        return plan

    async def after_open(msg: Msg) -> Plan:
        uid = yield msg
        yield _with_run_key(trigger_and_read(devices, name=name), msg.run)
        yield plan_return(uid)

    async def before_close(msg: Msg) -> Plan:
        yield _with_run_key(trigger_and_read(devices, name=name), msg.run)
        result = yield msg
        yield plan_return(result)

    def succeeds(msg: Msg) -> bool:  # the closing reading only for a run that succeeds
        return msg.kwargs.get("exit_status") in (None, "success")

    return named(bracket_runs(plan, after_open, before_close, succeeds), "baseline_wrapper")


baseline_decorator = _decorator(baseline_wrapper)


def monitor_during_wrapper(plan: Plan, signals: Iterable[Any]) -> Plan:
    """Monitor `signals` (each into stream ``<name>_monitor``) while each run is open."""
    _check_plan("monitor_during_wrapper", plan)
    signals = unique(signals)

    async def after_open(msg: Msg) -> Plan:
        uid = yield msg
        for sig in signals:
            yield Msg("monitor", sig, name=f"{sig.name}_monitor", run=msg.run)
        yield plan_return(uid)

    async def before_close(msg: Msg) -> Plan:
        for sig in signals:
            yield Msg("unmonitor", sig, run=msg.run)
        result = yield msg
        yield plan_return(result)

    if not signals:
        return plan
    return named(bracket_runs(plan, after_open, before_close), "monitor_during_wrapper")


monitor_during_decorator = _decorator(monitor_during_wrapper)


class _Positions:
    """Where each device was before the plan first moved it (by identity)."""

    def __init__(self, devices: Iterable[Any] | None) -> None:
        self._eligible = None if devices is None else {id(d) for d in devices}
        self.initial: dict[int, tuple[Any, Any]] = {}

    def watches(self, obj: Any) -> bool:
        return self._eligible is None or id(obj) in self._eligible

    def __contains__(self, obj: Any) -> bool:
        return id(obj) in self.initial

    def __getitem__(self, obj: Any) -> Any:
        return self.initial[id(obj)][1]

    async def stash(self, obj: Any) -> Plan:
        position = yield position_of(obj)
        self.initial.setdefault(id(obj), (obj, position))


def relative_set_wrapper(plan: Plan, devices: Iterable[Any] | None = None) -> Plan:
    """Treat ``set`` positions of `devices` (all moved devices if None) as offsets.

    Each offset is relative to where the device was when the plan first moved it.
    """
    _check_plan("relative_set_wrapper", plan)
    positions = _Positions(None if devices is None else list(devices))

    def absolute(msg: Msg) -> Msg:
        offset, *rest = msg.args
        return msg._replace(args=(positions[msg.obj] + offset, *rest))

    async def first_move(msg: Msg) -> Plan:
        yield positions.stash(msg.obj)
        reply = yield absolute(msg)
        yield plan_return(reply)

    async def later_move(msg: Msg) -> Plan:
        reply = yield absolute(msg)
        yield plan_return(reply)

    def proc(msg: Msg) -> tuple[Plan | None, Plan | None]:
        if msg.command != "set" or not positions.watches(msg.obj):
            return None, None
        if msg.obj in positions:
            return later_move(msg), None
        return first_move(msg), None

    return named(plan_mutator(plan, proc), "relative_set_wrapper")


relative_set_decorator = _decorator(relative_set_wrapper)


def reset_positions_wrapper(plan: Plan, devices: Iterable[Any] | None = None) -> Plan:
    """Move `devices` (all moved devices if None) back where they were when the plan ends.

    The return moves run concurrently and also after an error, a stop or an abort.
    """
    _check_plan("reset_positions_wrapper", plan)
    positions = _Positions(None if devices is None else list(devices))

    async def first_move(msg: Msg) -> Plan:
        yield positions.stash(msg.obj)
        reply = yield msg
        yield plan_return(reply)

    def proc(msg: Msg) -> tuple[Plan | None, Plan | None]:
        if msg.command == "set" and positions.watches(msg.obj) and msg.obj not in positions:
            return first_move(msg), None
        return None, None

    async def move_back() -> Plan:
        if not positions.initial:
            return
        group = new_group("reset")
        for obj, position in positions.initial.values():
            yield Msg("set", obj, position, group=group)
        yield Msg("wait", None, group=group)

    return named(_finalize(plan_mutator(plan, proc), move_back), "reset_positions_wrapper")


reset_positions_decorator = _decorator(reset_positions_wrapper)


def suspend_wrapper(plan: Plan, suspenders: Any) -> Plan:
    """Install `suspenders` (one or a list) for the duration of the plan."""
    _check_plan("suspend_wrapper", plan)
    collection = isinstance(suspenders, list | tuple | set | frozenset)
    items = list(suspenders) if collection else [suspenders]
    return named(_suspend(plan, items), "suspend_wrapper")


async def _suspend(plan: Plan, suspenders: list[Any]) -> Plan:
    installed: list[Any] = []

    async def remove() -> Plan:
        for suspender in reversed(installed):
            yield Msg("remove_suspender", suspender)

    async def install_then_run() -> Plan:
        for suspender in suspenders:
            yield Msg("install_suspender", suspender)
            installed.append(suspender)
        result = yield plan
        yield plan_return(result)

    result = yield _finalize(install_then_run(), remove)
    yield plan_return(result)


suspend_decorator = _decorator(suspend_wrapper)


# Device wrappers (fly_during, lazily_stage, configure_count_time, SupplementalData) live in
# their own module, built on the helpers above; imported last, when those exist.
from ._device_wrappers import (  # noqa: E402
    SupplementalData,
    configure_count_time_decorator,
    configure_count_time_wrapper,
    fly_during_decorator,
    fly_during_wrapper,
    lazily_stage_decorator,
    lazily_stage_wrapper,
)

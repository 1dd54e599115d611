"""Is a queue item something the engine could run? Checked before anything is queued.

Four checks, in order, each naming what was wrong:

1. the item's shape (``item_type``, ``name``, ``args`` a list, ``kwargs`` a dict);
2. permissions: the plan and every device the item names are allowed for the user's group;
3. the arguments against the plan function: they bind to its signature, and each JSON
   value fits the parameter's annotation (``int``, ``float``, ``list[float]``,
   ``int | None``, ...); device names become the device objects;
4. a dry run (`plans.dry_run`): the plan function is called (plans check their own
   arguments: unknown detectors, odd argument lists) and driven against a simulation that
   checks every move against the motors' limits. Nothing moves.

`build_plan` does 3 again when the item runs, to give the engine a fresh plan.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from .errors import RequestRejected
from .permissions import Group
from .queue import Item

__all__ = [
    "Catalogue",
    "build_plan",
    "check_item",
    "describe_annotation",
    "dry_run_item",
    "fits",
    "resolved_hints",
]

DRY_RUN_TIMEOUT = 20.0  # s
DRY_RUN_MAX_MESSAGES = 200_000

_SEQUENCES = (
    list,
    tuple,
    set,
    frozenset,
    cabc.Sequence,
    cabc.Iterable,
    cabc.Collection,
    cabc.MutableSequence,
)
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)


@dataclass
class Catalogue:
    """The plans and devices a service offers (from the startup file)."""

    plans: dict[str, Callable[..., Any]]
    devices: dict[str, Any]


def _reject(msg: str) -> RequestRejected:
    return RequestRejected(400, msg)


def check_shape(item: Any) -> Item:
    if not isinstance(item, Mapping):
        raise _reject(f"an item must be a JSON object, got {type(item).__name__}")
    item_type = item.get("item_type")
    if item_type == "instruction":
        if item.get("name") != "queue_stop":
            raise _reject(
                f"unknown instruction {item.get('name')!r}; the one known is 'queue_stop'"
            )
        return dict(item)
    if item_type != "plan":
        raise _reject(
            f"unsupported item_type {item_type!r}: use 'plan' (or 'instruction' for queue_stop)"
        )
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise _reject("the item has no plan 'name'")
    if not isinstance(item.get("args", []), list):
        raise _reject(f"'args' of plan {name!r} must be a list")
    if not isinstance(item.get("kwargs", {}), Mapping):
        raise _reject(f"'kwargs' of plan {name!r} must be an object")
    if not isinstance(item.get("meta", {}), Mapping):
        raise _reject(f"'meta' of plan {name!r} must be an object")
    return dict(item)


def _names_in(value: Any) -> list[str]:
    """Every string in a JSON value (candidate device names)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [n for v in value for n in _names_in(v)]
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in _names_in(v)]
    return []


def check_permissions(item: Item, group: Group, catalogue: Catalogue) -> None:
    name = item["name"]
    if name not in catalogue.plans:
        known = ", ".join(sorted(catalogue.plans)) or "none"
        raise _reject(f"unknown plan {name!r}; plans in this beamline's startup file: {known}")
    if not group.allows_plan(name):
        raise RequestRejected(403, f"plan {name!r} is not allowed for group {group.name!r}")
    values = [*item.get("args", []), *item.get("kwargs", {}).values()]
    for candidate in _names_in(values):
        if candidate in catalogue.devices and not group.allows_device(candidate):
            raise RequestRejected(
                403, f"device {candidate!r} is not allowed for group {group.name!r}"
            )


# -- arguments against annotations ---------------------------------------------------------


def resolved_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations; a parameter whose annotation cannot be resolved gets Any."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # one unresolvable name spoils get_type_hints: go one by one
        out: dict[str, Any] = {}
        globalns = getattr(func, "__globals__", {})
        for name, ann in getattr(func, "__annotations__", {}).items():
            try:
                out[name] = eval(ann, globalns) if isinstance(ann, str) else ann
            except Exception:
                out[name] = Any
        return out


def fits(value: Any, ann: Any, devices: Mapping[str, Any]) -> bool:
    """Could JSON `value` be passed where `ann` is expected (device names count as devices)?"""
    if ann is Any or ann is inspect.Parameter.empty or isinstance(ann, typing.TypeVar):
        return True
    if ann is None or ann is type(None):
        return value is None
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Union or origin is types.UnionType:
        return any(fits(value, a, devices) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is typing.Annotated:
        return fits(value, args[0], devices)
    if ann is bool:
        return isinstance(value, bool)
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if ann is float or ann is numbers.Real or ann is numbers.Number:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ann is str:
        return isinstance(value, str)
    if origin in _MAPPINGS or ann in _MAPPINGS:
        if not isinstance(value, Mapping):
            return False
        if len(args) == 2:
            return all(fits(v, args[1], devices) for v in value.values())
        return True
    if origin in _SEQUENCES or ann in _SEQUENCES:
        if not isinstance(value, list):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(
                fits(v, a, devices) for v, a in zip(value, args, strict=True)
            )
        if args:
            return all(fits(v, args[0], devices) for v in value)
        return True
    if origin is cabc.Callable or ann is cabc.Callable:
        return False  # a function cannot come over JSON
    if isinstance(value, str) and value in devices:
        device = devices[value]
        try:
            return isinstance(device, origin or ann)
        except TypeError:  # a non-runtime-checkable protocol, a generic alias
            return True
    if inspect.isclass(ann):
        try:
            return isinstance(value, ann)
        except TypeError:
            return True
    return True  # an annotation we cannot judge: the plan's own checks decide


def describe_annotation(ann: Any) -> str:
    if ann is type(None):
        return "None"
    if inspect.isclass(ann) and typing.get_origin(ann) is None:
        return ann.__name__
    return str(ann).replace("typing.", "").replace("collections.abc.", "")


def check_arguments(item: Item, catalogue: Catalogue) -> inspect.BoundArguments:
    """Bind the item's JSON arguments to the plan's signature and check their types."""
    name = item["name"]
    func = catalogue.plans[name]
    args, kwargs = list(item.get("args", [])), dict(item.get("kwargs", {}))
    signature = inspect.signature(func)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise _reject(f"plan {name!r}: {exc}; its signature is {name}{signature}") from None
    hints = resolved_hints(func)
    for pname, value in bound.arguments.items():
        param = signature.parameters[pname]
        ann = hints.get(pname, Any)
        if param.kind is param.VAR_POSITIONAL:
            values, where = list(value), [f"{pname}[{i}]" for i in range(len(value))]
        elif param.kind is param.VAR_KEYWORD:
            values, where = list(value.values()), [f"{k}" for k in value]
        else:
            values, where = [value], [pname]
        for v, label in zip(values, where, strict=True):
            if not fits(v, ann, catalogue.devices):
                raise _reject(
                    f"plan {name!r}: argument {label!r} must be {describe_annotation(ann)}, "
                    f"got {v!r} ({type(v).__name__})"
                )
    return bound


def _to_python(value: Any, devices: Mapping[str, Any], ann: Any) -> Any:
    """Device names become devices, except where the parameter wants a plain str."""
    if ann is str:
        return value
    if isinstance(value, str):
        return devices.get(value, value)
    if isinstance(value, list):
        return [_to_python(v, devices, Any) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_python(v, devices, Any) for k, v in value.items()}
    return value


def build_plan(item: Item, catalogue: Catalogue) -> Any:
    """Call the plan function with the item's arguments (devices by name): the plan."""
    bound = check_arguments(item, catalogue)
    func = catalogue.plans[item["name"]]
    hints = resolved_hints(func)
    signature = inspect.signature(func)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for pname, value in bound.arguments.items():
        param = signature.parameters[pname]
        ann = hints.get(pname, Any)
        if param.kind is param.VAR_POSITIONAL:
            args.extend(_to_python(v, catalogue.devices, ann) for v in value)
        elif param.kind is param.VAR_KEYWORD:
            kwargs.update({k: _to_python(v, catalogue.devices, ann) for k, v in value.items()})
        elif param.kind is param.KEYWORD_ONLY:
            kwargs[pname] = _to_python(value, catalogue.devices, ann)
        else:
            args.append(_to_python(value, catalogue.devices, ann))
    try:
        return func(*args, **kwargs)
    except Exception as exc:  # the plan's own argument checks
        raise _reject(f"plan {item['name']!r} refused its arguments: {exc}") from exc


async def dry_run_item(item: Item, catalogue: Catalogue) -> dict[str, Any]:
    """Build the plan and drive it against a simulation; a summary, or `RequestRejected`."""
    from plans import dry_run

    plan = build_plan(item, catalogue)
    try:
        with anyio.fail_after(DRY_RUN_TIMEOUT):
            report = await dry_run(plan, max_messages=DRY_RUN_MAX_MESSAGES)
    except TimeoutError:
        raise _reject(
            f"plan {item['name']!r}: the dry run did not finish within {DRY_RUN_TIMEOUT:g} s"
        ) from None
    except Exception as exc:
        raise _reject(f"plan {item['name']!r} would fail: {exc}") from exc
    return {
        "runs": len(report.runs),
        "messages": len(report.messages),
        "moves": len(report.moves),
        "sleep_time": report.sleep_time,
    }


async def check_item(item: Any, group: Group, catalogue: Catalogue) -> tuple[Item, dict[str, Any]]:
    """All four checks; returns the cleaned item and the dry run's summary."""
    item = check_shape(item)
    if item["item_type"] == "instruction":
        return item, {}
    check_permissions(item, group, catalogue)
    check_arguments(item, catalogue)
    summary = await dry_run_item(item, catalogue)
    return item, summary

"""Asking devices what they are: data keys, configuration, hints. Once per stream.

The only device I/O the document layer needs, kept apart so that `acq.bundler` stays a
plain state machine. This is also where a description is checked against event-model's
rules, once, so the per-event path can trust it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from .errors import DocumentError

if TYPE_CHECKING:
    from .protocols import DataKey

__all__ = ["Described", "check_readings_match", "describe", "describe_all", "maybe_await"]

_REQUIRED = ("dtype", "shape", "source")
_DTYPES = ("string", "number", "array", "boolean", "integer")


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def name_of(obj: object) -> str:
    return str(getattr(obj, "name", None) or repr(obj))


@dataclass(slots=True)
class Described:
    """What a stream's descriptor records about one object."""

    name: str
    data_keys: dict[str, DataKey]
    configuration: dict[str, Any] | None = None
    hints: dict[str, Any] | None = None


async def describe(obj: Any, *, collect: bool = False) -> Described:
    """``obj.describe()`` (or ``describe_collect()``), its configuration and hints."""
    name = name_of(obj)
    method = getattr(obj, "describe_collect" if collect else "describe", None)
    if method is None:
        verb = "describe_collect()" if collect else "describe()"
        raise TypeError(f"{name} has no {verb}, so it cannot be read into a stream")
    data_keys = dict(await maybe_await(method()))
    check_data_keys(name, data_keys)
    configuration = None
    if hasattr(obj, "read_configuration") and hasattr(obj, "describe_configuration"):
        values = await maybe_await(obj.read_configuration())
        keys = await maybe_await(obj.describe_configuration())
        configuration = {
            "data": {k: r["value"] for k, r in values.items()},
            "timestamps": {k: r["timestamp"] for k, r in values.items()},
            "data_keys": dict(keys),
        }
    hints = getattr(obj, "hints", None)
    return Described(name, data_keys, configuration, dict(hints) if hints else None)


async def describe_all(objs: Iterable[Any], *, collect: bool = False) -> list[Described]:
    """Describe several objects concurrently; results in the order given."""
    objs = list(objs)
    if len(objs) == 1:
        return [await describe(objs[0], collect=collect)]
    results: list[Described | None] = [None] * len(objs)

    async def one(i: int, obj: Any) -> None:
        results[i] = await describe(obj, collect=collect)

    async with anyio.create_task_group() as tg:
        for i, obj in enumerate(objs):
            tg.start_soon(one, i, obj)
    return results  # type: ignore[return-value]


def check_data_keys(obj_name: str, data_keys: Mapping[str, Any]) -> None:
    for key, data_key in data_keys.items():
        if not isinstance(data_key, Mapping):
            raise DocumentError(f"{obj_name}.describe() gave {key!r}: {data_key!r}, not a DataKey")
        missing = [field for field in _REQUIRED if field not in data_key]
        if missing:
            raise DocumentError(
                f"{obj_name}.describe() gave data key {key!r} without {', '.join(missing)}; "
                f"every DataKey needs dtype, shape and source"
            )
        if data_key["dtype"] not in _DTYPES:
            raise DocumentError(
                f"{obj_name}.describe() gave data key {key!r} dtype {data_key['dtype']!r}; "
                f"event-model allows {', '.join(_DTYPES)}"
            )
        if "." in key or "/" in key:
            raise DocumentError(f"{obj_name}: data key {key!r} contains '.' or '/'")


def check_keys_unique(described: Iterable[Described]) -> None:
    owner: dict[str, str] = {}
    for d in described:
        for key in d.data_keys:
            if key in owner:
                raise DocumentError(
                    f"data key {key!r} comes from both {owner[key]} and {d.name}; "
                    f"a stream cannot hold two values under one name (rename one device)"
                )
            owner[key] = d.name


def check_readings_match(described: Described, reading: Mapping[str, Any]) -> None:
    """The first reading of a stream must have exactly the described keys, except those
    described ``external="STREAM:"``: their data is in files, referenced by StreamDatum."""
    keys = {k for k, dk in described.data_keys.items() if dk.get("external") != "STREAM:"}
    if set(reading) != keys:
        extra = sorted(set(reading) - keys)
        missing = sorted(keys - set(reading))
        raise DocumentError(
            f"{described.name}.read() and .describe() disagree: read() has extra keys "
            f"{extra} and lacks {missing}"
        )

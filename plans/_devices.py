"""Small facts about devices that several plans need: identity, groups, main fields."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from acq.protocols import Stageable

from ._validate import name_of

__all__ = ["main_field", "new_group", "stageable", "unique"]

_group_ids = itertools.count(1)


def new_group(prefix: str) -> str:
    """A group name no other group in this process has (cheaper than a uuid per step)."""
    return f"{prefix}-{next(_group_ids)}"


def main_field(obj: Any, readings: Mapping[str, Any]) -> str:
    """The key of `obj`'s value in `readings`: its one hinted field, else its name."""
    fields = list(getattr(obj, "hints", {}).get("fields", ()))
    if len(fields) == 1 and fields[0] in readings:
        return fields[0]
    name = name_of(obj)
    return name if name in readings else next(iter(readings))


def stageable(objs: Iterable[Any]) -> list[Any]:
    """The stageable objects, each once."""
    return unique([obj for obj in objs if isinstance(obj, Stageable)])


def unique(objs: Iterable[Any]) -> list[Any]:
    """The objects in order, each once (by identity: devices need not be hashable)."""
    seen: set[int] = set()
    result = []
    for obj in objs:
        if id(obj) not in seen:
            seen.add(id(obj))
            result.append(obj)
    return result

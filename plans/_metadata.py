"""Start-document metadata of the standard plans: plain data in, plain data out.

The engine refuses metadata that is not JSON-serialisable, so everything a plan records
goes through `jsonable`: devices become their names, numpy scalars Python numbers,
callables their qualified names.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._validate import name_of

__all__ = ["dimensions_of", "jsonable", "start_metadata"]


def jsonable(value: Any) -> Any:
    """`value` with devices by name and everything else JSON-friendly."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(getattr(value, "name", None), str):
        return value.name
    if callable(value):
        return getattr(value, "__qualname__", None) or repr(value)
    return repr(value)


def dimensions_of(motors: Sequence[Any], stream: str = "primary") -> list[list[Any]]:
    """``hints.dimensions``: each motor's hinted fields (its name if it has none)."""
    dims = []
    for motor in motors:
        fields = list(getattr(motor, "hints", {}).get("fields", ())) or [name_of(motor)]
        dims.append([fields, stream])
    return dims


def start_metadata(
    plan_name: str,
    *,
    detectors: Sequence[Any],
    motors: Sequence[Any],
    num_points: int | None,
    plan_args: Mapping[str, Any],
    md: Mapping[str, Any] | None,
    dimensions: list[list[Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The metadata a standard plan puts in its start document.

    The caller's `md` wins over everything the plan computed, except that hints are
    merged key by key (so ``md={"hints": {"gridding": ...}}`` keeps the dimensions).
    """
    computed: dict[str, Any] = {
        "plan_name": plan_name,
        "plan_args": jsonable(dict(plan_args)),
        "detectors": [name_of(d) for d in detectors],
        "motors": [name_of(m) for m in motors],
        **{k: jsonable(v) for k, v in extra.items()},
    }
    if num_points is not None:
        computed["num_points"] = num_points
        computed["num_intervals"] = num_points - 1
    hints = {"dimensions": dimensions if dimensions is not None else dimensions_of(motors)}
    user = dict(md or {})
    hints.update(user.pop("hints", None) or {})
    computed.update(user)
    computed["hints"] = hints
    return computed

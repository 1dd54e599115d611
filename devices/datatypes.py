"""Signal value types: checking a value before it is sent, and describing it.

Pure functions (no I/O), shared by the soft and the Channel Access backends.

Supported datatypes: ``float``, ``int``, ``str``, ``bool``, an `enum.Enum` subclass whose
values are the labels (``class Mode(StrEnum): ...``), and ``numpy.ndarray`` (1-D arrays;
images are reshaped by the device that knows their size).
"""

from __future__ import annotations

import enum
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from event_model.documents.event_descriptor import Dtype

from acq.protocols import DataKey

from .errors import SignalValueError

__all__ = ["check_value", "datakey_for", "enum_labels", "is_enum_type", "type_label"]

_JSON_DTYPE: dict[Any, Dtype] = {float: "number", int: "integer", str: "string", bool: "boolean"}
_NUMPY_DTYPE = {float: "<f8", int: "<i8", str: "|S40", bool: "|b1"}


def is_enum_type(datatype: Any) -> bool:
    return isinstance(datatype, type) and issubclass(datatype, enum.Enum)


def enum_labels(datatype: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in datatype]


def type_label(datatype: Any) -> str:
    if datatype is None:
        return "any"
    if datatype is np.ndarray:
        return "array"
    return getattr(datatype, "__name__", str(datatype))


def check_value(datatype: Any, value: Any, choices: Sequence[str] | None = None) -> Any:
    """`value` converted for `datatype`, or `SignalValueError` saying what was expected.

    `choices` (enum labels from the server) are checked for ``str`` and enum datatypes.
    """
    if datatype is None:
        return value
    if datatype is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
            return float(value)
    elif datatype is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
            return int(value)
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(float(value))
    elif datatype is bool:
        if isinstance(value, bool | np.bool_) or value in (0, 1):
            return bool(value)
    elif datatype is str:
        if isinstance(value, str):
            _check_choice(value, choices)
            return value
    elif is_enum_type(datatype):
        if isinstance(value, datatype):
            return value
        labels = enum_labels(datatype)
        if isinstance(value, str):
            if value in labels:
                return datatype(value)
            raise SignalValueError(
                f"{value!r} is not one of the choices: {', '.join(map(repr, labels))}"
            )
    elif datatype is np.ndarray:
        if isinstance(value, np.ndarray | Sequence) and not isinstance(value, str):
            array = np.asarray(value)
            if array.dtype.kind in "biuf":
                return array
    raise SignalValueError(f"expected {type_label(datatype)}, got {type(value).__name__} {value!r}")


def _check_choice(label: str, choices: Sequence[str] | None) -> None:
    if choices and label not in choices:
        raise SignalValueError(
            f"{label!r} is not one of the choices: {', '.join(map(repr, choices))}"
        )


def datakey_for(
    datatype: Any,
    value: Any,
    source: str,
    *,
    units: str | None = None,
    precision: int | None = None,
    choices: Sequence[str] | None = None,
) -> DataKey:
    """An event-model DataKey for a signal of `datatype` currently holding `value`."""
    if datatype is None:
        datatype = _infer(value)
    if is_enum_type(datatype):
        choices = enum_labels(datatype)
        datatype = str
    key: DataKey
    if datatype is np.ndarray:
        array = np.asarray(value if value is not None else [])
        key = {
            "source": source,
            "dtype": "array",
            "dtype_numpy": array.dtype.str,
            "shape": list(array.shape),
        }
    else:
        key = {
            "source": source,
            "dtype": _JSON_DTYPE.get(datatype, "number"),
            "dtype_numpy": _NUMPY_DTYPE.get(datatype, "<f8"),
            "shape": [],
        }
    if units is not None:
        key["units"] = units
    if precision is not None:
        key["precision"] = precision
    if choices:
        key["choices"] = list(choices)
    return key


def _infer(value: Any) -> Any:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind
    if isinstance(value, enum.Enum):
        return type(value)
    if isinstance(value, np.ndarray | list | tuple):
        return np.ndarray
    return float

"""Channel Access values <-> Python values, and the DataKey of a PV. Pure, no I/O.

`make_converter` is called at connect (and again when a property monitor brings new enum
strings) with what the server says about the PV: its native type, element count and
choices. It decides once how every later reading is converted, so reads stay lean, and
it refuses a datatype the PV cannot hold with a message that says which would fit.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from aioca import DBR_CHAR_STR
from event_model.documents.event_descriptor import Limits

from acq.protocols import DataKey, Reading

from ..datatypes import check_value, enum_labels, is_enum_type, type_label
from ..errors import SignalValueError

__all__ = ["CaConverter", "CaMetadata", "IncompatibleTypeError", "make_converter", "metadata_from"]

# native field types (ca_field_type)
DBF_STRING, DBF_SHORT, DBF_FLOAT, DBF_ENUM, DBF_CHAR, DBF_LONG, DBF_DOUBLE = range(7)
_NATIVE_NAME = {
    DBF_STRING: "string",
    DBF_SHORT: "short",
    DBF_FLOAT: "float",
    DBF_ENUM: "enum",
    DBF_CHAR: "char",
    DBF_LONG: "long",
    DBF_DOUBLE: "double",
}
_NATIVE_NUMPY = {
    DBF_SHORT: "<i2",
    DBF_FLOAT: "<f4",
    DBF_ENUM: "<u2",
    DBF_CHAR: "|u1",
    DBF_LONG: "<i4",
    DBF_DOUBLE: "<f8",
}
_INTEGERS = (DBF_SHORT, DBF_CHAR, DBF_LONG)
_NUMBERS = (DBF_SHORT, DBF_FLOAT, DBF_CHAR, DBF_LONG, DBF_DOUBLE)
MAX_STRING = 39  # DBR_STRING holds 40 bytes with the terminating null


class IncompatibleTypeError(SignalValueError):
    """The datatype asked for does not fit what the PV holds."""


@dataclass(frozen=True, slots=True)
class CaMetadata:
    """What the server says about a PV besides its value (from a FORMAT_CTRL update)."""

    units: str | None = None
    precision: int | None = None
    limits: Limits | None = None
    choices: tuple[str, ...] | None = None


def metadata_from(value: Any) -> CaMetadata:
    """Metadata from an aioca FORMAT_CTRL value."""
    enums = getattr(value, "enums", None)
    if enums is not None:
        return CaMetadata(choices=tuple(enums))
    if not hasattr(value, "upper_ctrl_limit"):  # strings have no control fields
        return CaMetadata()
    limits: Limits = {
        "control": _range(value.lower_ctrl_limit, value.upper_ctrl_limit),
        "display": _range(value.lower_disp_limit, value.upper_disp_limit),
        "alarm": _range(value.lower_alarm_limit, value.upper_alarm_limit),
        "warning": _range(value.lower_warning_limit, value.upper_warning_limit),
    }
    return CaMetadata(units=value.units, precision=getattr(value, "precision", None), limits=limits)


def _range(low: float, high: float) -> Any:
    def clean(x: float) -> float | None:
        x = float(x)
        return None if math.isnan(x) else x

    return {"low": clean(low), "high": clean(high)}


@dataclass(frozen=True, slots=True)
class CaConverter:
    """How one PV's values are read, written and described; see `make_converter`."""

    pv: str
    datatype: Any
    #: datatype to request from aioca (None: the native type)
    request: int | None
    to_value: Callable[[Any], Any]
    to_put: Callable[[Any], Any]
    dtype: str
    dtype_numpy: str
    shape: tuple[int, ...]
    choices: tuple[str, ...] | None

    def reading(self, value: Any) -> Reading:
        return {
            "value": self.to_value(value),
            "timestamp": value.timestamp,
            "alarm_severity": value.severity,
        }

    def datakey(self, source: str, metadata: CaMetadata) -> DataKey:
        key: DataKey = {
            "source": source,
            "dtype": self.dtype,  # type: ignore[typeddict-item]
            "dtype_numpy": self.dtype_numpy,
            "shape": list(self.shape),
        }
        if metadata.units is not None:
            key["units"] = metadata.units
        if metadata.precision is not None and self.datatype in (float, np.ndarray):
            key["precision"] = metadata.precision
        if metadata.limits is not None:
            key["limits"] = metadata.limits
        if self.choices is not None:
            key["choices"] = list(self.choices)
        return key


def make_converter(
    pv: str, datatype: Any, native: int, count: int, choices: Sequence[str] | None
) -> CaConverter:
    """Decide how `pv` (native type, element count, enum choices) maps to `datatype`.

    ``datatype=None`` takes the PV's natural type: float, int, str (strings and enum
    labels) or a numpy array for waveforms.
    """
    choices = tuple(choices) if choices is not None else None
    if datatype is None:
        datatype = _natural(native, count)
    scalar = count == 1

    def refuse() -> IncompatibleTypeError:
        holds = f"{_NATIVE_NAME.get(native, native)}" + ("" if scalar else f"[{count}]")
        return IncompatibleTypeError(
            f"{pv} holds {holds}, which cannot be used as {type_label(datatype)}; "
            f"try datatype={type_label(_natural(native, count))}"
        )

    def make(
        to_value: Callable[[Any], Any],
        to_put: Callable[[Any], Any],
        dtype: str,
        dtype_numpy: str,
        request: int | None = None,
        shape: tuple[int, ...] = (),
        with_choices: tuple[str, ...] | None = None,
    ) -> CaConverter:
        return CaConverter(
            pv, datatype, request, to_value, to_put, dtype, dtype_numpy, shape, with_choices
        )

    if datatype is np.ndarray:
        if native not in _NUMBERS:
            raise refuse()
        dtype_numpy = _NATIVE_NUMPY[native]
        return make(
            _as_array,
            lambda v: _put_array(pv, v, count, dtype_numpy),
            "array",
            dtype_numpy,
            shape=(count,),
        )
    if datatype is str:
        if native == DBF_STRING and scalar:
            return make(str, lambda v: _put_string(pv, v), "string", "|S40")
        if native == DBF_ENUM:
            labels = choices or ()
            return make(
                lambda v: _label(labels, v),
                lambda v: _put_label(pv, labels, v),
                "string",
                "|S40",
                with_choices=labels,
            )
        if native == DBF_CHAR and not scalar:
            return make(
                str, lambda v: _put_chars(pv, v, count), "string", "|S40", request=DBR_CHAR_STR
            )
        raise refuse()
    if is_enum_type(datatype):
        if native != DBF_ENUM:
            raise refuse()
        labels = choices or ()
        missing = [label for label in enum_labels(datatype) if label not in labels]
        if missing:
            raise IncompatibleTypeError(
                f"{pv}: {datatype.__name__} has {', '.join(map(repr, missing))}, which the "
                f"PV does not; the PV's choices are {', '.join(map(repr, labels))}"
            )
        kind = datatype
        return make(
            lambda v: kind(_label(labels, v)),
            lambda v: _put_label(pv, labels, _enum_label(kind, v)),
            "string",
            "|S40",
            with_choices=labels,
        )
    if not scalar:
        raise refuse()
    if datatype is float and native in _NUMBERS:
        return make(float, lambda v: check_value(float, v), "number", "<f8")
    if datatype is int and native in (*_INTEGERS, DBF_ENUM):
        return make(int, lambda v: check_value(int, v), "integer", _NATIVE_NUMPY[native])
    if datatype is bool and native in (*_INTEGERS, DBF_ENUM):
        return make(bool, lambda v: int(check_value(bool, v)), "boolean", "|b1")
    raise refuse()


def _natural(native: int, count: int) -> Any:
    if count != 1 and native != DBF_STRING:
        return np.ndarray
    if native in (DBF_FLOAT, DBF_DOUBLE):
        return float
    if native in _INTEGERS:
        return int
    return str


def _as_array(value: Any) -> np.ndarray:
    return value.view(np.ndarray) if isinstance(value, np.ndarray) else np.array([value])


def _label(labels: Sequence[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else str(int(index))


def _enum_label(kind: type[enum.Enum], value: Any) -> str:
    return str(check_value(kind, value).value)


def _put_label(pv: str, labels: Sequence[str], value: Any) -> int:
    label = check_value(str, value)
    if label not in labels:
        raise SignalValueError(
            f"{label!r} is not one of the choices of {pv}: {', '.join(map(repr, labels))}"
        )
    return labels.index(label)


def _put_string(pv: str, value: Any) -> str:
    text = check_value(str, value)
    if len(text.encode()) > MAX_STRING:
        raise SignalValueError(
            f"{pv} holds at most {MAX_STRING} characters; got {len(text)}: {text[:20]!r}..."
        )
    return text


def _put_chars(pv: str, value: Any, count: int) -> str:
    text = check_value(str, value)
    if len(text.encode()) >= count:
        raise SignalValueError(f"{pv} holds at most {count - 1} characters; got {len(text)}")
    return text + "\0"


def _put_array(pv: str, value: Any, count: int, dtype_numpy: str) -> np.ndarray:
    array = check_value(np.ndarray, value)
    if array.ndim != 1:
        raise SignalValueError(f"{pv} takes a 1-D array; got shape {array.shape}")
    if len(array) > count:
        raise SignalValueError(f"{pv} holds at most {count} elements; got {len(array)}")
    return array.astype(np.dtype(dtype_numpy), copy=False)

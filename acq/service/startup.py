"""The beamline's startup file: its module-level names are the devices and the plans.

As in bluesky-queueserver's startup scripts, a plain Python file::

    from devices.epics import EpicsMotor, Scaler
    from plans import count, scan

    m1 = EpicsMotor("sim:m1", name="m1")
    det = Scaler("sim:scaler1", name="det")

    def two_scans(detectors: list, motor, start: float, stop: float, num: int = 5) -> Plan:
        ...

Devices are the module-level acq devices and signals (by the name they were given, which
is the name clients use). Plans are the module-level functions that make plans: the ones
annotated ``-> Plan``, generator and async generator functions. Names starting with
``_`` are private; a module-level ``__all__`` limits what is exported. An optional
``RE_METADATA`` dict becomes every run's metadata.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import runpy
import traceback
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices import Device, Signal

from .errors import StartupError

__all__ = ["Beamline", "is_plan_function", "load_startup"]


@dataclass
class Beamline:
    """What a startup file defines."""

    path: Path
    devices: dict[str, Any] = field(default_factory=dict)
    plans: dict[str, Callable[..., Any]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def is_plan_function(obj: Any) -> bool:
    """A function that makes plans: ``-> Plan``, or a (async) generator function."""
    if not inspect.isfunction(obj):
        return False
    if inspect.isasyncgenfunction(obj) or inspect.isgeneratorfunction(obj):
        return True
    ret = obj.__annotations__.get("return")
    if ret is None:
        return False
    if isinstance(ret, str):  # postponed annotations: judge by the name
        return ret.split(".")[-1].split("[")[0] in _PLAN_RETURNS
    union = typing.get_origin(ret) in (typing.Union, types.UnionType)
    candidates = typing.get_args(ret) if union else (ret,)
    return any(
        (typing.get_origin(c) or c) in (cabc.AsyncGenerator, cabc.Generator) for c in candidates
    )


_PLAN_RETURNS = ("Plan", "AsyncGenerator", "Generator", "PlanFactory", "MsgGenerator")


def _exported(namespace: Mapping[str, Any]) -> dict[str, Any]:
    names = namespace.get("__all__")
    if names is not None:
        return {n: namespace[n] for n in names if n in namespace}
    return {n: v for n, v in namespace.items() if not n.startswith("_")}


def load_startup(path: str | Path) -> Beamline:
    """Run the startup file and collect its devices and plans; `StartupError` if it fails."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise StartupError(f"startup file {path} not found; pass --config path/to/beamline.py")
    try:
        namespace = runpy.run_path(str(path), run_name="__acq_startup__")
    except BaseException as exc:  # SystemExit from a script, errors at import
        tb = "".join(traceback.format_exception(exc, limit=-3))
        raise StartupError(f"the startup file {path} failed: {exc!r}\n{tb}") from exc
    beamline = Beamline(path)
    for attr, value in _exported(namespace).items():
        if isinstance(value, Device | Signal):
            name = value.name or attr
            if name in beamline.devices and beamline.devices[name] is not value:
                raise StartupError(
                    f"two devices in {path} are named {name!r} (one is {attr!r}); "
                    f"give each device a unique name="
                )
            beamline.devices[name] = value
        elif is_plan_function(value):
            beamline.plans[attr] = value
    md = namespace.get("RE_METADATA", {})
    if not isinstance(md, Mapping):
        raise StartupError(f"RE_METADATA in {path} must be a dict, not {type(md).__name__}")
    beamline.metadata = dict(md)
    if not beamline.plans:
        raise StartupError(
            f"the startup file {path} defines no plans: import some (from plans import count, "
            f"scan) or define functions annotated -> Plan"
        )
    return beamline

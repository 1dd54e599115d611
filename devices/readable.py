"""StandardReadable: a device that reads, describes and hints a chosen set of signals.

Subclasses declare which children go where::

    class Diode(StandardReadable):
        def __init__(self, prefix: str, name: str = "") -> None:
            self.current = EpicsSignalRO(prefix + "I", datatype=float)
            self.gain = EpicsSignalRW(prefix + "gain", datatype=float)
            self.add_readables([self.current], Format.HINTED)
            self.add_readables([self.gain], Format.CONFIG)
            super().__init__(name=name)

``read()`` groups the signals of the whole readable tree by backend and reads each group
at once (`SignalBackend.batch_reader`): three CA signals cost one concurrent round trip.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from acq.protocols import DataKey, Reading

from .backend import BatchReader, SignalBackend
from .device import Device
from .signal import SignalR
from .status import Status

__all__ = ["Format", "StandardReadable"]


class Format(enum.Enum):
    """How a child takes part in a `StandardReadable`."""

    #: read in every event and listed in ``hints`` (plotted, shown in tables)
    HINTED = "hinted"
    #: read in every event
    NORMAL = "normal"
    #: read once per descriptor, as configuration
    CONFIG = "config"
    #: a readable child device: its reads, configuration and hints become ours
    CHILD = "child"


class _ReadPlan:
    """Signals grouped by backend class, plus devices with their own ``read``."""

    __slots__ = ("devices", "groups")

    def __init__(self, signals: list[SignalR[Any]], devices: list[Any]) -> None:
        by_kind: dict[type[SignalBackend[Any]], list[SignalR[Any]]] = {}
        for signal in signals:
            by_kind.setdefault(type(signal.backend), []).append(signal)
        self.groups: list[tuple[BatchReader, list[SignalR[Any]]]] = [
            (kind.batch_reader([s.backend for s in sigs]), sigs) for kind, sigs in by_kind.items()
        ]
        self.devices = devices

    async def read(self) -> dict[str, Reading]:
        result: dict[str, Reading] = {}
        for read_group, signals in self.groups:
            readings = await read_group()
            for signal, reading in zip(signals, readings, strict=True):
                result[signal.name] = reading
        for device in self.devices:
            result.update(await device.read())
        return result


class StandardReadable(Device):
    """A device with hinted, normal and configuration signals; see the module docstring."""

    def __init__(self, name: str = "") -> None:
        self.__dict__.setdefault("_readables", [])
        self._read_plan: _ReadPlan | None = None
        self._config_plan: _ReadPlan | None = None
        super().__init__(name=name)

    def add_readables(self, devices: Sequence[Device], fmt: Format = Format.NORMAL) -> None:
        """Take part `devices` (children of this device) in reads as `fmt` says."""
        readables: list[tuple[Device, Format]] = self.__dict__.setdefault("_readables", [])
        readables.extend((device, fmt) for device in devices)
        self.__dict__["_read_plan"] = None
        self.__dict__["_config_plan"] = None

    # -- flattening the tree ----------------------------------------------------------

    def _signals(
        self, formats: tuple[Format, ...], config: bool
    ) -> tuple[list[SignalR[Any]], list[Any]]:
        signals: list[SignalR[Any]] = []
        devices: list[Any] = []
        for device, fmt in self.__dict__.get("_readables", []):
            if fmt is Format.CHILD:
                if isinstance(device, StandardReadable) and _plain(device, config):
                    sub_signals, sub_devices = device._signals(formats, config)
                    signals += sub_signals
                    devices += sub_devices
                elif config and hasattr(device, "read_configuration"):
                    devices.append(_ConfigOf(device))
                elif not config and hasattr(device, "read"):
                    devices.append(device)
            elif fmt in formats:
                if isinstance(device, SignalR):
                    signals.append(device)
                else:
                    devices.append(_ConfigOf(device) if config else device)
        return signals, devices

    def _plan(self, config: bool) -> _ReadPlan:
        if config:
            if self._config_plan is None:
                self._config_plan = _ReadPlan(*self._signals((Format.CONFIG,), True))
            return self._config_plan
        if self._read_plan is None:
            self._read_plan = _ReadPlan(*self._signals((Format.HINTED, Format.NORMAL), False))
        return self._read_plan

    # -- the Readable / Configurable protocols -----------------------------------------

    async def read(self) -> dict[str, Reading]:
        plan = self._read_plan or self._plan(False)
        return await plan.read()

    async def describe(self) -> dict[str, DataKey]:
        return await _describe(self._plan(False))

    async def read_configuration(self) -> dict[str, Reading]:
        return await self._plan(True).read()

    async def describe_configuration(self) -> dict[str, DataKey]:
        return await _describe(self._plan(True), config=True)

    @property
    def hints(self) -> dict[str, Any]:
        fields: list[str] = []
        for device, fmt in self.__dict__.get("_readables", []):
            if fmt is Format.HINTED:
                fields.append(device.name)
            elif fmt is Format.CHILD and hasattr(device, "hints"):
                fields += device.hints.get("fields", [])
        return {"fields": fields}

    def stage(self) -> Status:
        return Status.finished(name=f"{self.name}.stage")

    def unstage(self) -> Status:
        return Status.finished(name=f"{self.name}.unstage")


def _plain(device: StandardReadable, config: bool) -> bool:
    """True when `device` reads the standard way, so its signals can join our batches."""
    cls = type(device)
    if config:
        return cls.read_configuration is StandardReadable.read_configuration
    return cls.read is StandardReadable.read


class _ConfigOf:
    """A child device seen through its configuration methods."""

    def __init__(self, device: Any) -> None:
        self.device = device

    async def read(self) -> dict[str, Reading]:
        return await self.device.read_configuration()

    async def describe(self) -> dict[str, DataKey]:
        return await self.device.describe_configuration()


async def _describe(plan: _ReadPlan, config: bool = False) -> dict[str, DataKey]:
    result: dict[str, DataKey] = {}
    for _, signals in plan.groups:
        for signal in signals:
            result.update(await signal.describe())
    for device in plan.devices:
        result.update(await device.describe())
    return result

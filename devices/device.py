"""Device trees: naming, children, and connecting everything at once.

A device's attributes that are devices (signals included) are its children; a child's
name is ``<parent>_<attribute>``, and names become data keys::

    class Slit(Device):
        def __init__(self, prefix: str, name: str = "") -> None:
            self.gap = EpicsSignalRW(prefix + "gap", datatype=float)  # named "s1_gap"
            super().__init__(name=name)                          # names the tree
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from .errors import NotConnectedError

__all__ = ["DEFAULT_TIMEOUT", "Device", "DeviceVector", "connect"]

DEFAULT_TIMEOUT = 10.0

D = TypeVar("D", bound="Device")


class Device:
    """A node in a device tree: a name, a parent, children."""

    _name: str = ""
    parent: Device | None = None

    def __init__(self, name: str = "") -> None:
        self.set_name(name)

    @property
    def name(self) -> str:
        return self._name

    def children(self) -> Iterator[tuple[str, Device]]:
        """``(attribute, child)`` pairs, in the order the children were assigned."""
        yield from self.__dict__.get("_children", {}).items()

    def set_name(self, name: str) -> None:
        """Name this device and, as ``<name>_<attribute>``, all its descendants."""
        object.__setattr__(self, "_name", name)
        for attr, child in self.children():
            child.set_name(f"{name}_{attr}" if name else "")

    def __setattr__(self, attr: str, value: Any) -> None:
        if isinstance(value, Device) and not attr.startswith("_") and attr != "parent":
            self.__dict__.setdefault("_children", {})[attr] = value
            object.__setattr__(value, "parent", self)
        object.__setattr__(self, attr, value)

    async def connect(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Connect every descendant concurrently; one `NotConnectedError` for all failures."""
        children = dict(self.children())
        if not children:
            return
        results = await asyncio.gather(
            *(child.connect(timeout) for child in children.values()), return_exceptions=True
        )
        errors = {
            attr: result
            for attr, result in zip(children, results, strict=True)
            if isinstance(result, BaseException)
        }
        _raise_tree(errors)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name or '(unnamed)'}>"


class DeviceVector(Device, Mapping[int, D], Generic[D]):
    """Numbered children (scaler channels, ...): ``vector[3]`` is named ``<parent>_3``."""

    def __init__(self, children: Mapping[int, D], name: str = "") -> None:
        self._items = dict(children)
        for key, child in self._items.items():
            self.__dict__.setdefault("_children", {})[str(key)] = child
            object.__setattr__(child, "parent", self)
        super().__init__(name=name)

    def __getitem__(self, key: int) -> D:
        return self._items[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


async def connect(*devices: Device, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Connect devices concurrently; raise one `NotConnectedError` naming every failure.

    ``await connect(m1, det, timeout=5)``. Connecting a connected device is cheap.
    """
    results = await asyncio.gather(
        *(device.connect(timeout) for device in devices), return_exceptions=True
    )
    errors = {
        (device.name or f"<unnamed {type(device).__name__} #{i}>"): result
        for i, (device, result) in enumerate(zip(devices, results, strict=True))
        if isinstance(result, BaseException)
    }
    _raise_tree(errors)


def _raise_tree(errors: dict[str, BaseException]) -> None:
    if not errors:
        return
    for error in errors.values():
        if not isinstance(error, Exception):  # cancellation, KeyboardInterrupt: not ours
            raise error
    raise NotConnectedError(
        {
            key: error.errors if isinstance(error, NotConnectedError) else error
            for key, error in errors.items()
        }
    )

"""StorageRing: the ring current (for suspenders and baseline readings)."""

from __future__ import annotations

from ..epics.signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX
from ..readable import Format, StandardReadable

__all__ = ["StorageRing"]


class StorageRing(StandardReadable):
    """``ring.current`` (mA, hinted under the device's name); ``dump``/``refill`` commands
    exist on the simulated ring only."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.current = EpicsSignalRO(f"{prefix}current", datatype=float)
        self.dump = EpicsSignalX(f"{prefix}dump", value=1)
        self.refill = EpicsSignalX(f"{prefix}refill", value=1)
        self.refill_time = EpicsSignalRW(f"{prefix}refill_time", datatype=float)
        self.add_readables([self.current], Format.HINTED)
        super().__init__(name=name)

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.current.set_name(name)

"""Scaler: the synApps scaler record, its channels named by NMn.

    scaler = Scaler("sim:scaler1", name="scaler1")
    await connect(scaler)              # reads NM1..NM8: channels "clock", "I0", "det", ...
    await scaler.preset_time.set(0.5)
    await scaler.trigger()             # CNT=1 with callback: done when counting ends
    await scaler.read()                # {"clock": ..., "I0": ..., "det": ..., ...}

A named channel reads under its name (hinted); unnamed channels are left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from acq.protocols import Progress

from ..device import DEFAULT_TIMEOUT, Device, DeviceVector
from ..readable import Format, StandardReadable
from ..status import Status
from .ca import CaBackend
from .signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX

__all__ = ["Scaler", "ScalerChannel"]


class ScalerChannel(Device):
    """One counter: its counts (``.Sn``) and its name (``.NMn``)."""

    def __init__(self, prefix: str, number: int, name: str = "") -> None:
        self.number = number
        self.s = EpicsSignalRO(f"{prefix}.S{number}", datatype=float)
        self.chname = EpicsSignalRW(f"{prefix}.NM{number}", datatype=str)
        super().__init__(name=name)


class Scaler(StandardReadable):
    """A scaler record; see the module docstring."""

    def __init__(self, prefix: str, name: str = "", *, channels: int = 8) -> None:
        self.count = EpicsSignalX(f"{prefix}.CNT", value=1)
        self.preset_time = EpicsSignalRW(f"{prefix}.TP", datatype=float)
        self.elapsed_time = EpicsSignalRO(f"{prefix}.T", datatype=float)
        self.freq = EpicsSignalRO(f"{prefix}.FREQ", datatype=float)
        self.channels = DeviceVector({n: ScalerChannel(prefix, n) for n in range(1, channels + 1)})
        self.prefix = prefix
        self._channel_names: dict[int, str] = {}
        self._preset: float | None = None  # the preset time, from its monitor
        self._reports: list[Callable[[float], None]] = []
        self._subscribed = False
        self.add_readables([self.elapsed_time])
        self.add_readables([self.preset_time, self.freq], Format.CONFIG)
        super().__init__(name=name)

    @property
    def channel_names(self) -> dict[int, str]:
        """``{channel number: NMn}`` of the named channels, as read at connect."""
        return dict(self._channel_names)

    async def connect(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        await super().connect(timeout)
        if not self._subscribed:  # elapsed and preset time feed the counts' progress
            self._subscribed = True
            self.elapsed_time.subscribe_value(self._on_elapsed)
            self.preset_time.subscribe_value(self._on_preset)
        readings = await CaBackend.read_many([c.chname.backend for c in self.channels.values()])
        names = {n: r["value"].strip() for n, r in zip(self.channels, readings, strict=True)}
        names = {n: label for n, label in names.items() if label}
        if names != self._channel_names:
            self._channel_names = names
            readables: list[tuple[Device, Format]] = self.__dict__["_readables"]
            readables[:] = [(d, f) for d, f in readables if not _is_counts(d)]
            self.add_readables([self.channels[n].s for n in names], Format.HINTED)
            self._name_channels()

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self._name_channels()

    def _name_channels(self) -> None:
        for number, label in self.__dict__.get("_channel_names", {}).items():
            self.channels[number].s.set_name(label)

    def trigger(self) -> Status:
        """Count for the preset time (CNT=1, put-callback done when counting ends).

        The status reports progress: the elapsed time (``.T``, 20 Hz while counting)
        against the preset time, so a long count shows a progress bar.
        """
        return Status.reporting(self._count, name=f"{self.name} count")

    async def _count(self, status: Status) -> None:
        started = time.monotonic()

        def report(elapsed: float) -> None:
            preset = self._preset
            if preset is None:  # its monitor has not answered yet
                return
            remaining = max(preset - elapsed, 0.0)
            status.set_progress(
                Progress(
                    self.name, elapsed, 0.0, preset, "s", 2, time.monotonic() - started, remaining
                )
            )

        self._reports.append(report)
        try:
            await self.count.trigger(wait=True)
        finally:
            self._reports.remove(report)
        # done: the final .T update may come a few ms after the put-callback
        report(self._preset or 0.0)

    def _on_preset(self, preset: float) -> None:
        self._preset = preset

    def _on_elapsed(self, elapsed: float) -> None:
        for report in list(self._reports):
            report(elapsed)


def _is_counts(device: Device) -> bool:
    return isinstance(device.parent, ScalerChannel) and device is device.parent.s

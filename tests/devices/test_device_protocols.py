"""Every device satisfies the acq.protocols the engine drives it through."""

from __future__ import annotations

import pytest

from acq import protocols as p
from devices import soft_signal_rw
from devices.aps import PssShutter, StorageRing, Undulator
from devices.epics import (
    AreaDetector,
    EpicsMotor,
    EpicsSignalRO,
    EpicsSignalRW,
    EpicsSignalX,
    Scaler,
    TemperatureController,
)
from devices.sim import SimDetector, SimFlyer, SimImageDetector, SimMotor

READABLE = (p.Readable, p.Configurable, p.HasHints, p.Stageable)

CASES = {
    "SimMotor": (
        lambda: SimMotor("m"),
        (*READABLE, p.Movable, p.Locatable, p.Stoppable, p.Pausable),
    ),
    "SimDetector": (lambda: SimDetector("d"), (*READABLE, p.Triggerable)),
    "SimImageDetector": (lambda: SimImageDetector("i"), (*READABLE, p.Triggerable)),
    "SimFlyer": (
        lambda: SimFlyer("f", SimMotor("m"), SimDetector("d")),
        (p.Flyable, p.Preparable, p.EventPageCollectable, p.Stoppable),
    ),
    "soft signal": (
        lambda: soft_signal_rw(float, 0.0, "s"),
        (p.Readable, p.Movable, p.Locatable, p.Subscribable),
    ),
    "EpicsSignalRO": (lambda: EpicsSignalRO("x:ro", "ro"), (p.Readable, p.Subscribable)),
    "EpicsSignalRW": (
        lambda: EpicsSignalRW("x:rw", "rw"),
        (p.Readable, p.Movable, p.Locatable, p.Subscribable),
    ),
    "EpicsSignalX": (lambda: EpicsSignalX("x:x", "x"), (p.Triggerable,)),
    "EpicsMotor": (
        lambda: EpicsMotor("x:m1", "m1"),
        (*READABLE, p.Movable, p.Locatable, p.Stoppable, p.Pausable),
    ),
    "Scaler": (lambda: Scaler("x:scaler1", "s"), (*READABLE, p.Triggerable)),
    "AreaDetector": (lambda: AreaDetector("x:ad1:", "ad"), (*READABLE, p.Triggerable)),
    "TemperatureController": (
        lambda: TemperatureController("x:tc1:", "tc"),
        (*READABLE, p.Movable, p.Locatable),
    ),
    "StorageRing": (lambda: StorageRing("x:ring:", "ring"), READABLE),
    "PssShutter": (lambda: PssShutter("x:shutter:", "shutter"), (*READABLE, p.Movable)),
    "Undulator": (
        lambda: Undulator("x:und:", "und"),
        (*READABLE, p.Movable, p.Locatable, p.Stoppable),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_device_satisfies_its_protocols(case: str) -> None:
    make, protocols = CASES[case]
    device = make()
    missing = [proto.__name__ for proto in protocols if not isinstance(device, proto)]
    assert not missing, f"{case} does not satisfy {missing}"


def test_read_only_signal_is_not_movable() -> None:
    assert not isinstance(EpicsSignalRO("x:ro", "ro"), p.Movable)

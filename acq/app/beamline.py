"""The simulated beamline as a scientist's startup file would define it.

One place names every device of the simulated IOC (``iocs``) and connects them at once,
so the demo's steps read like a session at a real beamline: ``bl.m1``, ``bl.scaler``,
``bl.camera``. `demo_speeds` makes the hardware quick enough for a demo of a few minutes
(fast motors, short counts, a brisk heater) without changing what the steps do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices import connect
from devices.aps import StorageRing
from devices.epics import EpicsMotor, EpicsSignalRW, HDF5Detector, Scaler, TemperatureController

MOTORS = ("m1", "m2", "m3", "m4", "sx", "sy", "th", "tth")
CONNECT_TIMEOUT = 20.0  # s: the IOC has just started on a loaded machine


@dataclass(frozen=True)
class SimBeamline:
    """Every device of the simulated beamline, connected."""

    motors: dict[str, EpicsMotor]
    scaler: Scaler
    temperature: TemperatureController
    ring: StorageRing
    camera: HDF5Detector
    det_center: EpicsSignalRW[float]  # where the slit detector's Gaussian peaks (model PV)

    def __getattr__(self, name: str) -> Any:  # bl.m1, bl.th, ...
        motors = self.__dict__.get("motors", {})
        if name in motors:
            return motors[name]
        raise AttributeError(name)

    @property
    def devices(self) -> list[Any]:
        return [*self.motors.values(), self.scaler, self.temperature, self.ring, self.camera]


async def connect_sim_beamline(prefix: str, image_dir: Path) -> SimBeamline:
    """Create and connect the devices; one `NotConnectedError` lists every PV that failed."""
    beamline = SimBeamline(
        motors={name: EpicsMotor(f"{prefix}{name}", name=name) for name in MOTORS},
        scaler=Scaler(f"{prefix}scaler1", name="scaler"),
        temperature=TemperatureController(f"{prefix}tc1:", name="temperature"),
        ring=StorageRing(f"{prefix}ring:", name="ring"),
        camera=HDF5Detector(f"{prefix}ad1:", directory=image_dir, name="camera"),
        det_center=EpicsSignalRW(f"{prefix}model:det_center", datatype=float, name="det_center"),
    )
    await connect(*beamline.devices, beamline.det_center, timeout=CONNECT_TIMEOUT)
    return beamline


async def demo_speeds(bl: SimBeamline) -> None:
    """Quick hardware: 10 units/s motors, 50 ms counts and frames, a 40 K/s heater."""
    for motor in bl.motors.values():
        await motor.velocity.set(10)
    await bl.scaler.preset_time.set(0.05)
    await bl.camera.cam.acquire_time.set(0.05)
    await bl.temperature.ramp_rate.set(40)
    await bl.ring.refill_time.set(1.0)

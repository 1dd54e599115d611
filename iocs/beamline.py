"""The simulated beamline: every device under one prefix, wired to the physics model.

The scaler and the area detector read the other devices' state (motor readbacks, sample
temperature, ring current, shutter) through `Beamline.state`, so a move, a temperature
ramp or a beam dump shows up in the counts. docs/reference/sim-beamline-pvs.md lists
the PVs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from caproto.server import PVGroup

from .area_detector import AreaDetector
from .model import BeamlineState, detector_rates, spot_centre, spot_image
from .model_params import ModelParameters
from .motor import Motor, MotorConfig
from .ring import StorageRing
from .scaler import Scaler
from .shutter import Shutter
from .temperature import TemperatureController
from .undulator import Undulator

MOTORS: dict[str, MotorConfig] = {
    "m1": MotorConfig("mm", -100.0, 100.0, "slit (det peak)"),
    "m2": MotorConfig("mm", -100.0, 100.0, "motor 2"),
    "m3": MotorConfig("mm", -100.0, 100.0, "motor 3"),
    "m4": MotorConfig("mm", -100.0, 100.0, "motor 4"),
    "th": MotorConfig("deg", -10.0, 190.0, "sample theta"),
    "tth": MotorConfig("deg", -10.0, 190.0, "detector two-theta"),
    "sx": MotorConfig("mm", -100.0, 100.0, "sample x"),
    "sy": MotorConfig("mm", -100.0, 100.0, "sample y"),
}


class Beamline:
    """All simulated devices with PV names starting with ``prefix``."""

    def __init__(self, prefix: str = "sim:", *, seed: int | None = None) -> None:
        self.prefix = prefix
        self._rng = np.random.default_rng(seed)
        self.motors = {
            name: Motor(f"{prefix}{name}", config, name=name) for name, config in MOTORS.items()
        }
        self.model = ModelParameters(f"{prefix}model:", name="model")
        self.ring = StorageRing(f"{prefix}ring:", rng=self._rng, name="ring")
        self.shutter = Shutter(f"{prefix}shutter:", name="shutter")
        self.tc1 = TemperatureController(f"{prefix}tc1:", name="tc1")
        self.undulator = Undulator(f"{prefix}und:", name="und")
        self.scaler1 = Scaler(
            f"{prefix}scaler1", rates=self.count_rates, rng=self._rng, name="scaler1"
        )
        self.ad1 = AreaDetector(f"{prefix}ad1:", frame=self.frame, name="ad1")
        self.pvdb = self._merge_pvdbs()

    def groups(self) -> Iterator[PVGroup]:
        yield from self.motors.values()
        yield from (
            self.model,
            self.ring,
            self.shutter,
            self.tc1,
            self.undulator,
            self.scaler1,
            self.ad1,
        )

    def _merge_pvdbs(self) -> dict[str, object]:
        pvdb: dict[str, object] = {}
        for group in self.groups():
            clashes = pvdb.keys() & group.pvdb.keys()
            if clashes:
                raise ValueError(f"PV names defined twice: {sorted(clashes)}")
            pvdb.update(group.pvdb)
        return pvdb

    def pv_names(self) -> list[str]:
        """Every name served, including ``P{motor}.VAL`` (the same PV as ``P{motor}``)."""
        aliases = [f"{motor.prefix}.VAL" for motor in self.motors.values()]
        return sorted([*self.pvdb, *aliases])

    def state(self) -> BeamlineState:
        return BeamlineState(
            m1=self.motors["m1"].rbv.value,
            th=self.motors["th"].rbv.value,
            tth=self.motors["tth"].rbv.value,
            temperature=self.tc1.rbv.value,
            current=self.ring.current.value,
            shutter_open=self.shutter.is_open,
        )

    def count_rates(self) -> np.ndarray:
        """Counts/s of scaler channels S2..S8 right now."""
        return detector_rates(self.state(), self.model.params())

    def frame(self, width: int, height: int, exposure: float) -> np.ndarray:
        """One area-detector frame taken now."""
        centre = spot_centre(
            self.motors["sx"].rbv.value, self.motors["sy"].rbv.value, width, height
        )
        return spot_image(width, height, centre, self.state().beam, exposure, self._rng)

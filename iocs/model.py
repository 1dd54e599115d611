"""The physics behind the simulated beamline's signals. Pure functions; no PVs, no clock.

Rates are counts per second; the IOC multiplies by the counting time and draws Poisson
samples, so two counts at the same positions differ the way real counts do.

``beam`` below is the fraction of nominal beam reaching the sample:
``current / 100 mA`` with the shutter open, 0 with it closed. Every rate is

- ``I0   = 1e6 * beam + background``
- ``det  = det_peak * beam * g(m1; det_center, det_width) + background``
- ``diff = bragg_peak * beam * g(tth; 2θ_B(T), bragg_width) * g(th; θ_B(T), bragg_width)
  + background``
- the unused channels: ``background``

with ``g(x; c, s) = exp(-(x - c)² / (2 s²))`` (peak 1, s is the standard deviation) and the
Bragg angle of a lattice that expands with temperature T (the temperature controller's
readback):

- ``d(T) = d0 (1 + alpha (T - T0))``
- ``θ_B(T) = asin(wavelength / (2 d(T)))``, so a warmer crystal diffracts at a smaller
  angle.

In a coupled theta/two-theta scan (th = tth / 2) the ``diff`` peak is a Gaussian in tth
centred on 2θ_B with standard deviation ``bragg_width * 2 / sqrt(5)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOMINAL_CURRENT_MA = 100.0
I0_RATE = 1e6  # counts/s in the I0 chamber at nominal beam
PIXEL_SIZE_MM = 0.1  # area detector: 1 mm of sample motion moves the spot 10 pixels
SPOT_SIGMA_PX = 3.0
SPOT_PEAK_RATE = 1e4  # counts/s in the brightest pixel at nominal beam
SPOT_BACKGROUND_RATE = 20.0  # counts/s per pixel


@dataclass(frozen=True)
class ModelParams:
    """The sample and detector parameters (the ``model:`` PVs)."""

    det_center: float = 0.0  # mm
    det_width: float = 0.5  # mm, standard deviation
    det_peak: float = 1e5  # counts/s at the centre, nominal beam
    d0: float = 3.1356  # Angstrom at T0 (Si 111)
    alpha: float = 2.6e-4  # 1/K, 100x silicon's, so shifts show in a short scan
    T0: float = 295.0  # K
    wavelength: float = 1.0  # Angstrom
    bragg_width: float = 0.05  # deg, standard deviation in th and in tth
    bragg_peak: float = 5e4  # counts/s on the peak, nominal beam
    background: float = 10.0  # counts/s in every channel


@dataclass(frozen=True)
class BeamlineState:
    """What the counts depend on: readbacks of the motors, the sample and the source."""

    m1: float = 0.0
    th: float = 0.0
    tth: float = 0.0
    temperature: float = 295.0  # K
    current: float = NOMINAL_CURRENT_MA  # mA
    shutter_open: bool = True

    @property
    def beam(self) -> float:
        """Fraction of nominal beam on the sample."""
        return self.current / NOMINAL_CURRENT_MA if self.shutter_open else 0.0


def gaussian(x: float, center: float, sigma: float) -> float:
    """exp(-(x - center)² / (2 sigma²)): 1 at the centre."""
    return math.exp(-0.5 * ((x - center) / sigma) ** 2)


def d_spacing(temperature: float, p: ModelParams) -> float:
    """Lattice spacing (Angstrom) at ``temperature`` (K), linear thermal expansion."""
    return p.d0 * (1 + p.alpha * (temperature - p.T0))


def bragg_theta(temperature: float, p: ModelParams) -> float | None:
    """Bragg angle θ_B in degrees, or None when the wavelength is too long to diffract."""
    sin_theta = p.wavelength / (2 * d_spacing(temperature, p))
    if not 0 < sin_theta <= 1:
        return None
    return math.degrees(math.asin(sin_theta))


def diffraction_rate(state: BeamlineState, p: ModelParams) -> float:
    """Counts/s of the ``diff`` channel before background."""
    theta = bragg_theta(state.temperature, p)
    if theta is None:
        return 0.0
    return (
        p.bragg_peak
        * state.beam
        * gaussian(state.tth, 2 * theta, p.bragg_width)
        * gaussian(state.th, theta, p.bragg_width)
    )


def detector_rates(state: BeamlineState, p: ModelParams) -> np.ndarray:
    """Counts/s of scaler channels S2..S8 (I0, det, diff, then four unused)."""
    i0 = I0_RATE * state.beam
    det = p.det_peak * state.beam * gaussian(state.m1, p.det_center, p.det_width)
    diff = diffraction_rate(state, p)
    return np.array([i0, det, diff, 0.0, 0.0, 0.0, 0.0]) + p.background


def poisson_counts(rates: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Counts collected in ``seconds`` at ``rates``: independent Poisson samples."""
    return rng.poisson(np.clip(rates, 0, None) * max(seconds, 0.0)).astype(float)


def spot_centre(sx: float, sy: float, width: int, height: int) -> tuple[float, float]:
    """Pixel (column, row) of the beam spot for sample stage position (sx, sy) in mm."""
    return (width - 1) / 2 + sx / PIXEL_SIZE_MM, (height - 1) / 2 + sy / PIXEL_SIZE_MM


def spot_image(
    width: int,
    height: int,
    centre: tuple[float, float],
    beam: float,
    exposure: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """A noisy 2-D Gaussian spot: int32 counts, shape (height, width)."""
    cols = np.arange(width) - centre[0]
    rows = np.arange(height) - centre[1]
    profile_x = np.exp(-0.5 * (cols / SPOT_SIGMA_PX) ** 2)
    profile_y = np.exp(-0.5 * (rows / SPOT_SIGMA_PX) ** 2)
    rate = SPOT_PEAK_RATE * beam * np.outer(profile_y, profile_x) + SPOT_BACKGROUND_RATE
    return rng.poisson(rate * exposure).astype(np.int32)


# Undulator: first-harmonic energy of a 33 mm period device on a 7 GeV ring, with the
# deflection parameter K falling exponentially with the gap.
UNDULATOR_PERIOD_MM = 33.0
_K_AT_ZERO_GAP = 7.85
_ENERGY_AT_K0 = 0.9496 * 7.0**2 / (UNDULATOR_PERIOD_MM / 10)  # keV, E1 when K = 0
GAP_RANGE_MM = (10.5, 100.0)


def undulator_energy(gap: float) -> float:
    """First-harmonic photon energy (keV) at ``gap`` (mm); rises with the gap."""
    k = _K_AT_ZERO_GAP * math.exp(-math.pi * gap / UNDULATOR_PERIOD_MM)
    return _ENERGY_AT_K0 / (1 + k * k / 2)


def undulator_gap(energy: float) -> float:
    """The gap (mm) giving ``energy`` (keV): the inverse of `undulator_energy`."""
    if not 0 < energy < _ENERGY_AT_K0:
        raise ValueError(f"{energy} keV is outside 0..{_ENERGY_AT_K0:.3f} keV")
    k = math.sqrt(2 * (_ENERGY_AT_K0 / energy - 1))
    return -UNDULATOR_PERIOD_MM / math.pi * math.log(k / _K_AT_ZERO_GAP)


ENERGY_RANGE_KEV = (undulator_energy(GAP_RANGE_MM[0]), undulator_energy(GAP_RANGE_MM[1]))

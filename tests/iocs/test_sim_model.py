"""The physics model and motion profiles, as plain functions (no IOC)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iocs.model import (
    ENERGY_RANGE_KEV,
    GAP_RANGE_MM,
    BeamlineState,
    ModelParams,
    bragg_theta,
    detector_rates,
    diffraction_rate,
    gaussian,
    poisson_counts,
    spot_centre,
    spot_image,
    undulator_energy,
    undulator_gap,
)
from iocs.motion import Trapezoid

PARAMS = ModelParams()


def test_gaussian_is_one_at_the_centre_and_falls_to_exp_minus_half_at_one_sigma():
    assert gaussian(2.0, 2.0, 0.5) == 1.0
    assert gaussian(2.5, 2.0, 0.5) == pytest.approx(math.exp(-0.5))


def test_silicon_111_at_one_angstrom_diffracts_near_18_35_degrees_two_theta():
    assert 2 * bragg_theta(PARAMS.T0, PARAMS) == pytest.approx(18.351, abs=1e-3)


def test_warming_expands_the_lattice_and_lowers_the_bragg_angle():
    shift = 2 * (bragg_theta(395.0, PARAMS) - bragg_theta(295.0, PARAMS))
    assert shift < -4 * PARAMS.bragg_width, "100 K should move the peak by several widths"


def test_no_reflection_when_the_wavelength_exceeds_twice_the_spacing():
    assert bragg_theta(295.0, ModelParams(wavelength=7.0)) is None
    assert diffraction_rate(BeamlineState(th=30, tth=60), ModelParams(wavelength=7.0)) == 0


def test_diffraction_peaks_where_th_and_tth_match_the_bragg_angle():
    theta = bragg_theta(295.0, PARAMS)
    on_peak = BeamlineState(th=theta, tth=2 * theta)
    assert diffraction_rate(on_peak, PARAMS) == pytest.approx(PARAMS.bragg_peak)
    off_in_th = BeamlineState(th=theta + 3 * PARAMS.bragg_width, tth=2 * theta)
    assert diffraction_rate(off_in_th, PARAMS) < 0.02 * PARAMS.bragg_peak


def test_rates_scale_with_current_and_drop_to_background_without_beam():
    full = detector_rates(BeamlineState(m1=PARAMS.det_center), PARAMS)
    half = detector_rates(BeamlineState(m1=PARAMS.det_center, current=50.0), PARAMS)
    closed = detector_rates(BeamlineState(m1=PARAMS.det_center, shutter_open=False), PARAMS)
    assert full[1] == pytest.approx(PARAMS.det_peak + PARAMS.background)
    assert half[1] - PARAMS.background == pytest.approx((full[1] - PARAMS.background) / 2)
    assert np.all(closed == PARAMS.background)


def test_poisson_counts_average_to_rate_times_time():
    rng = np.random.default_rng(1)
    samples = [poisson_counts(np.array([1000.0]), 0.5, rng)[0] for _ in range(400)]
    assert np.mean(samples) == pytest.approx(500, rel=0.02)
    assert np.std(samples) == pytest.approx(math.sqrt(500), rel=0.15)


def test_spot_is_centred_on_the_stage_position():
    rng = np.random.default_rng(2)
    centre = spot_centre(1.0, -0.5, 64, 48)
    assert centre == pytest.approx((31.5 + 10, 23.5 - 5))
    image = spot_image(64, 48, centre, beam=1.0, exposure=0.1, rng=rng)
    assert image.shape == (48, 64)
    row, col = np.unravel_index(np.argmax(image), image.shape)
    assert (col, row) in {(41, 18), (42, 18), (41, 19), (42, 19)}


def test_undulator_energy_rises_with_gap_and_inverts():
    gaps = np.linspace(*GAP_RANGE_MM, 50)
    energies = [undulator_energy(g) for g in gaps]
    assert energies == sorted(energies)
    assert undulator_gap(undulator_energy(17.3)) == pytest.approx(17.3)
    assert ENERGY_RANGE_KEV[0] < 8.0 < ENERGY_RANGE_KEV[1]
    with pytest.raises(ValueError, match="outside"):
        undulator_gap(50.0)


def test_long_move_takes_distance_over_velocity_plus_ramp_time():
    move = Trapezoid(start=0.0, target=1.0, velocity=1.0, accel_time=0.05, t0=10.0)
    assert move.duration == pytest.approx(1.05)
    assert move.position(10.0) == 0.0
    assert move.position(10.0 + 0.525) == pytest.approx(0.5)
    assert move.position(11.05) == 1.0
    assert not move.finished(11.0) and move.finished(11.05)


def test_short_move_is_a_triangle_and_moves_backwards_too():
    move = Trapezoid(start=1.0, target=0.99, velocity=1.0, accel_time=0.1, t0=0.0)
    assert move.duration == pytest.approx(2 * math.sqrt(0.01 * 0.1 / 1.0))
    assert move.position(move.duration / 2) == pytest.approx(0.995)
    positions = [move.position(t) for t in np.linspace(0, move.duration, 20)]
    assert positions == sorted(positions, reverse=True)


def test_held_axis_is_already_there():
    hold = Trapezoid.hold(3.0, t0=5.0)
    assert hold.duration == 0 and hold.finished(5.0) and hold.position(6.0) == 3.0


def test_zero_velocity_is_refused():
    with pytest.raises(ValueError, match="velocity"):
        Trapezoid(0.0, 1.0, velocity=0.0, accel_time=0.1, t0=0.0)

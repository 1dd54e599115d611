"""Pure position math: grids with snaking, spirals, geometric spacing."""

import itertools
import math

import numpy as np
import pytest

from plans import _trajectories as traj


def test_linspace_includes_both_ends_and_returns_python_floats():
    points = traj.linspace(-1, 1, 5)
    assert points == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert all(type(p) is float for p in points)


def test_geomspace_has_a_constant_ratio_between_positions():
    points = traj.geomspace(1, 1000, 4)
    assert points == pytest.approx([1, 10, 100, 1000])
    negative = traj.geomspace(-1, -100, 3)
    assert negative == pytest.approx([-1, -10, -100])


def test_inner_product_moves_axes_together():
    assert traj.inner_product([[0, 1, 2], [10, 20, 30]]) == [(0, 10), (1, 20), (2, 30)]


def test_outer_product_without_snaking_restarts_each_line():
    points = traj.outer_product([[0, 1], [10, 20, 30]])
    assert points == [(0, 10), (0, 20), (0, 30), (1, 10), (1, 20), (1, 30)]


def test_outer_product_snaking_sweeps_back_and_forth():
    points = traj.outer_product([[0, 1, 2], [10, 20]], [False, True])
    assert points == [(0, 10), (0, 20), (1, 20), (1, 10), (2, 10), (2, 20)]


def test_three_axis_snake_matches_a_boustrophedon_walk():
    a, b, c = [0, 1], [0, 1, 2], [0, 1]
    points = traj.outer_product([a, b, c], [False, True, True])
    # consecutive points differ by one step along exactly one axis: no jumps back
    for p, q in itertools.pairwise(points):
        assert sum(abs(x - y) for x, y in zip(p, q, strict=True)) == 1
    assert len(set(points)) == 12


def test_snaking_the_first_axis_changes_nothing():
    axes = [[0, 1, 2], [5, 6]]
    assert traj.outer_product(axes, [True, False]) == traj.outer_product(axes)


def test_grid_index_agrees_with_numpy_for_a_plain_grid():
    shape = (3, 4, 2)
    for flat in range(24):
        assert traj.grid_index(flat, shape, [False] * 3) == np.unravel_index(flat, shape)


def test_spiral_rings_are_dr_apart_and_inside_the_box():
    points = traj.spiral(1.0, 2.0, 4.0, 4.0, 0.5, 6)
    radii = sorted({round(math.hypot(x - 1, y - 2), 9) for x, y in points})
    assert radii[:3] == pytest.approx([0.5, 1.0, 1.5])
    assert all(abs(x - 1) <= 2 and abs(y - 2) <= 2 for x, y in points)
    # ring k holds k * nth points (inner rings are entirely inside the box)
    first = [p for p in points if math.isclose(math.hypot(p[0] - 1, p[1] - 2), 0.5)]
    assert len(first) == 6


def test_spiral_box_clips_an_elongated_area():
    points = traj.spiral(0, 0, 2.0, 6.0, 0.5, 6)
    assert max(abs(x) for x, _ in points) <= 1.0
    assert max(abs(y) for _, y in points) > 2.0


def test_fermat_spiral_is_evenly_dense():
    points = traj.fermat_spiral(0, 0, 10, 10, 0.5, 1)
    assert all(abs(x) <= 5 and abs(y) <= 5 for x, y in points)
    inner = sum(1 for x, y in points if math.hypot(x, y) < 2)
    outer = sum(1 for x, y in points if 2 <= math.hypot(x, y) < math.sqrt(8))
    # annuli of equal area hold about the same number of points
    assert inner == pytest.approx(outer, rel=0.1)


def test_tilt_shears_the_box():
    straight = traj.spiral(0, 0, 2, 2, 0.2, 8)
    tilted = traj.spiral(0, 0, 2, 2, 0.2, 8, tilt=0.5)
    assert set(straight) != set(tilted)
    assert all(abs(x + y * math.tan(0.5)) <= 1 + 1e-12 for x, y in tilted)

"""`viz.peak_stats` gives bluesky's PeakStats numbers on the same curves.

bluesky's callback is fed real event-model documents (its public way in), ours gets the
two arrays; every statistic must agree, including the cases where bluesky has none.
"""

from __future__ import annotations

import math

import event_model
import numpy as np
import pytest
from bluesky.callbacks.fitting import PeakStats as BlueskyPeakStats

from viz import peak_stats

X = np.linspace(-5, 5, 41)
RNG = np.random.default_rng(7)

CURVES = {
    "gaussian": (X, 1000 * np.exp(-((X - 0.7) ** 2) / (2 * 0.8**2)) + 10),
    "lorentzian": (X, 500 / (1 + ((X + 1.2) / 0.5) ** 2)),
    "step": (X, np.where(X > 0.3, 100.0, 2.0)),
    "noisy": (X, RNG.poisson(200 * np.exp(-(X**2) / 2) + 20).astype(float)),
    "flat": (X, np.full_like(X, 5.0)),
    "single point": (np.array([1.5]), np.array([42.0])),
    "descending x": (X[::-1], 1000 * np.exp(-((X[::-1] - 0.7) ** 2) / 2)),
    "negative dip": (X, -50 * np.exp(-(X**2) / 2)),
}


def bluesky_stats(x: np.ndarray, y: np.ndarray) -> BlueskyPeakStats:
    callback = BlueskyPeakStats("m1", "det")
    run = event_model.compose_run()
    callback("start", run.start_doc)
    desc = run.compose_descriptor(
        name="primary",
        data_keys={
            "m1": {"dtype": "number", "shape": [], "source": "sim"},
            "det": {"dtype": "number", "shape": [], "source": "sim"},
        },
    )
    callback("descriptor", desc.descriptor_doc)
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        event = desc.compose_event(
            data={"m1": float(xi), "det": float(yi)},
            timestamps={"m1": 0.0, "det": 0.0},
            seq_num=i + 1,
        )
        callback("event", event)
    callback("stop", run.compose_stop())
    return callback


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("curve", CURVES)
def test_every_statistic_matches_bluesky(curve: str) -> None:
    x, y = CURVES[curve]
    ours = peak_stats(x, y)
    theirs = bluesky_stats(x, y)
    assert ours.max == pytest.approx(tuple(map(float, theirs.max)))
    assert ours.min == pytest.approx(tuple(map(float, theirs.min)))
    assert same(ours.com, float(theirs.com))
    assert same(ours.cen, None if theirs.cen is None else float(theirs.cen))
    assert same(ours.fwhm, None if theirs.fwhm is None else float(theirs.fwhm))
    expected_crossings = () if theirs.crossings is None else tuple(theirs.crossings)
    assert ours.crossings == pytest.approx(expected_crossings)
    assert ours.points == len(x)


def test_gaussian_statistics_find_the_peak_a_user_expects() -> None:
    x = np.linspace(-3, 3, 301)
    sigma = 0.4
    stats = peak_stats(x, 1000 * np.exp(-((x - 0.5) ** 2) / (2 * sigma**2)))
    assert stats.max[0] == pytest.approx(0.5, abs=0.01)
    assert stats.cen == pytest.approx(0.5, abs=0.01)
    assert stats.com == pytest.approx(0.5, abs=0.01)
    assert stats.fwhm == pytest.approx(2 * math.sqrt(2 * math.log(2)) * sigma, rel=0.01)


def test_a_step_has_a_centre_but_no_width() -> None:
    stats = peak_stats([0, 1, 2, 3], [0, 0, 10, 10])
    assert stats.cen == pytest.approx(1.5) and stats.fwhm is None


def test_bad_input_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        peak_stats([], [])
    with pytest.raises(ValueError, match="same length"):
        peak_stats([1, 2], [1])

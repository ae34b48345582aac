"""The window's speed fluctuation less the tracker's own learning (issue 19, session 14,
branch warn3): ``threat.kinematics.learning_var``."""

from __future__ import annotations

import math

import numpy as np

from skywarden.threat.kinematics import kinematic_features, learning_var


def _kalman_window(rng: np.random.Generator, n: int, lead: int) -> tuple[list[float], list[float]]:
    """Estimates and sds of one scalar Kalman filter learning a constant drawn from its own
    prior (variance 9 m^2/s^2, measurement noise 4): the window's ``n`` samples after
    ``lead`` updates."""
    v, x, P, R = rng.normal(0.0, 3.0), 0.0, 9.0, 4.0
    xs, ps = [], []
    for k in range(n + lead):
        K = P / (P + R)
        x += K * (v + rng.normal(0.0, 2.0) - x)
        P *= 1.0 - K
        if k >= lead:
            xs.append(x)
            ps.append(P)
    return xs, ps


def test_learning_var_is_the_spread_a_learning_filter_puts_in_its_window() -> None:
    """For a constant velocity the estimate is a martingale: the expected population variance
    of a window of its estimates is the formula's, from the sds alone (4,000 windows)."""
    rng = np.random.default_rng(7)
    spreads, ps = [], []
    for _ in range(4000):
        xs, ps = _kalman_window(rng, 15, 3)
        spreads.append(float(np.var(xs)))
    sv = np.sqrt(np.array([ps]))
    want = float(learning_var(sv, np.ones_like(sv, dtype=bool), np.array([15.0]))[0])
    assert want > 0.05
    assert math.isclose(float(np.mean(spreads)), want, rel_tol=0.08)


def test_a_learning_window_reads_steadier_and_a_settled_one_as_before() -> None:
    """The same speeds: while the sd falls 2.0 -> 1.1 m/s (the filter learning a cross-beam
    speed, multisensor_attack s14 H0) the speed fluctuation is less than their raw spread;
    with the sd settled it is their raw spread, bit for bit."""
    speeds = [20.9 + 2.2 * (1.0 - math.exp(-k / 4.0)) for k in range(15)]
    sds = [1.1 + 0.9 * math.exp(-k / 4.0) for k in range(15)]
    raw = float(np.std(speeds))
    learning = [
        (float(k), s, 0.0, 0.0, 100.0, sd)
        for k, (s, sd) in enumerate(zip(speeds, sds, strict=True))
    ]
    settled = [(float(k), s, 0.0, 0.0, 100.0, 1.1) for k, s in enumerate(speeds)]
    assert kinematic_features(learning)["speed_sd"] < raw - 0.1
    assert math.isclose(kinematic_features(settled)["speed_sd"], raw, rel_tol=1e-12)


def test_missed_plots_are_not_learning() -> None:
    """A missed plot raises the sd and the next plot lowers it again: the filter's own noise,
    not what it learns, so it takes nothing from a bird's fluctuation."""
    sv = np.array([[1.1, 1.6, 1.1, 1.7, 1.2, 1.1, 1.6, 1.1]])
    assert learning_var(sv, np.ones_like(sv, dtype=bool), np.array([8.0]))[0] == 0.0


def test_an_unknown_velocity_is_not_learning() -> None:
    """Where the velocity is not known (sd above ``KNOWN_SV_MPS``: a far bird whose sd falls
    6 -> 2.5 m/s) the spread is left whole: the walk's own chance would be most of what is
    subtracted, and a wandering bird would read steady."""
    speeds = [6.0, 9.5, 4.0, 8.0, 5.5, 10.0, 4.5, 7.0, 6.5, 9.0, 5.0, 8.5]
    sds = [6.0 - 0.3 * k for k in range(12)]
    hist = [
        (float(k), s, 0.0, 0.0, 100.0, sd)
        for k, (s, sd) in enumerate(zip(speeds, sds, strict=True))
    ]
    assert math.isclose(kinematic_features(hist)["speed_sd"], float(np.std(speeds)), rel_tol=1e-12)

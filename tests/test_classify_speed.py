"""The speed average's own error in the class speed likelihood (threat.speed, issue 19)."""

from __future__ import annotations

import numpy as np

from skywarden.threat import speed
from skywarden.threat.classify import _BIRD_I, _DRONE_I, Classifier, _Evidence

FORGET = 0.9  # Classifier's default


def _average(spd: np.ndarray, sv: np.ndarray) -> tuple[float, float]:
    """The classifier's forgetting inverse-variance average (``_observe_state``) of one
    series: (average, speed_w)."""
    avg, sw = float(spd[0]), 1.0 / (sv[0] ** 2 + speed.SPEED_SD_FLOOR**2)
    for s, v in zip(spd[1:], sv[1:], strict=True):
        w = 1.0 / (v * v + speed.SPEED_SD_FLOOR**2)
        sw = FORGET * sw + (1 - FORGET) * w
        avg += (1 - FORGET) * w / sw * (s - avg)
    return avg, sw


def test_the_variance_bound_holds_for_correlated_frame_errors() -> None:
    """Frame errors of a Kalman filter's velocity: AR(1) with correlation rho, sd falling from
    6 to 0.5 m/s as in a stop read through the manoeuvre mode and then settling. The
    empirical variance of the average stays under ``estimate_var`` for every rho, and
    reaches it for fully correlated errors of one sd."""
    rng = np.random.default_rng(5)
    n = 40
    sv = np.linspace(6.0, 0.5, n)
    for rho in (0.0, 0.8, 0.95, 1.0):
        errs = np.empty((2000, n))
        e = rng.normal(size=2000)
        for k in range(n):
            e = rho * e + np.sqrt(1 - rho * rho) * rng.normal(size=2000) if k else e
            errs[:, k] = e * sv[k]
        avgs = [_average(10.0 + row, sv)[0] for row in errs]
        bound = speed.estimate_var(_average(np.full(n, 10.0), sv)[1])
        assert np.var(avgs) <= 1.05 * bound
    const = np.full(n, 5.0)
    e = rng.normal(size=4000)
    avgs = [_average(10.0 + x * const, const)[0] for x in e]
    bound = speed.estimate_var(_average(np.full(n, 10.0), const)[1])
    assert 0.9 * bound <= np.var(avgs) <= 1.1 * bound  # 25 m^2/s^2: the bound is tight


def _bird_margin(avg: float, sv: float) -> float:
    """ln p(bird) - ln p(multirotor) of the current features of a track whose speed average
    reads ``avg`` from frames of velocity sd ``sv`` (no RCS, no kinematics)."""
    ev = _Evidence(speed_avg=avg, speed_w=1.0 / (sv * sv + speed.SPEED_SD_FLOOR**2))
    ll = Classifier._feature_loglik([ev])[0]
    return float(ll[_BIRD_I] - ll[_DRONE_I])


def test_a_noisy_average_says_less_than_a_settled_one() -> None:
    """A stop read at 12 m/s through a velocity sd of 5 m/s (night_launch s24 H0's stop) is
    weaker bird evidence than the same reading from a settled track; a settled reading
    is scored almost as before (sv 0.5: 0.25 m^2/s^2 beside the bird's 16)."""
    noisy, settled = _bird_margin(12.0, 5.0), _bird_margin(12.0, 0.5)
    assert noisy < settled - 0.2
    sd_d, sd_b = speed.SPEED_SD[_DRONE_I], speed.SPEED_SD[_BIRD_I]
    exact = -0.5 * ((12.0 - 11.0) / sd_b) ** 2 - np.log(sd_b)
    exact -= -0.5 * ((12.0 - 12.0) / sd_d) ** 2 - np.log(sd_d)
    assert abs(settled - exact) < 0.05


def test_no_weight_no_error() -> None:
    assert speed.estimate_var(0.0) == 0.0
    assert speed.estimate_var(1.0 / (2 * speed.SPEED_SD_FLOOR**2)) == 0.25

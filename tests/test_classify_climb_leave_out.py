"""Issue 19, session 18 (branch climbloo): a climb read from one or two fluke plots is not a
climb. The sequential test's evidence and the held floor are read at their least with the
most influential plot left out (``threat.climb.least_without``), at the full fit's slope
variance: a slope of many plots on a line loses nothing, a slope that rests on one plot
loses it (harder birds_night s12 T108, birds_night s150 T114, s163 T316: level birds at 3-5
km whose 1-3 nats of climb came from 1-2 plots at 2.5-3.6 sd)."""

from __future__ import annotations

import math
from collections.abc import Callable

from skywarden.threat import climb

SD_M = 40.0  # a plot's height sd at 3.7 km (0.011 rad)


def _level_with_flukes(n: int = 16) -> list[climb.ClimbSample]:
    """A level bird at 200 m, ``n`` plots at 1 Hz exactly at its height but the first 3 sd
    low and the last 3 sd high: a fitted climb of 5.3 +- 2.2 m/s."""
    out = [(float(t), 200.0, SD_M**2) for t in range(n)]
    out[0] = (0.0, 200.0 - 3.0 * SD_M, SD_M**2)
    out[-1] = (float(n - 1), 200.0 + 3.0 * SD_M, SD_M**2)
    return out


def _brute(samples: list[climb.ClimbSample], value: Callable[[float, float], float]) -> float:
    """The least ``value`` over the full fit and each refit without one plot, at the full
    fit's variance (the definition ``least_without`` computes in O(n))."""
    fit = climb.climb_fit(samples)
    assert fit is not None
    c, v = fit
    best = value(c, v)
    for i in range(len(samples)):
        rest = samples[:i] + samples[i + 1 :]
        w = [1.0 / s[2] for s in rest]
        sw = sum(w)
        tb = sum(wi * s[0] for wi, s in zip(w, rest, strict=True)) / sw
        ub = sum(wi * s[1] for wi, s in zip(w, rest, strict=True)) / sw
        stt = sum(wi * (s[0] - tb) ** 2 for wi, s in zip(w, rest, strict=True))
        stu = sum(wi * (s[0] - tb) * (s[1] - ub) for wi, s in zip(w, rest, strict=True))
        best = min(best, value(stu / stt, v))
    return best


def test_a_climb_resting_on_fluke_plots_is_not_counted() -> None:
    """The level bird's two fluke plots: the full fit's Bayes factor is about 1 nat for the
    drone (main counts it), with either fluke left out it is nearly 0."""
    plots = _level_with_flukes()
    fit = climb.climb_fit(plots)
    assert fit is not None and fit[0] > 5.0
    assert climb._llr(*fit) > 0.9  # what main took from the bird
    _, pen = climb.segment_update(plots, -math.inf, 1)
    assert pen < 0.1


def test_a_slope_of_many_plots_loses_nothing() -> None:
    """The same fitted slope from 16 plots on the line: every plot left out gives the same
    slope, so the evidence and the floor are the full fit's."""
    plots = [(float(t), 200.0 + 5.3 * t, SD_M**2) for t in range(16)]
    fit = climb.climb_fit(plots)
    assert fit is not None
    _, pen = climb.segment_update(plots, -math.inf, 1)
    assert math.isclose(pen, min(climb._llr(*fit), climb.CLIMB_CAP), rel_tol=1e-9)
    floor = climb.climb_floor(plots)
    assert math.isclose(floor, fit[0] - climb.FLOOR_K * math.sqrt(fit[1]), rel_tol=1e-9)


def test_the_fast_update_is_the_refit() -> None:
    """One plot left out by subtracting its terms from the weighted sums equals a refit
    without it, for the evidence and for the floor, on noisy plots of unequal variance."""
    import numpy as np

    rng = np.random.default_rng(5)
    plots = [
        (100.0 + t * 1.1, 150.0 + 2.0 * t + float(rng.normal(0, 30)), float(rng.uniform(600, 1600)))
        for t in range(20)
    ]
    llr = climb._climb_llr
    assert math.isclose(climb.least_without(plots, llr, 1), _brute(plots, llr), abs_tol=1e-9)
    fl = climb._floor
    assert math.isclose(climb.least_without(plots, fl, 1), _brute(plots, fl), abs_tol=1e-9)

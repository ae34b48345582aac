"""Issue 19, session 12: a sustained climb from a radar's own plot heights (``threat.climb``)
and where the classifier counts it (``Classifier._feature_loglik``: from the bird alone)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from skywarden.threat import climb, reach
from skywarden.threat.classify import _BIRD_I, _DRONE_I, Classifier
from skywarden.threat.evidence import TrackEvidence, climb_update

RANGE_M = 1800.0
SIGMA_EL = 0.012  # night_launch's radar elevation noise, rad: 22 m of height at 1.8 km
SIGMA_R = 5.0


def _plots(climb_mps: float, n: int, seed: int, wobble_m: float = 0.0) -> list[climb.ClimbSample]:
    """``n`` plots at 1 Hz of an object at ``RANGE_M`` climbing ``climb_mps`` from 20 m, its
    height also oscillating by ``wobble_m`` with a 10 s period (the simulator's flapping
    bird: 2.5 m), each plot's elevation and range drawn with the radar's noise."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        u = 20.0 + climb_mps * k + wobble_m * math.sin(2 * math.pi * k / 10.0)
        el = math.asin((u - 10.0) / RANGE_M) + float(rng.normal(0.0, SIGMA_EL))
        r = RANGE_M + float(rng.normal(0.0, SIGMA_R))
        out.append(climb.plot_height(float(k), r, el, SIGMA_R**2, SIGMA_EL**2, 10.0))
    return out


def test_the_fit_is_the_climb_and_its_honest_sd() -> None:
    """Over 200 draws the fitted slope is unbiased and its stated sd is the spread seen."""
    fits = [climb.climb_fit(_plots(5.0, 15, s)) for s in range(200)]
    slopes = np.array([f[0] for f in fits if f is not None])
    sds = np.sqrt([f[1] for f in fits if f is not None])
    assert len(slopes) >= 190  # the line check refuses about 1 % of straight series
    assert abs(float(slopes.mean()) - 5.0) < 0.3
    assert 0.8 < float(slopes.std()) / float(sds.mean()) < 1.2


def _held_peak(samples: list[climb.ClimbSample]) -> float:
    """The peak floor as the classifier holds it: a recompute every 2 s of plots."""
    run: tuple[float, ...] = ()
    peak = 0.0
    for end in range(climb.MIN_PLOTS, len(samples) + 1, 2):
        run, peak = reach.reach_update(run, peak, climb.climb_floor(samples[:end]))
    return peak


def test_a_climbing_drone_is_remembered_no_bird_and_a_level_bird_is_not() -> None:
    """A 5 m/s climb over 20 plots at 1.8 km: the held floor costs the bird > 1 nat on
    average (never more than the cap); a flapping bird at constant height over 30 plots
    costs it nothing in at least 97 of 100 draws and never more than 1 nat."""
    drone = [climb.bird_penalty(_held_peak(_plots(5.0, 20, s))) for s in range(100)]
    bird = [climb.bird_penalty(_held_peak(_plots(0.0, 30, s, wobble_m=2.5))) for s in range(100)]
    assert float(np.mean(drone)) > 1.0 and max(drone) <= climb.CLIMB_CAP
    assert sum(b > 0.0 for b in bird) <= 3 and max(bird) < 1.0


def test_the_peak_needs_a_run_and_never_falls() -> None:
    """One high floor between low ones sets nothing; a run of three sets the least of them,
    and later low floors leave it."""
    run, peak = reach.reach_update((), 0.0, 4.0)
    run, peak = reach.reach_update(run, peak, 0.0)
    run, peak = reach.reach_update(run, peak, 4.0)
    assert peak == 0.0
    for f in (0.0, 0.0, 3.0, 3.5, 2.5, 0.0, 0.0, 0.0):
        run, peak = reach.reach_update(run, peak, f)
    assert peak == 2.5
    assert climb.bird_penalty(1.5) == 0.0 < climb.bird_penalty(2.0) < climb.bird_penalty(2.5)
    assert climb.bird_penalty(10.0) == climb.CLIMB_CAP


def test_descents_short_series_and_broken_lines_say_nothing() -> None:
    """A 5 m/s descent, 7 plots, or a series with another object's plot 300 m above: no
    floor."""
    assert climb.climb_floor(_plots(-5.0, 15, 1)) == 0.0
    assert climb.climb_fit(_plots(5.0, climb.MIN_PLOTS - 1, 1)) is None
    broken = _plots(5.0, 15, 2)
    t, u, v = broken[7]
    broken[7] = (t, u + 300.0, v)
    assert climb.climb_fit(broken) is None
    assert climb.climb_floor(broken[:7]) == 0.0


def test_the_classifier_takes_the_climb_from_the_bird_alone() -> None:
    """The same evidence with and without a remembered climb: only the bird's term moves,
    by the penalty; ``evidence.climb_update`` holds the peak from the plot heights."""
    ev = TrackEvidence(speed_avg=21.0, rcs_n=10, rcs_sum=-240.0)
    base = Classifier._feature_loglik([ev])[0]
    plots = _plots(5.0, 20, 4)
    for end in range(climb.MIN_PLOTS, len(plots) + 1, 2):
        ev.heights = deque(plots[:end])
        climb_update(ev)
    # the larger of the held floor's penalty and the sequential test's (session 13)
    assert ev.climb_peak > 2.0 and ev.climb_pen >= climb.bird_penalty(ev.climb_peak) > 0.5
    diff = base - Classifier._feature_loglik([ev])[0]
    assert math.isclose(diff[_BIRD_I], ev.climb_pen)
    assert all(abs(d) < 1e-12 for i, d in enumerate(diff) if i != _BIRD_I)
    assert diff[_DRONE_I] == 0.0

"""Issue 19, session 18 (branch steady): a speed held for a minute (``threat.steady``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat import steady
from skywarden.threat.classify import Classifier
from skywarden.threat.steady import (
    LONG_MIN_N,
    LONG_MIN_SPAN_S,
    LONG_STEP_S,
    STEADY_CAP,
    STEADY_CLASSES,
    steady_loglik,
)

EMPTY_SITE = Site("steady", GeoOrigin(0.0, 0.0), ())
P0 = np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0])  # velocity sd 1 m/s: known (KNOWN_SV_MPS 2)


def _samples(speeds: list[float]) -> list[tuple[float, float]]:
    return [(k * LONG_STEP_S, s) for k, s in enumerate(speeds)]


def test_held_speed_speaks_for_the_steady_classes_only_and_is_capped() -> None:
    """20 m/s with the tracker's 0.4 m/s of noise (cv 0.02, the traced drones) reads for the
    drones and aircraft, capped; a bird's 15 % swing over 40 s (cv ~0.1) reads 0, never
    against anyone; too short, too few or too slow: None."""
    rng = np.random.default_rng(3)
    held = steady_loglik(_samples(list(20.0 + rng.normal(0.0, 0.4, 30))))
    assert held is not None
    assert all(held[c] > 0.5 for c in STEADY_CLASSES) and held[2] == 0.0
    assert max(held) <= STEADY_CAP
    swing = [11.0 * (1 + 0.15 * math.sin(2 * math.pi * k * LONG_STEP_S / 40.0)) for k in range(30)]
    assert steady_loglik(_samples(swing)) == [0.0, 0.0, 0.0, 0.0]
    exact = steady_loglik(_samples([20.0] * 30))
    assert exact == [STEADY_CAP, STEADY_CAP, 0.0, STEADY_CAP]
    short = int(LONG_MIN_SPAN_S / LONG_STEP_S)  # spans (short - 1) steps: under the minimum
    assert steady_loglik(_samples([20.0] * short)) is None
    assert steady_loglik([(0.0, 20.0)] * (LONG_MIN_N - 2) + [(LONG_MIN_SPAN_S, 20.0)]) is None
    assert steady_loglik(_samples([3.0] * 30)) is None  # a crawl: the ratio is noise


def _states(speeds: list[float]) -> list[TrackState]:
    out, n = [], 0.0
    for k, s in enumerate(speeds):
        n += s
        x = np.array([0.0, n, 120.0, 0.0, s, 0.0])
        out.append(TrackState("1", float(k), x, P0, TrackStatus.CONFIRMED, hits=k + 1))
    return out


def _drone_vs_bird(states: list[TrackState]) -> float:
    """ln(P(drone) / P(bird)) at the last state (the term lifts aircraft too, and without an
    RCS nothing here tells a drone from an aircraft)."""
    clf = Classifier(EMPTY_SITE)
    r = 0.0
    for tr in states:
        (ann,) = clf.annotate([tr], tr.t)
        cp = ann.class_probs
        r = math.log((cp["drone"] + cp["drone_fixed_wing"]) / cp["bird"])
    return r


def test_a_minute_of_held_speed_lifts_a_steady_track_and_not_a_swinging_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """90 s at 20 m/s with 0.5 m/s of filter noise a frame: its 15 s windows read only a little
    steadier than a bird's, the minute's cv (0.025) says it holds its speed, and the drone's
    odds against the bird rise over what the window alone gives. A bird-speed track swinging
    15 % over 40 s gains nothing: its odds are the same with and without the term."""
    rng = np.random.default_rng(11)
    flat = _states(list(20.0 + rng.normal(0.0, 0.5, 90)))
    beat = [11.0 * (1 + 0.15 * math.sin(2 * math.pi * k / 40.0)) for k in range(90)]
    swing = _states(list(np.array(beat) + rng.normal(0.0, 0.3, 90)))
    with_flat, with_swing = _drone_vs_bird(flat), _drone_vs_bird(swing)
    monkeypatch.setattr(steady, "steady_loglik", lambda samples: None)
    without_flat, without_swing = _drone_vs_bird(flat), _drone_vs_bird(swing)
    assert with_flat > without_flat + 0.5
    assert with_swing == without_swing

"""Issue 19, branch multi: a young radar track's Doppler steadiness (``threat.doppler``) and
when the classifier counts it (``threat.evidence.kin_row``, ``doppler_ll``)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.doppler import (
    MIN_PLOTS,
    RAMP_S,
    DopplerSample,
    doppler_loglik,
    handover_weight,
    residual,
)
from skywarden.threat.evidence import TrackEvidence, doppler_ll, doppler_open, kin_row

SIGMA = 0.6  # the multisensor_attack radar's radial-speed noise, m/s
RANGE_M = 2400.0


def _radials(
    heading: list[float], speed: float, seed: int, aspect0: float = math.radians(45.0)
) -> list[DopplerSample]:
    """Radial speeds (1 Hz, noise ``SIGMA``) of an object at ``RANGE_M`` flying ``speed`` m/s
    with ``heading[k]`` (rad, relative to the course at ``aspect0`` off the line of sight)."""
    rng = np.random.default_rng(seed)
    out = []
    for k, h in enumerate(heading):
        r = speed * math.cos(aspect0 + h) + float(rng.normal(0.0, SIGMA))
        out.append((float(k), r, SIGMA * SIGMA))
    return out


def _bird_heading(n: int, seed: int, step: float = 0.25) -> list[float]:
    """A random-walk heading, ``step`` rad per second (the public files' birds: 0.25)."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0.0, step, n)).tolist()


def test_a_steady_crossing_drone_reads_drone_and_a_wandering_bird_does_not() -> None:
    """Over 20 noise draws: a steady drone crossing at 45 degrees reads drone (mean > 0.8
    nats, never bird); a bird wandering as the public files' birds do reads bird on
    average and never strongly drone (some birds fly steadily for 12 s: the log-normal
    spread of the model says so too)."""
    aspect = math.radians(45.0)
    drone, bird = [], []
    for seed in range(20):
        ll = doppler_loglik(_radials([0.0] * 12, 22.0, seed), 22.0 * math.cos(aspect), 22.0)
        assert ll is not None and ll[2] == ll[3] == 0.0 and ll[0] > 0.0 and ll[1] > 0.0
        drone.append(ll[0])
        wander = _radials(_bird_heading(12, seed), 11.0, seed)
        lb = doppler_loglik(wander, 11.0 * math.cos(aspect), 11.0)
        assert lb is not None and lb[0] < 0.6
        bird.append(lb[0])
    assert float(np.mean(drone)) > 0.8 and float(np.mean(bird)) < 0.0


def test_along_the_line_of_sight_the_doppler_cannot_see_a_wander_and_says_little() -> None:
    """A bird flying straight at the radar wanders unseen by the Doppler (cos of a small
    angle): the evidence must stay near 0, not speak for the drone."""
    for seed in range(5):
        bird = _radials(_bird_heading(12, seed, 0.05), 11.0, seed, aspect0=0.0)
        ll = doppler_loglik(bird, 11.0, 11.0)
        assert ll is not None and abs(ll[0]) < 0.4


def test_a_spoilt_series_is_not_evidence_for_the_drone() -> None:
    """An object flying along the line of sight, one wrongly associated plot 15 m/s off:
    the drone's manoeuvring term explains the jump better than a bird's slow speed change
    (+1.3 nats without the check); the steadiness check keeps it from counting for the
    drone."""
    s = _radials([0.0] * 10, 22.0, 3, aspect0=0.0)
    t, r, v = s[5]
    s[5] = (t, r + 15.0, v)
    ll = doppler_loglik(s, 22.0, 22.0)
    assert ll is not None and ll[0] <= 0.0 and ll[1] <= 0.0
    assert doppler_loglik(s[: MIN_PLOTS - 1], 22.0, 22.0) is None


def test_the_residual_is_about_a_line() -> None:
    """A radial speed changing linearly (the geometry of a crossing) leaves no residual."""
    s = [(float(k), 10.0 + 0.24 * k, 0.36) for k in range(8)]
    S, k, var = residual(s)
    assert S < 1e-18 and k == 6 and var == 0.36


def test_the_doppler_adds_to_the_window_until_the_memory_holds_a_block() -> None:
    ev = TrackEvidence()
    ev.kin_ll = [-1.3, -1.3, 0.0, 0.0]  # the filter's learning read as a bird's wander
    ev.dop = deque(_radials([0.0] * 10, 22.0, 1))
    ev.dop_pos = (0.0, 0.0, 0.0)
    v = 22.0 * math.cos(math.radians(45.0)), 22.0 * math.sin(math.radians(45.0))
    # north of the radar, flying 45 degrees off the line of sight (inbound)
    x = np.array([0.0, RANGE_M, 100.0, v[1], -v[0], 0.0])
    tr = TrackState("1", 10.0, x, np.eye(6), TrackStatus.CONFIRMED, hits=10)
    ev.dop_ll = doppler_ll(ev, tr)
    assert ev.dop_ll is not None and ev.dop_ll[0] > 0.0
    assert kin_row(ev) == pytest.approx([-1.3 + ev.dop_ll[0], -1.3 + ev.dop_ll[1], 0.0, 0.0])
    ev.kin_mem = [0.0] * 4  # a window of known velocity is behind the track
    assert doppler_ll(ev, tr) is None


def test_where_a_birds_wander_would_not_show_steadiness_is_no_drone_evidence() -> None:
    """Session 12: a bird flying at the radar (v_t 0.3-1 m/s, harder radar3d_site s12 track
    5) leaves steady radial speeds as a drone would; below the plots' noise its wander cannot
    show, so the evidence for the drone is 0 (it read +0.2 and lifted the bird over 0.7). A
    wander that does show still counts for the bird."""
    for seed in range(10):
        bird = _radials(_bird_heading(14, seed, 0.02), 8.5, seed, aspect0=0.03)
        ll = doppler_loglik(bird, 8.5 * math.cos(0.03), 8.5)
        assert ll is not None and ll[0] <= 0.0 and ll[1] <= 0.0
    # the same radial speeds with the speed across the beam a crossing drone's: they count
    drone = _radials([0.0] * 14, 22.0, 1, aspect0=math.radians(45.0))
    ll = doppler_loglik(drone, 22.0 * math.cos(math.radians(45.0)), 22.0)
    assert ll is not None and ll[0] > 0.5


def test_after_the_first_block_the_doppler_hands_over_to_the_window_over_a_ramp() -> None:
    """Session 19, branch dopend: the term's end at the memory's first block moved P(drone)
    by 0.2-0.4 in one recompute (multisensor_attack s206 H1, s300 H0; harder birds_night
    s67 T75); it now falls linearly over ``RAMP_S``, and the series keeps its plots until
    then."""
    ev = TrackEvidence()
    ev.dop = deque(_radials([0.0] * 10, 22.0, 1))
    v = 22.0 * math.cos(math.radians(45.0)), 22.0 * math.sin(math.radians(45.0))
    x = np.array([0.0, RANGE_M, 100.0, v[1], -v[0], 0.0])
    tr = TrackState("1", 10.0, x, np.eye(6), TrackStatus.CONFIRMED, hits=10)
    full = doppler_ll(ev, tr)
    assert full is not None and full[0] > 0.5
    ev.kin_mem = [0.0] * 4
    ev.dop_end_t = tr.t - 0.25 * RAMP_S  # the memory took its first block a quarter ago
    assert doppler_open(ev, tr.t)
    assert doppler_ll(ev, tr) == pytest.approx([0.75 * d for d in full])
    ev.dop_end_t = tr.t - RAMP_S
    assert not doppler_open(ev, tr.t)
    assert doppler_ll(ev, tr) is None and not ev.dop
    assert handover_weight(0.0) == 1.0 and handover_weight(-1.0) == 1.0
    assert handover_weight(2.0 * RAMP_S) == 0.0

"""Heading persistence (threat.heading) and RF bearings pointing at ranged tracks
(threat.rf_bearing): the two pieces of class evidence added for issue 19."""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import Site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat import heading, rf_bearing
from skywarden.threat.classify import Classifier

P0 = np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0])
EMPTY_SITE = Site("heading", GeoOrigin(0.0, 0.0), ())


def path(turn_rate: np.ndarray, speed: float = 11.0, dt: float = 1.0) -> list[np.ndarray]:
    """States along a path whose heading changes by ``turn_rate[k] * dt`` each step."""
    psi, e, n = 0.3, 0.0, 0.0
    out = []
    for w in turn_rate:
        psi += float(w) * dt
        ve, vn = speed * math.sin(psi), speed * math.cos(psi)
        e, n = e + ve * dt, n + vn * dt
        out.append(np.array([e, n, 120.0, ve, vn, 0.0]))
    return out


def p_drone_after(states: list[np.ndarray]) -> float:
    clf = Classifier(EMPTY_SITE)
    p = 0.0
    for k, x in enumerate(states):
        tr = TrackState("1", float(k), x, P0, TrackStatus.CONFIRMED, hits=k + 1, first_t=0.0)
        (ann,) = clf.annotate([tr], float(k))
        p = ann.class_probs["drone"] + ann.class_probs["drone_fixed_wing"]
    return p


def test_a_steady_turn_is_steady_and_a_hover_has_no_heading() -> None:
    """An orbit turns by the same angle every chord: deviation ~0. Chords shorter than
    MIN_CHORD_M (a hover) leave the block without a feature."""
    pts = []
    for k in range(heading.BLOCK_CHORDS + 1):
        a = 0.1 * k  # 0.1 rad per chord of 5 s
        pts.append((5.0 * k, 400.0 * math.sin(a), 400.0 * math.cos(a), 3.0))
    feat = heading.block_feature(pts)
    assert feat is not None and feat[0] < 1e-9
    still = [(5.0 * k, 1.0 * k, 0.0, 3.0) for k in range(heading.BLOCK_CHORDS + 1)]
    assert heading.block_feature(still) is None


def test_a_lasting_wander_speaks_for_the_bird_a_straight_path_for_nobody() -> None:
    straight: list[float] | None = None
    wander: list[float] | None = None
    for _ in range(6):
        straight = heading.forward(straight, 0.03, 0.0)
        wander = heading.forward(wander, 0.5, 0.0)
    assert straight is not None and wander is not None
    s, w = heading.class_loglik(straight), heading.class_loglik(wander)
    assert s[0] == s[2]  # drone and bird alike (one-sided: never for the drone)
    assert w[2] == 0.0 and w[0] <= -2.0  # six wandering blocks: the bird's
    assert min(w) >= -heading.HEAD_CAP


def test_noise_floor_makes_a_far_wander_weak_evidence() -> None:
    """The same deviation over chords no longer than the position error says little."""
    near = heading.class_loglik(heading.forward(heading.forward(None, 0.4, 0.0), 0.4, 0.0))
    far = heading.class_loglik(heading.forward(heading.forward(None, 0.4, 0.8), 0.4, 0.8))
    assert near[2] - near[0] > far[2] - far[0] >= 0.0


def test_a_wandering_bird_ends_up_less_drone_than_a_straight_one() -> None:
    """Same speed (11 m/s, a bird's and a slow drone's), same height: a heading random walk
    of 0.25 rad/sqrt(s) against a straight line, over three minutes."""
    rng = np.random.default_rng(3)
    n = 180
    wander = p_drone_after(path(rng.normal(0.0, 0.25, n)))
    straight = p_drone_after(path(np.zeros(n)))
    assert wander < 0.5 * straight


def _bearing(sensor: tuple[float, float], target: tuple[float, float], sigma: float) -> Detection:
    az = math.atan2(target[0] - sensor[0], target[1] - sensor[1]) % (2 * math.pi)
    return Detection(
        t=0.0,
        sensor_id="rf-1",
        kind=MeasurementKind.AZ,
        z=np.array([az]),
        R=np.array([[sigma**2]]),
        sensor_pos=np.array([sensor[0], sensor[1], 10.0]),
    )


def _trk(tid: str, e: float, n: float) -> TrackState:
    x = np.array([e, n, 80.0, 20.0, 0.0, 0.0])
    return TrackState(tid, 0.0, x, P0, TrackStatus.CONFIRMED, sensors=("radar-1",), hits=5)


def test_a_bearing_pointing_at_one_ranged_track_is_its_hit() -> None:
    a, b = _trk("A", 0.0, 2000.0), _trk("B", 1500.0, 0.0)
    scan = rf_bearing.bearings([_bearing((0.0, 0.0), (5.0, 2000.0), 0.03)], frozenset())
    assert rf_bearing.pointed_at(scan, [a, b]) == {"A"}


def test_a_bearing_through_two_ranged_tracks_or_already_given_says_nothing() -> None:
    a, b = _trk("A", 0.0, 2000.0), _trk("B", 30.0, 3000.0)  # both on the same line
    scan = rf_bearing.bearings([_bearing((0.0, 0.0), (0.0, 2500.0), 0.03)], frozenset())
    assert rf_bearing.pointed_at(scan, [a, b]) == set()
    given = rf_bearing.bearings([_bearing((0.0, 0.0), (0.0, 2000.0), 0.03)], frozenset({"A"}))
    assert rf_bearing.pointed_at(given, [a]) == set()  # the tracker's hit already counted
    off = rf_bearing.bearings([_bearing((0.0, 0.0), (800.0, 2000.0), 0.03)], frozenset())
    assert rf_bearing.pointed_at(off, [a]) == set()  # 22 degrees off: outside the gate

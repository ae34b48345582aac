"""The speed average read with its two parts (issue 19, session 18, branch speedlb): the part
along the velocity's best-known direction (a radar's line of sight, known from the Doppler)
taken as exact, the poorly known cross-range part integrated over its sd. A far young bird's
fast reading that rests on the cross-range part is discounted; a speed that rests on the
known part stays evidence."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.classify import Classifier, known_part
from skywarden.threat.evidence import TrackEvidence, inherit


def _drone_minus_bird(ev: TrackEvidence) -> float:
    ll = Classifier._feature_loglik([ev])[0]
    return float(ll[0] - ll[2])


def test_a_fast_reading_resting_on_a_poorly_known_cross_range_part_is_discounted() -> None:
    """birds_night s137 T287 / s99 T181: 20 m/s read from a velocity known to 8 m/s across
    the line of sight, 10 m/s of it along it. Read as exact: +1.2 nats for the drone."""
    exact = _drone_minus_bird(TrackEvidence(speed_avg=20.0))
    assert exact > 1.0
    far = _drone_minus_bird(TrackEvidence(speed_avg=20.0, speed_g=10.0, speed_pv=64.0))
    assert far < 0.2


def test_a_speed_resting_on_the_known_part_stays_evidence() -> None:
    """A drone flying at the radar at 28 m/s (27 of it radial, from the Doppler) while the
    cross-range part is still being learnt: its speed evidence stays."""
    exact = _drone_minus_bird(TrackEvidence(speed_avg=28.0))
    radial = _drone_minus_bird(TrackEvidence(speed_avg=28.0, speed_g=27.0, speed_pv=64.0))
    assert radial > exact - 0.5 and radial > 6.0


def test_a_well_known_velocity_is_read_as_before() -> None:
    exact = _drone_minus_bird(TrackEvidence(speed_avg=20.0))
    settled = _drone_minus_bird(TrackEvidence(speed_avg=20.0, speed_g=10.0, speed_pv=0.25))
    assert abs(settled - exact) < 0.05
    assert _drone_minus_bird(TrackEvidence(speed_avg=20.0, speed_g=10.0)) == exact  # pv 0
    # a settled track's sd (up to SPEED_SETTLED_SD) is inside the class speed models already
    assert _drone_minus_bird(TrackEvidence(speed_avg=22.0, speed_g=10.0, speed_pv=1.5**2)) == (
        _drone_minus_bird(TrackEvidence(speed_avg=22.0))
    )


def _P(sd_along: float, sd_across: float, los: float) -> Any:
    """Covariance with velocity sd ``sd_along`` along the bearing ``los`` (rad from east)."""
    P = np.eye(6)
    c, s = math.cos(los), math.sin(los)
    R = np.array([[c, -s], [s, c]])
    P[3:5, 3:5] = R @ np.diag([sd_along**2, sd_across**2]) @ R.T
    return P


def test_the_known_part_is_the_velocity_along_its_best_known_direction() -> None:
    los = 0.7
    ve, vn = 12.0 * math.cos(los) - 5.0 * math.sin(los), 12.0 * math.sin(los) + 5.0 * math.cos(los)
    assert math.isclose(known_part(ve, vn, _P(0.4, 8.0, los)), 12.0, rel_tol=1e-9)
    assert math.isclose(known_part(ve, vn, _P(8.0, 0.4, los)), 5.0, rel_tol=1e-9)
    assert known_part(3.0, 4.0, np.eye(6)) == 0.0  # no direction better known


def test_the_classifier_keeps_the_parts_and_a_continuing_track_inherits_them() -> None:
    c: Any = Classifier.__new__(Classifier)
    c.forget = 0.9
    ev = TrackEvidence()
    x = np.array([0.0, 0.0, 60.0, 10.0, 17.0, 0.0])  # 10 m/s along east, known; 17 across
    for t in range(3):
        c._observe_state(ev, TrackState("1", float(t), x, _P(0.5, 8.0, 0.0), TrackStatus.CONFIRMED))
    assert math.isclose(ev.speed_g, 10.0, rel_tol=1e-9)
    assert math.isclose(ev.speed_pv, 64.0, rel_tol=1e-9)
    new = TrackEvidence()
    inherit(new, ev)
    assert (new.speed_g, new.speed_pv) == (ev.speed_g, ev.speed_pv)


def test_a_far_young_birds_fast_reading_through_the_classifier() -> None:
    """The same through ``_observe_state``: five frames of a track whose velocity is known
    along the line of sight (east, 10 m/s, sd 0.5) and read 17 m/s across it with sd 8: the
    speed average 19.7 m/s. Read as exact it gave the drone +1.2 nats; its cross-range part
    is not known well enough to say so. Flying the same speed along the line of sight, the
    reading stays evidence for the drone."""
    c: Any = Classifier.__new__(Classifier)
    c.forget = 0.9
    across, along = TrackEvidence(), TrackEvidence()
    for t in range(5):
        P = _P(0.5, 8.0, 0.0)
        xa = np.array([0.0, 0.0, 60.0, 10.0, 17.0, 0.0])
        xb = np.array([0.0, 0.0, 60.0, math.hypot(10.0, 17.0), 0.0, 0.0])
        c._observe_state(across, TrackState("1", float(t), xa, P, TrackStatus.CONFIRMED))
        c._observe_state(along, TrackState("2", float(t), xb, P, TrackStatus.CONFIRMED))
    assert _drone_minus_bird(across) < 0.2
    assert _drone_minus_bird(along) > 1.0

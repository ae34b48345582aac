"""Launch-point estimates on synthetic straight-line tracks with known answers, and the
uncertainty ellipse checked against Monte Carlo through the same back-extrapolation."""

from __future__ import annotations

import numpy as np
import pytest

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec, Site, ZoneKind, ZoneSpec
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.assess import ThreatAssessor, ThreatLevel
from skywarden.threat.launch import LaunchPointEstimator

RADAR = SensorSpec(
    "radar-1",
    SensorKind.RADAR,
    MeasurementKind.RANGE_AZ_EL_RADIAL,
    np.array([0.0, 0.0, 5.0]),
    {"range_m": 5.0, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6},
    max_range_m=3000.0,
)
ZONE = ZoneSpec("house", ZoneKind.PROTECTED, (0.0, 0.0), 150.0, None, 0.0, 300.0)
SITE = Site("launch", GeoOrigin(33.0, 44.0), (RADAR,), (ZONE,), ())
P = np.diag([25.0, 25.0, 16.0, 1.0, 1.0, 0.25])


def states(
    start: np.ndarray, v: np.ndarray, t_launch: float, first_t: float, ts: range
) -> list[TrackState]:
    """A straight line from ``start`` at ``t_launch``; tracked from ``first_t``."""
    out = []
    for t in ts:
        x = np.concatenate([start + v * (t - t_launch), v])
        out.append(
            TrackState("9", float(t), x, P.copy(), TrackStatus.CONFIRMED, first_t=first_t,
                       class_probs={"drone": 0.95, "bird": 0.05}, hits=20, score=30.0)
        )  # fmt: skip
    return out


def test_climbing_track_goes_back_to_the_ground() -> None:
    ground = np.array([1000.0, -500.0, 0.0])
    v = np.array([-8.0, 4.0, 2.0])
    est = LaunchPointEstimator(SITE)
    for tr in states(ground, v, 0.0, 20.0, range(22, 60)):
        est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None and lp.method == "ground"
    assert lp.first_seen_t == 20.0
    assert lp.first_seen_enu == pytest.approx((840.0, -420.0, 40.0), abs=1e-6)
    assert lp.origin_enu == pytest.approx(tuple(ground), abs=1e-6)
    assert lp.origin_t == pytest.approx(0.0, abs=1e-6)
    # a noisy climb rate stretches the ellipse along the track (heading ~117 deg)
    assert lp.ellipse.semi_major_m > 2 * lp.ellipse.semi_minor_m
    assert lp.ellipse.orientation_deg == pytest.approx(116.6, abs=10.0)


def test_level_track_inside_coverage_goes_back_to_the_coverage_edge() -> None:
    v = np.array([-20.0, 0.0, 0.0])
    start = np.array([2000.0, 0.0, 60.0])  # popped up here at t = 50
    est = LaunchPointEstimator(SITE)
    for tr in states(start, v, 50.0, 50.0, range(52, 70)):
        est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None and lp.method == "coverage_edge"
    edge_e = float(np.sqrt(3000.0**2 - 55.0**2))
    assert lp.origin_enu == pytest.approx((edge_e, 0.0, 60.0), abs=1e-3)
    assert lp.origin_t == pytest.approx(50.0 - (edge_e - 2000.0) / 20.0, abs=1e-3)


def test_first_seen_at_the_edge_flying_level() -> None:
    v = np.array([0.0, -15.0, 0.0])
    start = np.array([0.0, 2995.0, 80.0])
    est = LaunchPointEstimator(SITE)
    for tr in states(start, v, 10.0, 10.0, range(12, 20)):
        est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None and lp.method in ("first_seen", "coverage_edge")
    assert lp.origin_enu[1] == pytest.approx(2995.0, abs=10.0)


def test_ellipse_matches_monte_carlo() -> None:
    rng = np.random.default_rng(1)
    ground = np.array([1000.0, -500.0, 0.0])
    v = np.array([-8.0, 4.0, 2.0])
    (tr,) = states(ground, v, 0.0, 20.0, range(26, 27))
    est = LaunchPointEstimator(SITE)
    est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None
    samples = []
    for x in rng.multivariate_normal(tr.x, tr.P, 3000):
        e = LaunchPointEstimator(SITE)
        e.observe_tracks([TrackState("s", tr.t, x, tr.P, tr.status, first_t=tr.first_t)])
        got = e.estimate("s")
        assert got is not None
        samples.append(got.origin_enu[:2])
    C = np.cov(np.array(samples).T)
    ours = np.array(lp.origin_cov_en)
    assert np.sqrt(np.diag(ours)) == pytest.approx(np.sqrt(np.diag(C)), rel=0.15)


def test_remote_id_operator_position_and_the_assessment_carries_it() -> None:
    est = LaunchPointEstimator(SITE)
    det = Detection(
        5.0, "rid-1", MeasurementKind.POSITION_ID, np.zeros(6), np.eye(6),
        identity="X1", attrs={"operator_enu": [310.0, -1200.0, 2.0]},
    )  # fmt: skip
    est.observe_assignments([("9", det, 1)])
    trs = states(np.array([900.0, 0.0, 0.0]), np.array([-10.0, 0.0, 1.0]), 0.0, 5.0, range(7, 12))
    for tr in trs:
        est.observe_tracks([tr])
    a = ThreatAssessor(SITE).assess_one(trs[-1], 11.0, None, est.estimate)
    assert a.level >= ThreatLevel.WARNING and a.launch is not None
    assert a.launch.operator_enu == (310.0, -1200.0, 2.0) and a.launch.operator_t == 5.0
    assert a.launch.method == "ground"
    assert a.launch.origin_enu == pytest.approx((900.0, 0.0, 0.0), abs=1e-6)


def _track(tid: str, t: float, x: list[float], first_t: float) -> TrackState:
    return TrackState(
        tid, t, np.array(x, dtype=float), P.copy(), TrackStatus.CONFIRMED, first_t=first_t,
        class_probs={"drone": 0.95, "bird": 0.05}, hits=20, score=30.0,
    )  # fmt: skip


def test_a_climb_first_seen_at_the_coverage_edge_is_not_claimed_as_a_take_off() -> None:
    """5 km out a plot's height is +-60 m: a track 40 m inside the edge 'climbing' may as well
    have flown in low; no take-off is claimed there, one 1 km inside is."""
    v = np.array([-20.0, 0.0, 1.5])
    est = LaunchPointEstimator(SITE)
    for tr in states(np.array([2960.0, 0.0, 10.0]), v, 10.0, 10.0, range(12, 20)):
        est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None and lp.method == "coverage_edge"
    est = LaunchPointEstimator(SITE)
    for tr in states(np.array([2000.0, 0.0, 10.0]), v, 10.0, 10.0, range(12, 20)):
        est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None and lp.method == "ground"


def test_a_track_starting_where_two_drones_met_inherits_neither_launch() -> None:
    """Two drones from far-apart take-offs meet over the house; both tracks are lost and a new
    one starts there: which one it continues is a guess, so it claims no launch at all (not
    the other drone's, kilometres away, and not a take-off where it appeared)."""
    est = LaunchPointEstimator(SITE)
    for t in range(0, 12):  # A took off at (1500, 0), B at (0, -1500), both climbing
        est.observe_tracks([
            _track("A", t, [1500.0 - 20 * t, 0.0, 5.0 + 2 * t, -20.0, 0.0, 2.0], 0.0),
            _track("B", t, [0.0, -1500.0 + 20 * t, 5.0 + 2 * t, 0.0, 20.0, 2.0], 0.0),
        ])  # fmt: skip
    assert est.estimate("A").method == est.estimate("B").method == "ground"  # type: ignore[union-attr]
    for t in range(12, 80):  # both fly on, then hover over the house
        ea, nb = max(1500.0 - 20 * t, 30.0), min(-1500.0 + 20 * t, -30.0)
        est.observe_tracks([
            _track("A", t, [ea, 0.0, 30.0, -20.0 if ea > 30 else 0.0, 0.0, 0.0], 0.0),
            _track("B", t, [0.0, nb, 30.0, 0.0, 20.0 if nb < -30 else 0.0, 0.0], 0.0),
        ])  # fmt: skip
    for t in range(85, 95):  # both lost; a new track at the house, rising (a take-off, alone)
        est.observe_tracks([_track("C", t, [0.0, 0.0, 15.0 + (t - 85), 0.0, 0.0, 1.0], 85.0)])
    lp = est.estimate("C")
    assert lp is not None and lp.method == "joined"
    # one lost drone alone near a new track: the new one continues it and inherits its launch
    est = LaunchPointEstimator(SITE)
    for t in range(0, 40):
        est.observe_tracks([_track("A", t, [1500.0 - 20 * t, 0.0, 30.0, -20.0, 0.0, 0.0], 0.0)])
    for t in range(45, 55):
        est.observe_tracks([_track("D", t, [1500.0 - 20 * t, 0.0, 30.0, -20.0, 0.0, 0.0], 45.0)])
    assert est.estimate("D") == est.estimate("A")


def test_a_track_first_seen_climbing_high_up_is_not_a_take_off() -> None:
    """A drone re-acquired mid-flight at 95 m with a noisy 1.3 m/s 'climb': carried back to
    the ground that is 70 s and kilometres away; it was in the air before it was seen."""
    est = LaunchPointEstimator(SITE)
    for tr in states(np.array([900.0, -1500.0, 95.0]), np.array([-12.0, 21.0, 1.3]), 50.0,
                     50.0, range(52, 60)):  # fmt: skip
        est.observe_tracks([tr])
    lp = est.estimate("9")
    assert lp is not None and lp.method not in ("ground", "appeared")

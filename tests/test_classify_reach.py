"""Issue 19, session 11 (branch sprint): a speed once measured beyond any bird's keeps the
track from reading as a bird when it stops (``threat.reach``)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat import reach
from skywarden.threat.classify import _SPEED_MU, _SPEED_SD, Classifier

EMPTY_SITE = Site("reach", GeoOrigin(0.0, 0.0), ())


def _P(sd_known: float, sd_across: float, angle: float) -> np.ndarray:
    """A radar track's covariance: the horizontal velocity known to ``sd_known`` along the
    direction ``angle`` (rad from east; the line of sight) and to ``sd_across`` across it."""
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    P = np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0])
    P[3:5, 3:5] = R @ np.diag([sd_known**2, sd_across**2]) @ R.T
    return P


def test_the_floor_is_the_known_component_or_the_speed_less_its_worst_sd() -> None:
    los = math.radians(30.0)
    P = _P(0.5, 9.0, los)
    # flying along the line of sight at 35 m/s: the Doppler component bounds the speed
    ve, vn = 35.0 * math.cos(los), 35.0 * math.sin(los)
    assert math.isclose(reach.speed_floor(ve, vn, P), 35.0 - reach.REACH_K * 0.5, rel_tol=1e-9)
    # across it: only the speed less twice the unknown direction's sd
    ve, vn = -35.0 * math.sin(los), 35.0 * math.cos(los)
    assert math.isclose(reach.speed_floor(ve, vn, P), 35.0 - reach.REACH_K * 9.0, rel_tol=1e-9)
    # hovering: nothing
    assert reach.speed_floor(0.3, -0.2, P) == 0.0


def test_a_jump_onto_another_object_sets_no_peak() -> None:
    """birds_night s79 track 8 (session 14): after a 7 s coast it took a plot of another
    bird 260 m away and read 38.3, 39.4, 37.7 m/s across the beam with sd 6.8, 6.3, 6.3 for
    three frames (radial sd 0.5, the jump mostly across); at 2 sd that was a peak of 24.7
    m/s, above a bird's top speed, held for the rest of the track's life."""
    los = math.radians(40.0)
    run: tuple[float, ...] = ()
    peak = 0.0
    for v, sd in ((38.3, 6.8), (39.4, 6.3), (37.7, 6.3)):
        across = los + math.radians(75.0)  # mostly across the line of sight
        f = reach.speed_floor(v * math.cos(across), v * math.sin(across), _P(0.5, sd, los))
        run, peak = reach.reach_update(run, peak, f)
    assert peak < reach.BIRD_TOP_MPS


def test_the_peak_needs_a_run_of_frames_and_never_falls() -> None:
    run: tuple[float, ...] = ()
    peak = 0.0
    for f in (5.0, 34.0, 6.0, 30.0, 31.0):  # one fast frame alone (a stray plot) sets nothing
        run, peak = reach.reach_update(run, peak, f)
    assert peak == 6.0
    run, peak = reach.reach_update(run, peak, 32.0)
    assert peak == 30.0
    for _ in range(5):
        run, peak = reach.reach_update(run, peak, 0.0)
    assert peak == 30.0


def test_the_penalty_speaks_only_above_a_birds_top_speed() -> None:
    # with no floor of the last HOLD_S, a peak under a bird's top speed is read as none
    peak = np.array([reach.held_peak(reach.BIRD_TOP_MPS - 0.1, ()), 35.0, 35.0])
    now = np.array([5.0, 5.0, 40.0])
    pen = reach.bird_penalty(peak, now, _SPEED_MU, _SPEED_SD)
    assert pen[0] == 0.0  # a fast bird's speed: the speed average alone speaks
    assert pen[1] > 10.0  # 35 m/s is ~6 bird sd out
    assert pen[2] == 0.0  # flying faster now than the peak: the current speed says it all


def _radar_track(fast_mps: float) -> list[TrackState]:
    """A multirotor 3.6 km out flying at ``fast_mps`` along the line of sight for 8 s, then
    braking and hovering 100 m up for 20 s, as night_launch s13 H0 (traced: Doppler sd 0.4-0.6
    m/s, across the beam 6-10 m/s throughout; the hover's estimate 2-5 m/s)."""
    los = math.radians(-100.0)
    out = []
    for k in range(30):
        t = float(k)
        spd = fast_mps if k < 8 else max(fast_mps - 8.0 * (k - 7), 2.5 + 0.5 * math.sin(t))
        ve, vn = spd * math.cos(los), spd * math.sin(los)
        x = np.array([-600.0, -3550.0, 100.0, ve, vn, 0.5 * math.sin(1.3 * t)])
        sd = 6.0 + 3.0 * max(0.0, 1.0 - t / 10.0)
        out.append(TrackState("1", t, x, _P(0.5, sd, los), TrackStatus.CONFIRMED, hits=k + 1))
    return out


def test_a_drone_measured_at_35_mps_stays_a_drone_through_its_hover() -> None:
    clf = Classifier(EMPTY_SITE)
    for tr in _radar_track(35.0):
        (out,) = clf.annotate([tr], tr.t)
    ev = clf._ev["1"]
    assert ev.reach_peak > 33.0
    # (no RCS here, so the broad aircraft model takes what the bird loses)
    assert out.class_probs["bird"] < 0.01 < out.class_probs["drone"]
    # the stop's slow speed average (5 m/s, a bird's) no longer speaks for the bird
    assert ev.speed_avg is not None and ev.speed_avg < 6.0
    plain = Classifier._feature_loglik([replace(ev, reach_peak=0.0, reach_recent=())])[0]
    held = Classifier._feature_loglik([ev])[0]
    assert held[2] < plain[2] - 10.0
    assert np.array_equal(np.delete(held, 2), np.delete(plain, 2))  # only the bird moves


def _stop_track(fast_mps: float, hover_s: float) -> list[TrackState]:
    """``_radar_track``'s flight at ``fast_mps`` and its stop, the hover held ``hover_s``."""
    base = _radar_track(fast_mps)
    last = base[-1]
    extra = [replace(last, t=last.t + k, hits=last.hits + k) for k in range(1, int(hover_s) - 19)]
    return base + extra


def test_a_birds_speed_before_a_stop_is_held_for_hold_s() -> None:
    """Session 19 (branch dogleg): below a bird's top speed the life's peak says nothing,
    but a bird does not stop in the air: the floor measured seconds ago (night_launch's
    launch dog-leg at 20 m/s) is the speed the bird's evidence is read at, for HOLD_S."""
    clf = Classifier(EMPTY_SITE)
    for tr in _radar_track(20.0)[:12]:  # 4 s into the stop
        clf.annotate([tr], tr.t)
    ev = clf._ev["1"]
    assert ev.reach_peak < reach.BIRD_TOP_MPS
    assert ev.speed_avg is not None and 9.0 < ev.speed_avg < 16.0  # the stop's: a bird's
    plain = Classifier._feature_loglik([replace(ev, reach_recent=())])[0]
    held = Classifier._feature_loglik([ev])[0]
    assert held[2] < plain[2] - 1.0  # 18.5 m/s against the average's: the bird loses
    assert np.array_equal(np.delete(held, 2), np.delete(plain, 2))  # only the bird moves


def test_the_held_floor_is_forgotten_after_hold_s() -> None:
    clf = Classifier(EMPTY_SITE)
    for tr in _stop_track(20.0, reach.HOLD_S + 15.0):
        clf.annotate([tr], tr.t)
    ev = clf._ev["1"]
    base = Classifier._feature_loglik([replace(ev, reach_recent=())])[0]
    assert np.array_equal(Classifier._feature_loglik([ev])[0], base)


def test_the_recent_floors_are_a_sliding_window_maximum() -> None:
    r: reach.Recent = ()
    for t, f in ((0.0, 10.0), (1.0, 12.0), (2.0, 11.0), (3.0, 9.0)):
        r = reach.recent_update(r, t, (f,) * reach.REACH_RUN)
    assert r == ((1.0, 12.0), (2.0, 11.0), (3.0, 9.0))
    assert reach.held_peak(0.0, r) == 12.0
    assert reach.held_peak(30.0, r) == 30.0  # a peak beyond any bird's is held for life
    assert reach.held_peak(reach.BIRD_TOP_MPS - 1.0, r) == 12.0
    r = reach.recent_update(r, 1.0 + reach.HOLD_S + 0.5, None)  # a coasted frame: no floor
    assert r == ((2.0, 11.0), (3.0, 9.0))
    assert reach.recent_merge(((0.0, 5.0), (4.0, 3.0)), ((2.0, 6.0),)) == ((2.0, 6.0), (4.0, 3.0))


def test_a_steady_birds_floor_adds_nothing() -> None:
    """A bird flying on at 11 m/s: its floor lies REACH_K sd under its speed, the average
    at its speed; nothing is taken from the bird."""
    los = math.radians(-100.0)
    clf = Classifier(EMPTY_SITE)
    for k in range(30):
        t = float(k)
        ve, vn = 11.0 * math.cos(los), 11.0 * math.sin(los)
        x = np.array([-600.0, -3550.0, 100.0, ve, vn, 0.0])
        tr = TrackState("1", t, x, _P(0.5, 6.0, los), TrackStatus.CONFIRMED, hits=k + 1)
        clf.annotate([tr], t)
    ev = clf._ev["1"]
    assert ev.reach_recent
    base = Classifier._feature_loglik([replace(ev, reach_recent=())])[0]
    assert np.array_equal(Classifier._feature_loglik([ev])[0], base)

"""Issue 19, session 10 (branch young): a young radar track's window without the filter's
own settling transient (``threat.kinematics.learnt_cut``)."""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.classify import Classifier
from skywarden.threat.kinematics import (
    KNOWN_SV_MPS,
    LEARN_MAX_S,
    Sample,
    _kinematic_loglik,
    kinematic_features,
    learnt_cut,
)

EMPTY_SITE = Site("young", GeoOrigin(0.0, 0.0), ())


def _sv(t: float) -> float:
    """A radar track's cross-beam velocity sd: 8.6 m/s at birth, known (1.4) after 10 s."""
    return max(1.4, 8.6 - 0.72 * t)


def test_the_first_known_sample_cuts_the_learning_once_and_only_when_young() -> None:
    young: list[Sample] = [(float(t), 0.0, 0.0, 0.0, 60.0, _sv(t)) for t in range(12)]
    decided, cut = learnt_cut(young, 11.0)
    assert decided and cut == sum(1 for s in young if s[5] > KNOWN_SV_MPS) == 10
    assert learnt_cut(young[:5], 4.0) == (False, 0)  # still learning: wait
    unknown: list[Sample] = [(float(t), 0.0, 0.0, 0.0, 60.0, 4.5) for t in range(16)]
    assert learnt_cut(unknown, LEARN_MAX_S + 1.0) == (True, 0)  # too old: never cut


def _drone_seen_by_a_new_radar_track(n: int) -> list[TrackState]:
    """A drone flying 20 m/s straight across the beam (east) and level; the track's estimate
    starts at its Doppler share (17 m/s, 20 degrees off course) and swings onto the truth
    as it settles (``_sv``): speed sd 0.9 m/s, turn sd 0.06 rad/s, climb sd 0.3 m/s over t=3-17,
    milder than multisensor_attack s25 H0 (traced: 1.5, 0.07-0.38, 0.6-0.8)."""
    out = []
    for k in range(n):
        t = float(k)
        a = min(1.0, t / 10.0)  # the share of the cross-beam velocity learnt
        spd = 17.0 + 3.0 * a + 1.5 * math.sin(1.1 * t) * (1.0 - a)
        off = math.radians(20.0 + 10.0 * math.sin(2.3 * t)) * (1.0 - a)
        ve, vn = spd * math.cos(off), spd * math.sin(off)
        vu = 1.2 * math.sin(1.7 * t) * (1.0 - a)  # vertical noise while unsettled
        sd = _sv(t)
        P = np.diag([25.0, 25.0, 25.0, sd * sd, sd * sd, 1.0])
        x = np.array([20.0 * t, 2400.0, 120.0, ve, vn, vu])
        out.append(TrackState("1", t, x, P, TrackStatus.CONFIRMED, hits=k + 1))
    return out


def test_a_young_drone_track_is_not_read_as_a_bird_by_its_own_settling() -> None:
    """15 s after birth the whole window is mostly the filter learning the velocity: read
    as is, it is bird-like; the classifier's window starts from the known velocity and reads
    the drone's steady flight instead."""
    states = _drone_seen_by_a_new_radar_track(18)
    clf = Classifier(EMPTY_SITE)
    for tr in states:
        clf.annotate([tr], tr.t)
    raw: list[Sample] = [
        (tr.t, *tr.x[3:5].tolist(), float(tr.x[5]), 120.0, _sv(tr.t)) for tr in states[3:]
    ]
    ll_raw = _kinematic_loglik(kinematic_features(raw))
    assert ll_raw[0] < ll_raw[2]  # the transient alone reads bird
    ev = clf._ev["1"]
    assert ev.learnt and ev.hist[0][0] >= 10.0
    assert ev.kin_ll is not None and ev.kin_ll[0] > ev.kin_ll[2]


def test_coasted_frames_are_not_flight_in_the_window() -> None:
    """A bird seen for 10 s, then coasting (no plot) for 8 s: the coasted frames are the
    filter's straight-line prediction and stay out of the window (birds_night harder s2
    track 201: they made a 6 s steady window and a warning at t=16)."""
    clf = Classifier(EMPTY_SITE)
    P = np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0])
    for k in range(18):
        t = float(k)
        status = TrackStatus.CONFIRMED if k < 10 else TrackStatus.COASTING
        x = np.array([11.0 * t, 0.0, 120.0, 11.0 + (k % 3 if k < 10 else 0.0), 0.0, 0.0])
        clf.annotate([TrackState("1", t, x, P, status, hits=min(k, 10) + 1)], t)
    ev = clf._ev["1"]
    assert [s[0] for s in ev.hist] == [float(k) for k in range(10)]

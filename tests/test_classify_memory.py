"""Issue 19, session 10: the kinematic memory (``threat.kinematics.memory_fold``) and RF
bearings explained by a track located elsewhere (``threat.rf_bearing.owner_far``)."""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat import rf_bearing
from skywarden.threat.classify import Classifier
from skywarden.threat.kinematics import MEMORY_CAP, MEMORY_SV_SPAN, block_weight, memory_fold
from test_threat_heading import _bearing

EMPTY_SITE = Site("memory", GeoOrigin(0.0, 0.0), ())
P0 = np.diag([25.0, 25.0, 25.0, 1.0, 1.0, 1.0])


def test_memory_holds_a_lasting_wander_and_forgives_a_drones_manoeuvre() -> None:
    """Blocks that read bird-like (drone - bird -1.5) sink the drone classes to the cap and
    stay there; steady blocks (+1.2) climb back to 0 and never above (one-sided)."""
    bird_like = [-1.5, -1.7, 0.0, -3.0]  # per class: drone, fixed wing, bird, aircraft
    steady = [1.2, 1.0, 0.0, -2.0]
    mem = None
    for _ in range(5):
        mem = memory_fold(mem, bird_like)
    assert mem == [-MEMORY_CAP, -MEMORY_CAP, 0.0, 0.0]
    one_turn = memory_fold(None, bird_like)
    assert one_turn[0] == -1.5
    back = memory_fold(memory_fold(one_turn, steady), steady)
    assert back == [0.0, 0.0, 0.0, 0.0]  # a drone back on its line owes nothing
    assert memory_fold(None, [5.0, 5.0, 0.0, 5.0]) == [0.0, 0.0, 0.0, 0.0]


def test_a_block_while_the_velocity_is_being_learnt_counts_partly() -> None:
    """A young track's first block (velocity sd falling 9.6 -> 4.2 m/s, harder
    multisensor_attack s11 H0) enters the memory at MEMORY_SV_SPAN / 5.4 of its evidence; a
    settled block (sd 1.0-1.2) whole."""
    young = [(float(t), 0.0, 0.0, 0.0, 60.0, 9.6 - 0.36 * t) for t in range(16)]
    steady = [(float(t), 0.0, 0.0, 0.0, 60.0, 1.0 + 0.2 * (t % 2)) for t in range(16)]
    w = block_weight(young)
    assert math.isclose(w, MEMORY_SV_SPAN / (0.36 * 15), rel_tol=1e-9)
    assert block_weight(steady) == 1.0
    block = [-1.3, -1.5, 0.0, -2.0]
    assert memory_fold(None, block, w)[0] > -0.5 > memory_fold(None, block, 1.0)[0]


def _states(speeds: list[float], heads: list[float], climbs: list[float]) -> list[TrackState]:
    out, e, n = [], 0.0, 0.0
    for k, (s, h, c) in enumerate(zip(speeds, heads, climbs, strict=True)):
        ve, vn = s * math.sin(h), s * math.cos(h)
        e, n = e + ve, n + vn
        x = np.array([e, n, 120.0, ve, vn, c])
        out.append(TrackState("1", float(k), x, P0, TrackStatus.CONFIRMED, hits=k + 1))
    return out


def _run(states: list[TrackState]) -> tuple[Classifier, float]:
    clf = Classifier(EMPTY_SITE)
    p = 0.0
    for tr in states:
        (ann,) = clf.annotate([tr], tr.t)
        p = ann.class_probs["drone"] + ann.class_probs["drone_fixed_wing"]
    return clf, p


def test_a_steady_window_after_minutes_of_bird_flight_does_not_forget_them() -> None:
    """A bird changing speed, heading and height for two minutes (the bird's medians in
    ``KINEMATICS``), then 20 s steady: its last window reads drone-ward, but the memory of
    the earlier blocks keeps the drone classes down; the same steady flight from the start
    leaves the memory at 0 and ends more drone-like."""
    rng = np.random.default_rng(5)
    n_wander, n_steady = 120, 20
    speeds = list(11.0 + rng.normal(0.0, 1.2, n_wander)) + [11.0] * n_steady
    heads = list(np.cumsum(rng.normal(0.0, 0.1, n_wander))) + [0.4] * n_steady
    climbs = list(rng.normal(0.0, 0.7, n_wander)) + [0.0] * n_steady
    clf, p_bird = _run(_states(speeds, heads, climbs))
    ev = clf._ev["1"]
    assert ev.kin_ll is not None and ev.kin_ll[0] > ev.kin_ll[2]  # the window alone: drone
    assert ev.kin_mem is not None and ev.kin_mem[0] <= -2.0
    n = n_wander + n_steady
    steady, p_steady = _run(_states([11.0] * n, [0.4] * n, [0.0] * n))
    assert steady._ev["1"].kin_mem == [0.0, 0.0, 0.0, 0.0]
    assert p_bird < 0.5 * p_steady


def _trk(tid: str, e: float, n: float, sd: float, sensor: str) -> TrackState:
    P = np.diag([sd * sd, sd * sd, 25.0, 1.0, 1.0, 1.0])
    x = np.array([e, n, 80.0, 0.0, 15.0, 0.0])
    return TrackState(tid, 0.0, x, P, TrackStatus.CONFIRMED, sensors=(sensor,), hits=5)


def test_a_bearing_whose_owner_is_located_elsewhere_is_no_hit() -> None:
    """The tracker gave the bearing to a cross-fix 1.1 km further out along it (harder
    multisensor_attack s10: H0 beyond the radar's range, bird B13 on the line): the ranged
    bird is no emitter. A cross-fix near the ranged track (the same drone) still gives it
    the hit, and so does a bearing with no owner."""
    bird = _trk("B", 0.0, 2000.0, 5.0, "radar-1")
    far = _trk("X", 0.0, 3100.0, 100.0, "rf-1")
    near = _trk("Y", 30.0, 2150.0, 100.0, "rf-1")
    assert rf_bearing.owner_far(bird, far) and not rf_bearing.owner_far(bird, near)
    det = _bearing((0.0, 0.0), (0.0, 2500.0), 0.035)
    located = {t.id: t for t in (bird, far, near)}
    for owner, hit in (("X", set()), ("Y", {"B"})):
        scan = rf_bearing.bearings([det], frozenset(), {id(det): frozenset({owner})})
        assert rf_bearing.pointed_at(scan, [bird], located) == hit, owner
    scan = rf_bearing.bearings([det], frozenset())
    assert rf_bearing.pointed_at(scan, [bird], located) == {"B"}

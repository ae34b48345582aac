"""Issue 19 (branch youngfa): a run of P(drone) that began while the track was young must
hold ``ThreatConfig.young_hold_s`` before it raises an advisory or a warning
(``threat.assess.young_hold_left``)."""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site, ZoneKind, ZoneSpec
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.assess import ThreatAssessor, ThreatConfig, ThreatLevel, young_hold_left

CIRCLE = ZoneSpec("res", ZoneKind.PROTECTED, (0.0, 0.0), 150.0, None, 0.0, 300.0)
SITE = Site("s", GeoOrigin(33, 44), (), (CIRCLE,))


def _track(t: float, first_t: float, x: list[float], p_drone: float = 0.9) -> TrackState:
    """A firm confirmed track begun at ``first_t`` (hits of a track seen every second)."""
    return TrackState(
        "1",
        t,
        np.array(x, float),
        np.eye(6),
        TrackStatus.CONFIRMED,
        class_probs={"drone": p_drone, "bird": 1.0 - p_drone},
        hits=int(t - first_t) + 1,
        score=30.0,
        first_t=first_t,
    )


def test_the_hold_left_counts_only_for_a_run_begun_young() -> None:
    cfg = ThreatConfig()
    assert young_hold_left(cfg, 0.0, 0.0, 4.0) == cfg.young_hold_s - 4.0
    assert young_hold_left(cfg, 0.0, 0.0, cfg.young_hold_s) == 0.0
    assert young_hold_left(cfg, 0.0, cfg.young_age_s, cfg.young_age_s + 1.0) == 0.0
    assert young_hold_left(cfg, 0.0, math.inf, 5.0) == 0.0  # below: nothing to hold


def test_a_young_track_warns_once_its_p_drone_held_the_young_hold() -> None:
    """Heading for the zone (enters in ~100 s, not imminent) and P(drone) 0.9 from its start:
    no warning 4 s in (a drone-sized bird's first seconds look the same), a warning once
    the run has lasted ``young_hold_s``."""
    a = ThreatAssessor(SITE)
    hold = a.cfg.young_hold_s
    first = None
    for k in range(int(hold) + 1):
        t = float(k)
        r = a.assess_one(_track(t, 0.0, [1150.0 - 10.0 * t, 0.0, 50.0, -10.0, 0.0, 0.0]), t)
        if r.level is ThreatLevel.WARNING and first is None:
            first = t
        if t == 4.0:
            assert r.level is ThreatLevel.WATCH and any("young" in s for s in r.reasons)
    assert first == hold


def test_an_old_tracks_run_is_not_held() -> None:
    """A run begun after ``young_age_s`` waits only ``min_drone_hold_s``."""
    a = ThreatAssessor(SITE)
    cfg = a.cfg
    t0 = cfg.young_age_s + 5.0
    x = [1150.0, 0.0, 50.0, -10.0, 0.0, 0.0]
    assert a.assess_one(_track(t0 - 1.0, 0.0, x, p_drone=0.3), t0 - 1.0).level < ThreatLevel.WARNING
    for k in range(int(cfg.min_drone_hold_s) + 1):
        r = a.assess_one(_track(t0 + k, 0.0, x), t0 + k)
    assert r.level is ThreatLevel.WARNING


def test_a_young_track_inside_the_zone_waits_for_the_young_hold_and_a_firm_track() -> None:
    """Session 19 coastwin (harder birds_night s98 T413: a bird's new track, P(drone) 0.71
    on its first frame, 123 m from the centre, ALERT 3 s after its first plot): an inside
    ALERT on a young track waits ``young_hold_s`` of its run, as a warning does, and for a
    firm track; an old track's run inside waits only ``min_drone_hold_s``."""
    cfg = ThreatConfig()
    inside = [0.0, 0.0, 50.0, 0.0, 0.0, 0.0]
    a = ThreatAssessor(SITE)
    levels = {k: a.assess_one(_track(float(k), 0.0, inside), float(k)) for k in range(6)}
    held = levels[int(cfg.min_drone_hold_s)]
    assert held.level is ThreatLevel.WATCH and any("young" in s for s in held.reasons)
    assert levels[int(cfg.young_hold_s)].level is ThreatLevel.ALERT
    b = ThreatAssessor(SITE)
    for k in range(7):
        weak = _track(float(k), 0.0, inside)
        r = b.assess_one(TrackState(**{**weak.__dict__, "score": 8.0}), float(k))
    assert r.level is ThreatLevel.WATCH and any("not firm" in s for s in r.reasons)
    c = ThreatAssessor(SITE)
    t0 = cfg.young_age_s + 5.0
    c.assess_one(_track(t0, 0.0, inside, p_drone=0.3), t0)
    for k in range(1, int(cfg.min_drone_hold_s) + 2):
        r = c.assess_one(_track(t0 + k, 0.0, inside), t0 + k)
    assert r.level is ThreatLevel.ALERT

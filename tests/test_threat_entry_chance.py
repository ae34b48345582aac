"""Issue 19 (branch ttz): rule 2 (time to zone) warns on the chance of entering, not on the
straight line (``threat.zones.entry_chance``, ``ThreatConfig.min_entry_chance``): a far
entry predicted from a poorly known velocity is no prediction (birds_night s99 T181: a
bird "entering in 188 s" on a velocity known to +-6 m/s). The uncertainty never turns a
straight-line miss into an entry, and never holds back the imminent-entry alert."""

from __future__ import annotations

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site, ZoneKind, ZoneSpec
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.assess import ThreatAssessor, ThreatLevel
from skywarden.threat.zones import entry_chance

CIRCLE = ZoneSpec("res", ZoneKind.PROTECTED, (0.0, 0.0), 150.0, None, 0.0, 300.0)
SQUARE = ZoneSpec(
    "sq",
    ZoneKind.PROTECTED,
    None,
    None,
    ((-100.0, -100.0), (100.0, -100.0), (100.0, 100.0), (-100.0, 100.0)),
)
SITE = Site("s", GeoOrigin(33, 44), (), (CIRCLE,))


def _cov(pos_sd: float, vel_sd: float) -> np.ndarray:
    return np.diag([pos_sd**2] * 3 + [vel_sd**2] * 3)


def _track(t: float, x: list[float], vel_sd: float, p_drone: float = 0.75) -> TrackState:
    """A firm, old confirmed track (first seen 60 s before ``t``)."""
    return TrackState(
        "1",
        t,
        np.array(x, float),
        _cov(10.0, vel_sd),
        TrackStatus.CONFIRMED,
        class_probs={"drone": p_drone, "bird": 1.0 - p_drone},
        hits=61,
        score=30.0,
        first_t=t - 60.0,
    )


def _level(x: list[float], vel_sd: float, p_drone: float = 0.75) -> ThreatLevel:
    """The level after P(drone) has been held well past every hold."""
    a = ThreatAssessor(SITE)
    r = None
    for k in range(8):
        r = a.assess_one(_track(100.0 + k, x, vel_sd, p_drone), 100.0 + k)
    assert r is not None
    return r.level


def test_entry_chance_is_the_normal_mass_across_the_zone() -> None:
    """Straight in at 20 m/s from 3.6 km (180 s to go): a velocity known to 0.3 m/s spreads
    the path over ~55 m at the closest approach (chance ~1), one known to 6 m/s over ~1.1 km
    (chance ~0.1: 2 Phi(150 / 1080) - 1); a line passing 400 m off stays unlikely."""
    x = np.array([3600.0, 0.0, 100.0, -20.0, 0.0, 0.0])
    assert entry_chance(CIRCLE, x, _cov(10.0, 0.3)) > 0.99
    far = entry_chance(CIRCLE, x, _cov(10.0, 6.0))
    assert 0.08 < far < 0.14
    off = np.array([3600.0, 400.0, 100.0, -20.0, 0.0, 0.0])
    assert entry_chance(CIRCLE, off, _cov(10.0, 0.3)) < 0.01
    # a polygon counts as its circumscribing disc (radius 141 m here)
    assert entry_chance(SQUARE, x, _cov(10.0, 0.3)) > 0.98


def test_a_far_entry_on_a_poorly_known_velocity_does_not_warn() -> None:
    """T181's shape: P(drone) 0.75 held, heading in from 3.6 km at 20 m/s, velocity sd
    6 m/s: straight-line entry in ~172 s, but a chance of ~0.1. Main warned (rule 2)."""
    assert _level([3600.0, 0.0, 100.0, -20.0, 0.0, 0.0], 6.0) < ThreatLevel.WARNING


def test_a_far_entry_on_a_well_known_velocity_still_warns() -> None:
    """The same approach with the velocity known to 0.5 m/s (a drone's steady flight)."""
    assert _level([3600.0, 0.0, 100.0, -20.0, 0.0, 0.0], 0.5) is ThreatLevel.WARNING


def test_a_near_entry_on_a_poorly_known_velocity_still_warns_and_alerts() -> None:
    """Heading in with velocity sd 6 m/s: 20 s out it is alerted (imminent, untouched by the
    chance), 45 s from the edge the spread at the closest approach (52 s) is ~320 m and the chance
    ~0.37, above 0.25: warned."""
    assert _level([400.0 + 150.0, 0.0, 100.0, -20.0, 0.0, 0.0], 6.0) is ThreatLevel.ALERT
    assert _level([900.0 + 150.0, 0.0, 100.0, -20.0, 0.0, 0.0], 6.0) is ThreatLevel.WARNING

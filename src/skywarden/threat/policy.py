"""The warning policy: which likely drone is worth telling the operator about, how loudly,
and the evidence that decided it.

Rules, per protected zone (each a test in ``tests/test_threat_policy.py``):

1. **Detection area -> advisory.** A likely drone (P(drone) reached ``drone_prob`` and has
   not fallen below ``drone_prob - drone_prob_band`` since, on a firm track) that is
   neither whitelisted nor cooperative (broadcasting its own identity), located by a
   sensor that measures range (not a crossing of bearings, which may be a ghost), within
   ``advisory_radius_m`` of the zone (default: anywhere in coverage), raises at least an
   *advisory* once it has been a likely drone for ``advisory_hold_s`` (``advisory_recede_
   hold_s`` while it flies away from the zone faster than ``advisory_recede_mps``): an
   attacker's first leg may point 1-2 km to one side of the site, and the approach rules
   below stay silent until its last turn.
2. **Time to zone -> warning.** Predicted to enter the zone within ``warning_s``.
3. **Closest approach -> warning.** Closing on the zone with a closest point of approach
   within ``warning_cpa_m`` (default four zone radii) within ``warning_s``.
4. **Imminent -> alert.** Inside, or entering within ``alert_s``.
5. **Quiet.** Birds and aircraft (classified with confidence), whitelisted identities the
   radar confirms and tracks below ``drone_prob`` raise nothing (``threat.assess`` applies
   these, with the reason, after the rules above).

Settings come from the site file, per zone (``[zones.policy]``: any of :data:`KEYS`); a
misspelt key is refused with the nearest valid one.

:class:`Evidence` is what an alert carries so the operator sees why: class probabilities,
the sensors that fed the track, time to zone, closest approach, range, identity and the rule
that set the level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from skywarden.core.errors import ConfigError
from skywarden.core.site import ZoneSpec
from skywarden.core.strict import unknown_key
from skywarden.core.track import TrackState

KEYS = (
    "advisory_radius_m",
    "advisory_hold_s",
    "advisory_recede_mps",
    "advisory_recede_hold_s",
    "drone_prob",
    "drone_prob_band",
    "warning_s",
    "warning_cpa_m",
    "alert_s",
)


@dataclass(frozen=True)
class ZonePolicy:
    """One protected zone's thresholds (``math.inf`` radius: the whole coverage)."""

    advisory_radius_m: float = math.inf
    # a bird's track may look like a drone for a few scans; an attacker's stays one
    advisory_hold_s: float = 10.0
    # ... and longer, advisory_recede_hold_s, while it flies *away* from the zone faster than
    # advisory_recede_mps (m/s of opening speed, horizontally, on the track's velocity), until
    # the run's first raise. An attacker's first leg may pass 1-2 km to one side, but it does
    # not open on its target, while 4 of the 6 drone-sized birds rule 1 raised on session
    # 19's chosen files flew away from the residence at 7-20 m/s on runs of P(drone) that
    # ended within 5-25 s. An unknown drone flying away (radar3d_site's U0, 5-7 m/s) still
    # gets its advisory, later. 30 s: the heading model's first 20 s block and another 15 s
    # kinematic window after the run began. 3 m/s is the closest-approach rule's closing
    # gate: a launch climb (horizontal speed ~0) and a slow tangential pass stay inside it.
    advisory_recede_mps: float = 3.0
    advisory_recede_hold_s: float = 30.0
    drone_prob: float = 0.8
    # hysteresis: a likely drone stays one until P(drone) falls below drone_prob - band (a
    # fixed wing's P(drone) may hover about the threshold; a bird's falls away)
    drone_prob_band: float = 0.1
    warning_s: float = 240.0
    warning_cpa_m: float | None = None  # None: four zone radii (150 m without a radius)
    alert_s: float = 30.0

    def cpa_limit(self, zone: ZoneSpec) -> float:
        if self.warning_cpa_m is not None:
            return self.warning_cpa_m
        return 4.0 * (zone.radius_m or 150.0)


def zone_policy(zone: ZoneSpec, default: ZonePolicy | None = None) -> ZonePolicy:
    """The zone's policy: ``default`` overridden by the zone's ``policy`` pairs."""
    base = default or ZonePolicy()
    if not zone.policy:
        return base
    vals: dict[str, Any] = {}
    for k, v in zone.policy:
        if k not in KEYS:
            raise unknown_key(f"zones.{zone.id}.policy", k, KEYS)
        if v < 0 or (k == "drone_prob" and v > 1):
            raise ConfigError(f"zones.{zone.id}.policy.{k}", f"out of range: {v}")
        vals[k] = v
    return ZonePolicy(**{**base.__dict__, **vals})


@dataclass(frozen=True)
class Evidence:
    """Why a track got its level: what an alert shows and the journal keeps."""

    rule: str  # detection_area / time_to_zone / closest_approach / warning_zone / inside / ...
    class_probs: tuple[tuple[str, float], ...]
    sensors: tuple[str, ...]
    range_m: float  # horizontal, from the zone's centre
    time_to_zone_s: float | None
    closest_approach_m: float | None
    time_to_closest_s: float | None
    identity: str | None
    identity_status: str

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None, nd: int = 1) -> float | None:
            return None if v is None else round(v, nd)

        return {
            "rule": self.rule,
            "class_probs": {k: round(p, 3) for k, p in self.class_probs},
            "sensors": list(self.sensors),
            "range_m": r(self.range_m, 0),
            "time_to_zone_s": r(self.time_to_zone_s),
            "closest_approach_m": r(self.closest_approach_m, 0),
            "time_to_closest_s": r(self.time_to_closest_s),
            "identity": self.identity,
            "identity_status": self.identity_status,
        }

    def summary(self) -> str:
        """One line for an operator: the rule, the class and its sources, the geometry."""
        cls = ", ".join(f"{k} {p:.0%}" for k, p in self.class_probs[:2])
        parts = [f"{self.rule.replace('_', ' ')}", f"{cls} from {', '.join(self.sensors) or '-'}"]
        parts.append(f"{self.range_m:.0f} m out")
        if self.time_to_zone_s is not None:
            parts.append(f"enters in {self.time_to_zone_s:.0f} s")
        if self.closest_approach_m is not None and self.time_to_closest_s is not None:
            parts.append(
                f"closest {self.closest_approach_m:.0f} m in {self.time_to_closest_s:.0f} s"
            )
        parts.append(f"identity {self.identity or 'none'} ({self.identity_status})")
        return "; ".join(parts)


def closest_approach(tr: TrackState, zone: ZoneSpec) -> tuple[float, float, float, float]:
    """(range, closing speed, time of closest approach >= 0, miss distance) to the zone's
    centre, horizontally, on the straight-line prediction."""
    cx, cy = zone.centroid
    e, n, _ = tr.x[:3].tolist()
    ve, vn = tr.x[3:5].tolist()
    de, dn = cx - e, cy - n
    rng = math.hypot(de, dn)
    toward = ve * de + vn * dn
    t_cpa = max(toward / max(ve * ve + vn * vn, 1e-9), 0.0)
    miss = math.hypot(de - ve * t_cpa, dn - vn * t_cpa)
    return rng, toward / max(rng, 1.0), t_cpa, miss


def evidence(
    tr: TrackState,
    zone: ZoneSpec,
    rule: str,
    time_to_zone_s: float | None,
    identity_status: str,
) -> Evidence:
    rng, _, t_cpa, miss = closest_approach(tr, zone)
    probs = tuple(sorted(tr.class_probs.items(), key=lambda kv: -kv[1]))
    return Evidence(
        rule,
        probs,
        tuple(tr.sensors),
        rng,
        time_to_zone_s,
        miss,
        t_cpa,
        tr.identity,
        identity_status,
    )


def in_detection_area(tr: TrackState, zone: ZoneSpec, pol: ZonePolicy) -> bool:
    """Rule 1's area: within ``advisory_radius_m`` of the zone (horizontally)."""
    if math.isinf(pol.advisory_radius_m):
        return True
    e, n, _ = tr.x[:3].tolist()
    return zone.horizontal_distance(e, n) <= pol.advisory_radius_m


def receding(tr: TrackState, zone: ZoneSpec, pol: ZonePolicy) -> float | None:
    """Rule 1's direction: the opening speed (m/s) when the track flies away from the zone's
    centre faster than ``advisory_recede_mps`` (horizontally, on its velocity), else None;
    rule 1 then holds ``advisory_recede_hold_s``.
    With the radar at the site this is the Doppler's own quantity, known from a young
    track's first plots, unlike its speed across the beam."""
    _, closing, _, _ = closest_approach(tr, zone)
    return -closing if -closing > pol.advisory_recede_mps else None

"""Threat assessment: for every track, where it is relative to the zones and how soon it may
enter one, with a single score and the reasons behind it so the operator sees why.

A warning-worthy track is a confirmed track that is not a friend and is predicted to enter a
protected zone within ``horizon_s`` (or is inside one); ``threat.policy`` adds the advisory
for any likely drone in a zone's detection area, the per-zone thresholds and the evidence.
Classification weighs in: objects the classifier is confident are birds or manned aircraft
are reported but not alerted on. A whitelisted identity is a friend only while it is not
suspicious (``threat.spoof``): a Remote ID or ADS-B position the radar does not confirm no
longer suppresses anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from skywarden.core.observation import MeasurementKind
from skywarden.core.site import Site, ZoneKind, ZoneSpec
from skywarden.core.track import TrackState
from skywarden.core.types import frozen_from_fields
from skywarden.threat.launch import LaunchPoint
from skywarden.threat.policy import (
    Evidence,
    ZonePolicy,
    closest_approach,
    evidence,
    in_detection_area,
    receding,
    zone_policy,
)
from skywarden.threat.spoof import IdentityCheck
from skywarden.threat.zones import time_to_enter


class ThreatLevel(IntEnum):
    NONE = 0
    WATCH = 1  # near the site, heading matters
    ADVISORY = 2  # a likely drone in a zone's detection area (threat.policy rule 1)
    WARNING = 3  # predicted to enter a protected zone within the horizon
    ALERT = 4  # inside a protected zone, or entry imminent


# Rule 1's "located by a ranging sensor": at least this many plots of position-fixing sensors
# in the track's life (``TrackState.pos_hits``), one of them in the last 10 s. One plot is no
# location: a crossing of RF bearings (no truth object) took a single radar plot of a bird
# 210 m above it and alerted (multisensor_attack s77 T38, docs/WARNING_POLICY.md session 15),
# while the RF cross-fix tracks of real drones are located by the radar one scan in two.
MIN_LOCATING_PLOTS = 2


def located(tr: TrackState) -> bool:
    """Whether where the track is may raise a warning: not while its position rests on
    fewer than ``MIN_LOCATING_PLOTS`` ranging plots after a first one. A track of bearings
    alone (no ranging plot) keeps its cross-fix location, as before; unknown counts (None)
    pass. Harder multisensor_attack s26 T55 (session 17 survey): an RF cross-fix track took
    one clutter plot 1.4 km nearer the site and was warned at once by the warning-zone rule."""
    return tr.pos_hits is None or tr.pos_hits == 0 or tr.pos_hits >= MIN_LOCATING_PLOTS


# the single score of a level (0 .. 1; the values before ADVISORY existed are kept)
_SCORE = {0: 0.0, 1: 1.0 / 3.0, 2: 0.5, 3: 2.0 / 3.0, 4: 1.0}


@dataclass(frozen=True)
class ZoneThreat:
    """One track against one zone: inside now, or the predicted time to enter it."""

    zone_id: str
    inside: bool
    time_to_enter_s: float | None


@dataclass(frozen=True)
class ThreatAssessment:
    """A track's threat level for this frame, with the zone and time that set it."""

    track_id: str
    t: float
    level: ThreatLevel
    score: float
    zone_id: str | None
    time_to_enter_s: float | None
    object_class: str
    friendly: bool
    reasons: tuple[str, ...] = ()
    zones: tuple[ZoneThreat, ...] = field(default_factory=tuple)
    identity_status: str = "unknown"  # friendly / unknown / suspicious
    launch: LaunchPoint | None = None  # for warning-worthy tracks, when an estimator is given
    evidence: Evidence | None = None  # for tracks a rule raised to advisory or above


@dataclass(frozen=True)
class ThreatConfig:
    """Horizons, margins and the classes that never raise an alert."""

    horizon_s: float = 240.0  # a drone at 25 m/s covers 6 km: beyond any small-drone radar
    imminent_s: float = 30.0
    margin_sigma: float = 2.0
    max_margin_m: float = 100.0
    non_threat_classes: frozenset[str] = frozenset({"bird", "aircraft"})
    non_threat_confidence: float = 0.6
    min_drone_prob: float = 0.7  # below this P(drone), a zone threat is shown, not alerted
    # ... and P(drone) must have stayed at or above it this long: a bird's P(drone) may touch
    # 0.7 for a frame or two (a turn that looks deliberate) right as it crosses the
    # residence; a drone's stays there (issue 19: such blips were most of the harder
    # simulator's false alerts). A track first seen already above counts from its start.
    min_drone_hold_s: float = 3.0
    # ... and longer (young_hold_s) for a run that began while the track was younger than
    # young_age_s, before an advisory or warning: a young track has no kinematic window yet
    # (threat.kinematics: 5 samples over MIN_WINDOW_S) or a short one, so its P(drone)
    # rests on RCS and speed alone, where drone-sized birds look like drones (issue 19,
    # harder birds_night s9 and s12: warned 3 s into a run that began 2 s after the track,
    # and 3 s into a run on the first 6 s window after the velocity was learnt; both runs
    # ended within 5 s). Not longer: a new radar track's first window reads the filter's
    # own settling as a bird (threat.kinematics, learnt_cut), so a drone's early run ends
    # 6-7 s after its track began too, and a 10 s hold moved its warning to after the cut
    # (harder night_launch s7: H0 210 -> 145 s, H1 118 -> 76 s; docs/WARNING_POLICY.md).
    young_hold_s: float = 5.0
    young_age_s: float = 20.0
    min_age_s: float = 0.0  # a track younger than this is shown but not alerted on
    approach_drone_prob: float = 0.8  # a likely drone closing on the site warns early
    approach_miss_factor: float = 4.0  # CPA within this many protected radii counts
    approach_min_closing_mps: float = 3.0
    # threat.policy rule 1: a bird's track may look like a drone for a few scans; an
    # attacker's stays one (default of every zone's ``advisory_hold_s``)
    advisory_hold_s: float = 10.0
    advisory_drone_prob: float = 0.8
    # A *warning* (not an imminent-entry alert) waits for a firm track: a track score (the
    # tracker's log-likelihood ratio, SPRT) about twice the confirmation score (ln(0.9/3e-3)
    # = 5.7) and at least one hit per three seconds of its life (a small drone near the edge of
    # radar coverage is seen about every other scan). Chains of clutter plots get
    # confirmed now and then and look fast and drone-sized; they rarely get this far.
    firm_score: float = 12.0
    firm_hit_rate: float = 0.35  # hits / (age + 1 s)


class ThreatAssessor:
    def __init__(self, site: Site, config: ThreatConfig | None = None) -> None:
        self.site = site
        self.cfg = config or ThreatConfig()
        self.protected = [z for z in site.zones if z.kind is ZoneKind.PROTECTED]
        self.warning = [z for z in site.zones if z.kind is ZoneKind.WARNING]
        self._protected_ids = frozenset(z.id for z in self.protected)
        self.friends = site.whitelisted_identities
        base = ZonePolicy(
            drone_prob=self.cfg.advisory_drone_prob,
            warning_s=self.cfg.horizon_s,
            alert_s=self.cfg.imminent_s,
            advisory_hold_s=self.cfg.advisory_hold_s,
        )
        self.policy = {z.id: zone_policy(z, base) for z in self.protected}
        self._zones = {z.id: z for z in site.zones}
        # rule 1 state: since when each track has been a likely drone for each zone (entered
        # at the zone's drone_prob, left below drone_prob - drone_prob_band)
        self._likely_since: dict[tuple[str, str], float] = {}
        # the (track, zone) whose current likely run has been raised (advisory or above):
        # rule 1's recession gate (``policy.receding``) only holds back the first raise. A
        # night_launch drone warned on its approach may pass the site and fly away from it
        # for 30 s before its last turn (session 19, s319 H1); its alert must not resolve.
        self._raised: set[tuple[str, str]] = set()
        # since when each track's P(drone) has been at or above min_drone_prob (unbroken);
        # False: seen below it
        self._drone_since: dict[str, float | bool] = {}
        # sensors that measure range: a track fed by bearings alone (RF, acoustic, camera)
        # may be a ghost crossing of two bearings, so where it is does not raise an advisory
        ranged = (MeasurementKind.RANGE_AZ_EL_RADIAL, MeasurementKind.XY, MeasurementKind.XYZ)
        self._ranging = frozenset(s.id for s in site.sensors if s.measures in ranged)

    def _approach_or_warning_zone(self, tr: TrackState, reasons: list[str]) -> ZoneThreat | None:
        """A likely drone that is not on a collision course may still be coming for the site.

        Two rules for an early *warning*: the track is inside (or will enter) a warning zone,
        or it closes on a protected zone fast with a closest point of approach within a few
        zone radii (a piloted drone weaving in). A closest approach within the zone's
        ``alert_s`` is an ALERT (rule ``closest_approach``) in ``assess_one``, but never the
        imminent-entry one: it claims no entry and waits for a warning's gates.
        """
        cfg = self.cfg
        p, v = tr.position, tr.velocity
        e, n, u = tr.x[:3].tolist()
        for z in self.warning:
            tte = 0.0 if z.contains(e, n, u) else time_to_enter(z, p, v, cfg.horizon_s)
            if tte is not None:
                reasons.append(
                    f"likely drone in warning zone {z.id}"
                    if tte == 0.0
                    else f"likely drone enters warning zone {z.id} in {tte:.0f} s"
                )
                return ZoneThreat(z.id, tte == 0.0, tte)
        for z in self.protected:
            _, closing, t_cpa, miss = closest_approach(tr, z)
            if closing < cfg.approach_min_closing_mps:
                continue
            pol = self.policy[z.id]
            if t_cpa <= pol.warning_s and miss <= pol.cpa_limit(z):
                reasons.append(
                    f"likely drone closing on {z.id} at {closing:.0f} m/s, "
                    f"passes {miss:.0f} m from it in {t_cpa:.0f} s"
                )
                return ZoneThreat(z.id, False, t_cpa)
        return None

    def assess(
        self,
        tracks: Sequence[TrackState],
        t: float,
        suspicious: Mapping[str, IdentityCheck] | None = None,
        launch: Callable[[str], LaunchPoint | None] | None = None,
    ) -> list[ThreatAssessment]:
        """``suspicious``: flagged identity checks by track id (``SpoofMonitor.by_track``);
        ``launch``: launch-point lookup (``LaunchPointEstimator.estimate``) for warnings."""
        sus = suspicious or {}
        out = [self.assess_one(tr, t, sus.get(tr.id), launch) for tr in tracks if tr.confirmed]
        if len(self._likely_since) > len(out) or len(self._raised) > len(out):
            live = {a.track_id for a in out}  # forget tracks that are gone
            self._likely_since = {k: v for k, v in self._likely_since.items() if k[0] in live}
            self._raised = {k for k in self._raised if k[0] in live}
        if len(self._drone_since) > len(out):
            live = {a.track_id for a in out}
            self._drone_since = {k: v for k, v in self._drone_since.items() if k in live}
        return out

    def assess_one(
        self,
        tr: TrackState,
        t: float,
        suspicious: IdentityCheck | None = None,
        launch: Callable[[str], LaunchPoint | None] | None = None,
    ) -> ThreatAssessment:
        cfg = self.cfg
        reasons: list[str] = []
        zts = []
        best: ZoneThreat | None = None
        by_approach = False
        if self.protected:  # the margin and the position only matter to a zone
            P = tr.P
            sig = math.sqrt(max(float(P[0, 0]) + float(P[1, 1]), 0.0))
            margin = min(cfg.margin_sigma * sig, cfg.max_margin_m)
            e, n, u = tr.x[:3].tolist()
            for z in self.protected:
                inside = z.contains(e, n, u)
                tte = (
                    0.0
                    if inside
                    else time_to_enter(
                        z, tr.position, tr.velocity, self.policy[z.id].warning_s, margin
                    )
                )
                zt = ZoneThreat(z.id, inside, tte)
                zts.append(zt)
                if tte is not None and (
                    best is None or best.time_to_enter_s is None or tte < best.time_to_enter_s
                ):
                    best = zt
        whitelisted = tr.identity is not None and tr.identity in self.friends
        friendly = whitelisted and suspicious is None
        probs = tr.class_probs
        cls = tr.best_class
        conf = probs.get(cls, 0.0)
        p_drone = probs.get("drone", 0.0) + probs.get("drone_fixed_wing", 0.0)
        for z in self.protected:
            pol = self.policy[z.id]
            if p_drone >= pol.drone_prob:
                self._likely_since.setdefault((tr.id, z.id), t)
            elif p_drone < pol.drone_prob - pol.drone_prob_band:
                self._likely_since.pop((tr.id, z.id), None)
                self._raised.discard((tr.id, z.id))
        if best is None and p_drone >= cfg.approach_drone_prob and (self.warning or self.protected):
            best = self._approach_or_warning_zone(tr, reasons)  # (no zone: nothing to approach)
            by_approach = best is not None
        if suspicious is not None:
            reasons.append("suspicious identity: " + suspicious.reason)
            if whitelisted:
                reasons.append(f"whitelist ignored for {tr.identity}: position not confirmed")
        level = ThreatLevel.NONE
        rule = ""
        if best is not None and best.time_to_enter_s is not None:
            tte = best.time_to_enter_s
            protected = best.zone_id in self._protected_ids
            imminent = protected and (best.inside or tte <= self.policy[best.zone_id].alert_s)
            level = ThreatLevel.ALERT if imminent else ThreatLevel.WARNING
            if protected and not by_approach:  # a closest approach misses: it claims no entry
                reasons.append(
                    "inside " + best.zone_id
                    if best.inside
                    else f"enters {best.zone_id} in {tte:.0f} s"
                )
            if imminent and by_approach:
                rule = "closest_approach"
            elif imminent:
                rule = "inside" if best.inside else "imminent"
            elif not protected:
                rule = "warning_zone"
            else:
                rule = "closest_approach" if by_approach else "time_to_zone"
        elif self.protected and not whitelisted and tr.identity is None:
            best = self._advisory(tr, t, p_drone, reasons)
            if best is not None:
                level, rule = ThreatLevel.ADVISORY, "detection_area"

        # an ALERT from the closest approach (its time of closest approach within alert_s) is
        # no predicted entry: it waits for the same gates as a warning (session 18, harder
        # birds_night s49 T124: a drone-sized bird 3 s into its track, passing 288 m off)
        def approach_alert() -> bool:  # (no step below raises a level: re-read, not stored)
            return by_approach and level is ThreatLevel.ALERT

        if (level is ThreatLevel.WARNING or approach_alert()) and not located(tr):
            reasons.append(f"located by {tr.pos_hits} ranging plot only")
            level = ThreatLevel.WATCH
        raised = level >= ThreatLevel.ADVISORY
        if friendly and level > ThreatLevel.NONE:
            reasons.append(f"whitelisted {tr.identity}")
            level = ThreatLevel.NONE
        if (
            cls in cfg.non_threat_classes
            and conf >= cfg.non_threat_confidence
            and level > ThreatLevel.NONE
        ):
            reasons.append(f"classified {cls} ({conf:.0%})")
            level = ThreatLevel.WATCH
        since = self._drone_hold(tr, t, p_drone)
        if level > ThreatLevel.WATCH and p_drone < cfg.min_drone_prob:
            reasons.append(f"P(drone) {p_drone:.0%} below {cfg.min_drone_prob:.0%}")
            level = ThreatLevel.WATCH
        elif level > ThreatLevel.WATCH and t - since < cfg.min_drone_hold_s:
            reasons.append(f"P(drone) {p_drone:.0%} for {t - since:.0f} s only")
            level = ThreatLevel.WATCH
        age = max(t - tr.first_t, 0.0)

        # an inside / imminent ALERT on a track younger than young_age_s waits for the same
        # young hold and firm-track gates (session 19 coastwin, harder birds_night s98 T413:
        # a bird's track lost in the radar's cone overhead, 12 s before the new one was
        # confirmed at 123 m from the centre: too late for the handover, so the new track's
        # first frames read RCS and speed alone, P(drone) 0.71-0.89, and the ALERT came 3 s
        # after its first plot, which the drone hold counts from). An older track's ALERT is
        # not held: its P(drone) rests on a window, and the hold would only delay it.
        def young_alert() -> bool:
            return level is ThreatLevel.ALERT and not by_approach and age < cfg.young_age_s

        def gated() -> bool:  # the levels the young hold and the firm gate apply to
            return (
                level in (ThreatLevel.ADVISORY, ThreatLevel.WARNING)
                or approach_alert()
                or young_alert()
            )

        if gated() and young_hold_left(cfg, tr.first_t, since, t) > 0.0:
            reasons.append(f"P(drone) {p_drone:.0%} for {t - since:.0f} s of a young track only")
            level = ThreatLevel.WATCH
        if gated() and (tr.score < cfg.firm_score or tr.hits < cfg.firm_hit_rate * (age + 1.0)):
            reasons.append(
                f"track not firm yet (score {tr.score:.0f}, {tr.hits} hits in {age:.0f} s)"
            )
            level = ThreatLevel.WATCH
        if level > ThreatLevel.WATCH and t - tr.first_t < cfg.min_age_s:
            reasons.append(f"track younger than {cfg.min_age_s:.0f} s")
            level = ThreatLevel.WATCH
        if level >= ThreatLevel.ADVISORY and best is not None:
            self._raised.add((tr.id, best.zone_id))
        score = _SCORE[int(level)]
        status = "suspicious" if suspicious is not None else ("friendly" if friendly else "unknown")
        ev = None
        if raised and best is not None:
            zone = self._zones[best.zone_id]
            ev = evidence(tr, zone, rule, best.time_to_enter_s, status)
        return _assessment(
            tr.id,
            t,
            level,
            score,
            best.zone_id if best else None,
            best.time_to_enter_s if best else None,
            cls,
            friendly,
            tuple(reasons),
            tuple(zts),
            status,
            launch(tr.id) if launch is not None and level >= ThreatLevel.WARNING else None,
            ev,
        )

    def _drone_hold(self, tr: TrackState, t: float, p_drone: float) -> float:
        """Since when the track's P(drone) has been at or above ``min_drone_prob``
        unbroken (its first time if it was never seen below); +inf while below."""
        prev = self._drone_since.get(tr.id)
        if p_drone < self.cfg.min_drone_prob:
            self._drone_since[tr.id] = False
            return math.inf
        if prev is None:
            since = tr.first_t
        elif prev is False:
            since = t
        else:
            since = prev
        self._drone_since[tr.id] = since
        return since

    def _advisory(
        self, tr: TrackState, t: float, p_drone: float, reasons: list[str]
    ) -> ZoneThreat | None:
        """Rule 1: a likely drone (not cooperative: no identity) in a protected zone's
        detection area, held for ``advisory_hold_s``, located by a ranging sensor (one of its
        ``MIN_LOCATING_PLOTS`` plots or more within the last 10 s), held
        ``advisory_recede_hold_s`` instead while it flies away from the zone
        (``policy.receding``) and this likely run was not yet raised for it (the longer hold
        delays the first raise, it does not resolve an alert); the nearest such zone. A zone
        it recedes from says so in the reasons (why a likely drone raised nothing yet)."""
        if not any(s in self._ranging for s in tr.sensors):
            return None
        if tr.pos_hits is not None and tr.pos_hits < MIN_LOCATING_PLOTS:
            return None
        best: tuple[float, ZoneSpec] | None = None
        e, n, _ = tr.x[:3].tolist()
        for z in self.protected:
            pol = self.policy[z.id]
            since = self._likely_since.get((tr.id, z.id))
            if since is None or t - since < pol.advisory_hold_s:
                continue
            if not in_detection_area(tr, z, pol):
                continue
            raised = (tr.id, z.id) in self._raised
            opening = None if raised else receding(tr, z, pol)
            if opening is not None and t - since < pol.advisory_recede_hold_s:
                reasons.append(
                    f"likely drone ({p_drone:.0%}) flies away from {z.id} at {opening:.0f} m/s,"
                    f" for {t - since:.0f} s of {pol.advisory_recede_hold_s:.0f} s"
                )
                continue
            d = z.horizontal_distance(e, n)
            if best is None or d < best[0]:
                best = (d, z)
        if best is None:
            return None
        reasons.append(f"likely drone ({p_drone:.0%}) {best[0]:.0f} m from {best[1].id}")
        return ZoneThreat(best[1].id, False, None)


def young_hold_left(cfg: ThreatConfig, first_t: float, since: float, t: float) -> float:
    """Seconds the current run of P(drone) >= ``min_drone_prob`` (begun at ``since``, +inf
    while below) must still hold before it may raise an advisory or a warning, when it began
    within ``young_age_s`` of the track's start ``first_t``; 0 for a run begun later (the
    plain ``min_drone_hold_s`` applies) or held long enough."""
    if math.isinf(since) or since - first_t >= cfg.young_age_s:
        return 0.0
    return max(cfg.young_hold_s - (t - since), 0.0)


def _assessment(
    track_id: str,
    t: float,
    level: ThreatLevel,
    score: float,
    zone_id: str | None,
    time_to_enter_s: float | None,
    object_class: str,
    friendly: bool,
    reasons: tuple[str, ...],
    zones: tuple[ZoneThreat, ...],
    identity_status: str,
    launch: LaunchPoint | None,
    evidence: Evidence | None = None,
) -> ThreatAssessment:
    """``ThreatAssessment(...)`` with every field given, made by ``frozen_from_fields``: one
    per confirmed track per frame, and the frozen ``__init__``'s twelve
    ``object.__setattr__`` calls were a third of assessing a track outside every zone. The
    value is the same (``==`` and ``hash`` read the same fields; a test checks it)."""
    return frozen_from_fields(
        ThreatAssessment,
        {
            "track_id": track_id,
            "t": t,
            "level": level,
            "score": score,
            "zone_id": zone_id,
            "time_to_enter_s": time_to_enter_s,
            "object_class": object_class,
            "friendly": friendly,
            "reasons": reasons,
            "zones": zones,
            "identity_status": identity_status,
            "launch": launch,
            "evidence": evidence,
        },
    )

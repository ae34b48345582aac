"""The stages composed into one synchronous step: scans -> tracks -> threats -> alert events.

``Pipeline.step(scans, t)`` is all the live service, the replay and the benchmark writer run;
they differ only in where scans come from and where frames go. Pure in time: ``t`` and every
scan's time come from the data, never from a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from skywarden.alerts.lifecycle import AlertConfig, AlertEvent, AlertManager
from skywarden.core.bearing import BEARING_KINDS, BearingHit, bearing_hits
from skywarden.core.errors import DecodeError
from skywarden.core.observation import StackedDetections
from skywarden.core.site import SensorKind, Site
from skywarden.core.terrain import Terrain
from skywarden.core.track import ObjectClass, TrackState, TrackStatus
from skywarden.core.types import Mat
from skywarden.sensors.skybench import Scan
from skywarden.threat.assess import ThreatAssessment, ThreatAssessor, ThreatConfig
from skywarden.threat.classify import Classifier
from skywarden.threat.impact import ImpactWarner
from skywarden.threat.launch import LaunchPoint, LaunchPointEstimator
from skywarden.threat.spoof import SpoofMonitor
from skywarden.threat.spoof_alert import spoof_assessments
from skywarden.tracking.ballistic_tracker import BallisticTrack, BallisticTracker
from skywarden.tracking.tracker import Tracker, TrackerConfig

STATE_LAYOUT = 27
"""Version of the pipeline's internal layout (the snapshots of ``runtime.engine.restore``
and ``runtime.cluster.snapshot``). A snapshot holds the stages' private arrays and fields
(the tracker's bank and pending plots, the classifier's evidence), which change shape as the
code does; one of another layout is refused whole, and the caller rebuilds the state from the
journal or the stream instead of failing later on a missing field. Bump it with any such
change. 2: the bank's and pending plots' scalars packed in columns, packed classifier windows
(2026-11-29). 3: the spoof monitor's per-identity findings, last-heard time and alert key
(2026-12-06). 4: the ballistic tracker and impact warner stages, the launch estimator's track
continuation (2026-12-06). 5: the threat assessor's likely-drone times and the alert
manager's quiet reasons (issue 19, 2026-12-06). 6: the alert manager's alerts raised per
(track, zone), which make the alert ids (2026-12-06). 7: the engine's pending alert events
(``runtime.engine.engine``, 2026-12-06). 8: the tracker's state held by its roles (pending plots in
the initiator, periods in the deleter, identities) (2026-12-06). 9: the classifier's heading
blocks, settled flag and pending RF bearings (issue 19, 2026-12-06). 10: the classifier's
window samples carry the velocity's standard deviation (six numbers, issue 19, 2026-12-06).
11: the tracker's latest report time per sensor (whether a radar is working, issue 19,
2026-12-06). 13: the classifier's kinematic memory (issue 19, 2026-12-06). 14: the classifier's
track start time and velocity-learnt flag (young tracks, issue 19, 2026-12-06). 15: the
classifier's speed floors and peak (``threat.reach``, issue 19, 2026-12-06). 16: the
classifier's radial speeds of a young track's radar plots (``threat.doppler``, issue 19,
2026-12-06). 17: the classifier's plot heights, climb floors and peak (``threat.climb``, issue
19, session 12, 2026-12-07). 18: the classifier's lost tracks, last shown and young tracks,
each evidence's last measured state and inherited memory (``threat.continuity``, issue 19,
2026-12-07). 19: the classifier's young tracks keep their first shown state, not its time
(the continuity gate across the gap, session 12 trace, 2026-12-07). 20: the classifier's
sequential climb segment, its start and count (``threat.climb.segment_update``, issue 19,
session 13, 2026-12-07). 21: the classifier's per-track record is
``threat.evidence.TrackEvidence`` (was ``threat.classify._Evidence``; the snapshot names its
type, session 13, 2026-12-07). 22: every ``TrackState`` (the engine's last frame, the
classifier's and launch estimator's kept states) carries ``pos_hits``, the track's plots of
ranging sensors (rule 1's location, session 15, 2026-12-07). 23: the classifier's sequential
climb test remembers its largest penalty (``TrackEvidence.climb_seq_peak``, issue 19, session
15, 2026-12-07). 24: the classifier keeps a minute of known-velocity speeds and their held-speed
evidence (``TrackEvidence.held``, ``held_ll``: ``threat.steady``, issue 19, session 18). 25: the
classifier keeps the speed floors of the last 30 s (``TrackEvidence.reach_recent``:
``threat.reach.recent_update``, issue 19, session 19). 26: the threat assessor's first raise
per likely run and zone (``ThreatAssessor._raised``: rule 1's recession gate, issue 19,
session 19). 27: the classifier keeps when a track's Doppler term began its hand-over to the
window (``TrackEvidence.dop_end_t``: ``threat.doppler.handover_weight``, issue 19, session
19)."""


def check_state_layout(body: Mapping[str, Any]) -> None:
    """Refuse a decoded snapshot body of another ``STATE_LAYOUT`` (one without the mark was
    written before layouts existed: layout 1) with ``DecodeError("snapshot_layout")``."""
    layout = body.get("layout", 1)
    if layout != STATE_LAYOUT:
        raise DecodeError("snapshot_layout", f"state layout {layout}, want {STATE_LAYOUT}")


@dataclass(frozen=True)
class PipelineConfig:
    """The settings of every stage of one pipeline."""

    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    threat: ThreatConfig = field(default_factory=ThreatConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)


@dataclass(frozen=True)
class Frame:
    """The picture after one step."""

    t: float
    tracks: tuple[TrackState, ...]
    assessments: tuple[ThreatAssessment, ...]
    events: tuple[AlertEvent, ...]
    ballistic: Mapping[str, BallisticTrack] = field(default_factory=dict)
    launches: Mapping[str, LaunchPoint] = field(default_factory=dict)  # drone tracks only
    bearings: tuple[BearingHit, ...] = ()  # this step's bearing-only reports (the map's lines)

    def snapshot_line(self) -> dict[str, Any]:
        """The skybench/1 snapshot: every confirmed track an operator would see now.

        The states of all confirmed tracks are rounded in one numpy pass (:func:`round3`,
        the same digits as ``round(v, 3)`` per value) and the class family comes from a
        table: per value ``round(float(...))`` and an enum lookup per track were a tenth of
        writing a file."""
        conf = [tr for tr in self.tracks if tr.confirmed]
        if not conf:
            return {"t": self.t, "tracks": []}
        states = round3(np.array([tr.x for tr in conf], dtype=float))
        lines = [
            {
                "id": tr.id,
                "x": x,
                "y": y,
                "z": z,
                "vx": vx,
                "vy": vy,
                "vz": vz,
                "confirmed": True,
                "class": _family(tr.best_class),
            }
            for tr, (x, y, z, vx, vy, vz) in zip(conf, states, strict=True)
        ]
        if self.ballistic or self.launches:
            ground = self.ground_fields()
            for line in lines:
                g = ground.get(line["id"])  # type: ignore[call-overload]
                if g is not None:
                    line.update(g)
        return {"t": self.t, "tracks": lines}

    def ground_fields(self) -> dict[str, dict[str, Any]]:
        """Per track: its predicted impact (ballistic rounds) and launch point (rounds, and
        drones that took off inside coverage), as tracks.jsonl and ``/api/tracks`` carry them."""
        out: dict[str, dict[str, Any]] = {}
        for tid, b in self.ballistic.items():
            out[tid] = ballistic_fields(b)
        for tid, lp in self.launches.items():
            out.setdefault(tid, {}).update(launch_fields(lp))
        return out

    @property
    def alert_lines(self) -> list[dict[str, Any]]:
        """skybench/1 alert lines: one per raised or escalated alert."""
        return [
            {
                "type": "alert",
                "t": ev.t,
                "track": ev.alert.track_id,
                "zone": ev.alert.zone_id,
                "level": ev.alert.level.value,
            }
            for ev in self.events
            if ev.kind in ("raised", "escalated")
        ]


def ellipse95(C: Mat) -> list[float]:
    """[semi-major, semi-minor, orientation deg clockwise from north] of the 95 % ellipse of
    the 2x2 covariance C: semi-axes ``sqrt(chi2_2(0.95) lambda)``, chi2_2(0.95) = 5.991."""
    lam, vec = np.linalg.eigh(0.5 * (C + C.T))
    k2 = 5.991464547107979
    deg = float(np.degrees(np.arctan2(vec[0, 1], vec[1, 1]))) % 180.0
    return [
        round(float(np.sqrt(k2 * max(lam[1], 0.0))), 1),
        round(float(np.sqrt(k2 * max(lam[0], 0.0))), 1),
        round(deg, 1),
    ]


def ballistic_fields(b: BallisticTrack) -> dict[str, Any]:
    """The skybench/1 impact and launch fields of a ballistic track (FORMAT.md), with their
    95 % ellipses."""
    out: dict[str, Any] = {}
    if b.impact is not None:
        out["impact_enu_m"] = [round(b.impact.enu[0], 1), round(b.impact.enu[1], 1)]
        out["impact_t"] = round(b.impact.t, 2)
        out["impact_ellipse_m"] = ellipse95(b.impact.cov_ent[:2, :2])
    if b.launch is not None:
        out["launch_enu_m"] = [round(b.launch.enu[0], 1), round(b.launch.enu[1], 1)]
        out["launch_ellipse_m"] = ellipse95(b.launch.cov_ent[:2, :2])
    return out


def launch_fields(lp: LaunchPoint) -> dict[str, Any]:
    """The skybench/1 launch estimate of a drone track, with its 95 % ellipse."""
    e = lp.ellipse
    return {
        "launch_enu_m": [round(lp.origin_enu[0], 1), round(lp.origin_enu[1], 1)],
        "launch_ellipse_m": [
            round(e.semi_major_m, 1),
            round(e.semi_minor_m, 1),
            round(e.orientation_deg, 1),
        ],
    }


_DRONE_CLASSES = tuple(c.value for c in ObjectClass if c.family == "drone")
_FAMILIES = {c.value: c.family for c in ObjectClass}


def _family(cls: str) -> str:
    """``ObjectClass(cls).family`` from a table (the enum call costs a microsecond or two per
    track per frame); an unknown name still raises as the enum does."""
    fam = _FAMILIES.get(cls)
    return fam if fam is not None else ObjectClass(cls).family


def round3(X: Mat) -> list[list[float]]:
    """``[[round(float(v), 3) for v in row] for row in X]`` for a 2-D array, vectorised.

    numpy's ``np.round(v, 3)`` rounds ``fl(v * 1000)``, Python's ``round`` the exact
    decimal value of ``v`` (then reads ``k / 1000`` back correctly rounded), so they can
    differ when ``v * 1000`` lies within a rounding error of a half-integer. Here
    ``k = rint(fl(v * 1000))`` is used only where ``fl(v * 1000)`` is more than 1e-3 from
    any half-integer and ``|v| < 1e9``: the product's error is below ``1e12 * 2**-53``
    (about 1e-4), so the exact product rounds to the same integer ``k`` and is no tie, and
    ``k / 1000.0`` (both exact, one correctly rounded division) is the double Python reads
    back from ``k`` thousandths. Every other value (near-ties, huge, not finite) goes
    through ``round`` itself: identical digits always, a test checks it against ``round``.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN go the slow way
        v = X * 1000.0
        out: list[list[float]] = (np.rint(v) / 1000.0).tolist()
        far = np.abs(np.abs(v - np.trunc(v)) - 0.5) > 1e-3
        exact = far & (np.abs(X) < 1e9)
    if not exact.all():
        for i, j in zip(*np.nonzero(~exact), strict=True):
            out[i][j] = round(float(X[i, j]), 3)
    return out


def ballistic_state(b: BallisticTrack) -> TrackState:
    """A confirmed ballistic track as the TrackState every consumer reads (class from its
    kinematics, certain)."""
    return TrackState(
        id=b.id,
        t=b.t,
        x=b.x,
        P=b.P,
        status=TrackStatus.CONFIRMED,
        class_probs={b.object_class: 1.0},
        sensors=(b.sensor_id,),
        hits=b.hits,
        first_t=b.first_t,
    )


class Pipeline:
    def __init__(
        self, site: Site, config: PipelineConfig | None = None, terrain: Terrain | None = None
    ) -> None:
        """``terrain``: the ground height (``core.terrain``, a DEM) under launch points and
        ballistic impacts and origins; None: flat ground at the origin's height."""
        self.site = site
        self.cfg = config or PipelineConfig()
        self.tracker = Tracker(site.sensors, self.cfg.tracker)
        self.classifier = Classifier(site)
        self.assessor = ThreatAssessor(site, self.cfg.threat)
        self.alerts = AlertManager(self.cfg.alerts)
        self.spoof = SpoofMonitor(site)
        self.launch = LaunchPointEstimator(site, terrain=terrain)
        self.ballistic = BallisticTracker(site.sensors, terrain=terrain)
        self.impact = ImpactWarner(site)
        self.last: Frame | None = None
        self._drone_only_sensors = any(
            s.kind in (SensorKind.RF, SensorKind.ACOUSTIC) for s in site.sensors
        )

    def step(self, scans: Sequence[Scan], t: float) -> Frame:
        bearings: list[BearingHit] = []
        for s in sorted(scans, key=lambda s: s.t):
            s = self._ballistic_scan(s)
            res = self.tracker.process(s.t, s.sensor_id, s.detections, s.complete, s.stacked)
            if s.detections and s.detections[0].kind in BEARING_KINDS:  # one kind per scan
                bearings += bearing_hits(s.detections, res.assignments)
            self.classifier.observe(s, res)
            self.spoof.observe(s.t, s.sensor_id, res.assignments, self._confirmed)
            self.spoof.observe_reports(s.sensor_id, s.detections, self._track_of)
            self.launch.observe_assignments(res.assignments)
        if not scans:  # a step with no report at all: only time acts on the tracks
            self.tracker.expire(t)
        suspicious = self.spoof.by_track()
        confirmed = self.tracker.tracks(confirmed_only=True)
        tracks = tuple(self.classifier.annotate(confirmed, t, distrust=suspicious.keys()))
        if self._drone_only_sensors:
            self.tracker.set_drone_priors(
                {
                    tr.id: sum(tr.class_probs.get(c, 0.0) for c in _DRONE_CLASSES)
                    for tr in tracks
                    if tr.class_probs
                }
            )
        self.launch.observe_tracks(tracks)
        assessments = tuple(self.assessor.assess(tracks, t, suspicious, self.launch.estimate))
        rounds = [b for b in self.ballistic.tracks(t) if b.confirmed]
        if rounds:
            tracks = tracks + tuple(ballistic_state(b) for b in rounds)
            assessments = assessments + tuple(self.impact.assess(rounds, t))
        # a spoof alert on a shown track takes that track's class, as its other alerts do (a
        # class that differed flipped the alert between "unknown" and the track's class and
        # reported a reclassification every step)
        cls = {a.track_id: a.object_class for a in assessments}
        spoofed = tuple(
            replace(sa, object_class=cls.get(sa.track_id, sa.object_class))
            for sa in spoof_assessments(self.spoof, t)
        )
        events = tuple(self.alerts.update(assessments + spoofed, t))
        launches = {}
        for tr in tracks:
            if _family(tr.best_class) == "drone":
                lp = self.launch.estimate(tr.id)
                # a take-off seen inside coverage; an entry at the coverage edge is no launch
                if lp is not None and lp.method in ("ground", "appeared"):
                    launches[tr.id] = lp
        self.last = Frame(
            t,
            tracks,
            assessments,
            events,
            {b.id: b for b in rounds},
            launches,
            tuple(bearings),
        )
        return self.last

    def _ballistic_scan(self, s: Scan) -> Scan:
        """Let the ballistic tracker claim its plots first; the rest go to the drone tracker."""
        claimed = self.ballistic.process(s.t, s.sensor_id, s.detections)
        if not claimed.any():
            return s
        keep = ~claimed
        dets = tuple(d for d, k in zip(s.detections, keep, strict=True) if k)
        st = s.stacked
        if st is not None:
            st = StackedDetections(st.kind, st.Z[keep], st.R, st.sensor_pos)
        return replace(s, detections=dets, stacked=st)

    def set_site(self, site: Site) -> None:
        """New zones and whitelist (same sensors) govern threat assessment from the next step."""
        self.site = site
        self.assessor = ThreatAssessor(site, self.cfg.threat)

    def _confirmed(self) -> list[TrackState]:
        return self.tracker.tracks(confirmed_only=True)

    def _track_of(self, identity: str) -> str | None:
        """The confirmed track carrying ``identity`` (the oldest, if several)."""
        if identity not in self.tracker.bank.identity:
            return None
        for tr in self._confirmed():
            if tr.identity == identity:
                return tr.id
        return None

    def stats(self) -> dict[str, int]:
        return {f"tracker.{k}": v for k, v in self.tracker.stats().items()}

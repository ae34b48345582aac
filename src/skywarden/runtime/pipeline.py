"""The stages composed into one synchronous step: scans -> tracks -> threats -> alert events.

``Pipeline.step(scans, t)`` is all the live service, the replay and the benchmark writer run;
they differ only in where scans come from and where frames go. Pure in time: ``t`` and every
scan's time come from the data, never from a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skywarden.alerts.lifecycle import AlertConfig, AlertEvent, AlertManager
from skywarden.core.bearing import BEARING_KINDS, BearingHit, bearing_hits
from skywarden.core.errors import DecodeError
from skywarden.core.site import SensorKind, Site
from skywarden.core.track import ObjectClass, TrackState
from skywarden.core.types import Mat
from skywarden.sensors.skybench import Scan
from skywarden.threat.assess import ThreatAssessment, ThreatAssessor, ThreatConfig
from skywarden.threat.classify import Classifier
from skywarden.threat.launch import LaunchPointEstimator
from skywarden.threat.spoof import SpoofMonitor
from skywarden.tracking.tracker import Tracker, TrackerConfig

STATE_LAYOUT = 2
"""Version of the pickled pipeline's internal layout (the snapshots of ``runtime.record_restore``
and ``runtime.cluster.snapshot``). A snapshot holds the stages' private arrays and fields
(the tracker's bank and pending plots, the classifier's evidence), which change shape as the
code does; one of another layout is refused whole, and the caller rebuilds the state from the
journal or the stream instead of failing later on a missing field. Bump it with any such
change. 2: the bank's and pending plots' scalars packed in columns, packed classifier windows
(2026-11-29)."""


def check_state_layout(body: Mapping[str, Any]) -> None:
    """Refuse an unpickled snapshot body of another ``STATE_LAYOUT`` (one without the mark was
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
        return {
            "t": self.t,
            "tracks": [
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
            ],
        }

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


class Pipeline:
    def __init__(self, site: Site, config: PipelineConfig | None = None) -> None:
        self.site = site
        self.cfg = config or PipelineConfig()
        self.tracker = Tracker(site.sensors, self.cfg.tracker)
        self.classifier = Classifier(site)
        self.assessor = ThreatAssessor(site, self.cfg.threat)
        self.alerts = AlertManager(self.cfg.alerts)
        self.spoof = SpoofMonitor(site)
        self.launch = LaunchPointEstimator(site)
        self.last: Frame | None = None
        self._drone_only_sensors = any(
            s.kind in (SensorKind.RF, SensorKind.ACOUSTIC) for s in site.sensors
        )

    def step(self, scans: Sequence[Scan], t: float) -> Frame:
        bearings: list[BearingHit] = []
        for s in sorted(scans, key=lambda s: s.t):
            self.tracker.process(s.t, s.sensor_id, s.detections, s.complete, s.stacked)
            if s.detections and s.detections[0].kind in BEARING_KINDS:  # one kind per scan
                bearings += bearing_hits(s.detections, self.tracker.last_assignments)
            self.classifier.observe(s, self.tracker)
            self.spoof.observe(s.t, s.sensor_id, self.tracker.last_assignments, self._confirmed)
            self.launch.observe_assignments(self.tracker.last_assignments)
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
        events = tuple(self.alerts.update(assessments, t))
        self.last = Frame(t, tracks, assessments, events, tuple(bearings))
        return self.last

    def set_site(self, site: Site) -> None:
        """New zones and whitelist (same sensors) govern threat assessment from the next step."""
        self.site = site
        self.assessor = ThreatAssessor(site, self.cfg.threat)

    def _confirmed(self) -> list[TrackState]:
        return self.tracker.tracks(confirmed_only=True)

    def stats(self) -> dict[str, int]:
        return {f"tracker.{k}": v for k, v in self.tracker.stats().items()}

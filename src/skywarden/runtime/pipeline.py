"""The stages composed into one synchronous step: scans -> tracks -> threats -> alert events.

``Pipeline.step(scans, t)`` is all the live service, the replay and the benchmark writer run;
they differ only in where scans come from and where frames go. Pure in time: ``t`` and every
scan's time come from the data, never from a clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from skywarden.alerts.lifecycle import AlertConfig, AlertEvent, AlertManager
from skywarden.core.site import SensorKind, Site
from skywarden.core.track import ObjectClass, TrackState
from skywarden.sensors.skybench import Scan
from skywarden.threat.assess import ThreatAssessment, ThreatAssessor, ThreatConfig
from skywarden.threat.classify import Classifier
from skywarden.threat.launch import LaunchPointEstimator
from skywarden.threat.spoof import SpoofMonitor
from skywarden.tracking.tracker import Tracker, TrackerConfig


@dataclass(frozen=True)
class PipelineConfig:
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

    def snapshot_line(self) -> dict[str, Any]:
        """The skybench/1 snapshot: every confirmed track an operator would see now."""
        rows = []
        for tr in self.tracks:
            if not tr.confirmed:
                continue
            x = tr.x
            rows.append(
                {
                    "id": tr.id,
                    "x": round(float(x[0]), 3),
                    "y": round(float(x[1]), 3),
                    "z": round(float(x[2]), 3),
                    "vx": round(float(x[3]), 3),
                    "vy": round(float(x[4]), 3),
                    "vz": round(float(x[5]), 3),
                    "confirmed": True,
                    "class": ObjectClass(tr.best_class).family,
                }
            )
        return {"t": self.t, "tracks": rows}

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
        for s in sorted(scans, key=lambda s: s.t):
            self.tracker.process(s.t, s.sensor_id, s.detections, s.complete, s.stacked)
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
        self.last = Frame(t, tracks, assessments, events)
        return self.last

    def set_site(self, site: Site) -> None:
        """New zones and whitelist (same sensors) govern threat assessment from the next step."""
        self.site = site
        self.assessor = ThreatAssessor(site, self.cfg.threat)

    def _confirmed(self) -> list[TrackState]:
        return self.tracker.tracks(confirmed_only=True)

    def stats(self) -> dict[str, int]:
        return {f"tracker.{k}": v for k, v in self.tracker.stats().items()}

"""The incident report's content: what the journal says happened in a time window.

``build_report`` gathers, from journal records only (and the optional site description),
the tracks (one per id across restarts, suspect drones first: ``store.report_tracks``), the
alerts and operator actions, sensor health, launch regions of drone tracks (``threat.launch``,
the live implementation, so the report says what the operator was shown), the impact or
debris areas of ballistic rounds (the live prediction, ``Frame.ground_fields``), the incident
timeline and the journaled investigation. ``store.report`` renders it (HTML and PDF); this
module draws nothing and does not import matplotlib.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from skywarden.core.site import Site
from skywarden.store.export import TrackPath, track_paths
from skywarden.store.journal import Journal
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    InvestigationRecord,
    OperatorAction,
    RawMessage,
    Record,
    detections_of,
)
from skywarden.store.report_tracks import (
    Event,
    group_of,
    launch_points,
    merge_runs,
    ordered,
    timeline,
)


@dataclass(frozen=True)
class SensorHealth:
    sensor_id: str
    messages: int
    detections: int
    first_t: float | None
    last_t: float | None
    max_gap_s: float
    expected_interval_s: float | None
    times: tuple[float, ...] = ()

    @property
    def status(self) -> str:
        if self.messages == 0:
            return "SILENT"
        if self.expected_interval_s and self.max_gap_s > 3.0 * self.expected_interval_s:
            return "GAPS"
        return "OK"


@dataclass(frozen=True)
class LaunchEstimate:
    track_id: str
    e: float
    n: float
    method: str
    semi_major_m: float = 0.0
    semi_minor_m: float = 0.0
    orientation_deg: float = 0.0  # of the major axis, clockwise from north


@dataclass(frozen=True)
class ImpactArea:
    """Where a ballistic round landed, or where its debris fell: the live prediction
    (``tracking.ballistic``, on the terrain when the site had a DEM) at the track's last
    update, with its 95 % ellipse. A track that ended more than ``DEBRIS_AFTER_S`` before
    the predicted impact was lost (or broke up) in flight: the area is where the debris came
    down, the prediction carried on from the last fix."""

    track_id: str
    e: float
    n: float
    impact_t: float
    last_seen_t: float
    semi_major_m: float = 0.0
    semi_minor_m: float = 0.0
    orientation_deg: float = 0.0
    origin_en: tuple[float, float] | None = None  # the round's point of origin, when known

    @property
    def kind(self) -> str:
        return "debris" if self.impact_t - self.last_seen_t > DEBRIS_AFTER_S else "impact"


DEBRIS_AFTER_S = 2.0  # two radar revisits of a counter-battery radar: not a normal end


def _impacts(paths: Sequence[TrackPath]) -> list[ImpactArea]:
    out = []
    for p in paths:
        last = next((s for s in reversed(p.states) if "impact_enu_m" in s.ground), None)
        if last is None:
            continue
        g = last.ground
        el = list(g.get("impact_ellipse_m") or [0.0, 0.0, 0.0])
        lp = g.get("launch_enu_m")
        out.append(
            ImpactArea(
                p.track_id,
                float(g["impact_enu_m"][0]),
                float(g["impact_enu_m"][1]),
                float(g.get("impact_t", last.t)),
                p.states[-1].t,
                float(el[0]),
                float(el[1]),
                float(el[2]),
                (float(lp[0]), float(lp[1])) if lp else None,
            )
        )
    return out


@dataclass(frozen=True)
class ReportData:
    title: str
    t_from: float
    t_to: float
    site: Site | None
    zone: str | None
    tracks: tuple[TrackPath, ...]
    alerts: tuple[AlertRecord, ...]
    actions: tuple[OperatorAction, ...]
    config: tuple[ConfigChange, ...]
    health: tuple[SensorHealth, ...]
    launches: tuple[LaunchEstimate, ...] = field(default_factory=tuple)
    events: tuple[Event, ...] = field(default_factory=tuple)
    investigation: dict[str, Any] | None = None
    impacts: tuple[ImpactArea, ...] = field(default_factory=tuple)

    def group(self, p: TrackPath) -> str:
        return group_of(p, self.site)

    @property
    def suspects(self) -> list[TrackPath]:
        return [p for p in self.tracks if self.group(p) == "suspect"]


def _launches(paths: Sequence[TrackPath], site: Site | None) -> list[LaunchEstimate]:
    out = []
    for tid, lp in launch_points(paths, site).items():
        el = lp.ellipse
        out.append(
            LaunchEstimate(
                tid,
                lp.origin_enu[0],
                lp.origin_enu[1],
                lp.method,
                el.semi_major_m,
                el.semi_minor_m,
                el.orientation_deg,
            )
        )
    return out


def _in_zone(p: TrackPath, site: Site, zone: str) -> bool:
    z = next((z for z in site.zones if z.id == zone), None)
    if z is None:
        raise ValueError(f"zone {zone!r} is not in site {site.name!r}")
    return any(z.contains(s.x[0], s.x[1], s.x[2]) for s in p.states)


def build_report(
    records: Iterable[Record],
    t_from: float,
    t_to: float,
    site: Site | None = None,
    zone: str | None = None,
    title: str = "Incident report",
) -> ReportData:
    """Collect what the report shows from records in ``[t_from, t_to]``."""
    recs = [r for r in records if t_from <= r.t <= t_to]
    paths = ordered(merge_runs(track_paths(recs)), site)
    if zone is not None:
        if site is None:
            raise ValueError("a zone filter needs the site description")
        paths = [p for p in paths if _in_zone(p, site, zone)]
    kept = {p.track_id for p in paths}
    alerts = [
        r
        for r in recs
        if isinstance(r, AlertRecord)
        and (zone is None or r.zone_id == zone or (r.track_id is not None and r.track_id in kept))
    ]
    per_sensor: dict[str, list[RawMessage]] = {}
    for r in recs:
        if isinstance(r, RawMessage):
            per_sensor.setdefault(r.sensor_id, []).append(r)
    sensor_ids = list(per_sensor)
    expected: dict[str, float] = {}
    if site is not None:
        expected = {s.id: s.update_s for s in site.sensors}
        sensor_ids += [s.id for s in site.sensors if s.id not in per_sensor]
    health = []
    for sid in sorted(sensor_ids):
        msgs = per_sensor.get(sid, [])
        times = sorted(m.t for m in msgs)
        edges = [t_from, *times, t_to]
        gap = max(b - a for a, b in itertools.pairwise(edges))
        n_det = sum(len(detections_of(m)) for m in msgs)
        health.append(
            SensorHealth(
                sid,
                len(msgs),
                n_det,
                times[0] if times else None,
                times[-1] if times else None,
                gap,
                expected.get(sid),
                tuple(times),
            )
        )
    confirmed = [p for p in paths if p.confirmed]
    actions = sorted((r for r in recs if isinstance(r, OperatorAction)), key=_t)
    alerts_sorted = sorted(alerts, key=lambda a: a.t)
    inv = [r for r in recs if isinstance(r, InvestigationRecord)]
    return ReportData(
        title=title,
        t_from=t_from,
        t_to=t_to,
        site=site,
        zone=zone,
        tracks=tuple(paths),
        alerts=tuple(alerts_sorted),
        actions=tuple(actions),
        config=tuple(r for r in recs if isinstance(r, ConfigChange)),
        health=tuple(health),
        launches=tuple(_launches(confirmed, site)),
        events=tuple(timeline(paths, alerts_sorted, actions, site, t_to)),
        investigation=inv[-1].body if inv else None,
        impacts=tuple(_impacts(paths)),
    )


ABSOLUTE_T = 1e9  # times above this are UNIX seconds (after 2001), below: scenario seconds


def clock_text(t: float) -> str:
    """A record time for people: UTC time of day (the date is in the window line), or plain
    seconds for scenario-relative times."""
    if t < ABSOLUTE_T:
        return f"{t:.1f}"
    return datetime.fromtimestamp(t, tz=UTC).strftime("%H:%M:%S.%f")[:-5]


def window_text(t0: float, t1: float) -> str:
    span = f"({t1 - t0:.0f} s)"
    if t0 < ABSOLUTE_T:
        return f"{t0:.1f} s to {t1:.1f} s {span}"
    day = datetime.fromtimestamp(t0, tz=UTC).strftime("%Y-%m-%d")
    return f"{day} {clock_text(t0)} to {clock_text(t1)} UTC {span}"


def _t(r: Record) -> float:
    return r.t


def report_from_journal(
    journal: Journal,
    t_from: float,
    t_to: float,
    site: Site | None = None,
    zone: str | None = None,
    title: str = "Incident report",
) -> ReportData:
    return build_report(journal.records(t_from, t_to), t_from, t_to, site, zone, title)


# ----------------------------------------------------------------------------- figures

"""What the incident report says about each track: one path per id, its order, launch region
and timeline events. Split from ``store.report`` (which draws and lays out).

* **One track per id across restarts.** A restarted process that restored its state keeps its
  track ids, but each run writes under its own ``source`` (``tracker/<run>``), so
  ``store.export.track_paths`` returns one path per run. Here paths with the same id are one
  track when the later one starts where the earlier one left off (within ``max(300 m,
  speed x gap)`` and ``MAX_RESTART_GAP_S``); states at the same time are kept once.
* **Order.** Suspect drones first (a drone without a whitelisted identity), then the site's
  own drones, aircraft, birds, unknown; by first time within each group.
* **Launch region** from ``threat.launch`` (the live implementation, so the report says what
  the operator was shown), fed the track's recorded states; drones only, never birds or
  aircraft.
* **Timeline** per suspect track, in clock time: first detection, confirmation, first
  warning, operator actions on its alerts, last state (lost or left).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from skywarden.core.site import Site
from skywarden.core.track import ObjectClass
from skywarden.store.export import TrackPath
from skywarden.store.records import AlertRecord, OperatorAction, TrackRecord
from skywarden.threat.launch import LaunchPoint, LaunchPointEstimator

MAX_RESTART_GAP_S = 120.0
_ORDER = {"suspect": 0, "own": 1, "aircraft": 2, "bird": 3, "unknown": 4}
_FAMILY = {c.value: c.family for c in ObjectClass}


def family(cls: str) -> str:
    return _FAMILY.get(cls, "unknown")


def _continues(a: TrackPath, b: TrackPath) -> bool:
    s0, s1 = a.states[-1], b.states[0]
    gap = s1.t - s0.t
    if gap < -1e-6 and b.states[-1].t <= s0.t:
        return True  # a replayed stretch of the same track (the run re-built its state)
    if gap > MAX_RESTART_GAP_S:
        return False
    d = math.dist(s0.x[:3], s1.x[:3])
    return d <= max(300.0, s0.speed * max(gap, 0.0) * 1.5)


def merge_runs(paths: Sequence[TrackPath]) -> list[TrackPath]:
    """Paths of the same id that one track continues across a restart, joined (see doc)."""
    by_id: dict[str, list[TrackPath]] = {}
    order: list[str] = []
    out: list[TrackPath] = []
    for p in paths:
        if p.track_id not in by_id:
            order.append(p.track_id)
        by_id.setdefault(p.track_id, []).append(p)
    for tid in order:
        group = sorted(by_id[tid], key=lambda p: p.states[0].t)
        cur = group[0]
        for nxt in group[1:]:
            if _continues(cur, nxt):
                cur = _join(cur, nxt)
            else:
                out.append(cur)
                cur = nxt
        out.append(cur)
    return out


def _join(a: TrackPath, b: TrackPath) -> TrackPath:
    by_t: dict[float, TrackRecord] = {round(s.t, 6): s for s in a.states}
    for s in b.states:  # the later run's state wins at a time both wrote
        by_t[round(s.t, 6)] = s
    return TrackPath(a.track_id, tuple(by_t[k] for k in sorted(by_t)))


def group_of(p: TrackPath, site: Site | None) -> str:
    fam = family(p.best_class)
    if fam == "drone" and sum(s.status in ("confirmed", "coasting") for s in p.states) < 3:
        return "unknown"  # a drone call on one or two frames is not a suspect yet
    if fam == "drone":
        white = site.whitelisted_identities if site is not None else frozenset()
        return "own" if p.identity is not None and p.identity in white else "suspect"
    return fam if fam in _ORDER else "unknown"


def ordered(paths: Sequence[TrackPath], site: Site | None) -> list[TrackPath]:
    return sorted(paths, key=lambda p: (_ORDER[group_of(p, site)], p.states[0].t, p.track_id))


def launch_points(paths: Sequence[TrackPath], site: Site | None) -> dict[str, LaunchPoint]:
    """``threat.launch`` estimates of the drone tracks (needs the site for its coverage)."""
    if site is None:
        return {}
    est = LaunchPointEstimator(site)
    out: dict[str, LaunchPoint] = {}
    for p in paths:
        if family(p.best_class) != "drone":
            continue
        # states without a covariance (display frames) still place it, with no ellipse
        confirmed = [s for s in p.states if s.status in ("confirmed", "coasting")]
        if not confirmed:
            continue
        est.observe_tracks([s.to_state() for s in confirmed])
        lp = est.estimate(p.track_id)
        if lp is not None:
            out[p.track_id] = lp
    return out


@dataclass(frozen=True)
class Event:
    t: float
    track_id: str
    what: str
    detail: str = ""


def timeline(
    paths: Sequence[TrackPath],
    alerts: Sequence[AlertRecord],
    actions: Sequence[OperatorAction],
    site: Site | None,
    window_end: float,
) -> list[Event]:
    """Per suspect track: detection, confirmation, warnings, operator actions, end."""
    ev: list[Event] = []
    alert_track: dict[str, str] = {}
    for a in alerts:
        if a.track_id is not None:
            alert_track[a.alert_id] = a.track_id
    suspects = {p.track_id for p in paths if group_of(p, site) == "suspect"}
    for p in paths:
        if p.track_id not in suspects:
            continue
        s0 = p.states[0]
        ev.append(Event(min(s0.first_t or s0.t, s0.t), p.track_id, "first detection"))
        conf = next((s for s in p.states if s.status in ("confirmed", "coasting")), None)
        if conf is not None:
            ev.append(Event(conf.t, p.track_id, "confirmed", f"class {conf.best_class}"))
        end = p.states[-1]
        if end.t < window_end - 2.0:
            ev.append(Event(end.t, p.track_id, "track ends", "lost, landed or left coverage"))
    seen_first: set[str] = set()
    for a in alerts:
        if a.track_id in suspects and a.to_state == "raised" and a.track_id not in seen_first:
            seen_first.add(a.track_id)
            ev.append(Event(a.t, a.track_id, "first warning", f"{a.level} in {a.zone_id}"))
        elif a.track_id in suspects and a.from_state is not None:
            ev.append(Event(a.t, a.track_id, f"alert {a.to_state}", a.level))
    for o in actions:
        tid = alert_track.get(o.target or "", "")
        if tid in suspects:
            ev.append(Event(o.t, tid, f"operator: {o.action}", o.operator))
    return sorted(ev, key=lambda e: (e.t, e.track_id))

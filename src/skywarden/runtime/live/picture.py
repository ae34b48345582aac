"""What the live loop shows: the engine's latest frame as a service ``Picture``.

The live loop (``live_source``) decides *when* to step and publish; this module decides
*what* a picture holds beyond the frame itself, state the engine does not keep because only
screens need it:

* each confirmed track's recent **trail** (a point at most every ``trail_step_s``, and
  whenever it starts or stops coasting, ``trail_s`` long), kept from every frame stepped,
  not only the published ones;
* the **alerts** to show: the active ones, then those resolved in the last
  ``recent_resolved_s``;
* the **launch estimate** of every confirmed drone track (threat assessment computes it only
  for warnings; the map shows it for every drone);
* the **alert events** since the previous picture, as the engine returned them, for the
  outputs that follow the picture.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from skywarden.alerts.lifecycle import Alert, AlertEvent, AlertState
from skywarden.core.track import TrackStatus
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame
from skywarden.service.source import Picture, TrailPoint
from skywarden.threat.launch import LaunchPoint


class PictureBuilder:
    """Trails kept frame by frame, and pictures built from a frame (see the module doc)."""

    def __init__(
        self, trail_s: float = 120.0, trail_step_s: float = 1.0, recent_resolved_s: float = 120.0
    ) -> None:
        self.trail_s = trail_s
        self.trail_step_s = trail_step_s
        self.recent_resolved_s = recent_resolved_s
        self.trails: dict[str, deque[TrailPoint]] = {}
        self._trail_tuples: dict[str, tuple[TrailPoint, ...]] = {}  # per picture, when unchanged
        self.seq = 0

    def build(
        self, frame: Frame, engine: Engine, wall_t: float, events: Sequence[AlertEvent] = ()
    ) -> Picture:
        """The next picture (``seq`` + 1) of ``frame``, at wall time ``wall_t``."""
        self.seq += 1
        return Picture(
            seq=self.seq,
            t=frame.t,
            wall_t=wall_t,
            tracks=frame.tracks,
            assessments={a.track_id: a for a in frame.assessments},
            alerts=self._visible_alerts(engine, frame.t),
            trails=self._trail_snapshot(),
            ground=frame.ground_fields(),
            bearings=frame.bearings,
            launches=_launches(engine, frame),
            events=tuple(events),
        )

    def update_trails(self, frame: Frame) -> None:
        """Each confirmed track's recent path: a point at most every ``trail_step_s`` (and
        whenever it starts or stops coasting), ``trail_s`` long. A 10 Hz radar would
        otherwise put 1,200 points per track on every screen, and into every picture."""
        live = {tr.id for tr in frame.tracks if tr.confirmed}
        for tid in list(self.trails):
            if tid not in live:
                del self.trails[tid]
                self._trail_tuples.pop(tid, None)
        for tr in frame.tracks:
            if not tr.confirmed:
                continue
            trail = self.trails.setdefault(tr.id, deque())
            coasting = tr.status is TrackStatus.COASTING
            if trail and (
                trail[-1].t >= tr.t
                or (tr.t - trail[-1].t < self.trail_step_s and trail[-1].coasting == coasting)
            ):
                continue
            e, n, u = (float(v) for v in tr.x[:3])
            trail.append(TrailPoint(tr.t, e, n, u, coasting))
            while trail and trail[0].t < tr.t - self.trail_s:
                trail.popleft()
            self._trail_tuples.pop(tr.id, None)

    def _trail_snapshot(self) -> dict[str, tuple[TrailPoint, ...]]:
        """The trails as immutable tuples, rebuilt only for the tracks whose trail changed."""
        out = {}
        for tid, trail in self.trails.items():
            tup = self._trail_tuples.get(tid)
            if tup is None:
                tup = self._trail_tuples[tid] = tuple(trail)
            out[tid] = tup
        return out

    def _visible_alerts(self, engine: Engine, t: float) -> tuple[Alert, ...]:
        """Active alerts, then the recently resolved ones (newest first)."""
        mgr = engine.pipeline.alerts
        active = sorted(mgr.active, key=lambda a: a.raised_t)
        seen = {a.id for a in active}
        resolved: list[Alert] = []
        for ev in reversed(mgr.history[-500:]):
            a = ev.alert
            if (
                a.state is AlertState.RESOLVED
                and a.id not in seen
                and (a.resolved_t or t) >= t - self.recent_resolved_s
            ):
                resolved.append(a)
                seen.add(a.id)
        return (*active, *resolved)


def _launches(engine: Engine, frame: Frame) -> dict[str, LaunchPoint]:
    """The launch estimate of every confirmed drone track. Cached by the estimator once a
    track's early window closed, so this is a lookup per track after that."""
    est = engine.pipeline.launch.estimate
    out = {}
    for tr in frame.tracks:
        if tr.confirmed and tr.best_class.startswith("drone") and (lp := est(tr.id)):
            out[tr.id] = lp
    return out

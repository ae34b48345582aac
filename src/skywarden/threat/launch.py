"""Launch-point estimate: where a track was first seen and where it probably came from.

The people protecting a site want to know where the pilot is. Two clues:

- **Back-extrapolation.** Take the track's state a few seconds after it was confirmed (its
  velocity has converged by then; ``early_window_s``), carry it back to the time the track
  was first seen (``first_seen``), and on back along the same velocity until either

  * ``ground``: the altitude reaches the ground (the site origin's height, ENU u = 0, or
    the terrain under the path when a DEM is given: ``core.terrain``; a take-off from a
    hill 60 m up met at flat ground would be put 20 s of climb-out too far back) - a
    drone first seen climbing was launched nearby; or
  * ``coverage_edge``: the path leaves every radar's coverage - it flew in from there or
    beyond; or
  * ``first_seen``: neither applies (it was first seen at the edge, flying level): the
    first-seen point is the best guess, the heading says where it came from;
  * ``appeared``: the path back to the edge is longer than ``appeared_inside_m`` and the
    track was first seen low (below ``appeared_below_m``): had it flown in, the radar would
    have seen it on the way, so it took off near its first-seen point (a climb too slow to
    measure in the early window: 3 m/s under 25 m of elevation noise);

  * ``joined``: the track started within ``stitch_m`` of two or more drone chains (two
    drones that met): it came from one of them, which one is a guess; no launch is claimed;

  capped at ``max_back_s``. The uncertainty is the state covariance pushed through that
  whole map by the unscented transform (12 sigma points, Julier & Uhlmann 2004): the back
  time depends on the state (a ratio for the ground case), so a noisy climb rate stretches
  the ellipse along the track, and more than a first-order Jacobian would say. The
  horizontal part is reported as an ellipse at ``confidence`` (95 % by default: semi-axes
  ``sqrt(chi2_2(0.95) * lambda)``).
- **Remote ID operator position**, when the drone broadcasts one (the Remote ID adapter puts
  it in ``Detection.attrs["operator_enu"]``): the latest one seen on the track.

Pure in time: states and detections come in, nothing reads a clock.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from skywarden.core.observation import Detection
from skywarden.core.site import SensorKind, Site
from skywarden.core.terrain import Terrain
from skywarden.core.track import ObjectClass, TrackState
from skywarden.tracking.gating import chi2_gate

Vec3 = tuple[float, float, float]
_DRONES = frozenset(c.value for c in ObjectClass if c.family == "drone")


@dataclass(frozen=True)
class Ellipse:
    """An uncertainty ellipse on the ground (ENU), at ``confidence``."""

    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float  # of the major axis, clockwise from north, in [0, 180)
    confidence: float


@dataclass(frozen=True)
class LaunchPoint:
    """Where a track probably took off (or entered coverage), with its uncertainty."""

    track_id: str
    method: str  # ground / appeared / coverage_edge / first_seen / joined (not a launch)
    first_seen_t: float
    first_seen_enu: Vec3
    origin_enu: Vec3  # the estimated launch (or entry) point
    origin_t: float  # when the track would have been there
    origin_cov_en: tuple[tuple[float, float], tuple[float, float]]  # m^2, east/north
    ellipse: Ellipse
    velocity_enu: Vec3  # the early velocity used
    operator_enu: Vec3 | None = None  # Remote ID operator position, when broadcast
    operator_t: float | None = None


@dataclass(frozen=True)
class LaunchConfig:
    """How far back launch points are extrapolated, and how many are remembered."""

    early_window_s: float = 8.0
    max_back_s: float = 300.0
    min_climb_mps: float = 0.5  # slower climbs say nothing about a launch below
    # a low track first seen this far inside radar coverage was not flying in from the edge
    # (the radar would have seen it on the way): it took off near where it was first seen
    appeared_inside_m: float = 250.0  # ten scans of a 25 m/s drone flying in from the edge
    appeared_below_m: float = 40.0  # a take-off climbs at a few m/s: seen within seconds
    ground_u_m: float = 0.0
    # a take-off is claimed only this far inside coverage along the path: closer to the
    # edge the drone may as well have flown in (a drone covers it in ten scans)
    edge_margin_m: float = 250.0
    # a take-off inside coverage goes unseen only while low (ground clutter, terrain, the
    # beam's lower edge): a track first seen climbing higher than this was in the air before
    # it was seen - a mid-flight restart with a noisy climb rate, not a take-off
    masked_below_m: float = 60.0  # ~0.8 deg of beam edge and clutter 4 km out
    confidence: float = 0.95
    # a new track that starts where a lost track would be now continues it (a tracker that
    # lost a drone for a few scans starts a new track mid-flight): it inherits the launch
    stitch_s: float = 15.0
    stitch_m: float = 200.0
    keep_tracks: int = 2000  # finished tracks remembered for reports


def _norm(v: np.ndarray) -> float:
    """``float(np.linalg.norm(v))`` of a 1-D vector, the same number (that function is
    ``sqrt(v.dot(v))`` for one; both square roots are IEEE-rounded) without its Python
    wrapper, which cost more than the sum: this runs for 13 sigma points of every early
    drone track on every frame."""
    return math.sqrt(float(v.dot(v)))


def _exit_time(p: np.ndarray, d: np.ndarray, centre: np.ndarray, r: float) -> float:
    """Largest tau >= 0 with |p + d tau - centre| <= r (p inside), else 0."""
    q = p - centre
    a = float(d @ d)
    c = float(q @ q) - r * r
    if c > 0 or a < 1e-12:
        return 0.0
    b = 2.0 * float(q @ d)
    return (-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)


def ground_time(
    p0: np.ndarray, v: np.ndarray, terrain: Terrain, tau_max: float, step_s: float = 1.0
) -> float:
    """Smallest tau >= 0 where ``p0 - v tau`` meets the terrain (inf if not by ``tau_max``):
    the gap height - ground is sampled every ``step_s`` back along the path and the first
    sign change is interpolated linearly (the terrain is smooth on a drone's one-second path).
    """
    taus = np.arange(0.0, tau_max + step_s, step_s)
    P = p0[None, :] - taus[:, None] * v[None, :]
    gap = P[:, 2] - terrain(P[:, 0], P[:, 1])
    below = np.flatnonzero(gap <= 0.0)
    if below.size == 0:
        return math.inf
    k = int(below[0])
    if k == 0:
        return 0.0
    g0, g1 = float(gap[k - 1]), float(gap[k])
    return float(taus[k - 1] + (taus[k] - taus[k - 1]) * g0 / (g0 - g1))


class LaunchPointEstimator:
    def __init__(
        self, site: Site, config: LaunchConfig | None = None, terrain: Terrain | None = None
    ) -> None:
        self.cfg = config or LaunchConfig()
        self.terrain = terrain
        self.radars = [
            (np.asarray(s.position_enu, dtype=float), float(s.max_range_m))
            for s in site.sensors
            if s.measures.fixes_position
            and s.kind not in (SensorKind.REMOTE_ID, SensorKind.ADSB)
            and s.max_range_m
        ]
        self._early: OrderedDict[str, TrackState] = OrderedDict()
        self._first_confirmed_t: dict[str, float] = {}
        self._operator: dict[str, tuple[float, Vec3]] = {}
        # the estimate depends only on the early state and the operator report: once the
        # early window closed it is computed once, not every frame for every warning
        self._estimates: dict[str, tuple[TrackState, tuple[float, Vec3] | None, LaunchPoint]] = {}
        self._latest: OrderedDict[str, TrackState] = OrderedDict()  # by time last seen
        self._parent: dict[str, str] = {}  # a track -> the lost track it continues
        self._joined: set[str] = set()  # tracks that started among several drone chains

    # ------------------------------------------------------------------ input

    def observe_tracks(self, tracks: Sequence[TrackState]) -> None:
        """Every frame's tracks: keeps each one's latest state inside its early window."""
        new = [tr for tr in tracks if tr.id not in self._first_confirmed_t]
        if new:
            self._stitch(new)
        for tr in tracks:
            t0 = self._first_confirmed_t.setdefault(tr.id, tr.t)
            self._latest[tr.id] = tr
            self._latest.move_to_end(tr.id)
            if tr.id not in self._early or tr.t - t0 <= self.cfg.early_window_s:
                self._early[tr.id] = tr
                self._early.move_to_end(tr.id)
        while len(self._latest) > self.cfg.keep_tracks:
            self._latest.popitem(last=False)
        while len(self._early) > self.cfg.keep_tracks:
            tid, _ = self._early.popitem(last=False)
            self._parent.pop(tid, None)
            self._joined.discard(tid)
            self._first_confirmed_t.pop(tid, None)
            self._operator.pop(tid, None)
            self._estimates.pop(tid, None)

    def _stitch(self, new: Sequence[TrackState]) -> None:
        """Link each new track to the older drone track whose last state, carried at its
        velocity to the new track's time, lies nearest and within ``stitch_m`` (seen at most
        ``stitch_s`` before, in an earlier frame; a live one is a duplicate of the same object).
        The candidates are gathered once per frame, the distances in one array operation."""
        cfg = self.cfg
        t_new = max(tr.t for tr in new)
        olds = []
        for tid, old in reversed(self._latest.items()):  # most recently seen first
            if t_new - old.t > cfg.stitch_s:
                break
            if old.t < t_new and old.best_class in _DRONES:  # birds never hand a launch on
                olds.append((tid, old))
        if not olds:
            return
        X = np.array([np.asarray(o.x[:6], dtype=float) for _, o in olds])
        t_old = np.array([o.t for _, o in olds])
        for tr in new:
            dt = tr.t - t_old
            Q = X[:, :3] + X[:, 3:6] * dt[:, None]
            d = np.linalg.norm(Q - np.asarray(tr.x[:3], dtype=float)[None], axis=1)
            d[dt <= 0] = np.inf
            near = np.flatnonzero(d <= cfg.stitch_m)
            # two drones that met (at the target, say) leave two chains near the new track:
            # which one it continues is then a guess, and a wrong guess hands it the other's
            # launch point kilometres away; it keeps its own estimate instead
            if near.size and len({self._root(olds[int(i)][0]) for i in near}) == 1:
                self._parent[tr.id] = olds[int(near[np.argmin(d[near])])][0]
            elif near.size:  # it came from one of them, not off the ground where it appeared
                self._joined.add(tr.id)

    def _root(self, tid: str) -> str:
        """The first track of the chain ``tid`` continues."""
        seen = {tid}
        while tid in self._parent and self._parent[tid] not in seen:
            tid = self._parent[tid]
            seen.add(tid)
        return tid

    def observe_assignments(self, assignments: Sequence[tuple[str, Detection, int]]) -> None:
        """Detections assigned to tracks (``TrackerResult.assignments``): operator positions."""
        for tid, det, _ in assignments:
            op = det.attrs.get("operator_enu") if det.attrs else None
            if isinstance(op, list | tuple) and len(op) == 3:
                self._operator[tid] = (det.t, (float(op[0]), float(op[1]), float(op[2])))

    # ------------------------------------------------------------------ output

    def _back_time(self, p0: np.ndarray, v: np.ndarray) -> tuple[float, str]:
        cfg = self.cfg
        tau, method = cfg.max_back_s, "coverage_edge"
        g0 = cfg.ground_u_m if self.terrain is None else float(self.terrain(p0[:1], p0[1:2])[0])
        if v[2] > cfg.min_climb_mps and float(p0[2]) - g0 <= cfg.masked_below_m:
            if self.terrain is None:
                tg = max(0.0, (float(p0[2]) - cfg.ground_u_m) / float(v[2]))
            else:
                tg = ground_time(p0, v, self.terrain, tau)
            if tg < tau:
                tau, method = tg, "ground"
        back = -v
        te = max((_exit_time(p0, back, c, r) for c, r in self.radars), default=0.0)
        if te < tau:
            tau, method = te, "coverage_edge"
        elif method == "ground" and (te - tau) * _norm(v[:2]) < cfg.edge_margin_m:
            # a take-off this close to the coverage edge cannot be told from a drone that
            # flew in low over it (the height of a plot 5 km out is +-60 m: a "climb" there
            # is noise as often as not): no take-off is claimed
            tau, method = te, "coverage_edge"
        if method == "coverage_edge":  # (or no edge within max_back_s: a slow track)
            inside = te * _norm(v)  # path length back to the edge
            low = float(p0[2]) - g0 < cfg.appeared_below_m
            if inside > cfg.appeared_inside_m and low:
                return 0.0, "appeared"
        if tau <= 1e-6:
            return 0.0, "first_seen"
        return tau, method

    def _origin(self, x: np.ndarray, back_to_first_s: float) -> tuple[np.ndarray, float, str]:
        v = x[3:6]
        p0 = x[:3] - v * back_to_first_s
        tau, method = self._back_time(p0, v)
        return p0 - v * tau, tau, method

    def estimate(self, track_id: str) -> LaunchPoint | None:
        """The track's launch point; for a track that continues a lost one (``_stitch``),
        the launch point of the first track of the chain."""
        track_id = self._root(track_id)
        tr = self._early.get(track_id)
        if tr is None:
            return None
        op = self._operator.get(track_id)
        hit = self._estimates.get(track_id)
        if hit is not None and hit[0] is tr and hit[1] == op:
            return hit[2]
        lp = self._estimate(tr, op)
        if track_id in self._joined and lp.method in ("ground", "appeared"):
            # not a take-off: it started where two drone chains met (see ``_stitch``); the
            # first-seen point is all there is, and it says nothing of a launch
            lp = replace(lp, method="joined")
        self._estimates[track_id] = (tr, op, lp)
        return lp

    def _estimate(self, tr: TrackState, op: tuple[float, Vec3] | None) -> LaunchPoint:
        track_id = tr.id
        x = np.asarray(tr.x, dtype=float)
        dt = max(0.0, tr.t - tr.first_t)
        origin, tau, method = self._origin(x, dt)
        # C from the unscented transform: 2n sigma points x +- columns of sqrt(n P) through the
        # same map (the back time is a ratio of state components, so a first-order Jacobian
        # would understate the spread when the climb rate is poorly known)
        n = 6
        Pm = np.asarray(tr.P, dtype=float)
        try:
            L = np.linalg.cholesky(n * 0.5 * (Pm + Pm.T))
        except np.linalg.LinAlgError:
            L = np.diag(np.sqrt(np.maximum(n * np.diag(Pm), 0.0)))
        pts = np.array(
            [self._origin(x + sgn * L[:, k], dt)[0] for k in range(n) for sgn in (1.0, -1.0)]
        )
        dev = pts - pts.mean(axis=0)
        C = dev.T @ dev / (2 * n)
        Ch = 0.5 * (C[:2, :2] + C[:2, :2].T)
        lam, vec = np.linalg.eigh(Ch)
        k2 = chi2_gate(2, self.cfg.confidence)  # = -2 ln(1 - confidence) for 2 dof
        major = vec[:, 1]
        orient = math.degrees(math.atan2(float(major[0]), float(major[1]))) % 180.0
        p0 = x[:3] - x[3:6] * dt
        return LaunchPoint(
            track_id=track_id,
            method=method,
            first_seen_t=tr.first_t,
            first_seen_enu=(float(p0[0]), float(p0[1]), float(p0[2])),
            origin_enu=(float(origin[0]), float(origin[1]), float(origin[2])),
            origin_t=tr.first_t - tau,
            origin_cov_en=((float(Ch[0, 0]), float(Ch[0, 1])), (float(Ch[1, 0]), float(Ch[1, 1]))),
            ellipse=Ellipse(
                math.sqrt(k2 * max(float(lam[1]), 0.0)),
                math.sqrt(k2 * max(float(lam[0]), 0.0)),
                orient,
                self.cfg.confidence,
            ),
            velocity_enu=(float(x[3]), float(x[4]), float(x[5])),
            operator_enu=op[1] if op else None,
            operator_t=op[0] if op else None,
        )

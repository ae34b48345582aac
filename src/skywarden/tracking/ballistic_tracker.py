"""Ballistic tracks: rockets, mortar bombs and shells from a weapon-locating radar's plots.

The drone tracker's motion models (nearly constant velocity, manoeuvre) and initiation (one
plot, +-10 m/s across the line of sight) are built for objects ten times slower: a round moves
150-200 m between two scans of a 2 Hz radar, mostly across the line of sight while it climbs,
and its velocity turns by 20-30 m/s per second. This stage sits in front of the drone tracker
for every radar that measures range, azimuth, elevation and range rate:

1. **Gating.** Each ballistic track's fit (``tracking.ballistic``) is integrated to the scan
   time; its predicted plot ``h`` and covariance ``S = H Sigma H' + R`` (H the forward
   difference of ``h`` in the fit's parameters) gate the plots at ``chi2_4(p_gate)``;
   assignment is greedy by ``d^2 = nu' S^-1 nu`` (rounds are few and far apart).
2. **Two-point initiation on speed.** A free plot pairs with a free plot of an earlier scan of
   the same radar (within ``pair_window_s``) when the pair moved faster than anything that
   flies slowly: the range rate (measured to ~1 m/s) is above ``slow_mps``, or the displacement
   exceeds ``slow_mps * dt`` by ``fast_sigma`` standard deviations along it; no faster than
   ``max_speed_mps``; and the range difference agrees with the mean of the two range rates
   (trapezoid rule) within ``radial_sigma`` standard deviations.
3. **Refit** of the assigned track on all its plots (thinned past ``max_plots``), warm-started.
4. **Confirmation** after ``confirm_hits`` plots when the ballistic model explains them
   (``chi2 / dof <= max_chi2_dof``: an aircraft or a drone does not fall at g) and the fitted
   speed is above ``slow_mps``. **Deletion** after ``max_gap_s`` without a plot, or once
   past the predicted impact.
5. **Class** from kinematics at the estimated launch: ``shell`` above ``shell_mps``, ``mortar``
   when the launch elevation is above ``high_angle_deg`` (high-angle fire), else ``rocket``.

Plots claimed by a ballistic track are withheld from the drone tracker (the runtime does
that), so a round never also appears as a fast "drone". Pure in time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorSpec
from skywarden.tracking.ballistic import (
    NP,
    BallisticConfig,
    Fit,
    Terrain,
    at_times,
    fit,
    ground_point,
    perturbed,
    radar_h,
    wrap,
)
from skywarden.tracking.gating import chi2_gate
from skywarden.tracking.initiation import init_from_measurements

F64 = NDArray[np.float64]
_STEP = np.diag(perturbed(np.zeros(NP))[1:])


@dataclass(frozen=True)
class BallisticTrackerConfig:
    slow_mps: float = 100.0  # faster than any bird, drone or helicopter of interest
    max_speed_mps: float = 1500.0
    pair_window_s: float = 1.2
    fast_sigma: float = 3.0
    radial_sigma: float = 4.0
    p_gate: float = 0.9995
    confirm_hits: int = 4
    max_gap_s: float = 2.0
    max_chi2_dof: float = 4.0
    high_angle_deg: float = 45.0
    shell_mps: float = 600.0
    fit: BallisticConfig = field(default_factory=BallisticConfig)


@dataclass(frozen=True)
class GroundPoint:
    """Where a flight meets the ground: ENU point, time, covariance of (e, n, t)."""

    enu: tuple[float, float, float]
    t: float
    cov_ent: F64  # (3, 3): m^2, m s, s^2


@dataclass(frozen=True, eq=False)
class BallisticTrack:
    """One ballistic track at one time: its state, drag, class, impact and origin."""

    id: str
    t: float
    x: F64  # (6,) ENU position and velocity now
    P: F64  # (6, 6)
    drag_k: float
    object_class: str  # rocket / mortar / shell
    confirmed: bool
    first_t: float
    hits: int
    sensor_id: str
    impact: GroundPoint | None
    launch: GroundPoint | None


@dataclass
class _Track:
    id: str
    sensor_id: str
    sensor_pos: F64
    R: F64
    times: list[float]
    Z: list[F64]
    fit: Fit
    confirmed: bool = False
    impact: GroundPoint | None = None
    launch: GroundPoint | None = None
    launch_v: F64 | None = None


def _ground(gp: tuple[F64, F64] | None) -> GroundPoint | None:
    if gp is None:
        return None
    pt, C = gp
    return GroundPoint((float(pt[0]), float(pt[1]), float(pt[2])), float(pt[3]), C)


class BallisticTracker:
    """Ballistic tracks of every range/azimuth/elevation/range-rate radar of a site."""

    def __init__(
        self,
        sensors: Sequence[SensorSpec],
        config: BallisticTrackerConfig | None = None,
        terrain: Terrain | None = None,
    ) -> None:
        self.cfg = config or BallisticTrackerConfig()
        self.terrain = terrain
        self.radars = {s.id for s in sensors if s.measures is MeasurementKind.RANGE_AZ_EL_RADIAL}
        self._tracks: dict[str, _Track] = {}
        self._pending: dict[str, list[tuple[float, F64, F64, F64]]] = {}  # t, z, p, P_pos
        self._ids = itertools.count(1)
        self._gate = chi2_gate(4, self.cfg.p_gate)
        self.t = -math.inf

    # ------------------------------------------------------------------ per scan

    def process(self, t: float, sensor_id: str, dets: Sequence[Detection]) -> NDArray[np.bool_]:
        """Gate, assign, refit and initiate on one report; the mask of the plots it claimed."""
        claimed = np.zeros(len(dets), dtype=bool)
        self.t = max(self.t, t)
        if sensor_id not in self.radars:
            return claimed
        rows = [i for i, d in enumerate(dets) if d.kind is MeasurementKind.RANGE_AZ_EL_RADIAL]
        self._drop_stale(t)
        if not rows:
            return claimed
        Z = np.array([dets[i].z for i in rows])
        R = np.asarray(dets[rows[0]].R, dtype=float)
        s = np.asarray(dets[rows[0]].sensor_pos, dtype=float)
        taken = self._assign(t, sensor_id, Z, R)
        for j in taken:
            claimed[rows[j]] = True
        free = [j for j in range(len(rows)) if j not in taken]
        for j in self._initiate(t, sensor_id, Z, R, s, free):
            claimed[rows[j]] = True
        return claimed

    def _assign(self, t: float, sensor_id: str, Z: F64, R: F64) -> set[int]:
        pairs: list[tuple[float, str, int]] = []
        for tr in self._tracks.values():
            if tr.sensor_id != sensor_id:
                continue
            B = at_times(perturbed(tr.fit.theta), tr.fit.t_ref, np.array([t]), self.cfg.fit.h_max_s)
            Hs = radar_h(B[:, 0], tr.sensor_pos)  # (8, 4)
            zh = Hs[0]
            D = Hs[1:] - zh[None]
            D[:, 1] = wrap(D[:, 1])
            H = (D / _STEP[:, None]).T  # dh/dtheta, (4, 7)
            S = H @ tr.fit.cov @ H.T + R  # S = H Sigma H' + R
            nu = Z - zh[None]  # innovations nu = z - h
            nu[:, 1] = wrap(nu[:, 1])
            d2 = np.einsum("ni,ij,nj->n", nu, np.linalg.inv(S), nu)  # d^2 = nu' S^-1 nu
            for j in np.flatnonzero(d2 < self._gate):
                pairs.append((float(d2[j]), tr.id, int(j)))
        used_t: set[str] = set()
        used_z: set[int] = set()
        for _, tid, j in sorted(pairs):
            if tid in used_t or j in used_z:
                continue
            used_t.add(tid)
            used_z.add(j)
            tr = self._tracks[tid]
            tr.times.append(t)
            tr.Z.append(Z[j])
            self._refit(tr, t)
        return used_z

    def _refit(self, tr: _Track, t: float) -> None:
        cfg = self.cfg
        if len(tr.times) > cfg.fit.max_plots:  # thin the oldest half, keep the newest half
            h = len(tr.times) // 2
            tr.times = tr.times[:h:2] + tr.times[h:]
            tr.Z = tr.Z[:h:2] + tr.Z[h:]
        theta0 = at_times(tr.fit.theta[None], tr.fit.t_ref, np.array([t]), cfg.fit.h_max_s)[0, 0]
        tr.fit = fit(np.array(tr.times), np.array(tr.Z), tr.R, tr.sensor_pos, theta0, t, cfg.fit)
        explained = tr.fit.chi2 / tr.fit.dof <= cfg.max_chi2_dof
        # fast enough to be a round is asked at confirmation only: a mortar bomb slows to
        # ~80 m/s at its apex and is still one
        fast = tr.confirmed or float(np.linalg.norm(tr.fit.theta[3:6])) > cfg.slow_mps
        if len(tr.times) >= cfg.confirm_hits and explained and fast:
            tr.confirmed = True
        elif len(tr.times) >= 2 * cfg.confirm_hits and not explained:
            tr.confirmed = False  # not (or no longer) ballistic: dropped by _drop_stale
        tr.impact = _ground(ground_point(tr.fit, +1.0, cfg.fit, self.terrain))
        lp = ground_point(tr.fit, -1.0, cfg.fit, self.terrain)
        tr.launch = _ground(lp)
        if lp is not None:
            back = at_times(tr.fit.theta[None], t, np.array([lp[0][3]]), cfg.fit.h_max_s)
            tr.launch_v = back[0, 0, 3:6]

    def _drop_stale(self, t: float) -> None:
        cfg = self.cfg
        for tid in list(self._tracks):
            tr = self._tracks[tid]
            gap = t - tr.times[-1]
            landed = tr.impact is not None and t > tr.impact.t + 1.0
            failed = len(tr.times) >= 2 * cfg.confirm_hits and not tr.confirmed
            if gap > cfg.max_gap_s or landed or failed:
                del self._tracks[tid]

    def _initiate(
        self, t: float, sensor_id: str, Z: F64, R: F64, s: F64, free: list[int]
    ) -> list[int]:
        cfg = self.cfg
        pend = [p for p in self._pending.get(sensor_id, []) if 0 < t - p[0] <= cfg.pair_window_s]
        made: list[int] = []
        if free:
            x, P = init_from_measurements(
                MeasurementKind.RANGE_AZ_EL_RADIAL, Z[free], R, s, 1.0, 1.0
            )
            cand: list[tuple[float, int, int]] = []
            for a, (ta, za, pa, Pa) in enumerate(pend):
                dt = t - ta
                dp = x[:, :3] - pa[None]  # (F, 3)
                dist = np.linalg.norm(dp, axis=1)
                u = dp / np.maximum(dist, 1e-6)[:, None]
                var = np.einsum("fi,fij,fj->f", u, P[:, :3, :3] + Pa[None], u)
                rmean = 0.5 * (za[3] + Z[free, 3])
                fast = (np.abs(rmean) > cfg.slow_mps) | (
                    dist - cfg.slow_mps * dt > cfg.fast_sigma * np.sqrt(var)
                )
                # range difference against the trapezoid of the two range rates
                rr = (Z[free, 0] - za[0]) / dt - rmean
                rr_sd = math.sqrt(2 * R[0, 0] / dt**2 + 0.5 * R[3, 3])
                ok = (
                    fast
                    & (dist <= cfg.max_speed_mps * dt)
                    & (np.abs(rr) <= cfg.radial_sigma * rr_sd)
                )
                for f in np.flatnonzero(ok):
                    cand.append((abs(float(rr[f])) / rr_sd, a, int(f)))
            used_a: set[int] = set()
            used_f: set[int] = set()
            for _, a, f in sorted(cand):
                if a in used_a or f in used_f:
                    continue
                used_a.add(a)
                used_f.add(f)
                ta, za = pend[a][0], pend[a][1]
                dt = t - ta
                theta0 = np.zeros(NP)
                theta0[:3] = x[f, :3]
                theta0[3:6] = (x[f, :3] - pend[a][2]) / dt
                theta0[6] = cfg.fit.k_prior
                times = np.array([ta, t])
                zz = np.array([za, Z[free[f]]])
                fit0 = fit(times, zz, R, s, theta0, t, cfg.fit)
                tr = _Track(f"B{next(self._ids)}", sensor_id, s, R, [ta, t], list(zz), fit0)
                self._tracks[tr.id] = tr
                made.append(free[f])
            keep = [p for i, p in enumerate(pend) if i not in used_a]
        else:
            keep = pend
            x = np.zeros((0, 6))
            P = np.zeros((0, 6, 6))
        newp = [
            (t, Z[j], x[i, :3], P[i, :3, :3]) for i, j in enumerate(free) if free[i] not in made
        ]
        self._pending[sensor_id] = keep + newp
        return made

    # ------------------------------------------------------------------ output

    def tracks(self, t: float) -> list[BallisticTrack]:
        """Every live ballistic track at ``t`` (confirmed or not)."""
        out = []
        for tr in self._tracks.values():
            B = at_times(perturbed(tr.fit.theta), tr.fit.t_ref, np.array([t]), self.cfg.fit.h_max_s)
            Phi = ((B[1:, 0, :6] - B[0, 0, :6][None]) / _STEP[:, None]).T  # d x(t)/d theta
            P = Phi @ tr.fit.cov @ Phi.T  # P = Phi Sigma Phi'
            out.append(
                BallisticTrack(
                    tr.id,
                    t,
                    B[0, 0, :6].copy(),
                    0.5 * (P + P.T),
                    float(tr.fit.theta[6]),
                    self._classify(tr),
                    tr.confirmed,
                    tr.times[0],
                    len(tr.times),
                    tr.sensor_id,
                    tr.impact,
                    tr.launch,
                )
            )
        return out

    def _classify(self, tr: _Track) -> str:
        v = tr.launch_v if tr.launch_v is not None else tr.fit.theta[3:6]
        speed = float(np.linalg.norm(v))
        if speed > self.cfg.shell_mps:
            return "shell"
        angle = math.degrees(math.atan2(float(v[2]), float(np.hypot(v[0], v[1]))))
        return "mortar" if angle > self.cfg.high_angle_deg else "rocket"

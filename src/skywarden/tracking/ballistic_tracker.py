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
    G0,
    NP,
    BallisticConfig,
    Fit,
    Terrain,
    at_times,
    fit,
    ground_point,
    measure_h,
    perturbed,
    wrap,
)
from skywarden.tracking.gating import chi2_gate
from skywarden.tracking.initiation import init_from_measurements

F64 = NDArray[np.float64]
_RAE = MeasurementKind.RANGE_AZ_EL_RADIAL
_KINDS = (_RAE, MeasurementKind.XYZ)
_STEP = np.diag(perturbed(np.zeros(NP))[1:])


@dataclass(frozen=True)
class BallisticTrackerConfig:
    # radars that revisit at least twice a second (weapon-locating radars scan at 2-10 Hz):
    # slower ones see a round move 400 m between looks and get no ballistic initiation
    max_update_s: float = 0.5
    slow_mps: float = 100.0  # a confirmed round flew faster than any bird, drone or helicopter
    pair_slow_mps: float = 60.0  # a pair: lower, for a near-vertical mortar seen across its climb
    max_speed_mps: float = 1000.0  # artillery shells; 107 mm rockets fly at ~400 m/s
    sigma_a: float = 30.0  # m/s^2, drag and model slack of the three-point initiation
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
    kind: MeasurementKind
    times: list[float]
    Z: list[F64]
    R: list[F64]  # per plot
    fit: Fit
    confirmed: bool = False
    impact: GroundPoint | None = None
    launch: GroundPoint | None = None
    launch_v: F64 | None = None


@dataclass(frozen=True, eq=False)
class _Plot:
    t: float
    z: F64  # (4,) range, azimuth, elevation, range rate; or (3,) ENU
    R: F64
    p: F64  # (3,) ENU
    P: F64  # (3, 3)


@dataclass(frozen=True, eq=False)
class _Pair:
    """A fast pair: its second plot, the velocity of the pair at that plot, and the first."""

    t: float
    z: F64
    R: F64
    p: F64
    P: F64
    v: F64
    Pv: F64
    ta: float
    za: F64
    Ra: F64


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
        self.radars = {
            s.id
            for s in sensors
            if s.measures in _KINDS and s.update_s <= self.cfg.max_update_s + 1e-9
        }
        self._tracks: dict[str, _Track] = {}
        self._pending: dict[str, list[_Plot]] = {}
        self._pairs: dict[str, list[_Pair]] = {}
        self._ids = itertools.count(1)
        self._gate = chi2_gate(4, self.cfg.p_gate)
        self._gate3 = chi2_gate(3, self.cfg.p_gate)
        self.t = -math.inf

    # ------------------------------------------------------------------ per scan

    def process(self, t: float, sensor_id: str, dets: Sequence[Detection]) -> NDArray[np.bool_]:
        """Gate, assign, refit and initiate on one report; the mask of the plots it claimed."""
        claimed = np.zeros(len(dets), dtype=bool)
        self.t = max(self.t, t)
        if sensor_id not in self.radars:
            return claimed
        self._drop_stale(t)
        kind = next((d.kind for d in dets if d.kind in _KINDS), None)
        if kind is None:
            return claimed
        rows = [i for i, d in enumerate(dets) if d.kind is kind]
        Z = np.array([dets[i].z for i in rows])
        R = np.array([dets[i].R for i in rows], dtype=float)  # (N, m, m)
        s = np.asarray(dets[rows[0]].sensor_pos, dtype=float)
        taken = self._assign(t, sensor_id, Z, R)
        for j, tid in taken.items():
            # a tentative track's plots stay with the drone tracker too: most tentatives are
            # pairs of noisy bird or clutter plots, and the birds' tracks need them
            if self._tracks[tid].confirmed:
                claimed[rows[j]] = True
        free = [j for j in range(len(rows)) if j not in taken]
        self._initiate(t, sensor_id, kind, Z, R, s, free)
        return claimed

    def _assign(self, t: float, sensor_id: str, Z: F64, R: F64) -> dict[int, str]:
        pairs: list[tuple[float, str, int]] = []
        for tr in self._tracks.values():
            if tr.sensor_id != sensor_id:
                continue
            B = at_times(perturbed(tr.fit.theta), tr.fit.t_ref, np.array([t]), self.cfg.fit.h_max_s)
            Hs = measure_h(B[:, 0], tr.sensor_pos, tr.kind)  # (8, m)
            zh = Hs[0]
            D = Hs[1:] - zh[None]
            if tr.kind is _RAE:
                D[:, 1] = wrap(D[:, 1])
            H = (D / _STEP[:, None]).T  # dh/dtheta, (4, 7)
            S = (H @ tr.fit.cov @ H.T)[None] + R  # S_j = H Sigma H' + R_j
            nu = Z - zh[None]  # innovations nu = z - h
            if tr.kind is _RAE:
                nu[:, 1] = wrap(nu[:, 1])
            d2 = np.einsum("ni,nij,nj->n", nu, np.linalg.inv(S), nu)  # d^2 = nu' S^-1 nu
            pairs.extend(
                (float(d2[jj]), tr.id, int(jj)) for jj in np.flatnonzero(d2 < self._gate).tolist()
            )
        used_t: set[str] = set()
        used_z: dict[int, str] = {}
        for _, tid, j in sorted(pairs):
            if tid in used_t or j in used_z:
                continue
            used_t.add(tid)
            used_z[j] = tid
            tr = self._tracks[tid]
            tr.times.append(t)
            tr.Z.append(Z[j])
            tr.R.append(R[j])
            self._refit(tr, t)
        return used_z

    def _refit(self, tr: _Track, t: float) -> None:
        cfg = self.cfg
        if len(tr.times) > cfg.fit.max_plots:  # thin the oldest half, keep the newest half
            h = len(tr.times) // 2
            tr.times = tr.times[:h:2] + tr.times[h:]
            tr.Z = tr.Z[:h:2] + tr.Z[h:]
            tr.R = tr.R[:h:2] + tr.R[h:]
        theta0 = at_times(tr.fit.theta[None], tr.fit.t_ref, np.array([t]), cfg.fit.h_max_s)[0, 0]
        new = fit(
            np.array(tr.times), np.array(tr.Z), np.array(tr.R), tr.sensor_pos, theta0, t,
            cfg.fit, tr.kind,
        )  # fmt: skip
        if not (np.isfinite(new.theta).all() and np.isfinite(new.cov).all()):
            tr.confirmed = False
            tr.times, tr.Z, tr.R = tr.times[:1], tr.Z[:1], tr.R[:1]  # dropped on the next scan
            return
        tr.fit = new
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
            n = len(tr.times)
            failed = not tr.confirmed and (n >= 2 * cfg.confirm_hits or n < 2)
            if gap > cfg.max_gap_s or landed or failed:
                del self._tracks[tid]

    def _initiate(
        self,
        t: float,
        sensor_id: str,
        kind: MeasurementKind,
        Z: F64,
        R: F64,
        s: F64,
        free: list[int],
    ) -> None:
        """Three-point initiation: plot, fast pair, then a third plot where the pair's flight
        under gravity puts it; only then a track (and its first fit) is made."""
        cfg = self.cfg
        win = cfg.pair_window_s
        pend = [p for p in self._pending.get(sensor_id, []) if 0 < t - p.t <= win]
        pairs = [p for p in self._pairs.get(sensor_id, []) if 0 < t - p.t <= win]
        if not free:
            self._pending[sensor_id], self._pairs[sensor_id] = pend, pairs
            return
        if kind is _RAE:
            x, P = init_from_measurements(kind, Z[free], R[0], s, 1.0, 1.0)
        else:  # 3-D plots: the position and its covariance are the plot's
            x, P = np.zeros((len(free), 6)), np.zeros((len(free), 6, 6))
            x[:, :3], P[:, :3, :3] = Z[free, :3], R[free, :3, :3]
        plots = [_Plot(t, Z[j], R[j], x[i, :3], P[i, :3, :3]) for i, j in enumerate(free)]
        used = self._third_plots(sensor_id, s, kind, pairs, plots)
        rest = [p for i, p in enumerate(plots) if i not in used]
        pairs = [p for i, p in enumerate(pairs) if i not in used.values()]
        self._pairs[sensor_id] = pairs + self._fast_pairs(pend, rest, kind, R[0])
        self._pending[sensor_id] = pend + rest

    def _third_plots(
        self, sensor_id: str, s: F64, kind: MeasurementKind, pairs: list[_Pair], plots: list[_Plot]
    ) -> dict[int, int]:
        """Plots that continue a fast pair: predicted ``p_c = p_b + v dt + a dt^2 / 2`` with
        ``a = -g e_u`` (drag left to the slack ``sigma_a``), covariance
        ``P_b + dt^2 Pv + P_c + (sigma_a dt^2 / 2)^2 I``, chi-square gate on 3 dof; each makes a
        track, fitted on its three plots. Returns plot index -> pair index."""
        cfg = self.cfg
        if not pairs or not plots:
            return {}
        pc = np.array([p.p for p in plots])  # (F, 3)
        Pc = np.array([p.P for p in plots])  # (F, 3, 3)
        dt = plots[0].t - np.array([pr.t for pr in pairs])  # (K,)
        pred = np.array([pr.p for pr in pairs]) + np.array([pr.v for pr in pairs]) * dt[:, None]
        pred[:, 2] -= 0.5 * G0 * dt * dt  # p_b + v dt + a dt^2 / 2
        slack = (0.5 * cfg.sigma_a * dt * dt) ** 2
        Ck = np.array([pr.P for pr in pairs]) + dt[:, None, None] ** 2 * np.array(
            [pr.Pv for pr in pairs]
        )
        Ck += slack[:, None, None] * np.eye(3)[None]
        nu = pc[None] - pred[:, None]  # (K, F, 3)
        # coarse gate first: nu' C^-1 nu <= G needs |nu|^2 <= G lambda_max(C) <= G trace(C)
        tr_c = np.trace(Ck, axis1=1, axis2=2)[:, None] + np.trace(Pc, axis1=1, axis2=2)[None]
        ik, jf = np.nonzero(np.einsum("kfi,kfi->kf", nu, nu) <= self._gate3 * tr_c)
        if ik.size == 0:
            return {}
        C = Ck[ik] + Pc[jf]  # (n, 3, 3)
        d2 = np.einsum("ni,nij,nj->n", nu[ik, jf], np.linalg.inv(C), nu[ik, jf])
        sel = d2 < self._gate3
        cand = [
            (float(d), int(f), int(k)) for d, k, f in zip(d2[sel], ik[sel], jf[sel], strict=True)
        ]
        used: dict[int, int] = {}
        for _, f, k in sorted(cand):
            if f in used or k in used.values():
                continue
            used[f] = k
            pr, pl = pairs[k], plots[f]
            times = np.array([pr.ta, pr.t, pl.t])
            zz = np.array([pr.za, pr.z, pl.z])
            rr = [pr.Ra, pr.R, pl.R]
            theta0 = np.zeros(NP)
            theta0[:3] = pl.p
            theta0[3:6] = pr.v
            theta0[5] -= G0 * (pl.t - pr.t)
            theta0[6] = cfg.fit.k_prior
            fit0 = fit(times, zz, np.array(rr), s, theta0, pl.t, cfg.fit, kind)
            if not (np.isfinite(fit0.theta).all() and np.isfinite(fit0.cov).all()):
                continue
            tr = _Track(f"B{next(self._ids)}", sensor_id, s, kind, list(times), list(zz), rr, fit0)
            self._tracks[tr.id] = tr
        return used

    def _fast_pairs(
        self, pend: list[_Plot], plots: list[_Plot], kind: MeasurementKind, R: F64
    ) -> list[_Pair]:
        """Pairs (earlier plot, this plot) that moved faster than anything slow: the range
        rate is above ``pair_slow_mps``, or the displacement exceeds ``pair_slow_mps * dt`` by
        ``fast_sigma`` standard deviations along it; no faster than ``max_speed_mps``; and the
        range difference agrees with the mean of the two range rates (trapezoid rule)."""
        cfg = self.cfg
        out: list[_Pair] = []
        if not pend or not plots:
            return out
        pb = np.array([p.p for p in plots])  # (F, 3)
        Pb = np.array([p.P for p in plots])
        zb = np.array([p.z for p in plots])
        pa = np.array([p.p for p in pend])  # (A, 3)
        Pa = np.array([p.P for p in pend])
        za = np.array([p.z for p in pend])
        dt = (plots[0].t - np.array([p.t for p in pend]))[:, None]  # (A, 1)
        dp = pb[None] - pa[:, None]  # (A, F, 3)
        dist = np.linalg.norm(dp, axis=2)
        ok = dist <= cfg.max_speed_mps * dt
        if kind is _RAE:
            rmean = 0.5 * (za[:, 3:4] + zb[None, :, 3])
            rr = (zb[None, :, 0] - za[:, 0:1]) / dt - rmean
            rr_sd = np.sqrt(2 * R[0, 0] / dt**2 + 0.5 * R[3, 3])
            ok &= np.abs(rr) <= cfg.radial_sigma * rr_sd
        else:  # no range rate: the displacement alone says fast
            rmean = np.zeros_like(dist)
        if not ok.any():
            return out
        ia, ib = np.nonzero(ok)
        u = dp[ia, ib] / np.maximum(dist[ia, ib], 1e-6)[:, None]
        var = np.einsum("ni,nij,nj->n", u, Pb[ib] + Pa[ia], u)
        fast = (np.abs(rmean[ia, ib]) > cfg.pair_slow_mps) | (
            dist[ia, ib] - cfg.pair_slow_mps * dt[ia, 0] > cfg.fast_sigma * np.sqrt(var)
        )
        for a, f in zip(ia[fast], ib[fast], strict=True):
            b, d = plots[f], float(dt[a, 0])
            v = dp[a, f] / d
            v[2] -= 0.5 * G0 * d  # the mean velocity is that of mid-interval
            Pv = (b.P + pend[a].P) / d**2
            out.append(_Pair(b.t, b.z, b.R, b.p, b.P, v, Pv, pend[a].t, pend[a].z, pend[a].R))
        return out

    # ------------------------------------------------------------------ output

    def tracks(self, t: float, confirmed_only: bool = True) -> list[BallisticTrack]:
        """The live ballistic tracks at ``t`` (by default only the confirmed ones)."""
        out = []
        for tr in self._tracks.values():
            if confirmed_only and not tr.confirmed:
                continue
            if tr.impact is not None and t > tr.impact.t:
                continue  # on the ground: shown no more (kept a moment for its last plots)
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

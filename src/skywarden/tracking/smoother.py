"""Retrospective estimation of one track from all of its detections: what a live filter can't do.

An investigation has the whole window at once, so each track is re-estimated offline:

* :func:`smooth` — a nearly-constant-velocity EKF forward over the track's detections (any
  measurement kind, ``tracking.measurement``), then the Rauch-Tung-Striebel fixed-interval
  smoother backward (Rauch, Tung & Striebel 1965; Bar-Shalom 2001, §8.6): every state is
  estimated from the detections before *and after* it. Detections that fail the gate against
  the forward prediction are left out (a live association error is not carried into the
  record).
* :func:`extend_back` — the track's earliest trace: from the smoothed first state, a filter run
  backward in time (the same CV model with ``dt < 0``) over the stored scans of every sensor
  before the track's start, accepting the best plot inside a gate set lower than a live
  tracker can afford (it only has to explain one track's past, not start tracks from
  clutter), and stopping after ``max_gap_s`` without a hit.
* :func:`joined` — the pieces of a re-linked track as one first guess for smoothing it whole.
* :func:`link_score` — whether track B continues track A (a broken track): A's smoothed end
  state carried to B's start, compared with B's smoothed start state (Mahalanobis, 6 dof).

Which bearings belong to which record (a heard link, another emitter's) is
``tracking.smoother_bearings``.

Pure: detections and times in, arrays out; no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking import kalman
from skywarden.tracking.gating import chi2_gate
from skywarden.tracking.measurement import innovation, measure
from skywarden.tracking.motion import ConstantVelocity

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class SmootherConfig:
    """Motion model, gates and limits of the retrospective estimate."""

    q_h: float = 3.0  # m^2/s^3: dog-legs and climbs of a small drone within a few seconds
    q_v: float = 0.5
    p_gate: float = 0.9999  # outlier gate of the forward pass
    height_hold_s: float = 5.0  # bearings only for this long: hold height and climb rate
    height_prior_m: float = 60.0
    height_prior_sigma_m: float = 80.0
    height_from_fix: bool = True  # the prior's height: the record's own first measured one
    climb_prior_sigma_mps: float = 1.0
    q_manoeuvre: float = 40.0  # m^2/s^3, a step whose plot fails the gate is retried with it
    p_gate_back: float = 0.999  # plots accepted when extending a track back
    max_gap_s: float = 8.0  # stop extending back after this long without a plot
    max_back_s: float = 180.0
    max_speed_mps: float = 60.0  # a track extended back faster than this has gone astray
    heard_share: float = 0.2  # bearings per second of track life for "its link was heard"
    emitter_share: float = 0.5  # ... for "it is an emitter": it claims bearings (explained)
    fix_window_s: float = 2.0  # bearings re-associated only this far from any plot
    lone_s: float = 10.0  # a plot with no other from its sensor this near, amid bearings
    ground_u_m: float = -30.0  # a track extended below this height has gone too far back
    p_link: float = 0.999
    max_link_gap_s: float = 30.0
    max_link_overlap_s: float = 60.0
    q_link: float = 10.0  # m^2/s^3 across a gap: the break is usually a turn
    link_floor_m: float = 25.0
    back_prior_sigma: tuple[float, float, float, float] = (2000.0, 300.0, 20.0, 5.0)  # m, m/s
    iterations: int = 4  # relinearisation passes of the iterated smoother (bearings, polar)
    converged_m: float = 1.0  # ... stopped once no smoothed position moves further


@dataclass(frozen=True)
class Smoothed:
    """The smoothed states of one track, one per distinct detection time (ascending)."""

    t: F64  # (K,)
    X: F64  # (K, 6)
    P: F64  # (K, 6, 6)
    used: tuple[Detection, ...]  # the detections the estimate rests on (gated), in time order

    def state_at(self, t: float) -> tuple[F64, F64]:
        """State at ``t``: between two smoothed states, the cubic through both (positions
        and velocities); outside them, CV prediction from the nearest (covariance: the
        nearest smoothed state at or before ``t``).

        Under the CV model (continuous white-noise acceleration, an integrated Wiener
        process) the smoothed mean between two times with no detection is the cubic Hermite
        interpolant of the smoothed states at both ends (the cubic-spline property of that
        model: Wahba 1978; Bar-Shalom 2001 eq. 6.2.2-12 for its Q), not the earlier state
        carried forward: across a gap where re-linking joined two pieces of a drone that
        turned there, the earlier state carried on runs away from where the later piece
        begins and jumps back at its first plot (264 m in ``tests/test_smoother_link.py``)."""
        k = int(np.searchsorted(self.t, t + 1e-9)) - 1
        k = max(k, 0)
        x = self.X[k].copy()
        if k + 1 < len(self.t) and t > float(self.t[k]):
            h = float(self.t[k + 1] - self.t[k])
            s = (t - float(self.t[k])) / h
            p0, v0 = x[:3].copy(), x[3:6] * h  # copies: x is written below
            p1, v1 = self.X[k + 1][:3], self.X[k + 1][3:6] * h
            x[:3] = (
                (2 * s**3 - 3 * s**2 + 1) * p0
                + (s**3 - 2 * s**2 + s) * v0
                + (-2 * s**3 + 3 * s**2) * p1
                + (s**3 - s**2) * v1
            )
            x[3:6] = (
                (6 * s**2 - 6 * s) * p0
                + (3 * s**2 - 4 * s + 1) * v0
                + (-6 * s**2 + 6 * s) * p1
                + (3 * s**2 - 2 * s) * v1
            ) / h
            return x, self.P[k]
        x[:3] += x[3:6] * (t - float(self.t[k]))
        return x, self.P[k]


def _model(cfg: SmootherConfig) -> ConstantVelocity:
    return ConstantVelocity(q_h=cfg.q_h, q_v=cfg.q_v, name="retro")


def _predict(cv: ConstantVelocity, x: F64, P: F64, dt: float) -> tuple[F64, F64, F64]:
    d = np.array([dt])
    F = cv.F(d)[0]
    Q = cv.Q(np.array([abs(dt)]))[0]
    xp, Pp = kalman.predict(x[None], P[None], F[None], Q[None])
    return xp[0], Pp[0], F


def _score(x: F64, P: F64, det: Detection, lin: F64 | None = None) -> tuple[float, F64, F64, F64]:
    """(d^2, y, H, S) of one detection against one state; ``lin``: the point to linearise
    the measurement about (the last iteration's smoothed state) instead of ``x``."""
    xl = x if lin is None else lin
    h, H = measure(det.kind, xl[None], np.asarray(det.sensor_pos, dtype=float))
    y = innovation(det.kind, np.asarray(det.z, dtype=float)[None], h)
    if lin is not None:
        y = y - (H[0] @ (x - lin))[None]  # y = z - h(x_l) - H(x_l) (x - x_l)
    S = kalman.innovation_cov(P[None], H, np.asarray(det.R, dtype=float)[None])
    d2 = float(kalman.mahalanobis2(y, S)[0])
    return d2, y, H, S


def _update(x: F64, P: F64, det: Detection, y: F64, H: F64, S: F64) -> tuple[F64, F64]:
    xu, Pu = kalman.update(x[None], P[None], y, H, np.asarray(det.R, dtype=float)[None], S=S)
    return xu[0], Pu[0]


def _hold_height(x: F64, P: F64, cfg: SmootherConfig) -> tuple[F64, F64]:
    """A weak pseudo-measurement of height and climb rate where only bearings are heard: a
    direction finder says nothing about either, and without it a bearing-only stretch lets
    them wander off (the same prior the live tracker starts such tracks with)."""
    H = np.zeros((1, 2, 6))
    H[0, 0, 2] = H[0, 1, 5] = 1.0
    R = np.diag([cfg.height_prior_sigma_m**2, cfg.climb_prior_sigma_mps**2])[None]
    y = (np.array([cfg.height_prior_m, 0.0]) - x[[2, 5]])[None]
    S = kalman.innovation_cov(P[None], H, R)
    xu, Pu = kalman.update(x[None], P[None], y, H, R, S=S)
    return xu[0], Pu[0]


def _gate(det: Detection, p: float) -> float:
    return chi2_gate(det.kind.dim, p)


def detection_d2(x: F64, P: F64, det: Detection) -> float:
    """Squared Mahalanobis distance of ``det`` from the state (x, P), in its own measurement
    space (``tracking.measurement``): what every gate of the record compares."""
    return _score(x, P, det)[0]


def gate_d2(det: Detection, p: float) -> float:
    """The chi-square gate of probability ``p`` for ``det``'s measurement dimension."""
    return _gate(det, p)


@dataclass
class _Pass:
    """One filtering pass in time order (or reversed): what the RTS pass needs."""

    ts: list[float]
    xf: list[F64]
    Pf: list[F64]
    xp: list[F64]
    Pp: list[F64]
    F: list[F64]
    used: list[Detection]


def _filter(
    order: Sequence[Detection],
    x0: F64,
    P0: F64,
    cfg: SmootherConfig,
    forced: set[int] | None = None,
    lin: F64 | None = None,
) -> _Pass:
    """EKF over ``order`` (ascending or descending time: the CV model runs with ``dt < 0``
    too). A detection in ``forced`` (``id()``) is applied even outside the gate: the
    other direction's filter accepted it (see :func:`smooth`). ``lin`` (one state per
    distinct time): linearise the measurements about it (the iterated smoother)."""
    cv = _model(cfg)
    man = ConstantVelocity(q_h=cfg.q_manoeuvre, q_v=cfg.q_manoeuvre / 4, name="manoeuvre")
    x, P = np.asarray(x0, dtype=float).copy(), np.asarray(P0, dtype=float).copy()
    t_cur = order[0].t
    p = _Pass([t_cur], [x], [P], [x], [P], [np.eye(6)], [])
    fresh = False  # no detection applied yet at the newest time
    last_height_t = np.inf if order[-1].t < t_cur else -np.inf  # last measured height
    for det in order:
        if abs(det.t - t_cur) > 1e-9:
            xp, Pp, F = _predict(cv, p.xf[-1], p.Pf[-1], det.t - t_cur)
            t_cur = det.t
            p.ts.append(t_cur)
            p.xp.append(xp)
            p.Pp.append(Pp)
            p.F.append(F)
            p.xf.append(xp)
            p.Pf.append(Pp)
            fresh = True
        xl = None if lin is None else lin[len(p.ts) - 1]
        d2, y, H, S = _score(p.xf[-1], p.Pf[-1], det, xl)
        if d2 > _gate(det, cfg.p_gate) and fresh and len(p.ts) > 1:
            # a manoeuvre (the dog-leg a live IMM followed): predict this step again with
            # the manoeuvring process noise, and let the smoother know (its Pp is this one)
            dt = p.ts[-1] - p.ts[-2]
            xp, Pp, _ = _predict(man, p.xf[-2], p.Pf[-2], dt)
            d2m, ym, Hm, Sm = _score(xp, Pp, det, xl)
            if d2m <= _gate(det, cfg.p_gate) or (forced and id(det) in forced and d2m < d2):
                p.xp[-1], p.Pp[-1], p.xf[-1], p.Pf[-1] = xp, Pp, xp, Pp
                d2, y, H, S = d2m, ym, Hm, Sm
        if d2 > _gate(det, cfg.p_gate) and not (forced and id(det) in forced):
            continue
        fresh = False
        p.xf[-1], p.Pf[-1] = _update(p.xf[-1], p.Pf[-1], det, y, H, S)
        p.used.append(det)
        if not det.kind.fixes_position and abs(det.t - last_height_t) > cfg.height_hold_s:
            p.xf[-1], p.Pf[-1] = _hold_height(p.xf[-1], p.Pf[-1], cfg)
        if det.kind.fixes_position and det.kind is not MeasurementKind.XY:
            last_height_t = det.t
    return p


def _rts(p: _Pass) -> tuple[F64, F64]:
    """Rauch-Tung-Striebel backward over a forward pass."""
    Xs = np.array(p.xf)
    Ps = np.array(p.Pf)
    for k in range(len(p.ts) - 2, -1, -1):
        C = p.Pf[k] @ p.F[k + 1].T @ np.linalg.pinv(p.Pp[k + 1])  # C_k = P_k|k F' P_k+1|k^-1
        Xs[k] = p.xf[k] + C @ (Xs[k + 1] - p.xp[k + 1])  # x_k|N = x_k|k + C (x_k+1|N - x_k+1|k)
        Ps[k] = kalman.symmetrize(p.Pf[k] + C @ (Ps[k + 1] - p.Pp[k + 1]) @ C.T)
    return Xs, Ps


def smooth(
    dets: Sequence[Detection],
    x0: F64,
    P0: F64,
    cfg: SmootherConfig | None = None,
    guess: Smoothed | None = None,
) -> Smoothed:
    """Forward EKF from ``(x0, P0)`` at the first detection's time, then RTS backward.

    Outliers are judged from both ends: a detection the forward filter rejects is run past a
    filter going backward in time from the track's end (started at the smoothed last state,
    with ``P0``), and one that filter accepts is kept. A track whose first minutes are
    bearings alone comes out of them with its range kilometres off and a covariance the
    linearisation made too small; its first radar plots then fail the forward gate and the
    record loses the part of its history the live track had. From the ranged end they fit.

    ``guess``: an earlier estimate of the same object (the re-linked pieces' own smoothed
    records, or this track's record before plots were added): the first pass is linearised
    about it and keeps the detections it rests on, instead of starting from the prior alone.
    Then the iterations, and the record is re-gated (:func:`_regate`).
    """
    cfg = cfg or SmootherConfig()
    order = sorted(dets, key=lambda d: d.t)
    if not order:
        raise ValueError("smooth needs at least one detection")
    if guess is not None:
        mine = {id(d) for d in order}
        fw = _filter(
            order,
            x0,
            P0,
            cfg,
            forced={id(d) for d in guess.used if id(d) in mine},
            lin=_states_at(guess, order),
        )
        Xs, Ps = _rts(fw)
    else:
        fw = _filter(order, x0, P0, cfg)
        Xs, Ps = _rts(fw)
        if len(fw.used) < len(order):
            kept = {id(d) for d in fw.used}
            # from the end as the forward pass left it, but broad: that end may be as far
            # off as the plots it rejected (P = P0 + diag(sigma_back^2))
            sb = cfg.back_prior_sigma
            Pb = np.asarray(P0, dtype=float) + np.diag(
                [sb[0] ** 2] * 2 + [sb[1] ** 2] + [sb[2] ** 2] * 2 + [sb[3] ** 2]
            )
            bw = _filter(order[::-1], Xs[-1], Pb, cfg)
            back = {id(d) for d in bw.used}
            if back - kept:
                fw = _filter(order, x0, P0, cfg, forced=kept | back)
                Xs, Ps = _rts(fw)
    fw, Xs, Ps = _iterate(order, x0, P0, cfg, fw, Xs, Ps)
    fw, Xs, Ps = _regate(order, x0, P0, cfg, fw, Xs, Ps)
    fw, Xs, Ps = _height_from_fix(order, x0, P0, cfg, fw, Xs, Ps)
    # times with no accepted detection carry only prediction: keep the smoothed values anyway
    return Smoothed(np.array(fw.ts), Xs, Ps, tuple(fw.used))


def joined(pieces: Sequence[Smoothed]) -> Smoothed:
    """One record from the smoothed records of a re-linked chain's pieces, as a first guess
    for smoothing the chain whole: their states in time order (where two overlap, the
    earlier piece's), bridged across a gap by ``state_at``'s cubic."""
    t: list[float] = []
    X: list[F64] = []
    P: list[F64] = []
    used: list[Detection] = []
    for sm in sorted(pieces, key=lambda p: float(p.t[0])):
        used.extend(sm.used)
        for k, tk in enumerate(sm.t):
            if t and float(tk) <= t[-1] + 1e-9:
                continue
            t.append(float(tk))
            X.append(sm.X[k])
            P.append(sm.P[k])
    used.sort(key=lambda d: d.t)
    return Smoothed(np.array(t), np.array(X), np.array(P), tuple(used))


def _height_from_fix(
    order: Sequence[Detection],
    x0: F64,
    P0: F64,
    cfg: SmootherConfig,
    fw: _Pass,
    Xs: F64,
    Ps: F64,
) -> tuple[_Pass, F64, F64]:
    """A record that begins on bearings and later has a measured height: its bearing-only
    stretch is run again with the height prior (``_hold_height``) centred on the smoothed
    height at the first measured one, not on the fixed ``height_prior_m``. A direction
    finder says nothing of height, and the prior, applied at every bearing, holds the
    record there against what the radar later measures (seed 17's H2 was 52 m low over
    85-108 s, held at 60 m); the drone's own later height is the
    better guess for it than a number for all drones."""
    if not cfg.height_from_fix:
        return fw, Xs, Ps
    hs = [d.t for d in fw.used if d.kind.fixes_position and d.kind is not MeasurementKind.XY]
    if not hs:
        return fw, Xs, Ps
    t_h = min(hs)
    if not any(not d.kind.fixes_position and d.t < t_h - cfg.height_hold_s for d in fw.used):
        return fw, Xs, Ps
    k = int(np.searchsorted(np.array(fw.ts), t_h - 1e-9))
    c2 = replace(cfg, height_prior_m=float(Xs[k][2]))
    rest = sorted(fw.used, key=lambda d: d.t)
    cur = Smoothed(np.array(fw.ts), Xs, Ps, tuple(fw.used))
    return _rerun(order, rest, x0, P0, c2, {id(d) for d in rest}, cur)


def _rerun(
    order: Sequence[Detection],
    rest: Sequence[Detection],
    x0: F64,
    P0: F64,
    cfg: SmootherConfig,
    forced: set[int],
    cur: Smoothed,
) -> tuple[_Pass, F64, F64]:
    """The record run again over ``rest`` (a time-ordered subset of ``order``, whose first
    detection the prior ``(x0, P0)`` belongs to), keeping ``forced``, linearised about the
    record so far ``cur``, then iterated: what a re-gate (``_regate``) and a new height
    prior (``_height_from_fix``) both do once they know which detections and which prior."""
    if rest[0].t > order[0].t:  # the prior belongs to the first detection's time
        x0, P0, _ = _predict(_model(cfg), x0, P0, rest[0].t - order[0].t)
    fw = _filter(rest, x0, P0, cfg, forced=forced, lin=_states_at(cur, rest))
    Xs, Ps = _rts(fw)
    return _iterate(rest, x0, P0, cfg, fw, Xs, Ps)


def _states_at(sm: Smoothed, order: Sequence[Detection]) -> F64:
    """``sm``'s state at each distinct time of ``order`` (what ``_filter``'s ``lin`` wants)."""
    ts = [order[0].t]
    for d in order[1:]:
        if abs(d.t - ts[-1]) > 1e-9:
            ts.append(d.t)
    return np.array([sm.state_at(t)[0] for t in ts])


def _iterate(
    order: Sequence[Detection],
    x0: F64,
    P0: F64,
    cfg: SmootherConfig,
    fw: _Pass,
    Xs: F64,
    Ps: F64,
) -> tuple[_Pass, F64, F64]:
    """Iterated smoother (Bell 1994, Gauss-Newton): the forward pass again with each bearing
    and polar plot linearised about the last smoothed state, not about the forward
    prediction, which on a bearing-only stretch is kilometres off in range; the detections
    kept so far stay kept. ``Xs``, ``Ps``: ``fw``'s smoothed states."""
    if all(d.kind in _LINEAR for d in fw.used):
        return fw, Xs, Ps
    for _ in range(cfg.iterations):
        fw = _filter(order, x0, P0, cfg, forced={id(d) for d in fw.used}, lin=Xs)
        Xn, Ps = _rts(fw)
        moved = float(np.max(np.linalg.norm(Xn[:, :3] - Xs[:, :3], axis=1)))
        Xs = Xn
        if moved < cfg.converged_m:
            break
    return fw, Xs, Ps


def misfits(sm: Smoothed, cfg: SmootherConfig | None = None) -> list[Detection]:
    """The plots the record holds that its own smoothed path does not explain: outside the
    forward gate (``p_gate``) about the smoothed state at their time. A record that holds
    such plots has converged on a path that is not the object's (the iterated smoother
    linearises a near radar plot about a path kilometres off and forced plots do not pull
    it back: night-launch seed 28's H0, 2.2 km off its last plots)."""
    cfg = cfg or SmootherConfig()
    out = []
    for d in sm.used:
        if not d.kind.fixes_position:
            continue
        k = int(np.searchsorted(sm.t, d.t - 1e-9))
        if _score(sm.X[k], sm.P[k], d)[0] > _gate(d, cfg.p_gate):
            out.append(d)
    return out


def _regate(
    order: Sequence[Detection],
    x0: F64,
    P0: F64,
    cfg: SmootherConfig,
    fw: _Pass,
    Xs: F64,
    Ps: F64,
) -> tuple[_Pass, F64, F64]:
    """After the iterations, every kept plot against the smoothed path: if some lie outside
    their gate, the record is run again (once) from the plots that fit, linearised about
    the path. (A path that converged where it does not explain its plots is restarted from
    a better guess by the caller: ``guess`` in :func:`smooth`; this step leaves out what
    the final path cannot explain, an outlier the forced both-ends rule let in.)"""
    cur = Smoothed(np.array(fw.ts), Xs, Ps, tuple(fw.used))
    bad = {id(d) for d in misfits(cur, cfg)}
    if not bad:
        return fw, Xs, Ps
    rest = [d for d in order if id(d) not in bad]
    if len(rest) < 2:
        return fw, Xs, Ps
    return _rerun(order, rest, x0, P0, cfg, {id(d) for d in fw.used} - bad, cur)


_LINEAR = (MeasurementKind.XY, MeasurementKind.XYZ, MeasurementKind.POSITION_ID)


def extend_back(
    first_x: F64,
    first_P: F64,
    t_first: float,
    scans: Sequence[tuple[float, Sequence[Detection]]],
    taken: set[int],
    cfg: SmootherConfig | None = None,
    bearings: bool = True,
) -> list[Detection]:
    """Plots before ``t_first`` that continue the track backward (see the module doc).

    ``scans`` are (t, detections) in ascending time; ``taken`` holds ``id()`` of detections
    that belong to other tracks and are not offered. Returns the accepted plots, earliest
    first. Bearing-only reports keep it going only while two sensors' bearings cross (a fix),
    and are offered at all only with ``bearings`` (a track heard on RF).
    """
    cfg = cfg or SmootherConfig()
    cv = _model(cfg)
    x, P, t_cur = first_x.copy(), first_P.copy(), t_first
    last_fix = t_first
    got: list[Detection] = []
    bearing_t: dict[str, float] = {}  # latest (earliest in time) bearing accepted per sensor
    times = [s[0] for s in scans]
    i = int(np.searchsorted(np.array(times), t_first - 1e-9)) - 1
    while i >= 0:
        t, dets = scans[i]
        i -= 1
        if last_fix - t > cfg.max_gap_s or t_first - t > cfg.max_back_s:
            break
        if not dets:
            continue
        xb, Pb, _ = _predict(cv, x, P, t - t_cur)
        if xb[2] < cfg.ground_u_m:
            break
        best: tuple[float, Detection, F64, F64, F64] | None = None
        for det in dets:
            if id(det) in taken or (not bearings and not det.kind.fixes_position):
                continue
            d2, y, H, S = _score(xb, Pb, det)
            if d2 <= _gate(det, cfg.p_gate_back) and (best is None or d2 < best[0]):
                best = (d2, det, y, H, S)
        if best is None:
            continue
        _, det, y, H, S = best
        xu, Pu = _update(xb, Pb, det, y, H, S)
        if float(np.hypot(xu[3], xu[4])) > cfg.max_speed_mps:
            break  # no small drone flies that fast: the plots taken last were another object's
        x, P = xu, Pu
        t_cur = t
        got.append(det)
        bearing_t.setdefault(det.sensor_id, t)
        bearing_t[det.sensor_id] = t
        crossed = sum(1 for tb in bearing_t.values() if abs(tb - t) <= 1.5) >= 2
        if det.kind.fixes_position or crossed:
            last_fix = t
    got.reverse()
    return got


def link_score(a: Smoothed, b: Smoothed, cfg: SmootherConfig | None = None) -> float | None:
    """Whether B continues A: d^2 (3 dof, positions) of A and B where they meet.

    A gap is bridged from both sides: A's end carried forward and B's start carried back to
    the middle of the gap, each with the manoeuvring ``q_link`` (a track usually breaks where
    the object turned). Carried from A alone, a turn at the break lies wholly on A's end
    velocity, twice the miss of two half-gaps, and B's velocity, which already holds the
    turn, goes unused: night-launch seed 35's H1 turned back at a 3 s break 4.1 km out and its
    take-off piece was not joined to the rest (d^2 above the gate; at the gap's middle
    inside it), so the drone kept no take-off. An overlap (B started while A still ran, a
    duplicate that took over) compares A's smoothed position at B's start. B must end after
    A. None: no link."""
    cfg = cfg or SmootherConfig()
    ta, tb = float(a.t[-1]), float(b.t[0])
    gap = tb - ta
    if gap > cfg.max_link_gap_s or gap < -cfg.max_link_overlap_s or float(b.t[-1]) <= ta:
        return None
    if tb < float(a.t[0]):
        return None
    if gap >= 0:
        cv = ConstantVelocity(q_h=cfg.q_link, q_v=cfg.q_link / 4, name="link")
        xa, Pa, _ = _predict(cv, a.X[-1], a.P[-1], gap / 2.0)
        xb, Pb, _ = _predict(cv, b.X[0], b.P[0], -gap / 2.0)  # the CV model runs backward too
    else:
        xa, Pa = a.state_at(tb)
        xb, Pb = b.X[0], b.P[0]
    d = xa[:3] - xb[:3]
    S = Pa[:3, :3] + Pb[:3, :3] + np.eye(3) * cfg.link_floor_m**2
    d2 = float(d @ np.linalg.solve(S, d))
    return d2 if d2 <= chi2_gate(3, cfg.p_link) else None

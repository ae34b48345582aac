"""Ballistic flight: the motion model of rockets, mortar bombs and shells, and its batch fit.

A round after burn-out flies under gravity and air drag only. With ``p`` the ENU position,
``v`` the velocity and ``k`` the drag parameter of the round (``k = rho C_d A / (2 m)``,
1/m; the air density's change over a few km of altitude is folded into ``k``):

- ``dp/dt = v``
- ``dv/dt = -k |v| v - g e_u``                      (quadratic drag, Bar-Shalom 2001, §2.8)

The parameter vector of a fit is ``theta = [p(3), v(3), k]`` at a reference time ``t_ref``
(the latest plot). The flight is integrated with the classical fourth-order Runge-Kutta
scheme, batched over many ``theta`` at once (the nominal one and its finite-difference
perturbations).

The fit is Gauss-Newton on the plots of one radar (range, azimuth, elevation, range rate),
with a Gaussian prior on ``k`` only (the drag of the round is unknown until the track has
shown its deceleration; the prior spans the drag of artillery rockets and mortar bombs):

- residual ``r_i = z_i - h(theta; t_i)`` (azimuth wrapped to [-pi, pi))
- Jacobian ``J_i = d h(theta; t_i) / d theta`` by forward differences of the integrated flight
- normal equations ``(J' W J + L0) d = J' W r - L0 (theta - theta0)``, ``W = R^-1``,
  ``L0 = diag(0, .., 0, 1/sigma_k^2)`` (Björck 1996, §9.2: Gauss-Newton)
- covariance of the estimate ``Sigma = (J' W J + L0)^-1``

Impact and origin: the fitted state is integrated forward (backward) until its height
reaches the ground (``ground_u``, flat at the site's altitude unless a terrain function is
given); the crossing is interpolated linearly inside the last step. Their covariance is
``C = G Sigma G'`` with ``G`` the forward-difference Jacobian of (e, n, t) at the ground
with respect to ``theta`` (first-order propagation).

Pure functions of arrays; nothing reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import MeasurementKind

F64 = NDArray[np.float64]

G0 = 9.80665  # m/s^2, standard gravity
# forward-difference steps of theta = [e, n, u, ve, vn, vu, k]
_STEP = np.array([0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 2e-6])
NP = 7


@dataclass(frozen=True)
class BallisticConfig:
    """Physics prior and numerics of the ballistic fit."""

    k_prior: float = 1.2e-4  # 1/m: between a 107 mm rocket (~0.9e-4) and a mortar bomb (~2e-4)
    k_sigma: float = 1.0e-4
    k_min: float = 0.0
    k_max: float = 2e-3
    h_max_s: float = 0.5  # Runge-Kutta step (k |v| ~ 0.03/s: the step's error is negligible)
    iterations: int = 3  # Gauss-Newton steps per refit (warm-started from the last fit)
    max_plots: int = 120  # the oldest plots beyond these are thinned (every second one dropped)
    ground_u_m: float = 0.0
    max_flight_s: float = 300.0


def accel(V: F64, k: F64) -> F64:
    """``dv/dt = -k |v| v - g e_u`` for a batch: V (M, 3), k (M, 1) -> (M, 3)."""
    sp = np.sqrt(V[:, 0] * V[:, 0] + V[:, 1] * V[:, 1] + V[:, 2] * V[:, 2])[:, None]
    a = -(k * sp) * V
    a[:, 2] -= G0
    return a


def rk4(X: F64, dt: float) -> F64:
    """One classical Runge-Kutta step of the flight for a batch ``X`` (M, 7); k is constant:
    ``x' = x + dt/6 (k1 + 2 k2 + 2 k3 + k4)``. The position's derivative is the velocity, so
    its stages are the velocities of the stages: ``p' = p + dt/6 (v1 + 2 v2 + 2 v3 + v4)``."""
    k = X[:, 6:7]
    v1 = X[:, 3:6]
    a1 = accel(v1, k)
    v2 = v1 + (0.5 * dt) * a1
    a2 = accel(v2, k)
    v3 = v1 + (0.5 * dt) * a2
    a3 = accel(v3, k)
    v4 = v1 + dt * a3
    a4 = accel(v4, k)
    out = np.empty_like(X)
    out[:, :3] = X[:, :3] + (dt / 6.0) * (v1 + 2.0 * v2 + 2.0 * v3 + v4)
    out[:, 3:6] = v1 + (dt / 6.0) * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    out[:, 6] = X[:, 6]
    return out


def propagate(X: F64, dt: float, h_max: float) -> F64:
    """Integrate the batch ``X`` (M, 7) over ``dt`` seconds (either sign) in equal steps."""
    if dt == 0.0:
        return X.copy()
    n = max(1, math.ceil(abs(dt) / h_max))
    h = dt / n
    for _ in range(n):
        X = rk4(X, h)
    return X


def at_times(X: F64, t_ref: float, times: F64, h_max: float) -> F64:
    """States (M, N, 7) of the batch ``X`` (M, 7) given at ``t_ref`` at each of ``times`` (N,),
    integrating outward from ``t_ref`` in time order both ways."""
    out = np.empty((X.shape[0], times.shape[0], NP))
    order = np.argsort(times)
    back = [i for i in order[::-1] if times[i] <= t_ref]
    fwd = [i for i in order if times[i] > t_ref]
    for seq in (back, fwd):
        cur, tc = X, t_ref
        for i in seq:
            cur = propagate(cur, float(times[i]) - tc, h_max)
            tc = float(times[i])
            out[:, i] = cur
    return out


def radar_h(S: F64, sensor: F64) -> F64:
    """Range, azimuth (clockwise from north), elevation and range rate of states S (..., >=6)
    seen from ``sensor`` (3,): ``r = |d|``, ``az = atan2(d_e, d_n)``, ``el = atan2(d_u, rho)``,
    ``r' = d . v / r`` with ``d = p - s``."""
    d = S[..., :3] - sensor
    rho = np.hypot(d[..., 0], d[..., 1])
    r = np.sqrt(rho * rho + d[..., 2] ** 2)
    az = np.mod(np.arctan2(d[..., 0], d[..., 1]), 2.0 * np.pi)
    el = np.arctan2(d[..., 2], rho)
    rdot = np.einsum("...i,...i->...", d, S[..., 3:6]) / np.maximum(r, 1e-6)
    return np.stack([r, az, el, rdot], axis=-1)


def measure_h(S: F64, sensor: F64, kind: MeasurementKind) -> F64:
    """The plot a state gives: range/azimuth/elevation/range rate (``radar_h``), or the ENU
    position itself for 3-D plots (``xyz``: an ASTERIX CAT048 plot converted about its radar)."""
    if kind is MeasurementKind.XYZ:
        return S[..., :3].copy()
    return radar_h(S, sensor)


def _wrap_az(a: F64, kind: MeasurementKind) -> None:
    """Wrap the azimuth column (1) of residuals in place; nothing for 3-D plots."""
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        a[..., 1] = wrap(a[..., 1])


def wrap(a: F64) -> F64:
    """Angles to [-pi, pi)."""
    out: F64 = np.mod(a + np.pi, 2.0 * np.pi) - np.pi
    return out


def perturbed(theta: F64) -> F64:
    """The batch (8, 7): ``theta`` then ``theta + step_j e_j`` for each parameter j."""
    B = np.repeat(theta[None, :], NP + 1, axis=0)
    B[1:] += np.diag(_STEP)
    return B


@dataclass(frozen=True)
class Fit:
    """A ballistic fit: ``theta`` at ``t_ref``, its covariance, and the fit's quality."""

    t_ref: float
    theta: F64  # (7,)
    cov: F64  # (7, 7)
    chi2: float  # sum of whitened squared residuals
    dof: int


def fit(
    times: F64,
    Z: F64,
    R: F64,
    sensor: F64,
    theta0: F64,
    t_ref: float,
    cfg: BallisticConfig,
    kind: MeasurementKind = MeasurementKind.RANGE_AZ_EL_RADIAL,
) -> Fit:
    """Gauss-Newton fit of ``theta`` at ``t_ref`` to plots ``Z`` (N, m) of ``kind`` at
    ``times`` (N,), noise ``R`` (m, m) or one per plot (N, m, m), started from ``theta0`` (see
    the module docstring for the equations)."""
    # W_i = R_i^-1: one R for all plots of a radar, or one per plot (N, m, m)
    W = np.broadcast_to(np.linalg.inv(R), (times.shape[0], Z.shape[1], Z.shape[1]))
    L0 = np.zeros((NP, NP))
    L0[6, 6] = 1.0 / cfg.k_sigma**2  # prior information on k only
    theta = theta0.copy()
    info = L0.copy()
    chi2 = 0.0
    for _ in range(cfg.iterations):
        B = at_times(perturbed(theta), t_ref, times, cfg.h_max_s)  # (8, N, 7)
        Hs = measure_h(B, sensor, kind)  # (8, N, m)
        r = Z - Hs[0]  # residual r_i = z_i - h(theta; t_i)
        _wrap_az(r, kind)
        D = Hs[1:] - Hs[0][None]  # finite differences of h, (7, N, m)
        _wrap_az(D, kind)
        J = np.transpose(D, (1, 2, 0)) / _STEP  # J_i = dh/dtheta, (N, 4, 7)
        JW = np.einsum("nmj,nmk->njk", J, W)  # J_i' W_i, (N, 7, m)
        info = np.einsum("njk,nkl->jl", JW, J) + L0  # J' W J + L0
        g = np.einsum("njk,nk->j", JW, r)  # J' W r
        g[6] -= L0[6, 6] * (theta[6] - cfg.k_prior)  # - L0 (theta - theta0)
        chi2 = float(np.einsum("nk,nkl,nl->", r, W, r))
        try:
            d = np.linalg.solve(info, g)  # (J' W J + L0) d = J' W r - L0 (theta - theta0)
        except np.linalg.LinAlgError:
            break
        if not np.isfinite(d).all():
            break
        theta = theta + d
        theta[6] = min(max(theta[6], cfg.k_min), cfg.k_max)
        if np.all(np.abs(d) < _STEP):  # below the difference steps: converged
            break
    try:
        cov = np.linalg.inv(info)  # Sigma = (J' W J + L0)^-1
    except np.linalg.LinAlgError:
        cov = np.diag(np.full(NP, 1e6))
    return Fit(t_ref, theta, 0.5 * (cov + cov.T), chi2, max(Z.size - NP, 1))


Terrain = Callable[[F64, F64], F64]
"""Ground height (ENU u, metres) at east/north arrays: a DEM lookup."""


def to_ground(
    theta: F64, t_ref: float, direction: float, cfg: BallisticConfig, terrain: Terrain | None = None
) -> F64 | None:
    """For the batch ``perturbed(theta)``: (8, 4) rows ``[e, n, u, t]`` where each flight meets
    the ground going forward (``direction`` +1) or backward (-1) in time; None when the
    nominal flight does not reach it within ``max_flight_s``."""
    X = perturbed(theta)
    M = X.shape[0]
    h = direction * cfg.h_max_s * 2.0
    out = np.full((M, 4), np.nan)

    def ground(P: F64) -> F64:
        if terrain is None:
            return np.full(P.shape[0], cfg.ground_u_m)
        return terrain(P[:, 0], P[:, 1])

    above = X[:, 2] - ground(X)
    tau = 0.0
    while np.isnan(out[:, 0]).any() and abs(tau) < cfg.max_flight_s:
        Y = rk4(X, h)
        above_y = Y[:, 2] - ground(Y)
        cross = np.isnan(out[:, 0]) & (above_y <= 0.0) & (above > 0.0)
        if cross.any():
            f = above[cross] / (above[cross] - above_y[cross])  # linear inside the last step
            out[cross, :3] = X[cross, :3] + f[:, None] * (Y[cross, :3] - X[cross, :3])
            out[cross, 3] = t_ref + tau + f * h
        # a flight already below ground at the start (a fit through the last plots of an
        # impact) is taken as at the ground now; going back in time it first climbs out
        below0 = np.isnan(out[:, 0]) & (above <= 0.0) & (tau == 0.0) & (direction > 0)
        if below0.any():
            out[below0, :3] = X[below0, :3]
            out[below0, 3] = t_ref
        X, above, tau = Y, above_y, tau + h
    if np.isnan(out[0, 0]):
        return None
    # a perturbed flight that did not arrive: its derivative is taken as zero
    bad = np.isnan(out[:, 0])
    out[bad] = out[0]
    return out


def ground_point(
    fit_: Fit, direction: float, cfg: BallisticConfig, terrain: Terrain | None = None
) -> tuple[F64, F64] | None:
    """``([e, n, u, t], C)`` of the impact (direction +1) or origin (-1) of a fit, with the
    covariance ``C = G Sigma G'`` of (e, n, t) (3, 3); None when it never reaches the ground."""
    pts = to_ground(fit_.theta, fit_.t_ref, direction, cfg, terrain)
    if pts is None:
        return None
    q = pts[:, [0, 1, 3]]
    G = ((q[1:] - q[0][None]) / _STEP[:, None]).T  # d(e, n, t)/d theta, (3, 7)
    C = G @ fit_.cov @ G.T  # C = G Sigma G'
    return pts[0], 0.5 * (C + C.T)

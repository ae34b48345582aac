"""Interacting Multiple Model filtering, batched over tracks.

Blom & Bar-Shalom, "The interacting multiple model algorithm for systems with Markovian
switching coefficients", IEEE TAC 33(8), 1988; Bar-Shalom, Li & Kirubarajan 2001, §11.6.6.
Shapes: ``x`` (N, M, 6), ``P`` (N, M, 6, 6), ``mu`` (N, M) for N tracks and M modes;
``Pi`` (M, M) is the mode transition matrix, ``Pi[i, j] = P(mode j at k | mode i at k-1)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking import kalman
from skywarden.tracking.motion import MotionModel

F64 = NDArray[np.float64]


def transition_matrix(M: int, p_stay: float | Sequence[float], dt: F64) -> F64:
    """Per-track mode transition matrices (N, M, M) for time steps ``dt``.

    Switching is modelled in continuous time: mode ``i`` lasts on average
    ``tau_i = 1/(1 - p_stay_i)`` seconds (``p_stay`` one value for every mode, or one per mode),
    so a longer gap between reports allows more switching: ``Pi_ii(dt) = exp(-dt/tau_i)``, the
    rest shared equally by the other modes. Unequal sojourns give an uneven stationary mode
    distribution: a long-lived quiet mode and a short-lived manoeuvre mode keep the
    manoeuvre mode's weight (and the process noise it mixes in) low until the innovations call
    for it.
    """
    if M == 1:
        return np.ones((dt.shape[0], 1, 1))
    ps = np.broadcast_to(np.asarray(p_stay, dtype=float), (M,))
    tau = 1.0 / np.maximum(1.0 - ps, 1e-6)
    stay = np.exp(-np.maximum(dt, 0.0)[:, None] / tau[None, :])  # (N, M)
    Pi = np.repeat(((1.0 - stay) / (M - 1))[:, :, None], M, axis=2)
    idx = np.arange(M)
    Pi[:, idx, idx] = stay
    return Pi


def mix(x: F64, P: F64, mu: F64, Pi: F64) -> tuple[F64, F64, F64]:
    """IMM interaction step (Bar-Shalom 2001, eqs. 11.6.6-6 to -10).

    ``c_j = sum_i Pi_ij mu_i``;  ``mu_{i|j} = Pi_ij mu_i / c_j``;
    ``x0_j = sum_i mu_{i|j} x_i``;  ``P0_j = sum_i mu_{i|j} (P_i + (x_i - x0_j)(x_i - x0_j)')``.
    Returns ``(x0, P0, c)``; ``c`` is the predicted mode probability.
    """
    N, M, n = x.shape
    c = (mu[:, None, :] @ Pi)[:, 0, :]  # c_j = sum_i Pi_ij mu_i
    c = np.maximum(c, 1e-300)
    w = Pi * mu[:, :, None] / c[:, None, :]  # mu_{i|j}, shape (N, i, j)
    wT = np.swapaxes(w, 1, 2)  # (N, j, i)
    x0 = wT @ x  # x0_j = sum_i mu_{i|j} x_i
    dx = np.swapaxes(x[:, :, None, :] - x0[:, None, :, :], 1, 2)  # (N, j, i, n)
    # P0_j = sum_i mu_{i|j} P_i + sum_i mu_{i|j} dx_ij dx_ij'  (batched matmuls, not einsum:
    # several times faster for these small shapes)
    P0 = (wT @ P.reshape(N, M, n * n)).reshape(N, M, n, n)
    P0 += np.swapaxes(dx * wT[..., None], 2, 3) @ dx
    return x0, P0, c


def predict(
    x: F64,
    P: F64,
    mu: F64,
    dt: F64,
    models: Sequence[MotionModel],
    p_stay: float | Sequence[float],
) -> tuple[F64, F64, F64]:
    """Mix, then the mode-matched time update of each model. Returns ``(x, P, mu_pred)``.

    All modes of all tracks go through one batched ``x = F x``, ``P = F P F' + Q``: F, Q and
    the transition matrix are built once per distinct time step (``_step_matrices``).
    """
    Pi, F, FT, Q = _step_matrices(dt, tuple(models), p_stay)
    x0, P0, c = mix(x, P, mu, Pi)
    xs = (F @ x0[..., None])[..., 0]  # x_j = F_j x0_j
    Ps = F @ P0 @ FT + Q  # P_j = F_j P0_j F_j' + Q_j
    return xs, kalman.symmetrize(Ps), c


def predict_unmixed(
    x: F64, P: F64, mu: F64, dt: F64, models: Sequence[MotionModel], p_stay: float | Sequence[float]
) -> tuple[F64, F64, F64]:
    """``predict`` for states that are the same in every mode (a new plot: ``x`` (N, 6),
    ``P`` (N, 6, 6), ``mu`` (M,)): mixing identical estimates returns them unchanged
    (eq. 11.6.6-8/-9 with every ``x_i`` equal), so only ``c_j = sum_i Pi_ij mu_i`` remains."""
    Pi, F, FT, Q = _step_matrices(dt, tuple(models), p_stay)
    c = np.maximum(mu @ Pi, 1e-300)  # c_j = sum_i Pi_ij mu_i: (M,) or (N, M)
    xs = (F @ x[:, None, :, None])[..., 0]  # x_j = F_j x
    Ps = F @ P[:, None] @ FT + Q  # P_j = F_j P F_j' + Q_j
    mus = np.empty((x.shape[0], len(models)))
    mus[:] = c  # one row per state even when every state shares one step
    return xs, kalman.symmetrize(Ps), mus


_Step = tuple[F64, F64, F64, F64]  # Pi, F, F', Q

# (models, p_stay, dt) -> (Pi (M, M), F, F', Q (M, n, n)): a scan's tracks mostly share one
# time step, and the matrices depend on nothing else; (models, p_stay, (dt1, dt2, ...)) -> the
# same stacked over a few distinct steps (S, M, ...)
_STEP_CACHE: dict[tuple[object, ...], _Step] = {}
_STEP_CACHE_MAX = 4096
_FEW_ROWS = 64


def _step_matrices(
    dt: F64, models: tuple[MotionModel, ...], p_stay: float | Sequence[float]
) -> _Step:
    """``Pi``, ``F``, ``F'``, ``Q`` for per-track steps ``dt`` (N,): shapes (M, ...) when every
    track has the same step (they broadcast over the tracks), else (N, M, ...)."""
    ps = p_stay if isinstance(p_stay, float | int) else tuple(p_stay)
    if dt.shape[0] and bool((dt == dt[0]).all()):
        return _one_step(float(dt[0]), models, ps)
    # the distinct steps; for a few rows (pending plots of two or three scans) a Python set,
    # which beats np.unique's sort by several microseconds at that size
    few = dt.shape[0] <= _FEW_ROWS
    steps = sorted(set(dt.tolist())) if few else np.unique(dt).tolist()
    if len(steps) > 16:  # irregular steps: build them all directly
        Pi = transition_matrix(len(models), p_stay, dt)
        F = np.stack([m.F(dt) for m in models], axis=1)
        Q = np.stack([m.Q(dt) for m in models], axis=1)
        return Pi, F, np.swapaxes(F, -1, -2), Q
    key = (models, ps, tuple(steps))
    stacked = _STEP_CACHE.get(key)
    if stacked is None:
        per = [_one_step(s, models, ps) for s in steps]
        Pi, F, FT, Q = (np.stack([p[k] for p in per]) for k in range(4))
        stacked = _cache(key, (Pi, F, FT, Q))
    inv = np.searchsorted(np.asarray(steps), dt)  # each row's step
    Pi, F, FT, Q = stacked
    return Pi[inv], F[inv], FT[inv], Q[inv]


def _cache(key: tuple[object, ...], value: _Step) -> _Step:
    if len(_STEP_CACHE) >= _STEP_CACHE_MAX:
        _STEP_CACHE.clear()
    _STEP_CACHE[key] = value
    return value


def _one_step(
    dt: float, models: tuple[MotionModel, ...], p_stay: float | tuple[float, ...]
) -> _Step:
    key = (models, p_stay, dt)
    hit = _STEP_CACHE.get(key)
    if hit is None:
        d = np.array([dt])
        F = np.stack([m.F(d)[0] for m in models])
        hit = _cache(
            key,
            (
                transition_matrix(len(models), p_stay, d)[0],
                F,
                np.ascontiguousarray(np.swapaxes(F, -1, -2)),
                np.stack([m.Q(d)[0] for m in models]),
            ),
        )
    return hit


def combine_mean(x: F64, mu: F64) -> F64:
    """The output estimate's mean alone, ``x = sum_m mu_m x_m`` (Bar-Shalom 2001, eq.
    11.6.6-17), for callers that need no covariance."""
    xc: F64 = (mu[:, None, :] @ x)[:, 0, :]
    return xc


def combine(x: F64, P: F64, mu: F64) -> tuple[F64, F64]:
    """Moment-matched output estimate (Bar-Shalom 2001, eq. 11.6.6-17/18)."""
    N, M, n = x.shape
    xc = combine_mean(x, mu)  # sum_m mu_m x_m
    dx = x - xc[:, None, :]
    Pc = (mu[:, None, :] @ P.reshape(N, M, n * n)).reshape(N, n, n)  # sum_m mu_m P_m
    Pc += np.swapaxes(dx * mu[:, :, None], 1, 2) @ dx  # + sum_m mu_m dx_m dx_m'
    return xc, kalman.symmetrize(Pc)


def update_mode_probs(mu_pred: F64, loglik: F64) -> F64:
    """``mu_j = Lambda_j c_j / sum``, computed in the log domain for stability."""
    return update_mode_probs_and_loglik(mu_pred, loglik)[0]


def mixture_loglik(mu_pred: F64, loglik: F64) -> F64:
    """The measurement's log-likelihood under the IMM, ``ln sum_j c_j Lambda_j`` (the track
    score's increment, and the hypothesiser's pair score), by log-sum-exp."""
    return _mixture(mu_pred, loglik)[2]


def _mixture(mu_pred: F64, loglik: F64) -> tuple[F64, F64, F64]:
    """``w_j = c_j Lambda_j / max``, its row sums and ``ln sum_j c_j Lambda_j``."""
    a = np.log(np.maximum(mu_pred, 1e-300)) + loglik
    amax = a.max(axis=1)
    w = np.exp(a - amax[:, None])
    ws = w.sum(axis=1)
    return w, ws, amax + np.log(ws)


def update_mode_probs_and_loglik(mu_pred: F64, loglik: F64) -> tuple[F64, F64]:
    """``update_mode_probs`` and the measurement's combined log-likelihood
    ``ln sum_j c_j Lambda_j`` (the track score's increment), from one log-sum-exp."""
    w, ws, ll = _mixture(mu_pred, loglik)
    mu = np.maximum(w / ws[:, None], 1e-12)
    out: F64 = mu / mu.sum(axis=1, keepdims=True)
    return out, ll

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
    """Mix, then the mode-matched time update of each model. Returns ``(x, P, mu_pred)``."""
    M = len(models)
    Pi = transition_matrix(M, p_stay, dt)
    x0, P0, c = mix(x, P, mu, Pi)
    xs = np.empty_like(x0)
    Ps = np.empty_like(P0)
    for j, m in enumerate(models):
        xs[:, j], Ps[:, j] = kalman.predict(x0[:, j], P0[:, j], m.F(dt), m.Q(dt))
    return xs, Ps, c


def combine(x: F64, P: F64, mu: F64) -> tuple[F64, F64]:
    """Moment-matched output estimate (Bar-Shalom 2001, eq. 11.6.6-17/18)."""
    N, M, n = x.shape
    xc = (mu[:, None, :] @ x)[:, 0, :]  # sum_m mu_m x_m
    dx = x - xc[:, None, :]
    Pc = (mu[:, None, :] @ P.reshape(N, M, n * n)).reshape(N, n, n)  # sum_m mu_m P_m
    Pc += np.swapaxes(dx * mu[:, :, None], 1, 2) @ dx  # + sum_m mu_m dx_m dx_m'
    return xc, kalman.symmetrize(Pc)


def update_mode_probs(mu_pred: F64, loglik: F64) -> F64:
    """``mu_j = Lambda_j c_j / sum``, computed in the log domain for stability."""
    a = np.log(np.maximum(mu_pred, 1e-300)) + loglik
    a -= a.max(axis=1, keepdims=True)
    w = np.exp(a)
    mu = np.maximum(w / w.sum(axis=1, keepdims=True), 1e-12)
    out: F64 = mu / mu.sum(axis=1, keepdims=True)
    return out

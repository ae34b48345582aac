"""Pure Kalman predict/update, batched over a leading axis (filterpy's procedural form).

Shapes: ``x`` (N, n), ``P`` (N, n, n), ``F``/``Q`` (N, n, n), ``y`` (N, m), ``H`` (N, m, n),
``R`` (N, m, m) or (m, m). Symbols as in Bar-Shalom 2001, ch. 5 and filterpy.

``H`` may also be an int ``m``: the selection ``[I_m 0]`` of a linear measurement (plots,
positions), which is applied by slicing: ``H P H' = P[:m, :m]``, ``P H' = P[:, :m]``. Every
product with a one or a zero of ``H`` is exact, so the results are the matrix form's.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

_LOG2PI = float(np.log(2.0 * np.pi))


def predict(x: F64, P: F64, F: F64, Q: F64) -> tuple[F64, F64]:
    """Time update."""
    x = (F @ x[..., None])[..., 0]  # x = F x
    P = F @ P @ np.swapaxes(F, -1, -2) + Q  # P = F P F' + Q
    return x, symmetrize(P)


def innovation_cov(P: F64, H: F64 | int, R: F64) -> F64:
    """``S = H P H' + R``."""
    if isinstance(H, int):
        return P[..., :H, :H] + R  # S = P[:m, :m] + R
    return H @ P @ np.swapaxes(H, -1, -2) + R


def update(
    x: F64, P: F64, y: F64, H: F64 | int, R: F64, S: F64 | None = None, S_inv: F64 | None = None
) -> tuple[F64, F64]:
    """Measurement update with innovation ``y`` (already ``z - h(x)``, angles wrapped).

    Uses the Joseph form ``P = (I - K H) P (I - K H)' + K R K'``, which stays symmetric
    positive-definite even when K is not exactly optimal (an EKF's linearisation or rounding);
    Bucy & Joseph (1968), Bar-Shalom 2001 eq. 5.2.3-18. ``S_inv`` (from ``inv_logdet``) saves
    a second factorisation when the caller already gated with it.
    """
    if S_inv is None:
        if S is None:
            S = innovation_cov(P, H, R)  # S = H P H' + R
        S_inv, _ = inv_logdet(S)
    n = P.shape[-1]
    if isinstance(H, int):
        K = P[..., :, :H] @ S_inv  # K = P H' S^-1
        I_KH = np.broadcast_to(np.eye(n), P.shape).copy()
        I_KH[..., :, :H] -= K  # I - K H: K fills H's first m columns
    else:
        K = P @ np.swapaxes(H, -1, -2) @ S_inv  # K = P H' S^-1
        I_KH = np.eye(n) - K @ H
    x = x + (K @ y[..., None])[..., 0]  # x = x + K y
    P = I_KH @ P @ np.swapaxes(I_KH, -1, -2) + K @ R @ np.swapaxes(K, -1, -2)  # Joseph form
    return x, symmetrize(P)


def inv_logdet(S: F64) -> tuple[F64, F64]:
    """``S^-1`` and ``ln|S|`` of a stack of symmetric positive-definite matrices, once.

    Dimensions 1 and 2 (bearings, plots) in closed form (``S^-1 = adj(S)/|S|``), which is
    several times faster than a batched LAPACK call on such small matrices; larger ones by
    ``numpy.linalg``.
    """
    m = S.shape[-1]
    if m == 1:
        d = S[..., 0, 0]
        return 1.0 / S, np.log(d)
    if m == 2:
        a, b, c = S[..., 0, 0], S[..., 0, 1], S[..., 1, 1]
        det = a * c - b * b  # |S|
        adj = np.empty(S.shape)  # adj(S) = [[c, -b], [-b, a]], written in place (np.stack
        adj[..., 0, 0] = c  # costs more than the four writes at these sizes)
        adj[..., 0, 1] = -b
        adj[..., 1, 0] = adj[..., 0, 1]
        adj[..., 1, 1] = a
        return adj / det[..., None, None], np.log(det)
    _, logdet = np.linalg.slogdet(S)
    return np.asarray(np.linalg.inv(S), dtype=float), np.asarray(logdet, dtype=float)


def mahalanobis2_inv(y: F64, S_inv: F64) -> F64:
    """``d^2 = y' S^-1 y`` for each row, from the inverse."""
    d2: F64 = (y[..., None, :] @ S_inv @ y[..., None])[..., 0, 0]
    return d2


def mahalanobis2(y: F64, S: F64) -> F64:
    """``d^2 = y' S^-1 y`` for each row."""
    return mahalanobis2_inv(y, inv_logdet(S)[0])


def log_likelihood_logdet(d2: F64, logdet: F64, m: int) -> F64:
    """``ln N(y; 0, S) = -(m ln 2pi + ln|S| + d^2) / 2``."""
    return np.asarray(-0.5 * (m * _LOG2PI + logdet + d2), dtype=float)


def log_likelihood(d2: F64, S: F64) -> F64:
    """``ln N(y; 0, S) = -(m ln 2pi + ln|S| + d^2) / 2``."""
    return log_likelihood_logdet(d2, inv_logdet(S)[1], S.shape[-1])


def gate_scores(y: F64, S: F64) -> tuple[F64, F64, F64]:
    """``(d^2, ln N(y; 0, S), S^-1)`` with one factorisation of ``S``."""
    S_inv, logdet = inv_logdet(S)
    d2 = mahalanobis2_inv(y, S_inv)
    return d2, log_likelihood_logdet(d2, logdet, S.shape[-1]), S_inv


def symmetrize(P: F64) -> F64:
    """``(P + P') / 2``: rounding leaves products such as ``F P F'`` a few ulps asymmetric."""
    out: F64 = P + P.swapaxes(-1, -2)
    out *= 0.5
    return out


def block_trace(P: F64, lo: int, k: int) -> F64:
    """Trace of each ``P[lo:lo+k, lo:lo+k]`` (k = 1..3), summed in ``np.trace``'s order: the
    gates' spread bounds, without its generic wrapper (a few microseconds a call)."""
    d = P.diagonal(axis1=-2, axis2=-1)
    out: F64 = d[..., lo].copy()
    for i in range(lo + 1, lo + k):
        out += d[..., i]
    return out

"""Pure Kalman predict/update, batched over a leading axis (filterpy's procedural form).

Shapes: ``x`` (N, n), ``P`` (N, n, n), ``F``/``Q`` (N, n, n), ``y`` (N, m), ``H`` (N, m, n),
``R`` (N, m, m) or (m, m). Symbols as in Bar-Shalom 2001, ch. 5 and filterpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

_LOG2PI = float(np.log(2.0 * np.pi))


def predict(x: F64, P: F64, F: F64, Q: F64) -> tuple[F64, F64]:
    """Time update."""
    x = np.einsum("nij,nj->ni", F, x)  # x = F x
    P = F @ P @ np.swapaxes(F, -1, -2) + Q  # P = F P F' + Q
    return x, symmetrize(P)


def innovation_cov(P: F64, H: F64, R: F64) -> F64:
    """``S = H P H' + R``."""
    return H @ P @ np.swapaxes(H, -1, -2) + R


def update(x: F64, P: F64, y: F64, H: F64, R: F64, S: F64 | None = None) -> tuple[F64, F64]:
    """Measurement update with innovation ``y`` (already ``z - h(x)``, angles wrapped).

    Uses the Joseph form ``P = (I - K H) P (I - K H)' + K R K'``, which stays symmetric
    positive-definite even when K is not exactly optimal (an EKF's linearisation or rounding);
    Bucy & Joseph (1968), Bar-Shalom 2001 eq. 5.2.3-18.
    """
    if S is None:
        S = innovation_cov(P, H, R)  # S = H P H' + R
    K = np.swapaxes(np.linalg.solve(S, H @ P), -1, -2)  # K = P H' S^-1  (S, P symmetric)
    x = x + np.einsum("nij,nj->ni", K, y)  # x = x + K y
    I_KH = np.eye(P.shape[-1])[None] - K @ H
    R_b = np.broadcast_to(R, S.shape)
    P = I_KH @ P @ np.swapaxes(I_KH, -1, -2) + K @ R_b @ np.swapaxes(K, -1, -2)  # Joseph form
    return x, symmetrize(P)


def mahalanobis2(y: F64, S: F64) -> F64:
    """``d^2 = y' S^-1 y`` for each row."""
    d2: F64 = np.einsum("ni,ni->n", y, np.linalg.solve(S, y[..., None])[..., 0])
    return d2


def log_likelihood(d2: F64, S: F64) -> F64:
    """``ln N(y; 0, S) = -(m ln 2pi + ln|S| + d^2) / 2``."""
    m = S.shape[-1]
    _, logdet = np.linalg.slogdet(S)
    return np.asarray(-0.5 * (m * _LOG2PI + logdet + d2), dtype=float)


def symmetrize(P: F64) -> F64:
    return np.asarray(0.5 * (P + np.swapaxes(P, -1, -2)), dtype=float)

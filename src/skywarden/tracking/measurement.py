"""Measurement functions h(x) and their Jacobians H(x), batched over states.

``measure(kind, X, s)`` returns the predicted measurements ``h`` (N, m) and Jacobians
``H`` (N, m, 6) of N states ``X`` (N, 6) seen by a sensor at ENU position ``s``. Linear kinds
(``xy``, ``xyz``, ``position_id``) have a constant H; the angular kinds are linearised at X
(the EKF: Bar-Shalom 2001, §10.3). With ``d = p - s``, ``rho = |d_en|``, ``r = |d|``:

- range ``r``; azimuth ``atan2(d_e, d_n)`` (clockwise from north);
  elevation ``atan2(d_u, rho)``; range rate ``r' = d . v / r`` (+ receding).
- ``d az/d(e, n) = (d_n, -d_e) / rho^2``
- ``d el/d(e, n, u) = (-d_e d_u, -d_n d_u, rho^2) / (rho r^2)``
- ``d r'/dp = (v - r' d/r) / r``, ``d r'/dv = d / r``

The radial speed is used as information, not discarded: it observes the line-of-sight
velocity from the first plot on, which speeds up initiation and separates crossing targets.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import MeasurementKind

F64 = NDArray[np.float64]

_MIN_RHO = 1e-3


def measure(kind: MeasurementKind, X: F64, s: F64) -> tuple[F64, F64]:
    """Predicted measurement and Jacobian for each state (see module docstring)."""
    N = X.shape[0]
    if kind is MeasurementKind.XY:
        H = np.zeros((N, 2, 6))
        H[:, 0, 0] = H[:, 1, 1] = 1.0
        return X[:, :2].copy(), H
    if kind is MeasurementKind.XYZ:
        H = np.zeros((N, 3, 6))
        H[:, 0, 0] = H[:, 1, 1] = H[:, 2, 2] = 1.0
        return X[:, :3].copy(), H
    if kind is MeasurementKind.POSITION_ID:
        return X.copy(), np.broadcast_to(np.eye(6), (N, 6, 6)).copy()

    d = X[:, :3] - s[None, :]
    de, dn, du = d[:, 0], d[:, 1], d[:, 2]
    rho2 = np.maximum(de * de + dn * dn, _MIN_RHO**2)
    rho = np.sqrt(rho2)
    r2 = rho2 + du * du
    az = np.mod(np.arctan2(de, dn), 2.0 * np.pi)
    # Jacobian rows written in place (no intermediate stacks: these run for every candidate
    # pair and every mode of every update, on a few dozen rows, where call count is the cost)
    m = kind.dim
    H = np.zeros((N, m, 6))
    row = 1 if kind is MeasurementKind.RANGE_AZ_EL_RADIAL else 0
    H[:, row, 0] = dn / rho2  # d az / de
    H[:, row, 1] = -de / rho2  # d az / dn
    if kind is MeasurementKind.AZ:
        return az[:, None], H
    el = np.arctan2(du, rho)
    rr2 = rho * r2
    H[:, row + 1, 0] = -de * du / rr2  # d el / d(e, n, u)
    H[:, row + 1, 1] = -dn * du / rr2
    H[:, row + 1, 2] = rho / r2
    if kind is MeasurementKind.AZ_EL:
        return np.stack([az, el], axis=1), H
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        r = np.sqrt(r2)
        v = X[:, 3:6]
        u = d / r[:, None]  # line-of-sight unit vector
        rdot = (u * v).sum(axis=1)
        H[:, 0, 0:3] = u  # d r / dp
        H[:, 3, 0:3] = (v - rdot[:, None] * u) / r[:, None]  # d r' / dp
        H[:, 3, 3:6] = u  # d r' / dv
        h = np.empty((N, 4))
        h[:, 0], h[:, 1], h[:, 2], h[:, 3] = r, az, el, rdot
        return h, H
    raise ValueError(f"unsupported measurement kind {kind}")


# kinds whose H is a selection, [I_m 0]: the state's first m components measured directly
_SELECTED = {MeasurementKind.XY: 2, MeasurementKind.XYZ: 3, MeasurementKind.POSITION_ID: 6}


def predict_measurement(kind: MeasurementKind, X: F64, s: F64) -> tuple[F64, F64 | int]:
    """``measure`` for the filter's hot path: for a linear kind, ``h`` is a read-only view and
    ``H`` is given as the selection size ``m`` (H = [I_m 0]), so ``kalman`` slices instead
    of multiplying by a matrix of ones and zeros (the same numbers; fewer numpy calls)."""
    m = _SELECTED.get(kind)
    if m is not None:
        return X[:, :m], m
    return measure(kind, X, s)


def innovation(kind: MeasurementKind, z: F64, h: F64) -> F64:
    """``y = z - h(x)`` with angular rows wrapped to [-pi, pi). Shapes (..., m)."""
    y = z - h
    for row in kind.angular_rows:
        y[..., row] = (y[..., row] + np.pi) % (2.0 * np.pi) - np.pi
    return y

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
    r = np.sqrt(r2)
    az = np.mod(np.arctan2(de, dn), 2.0 * np.pi)
    el = np.arctan2(du, rho)
    # d az / d(e, n)
    daz = np.stack([dn / rho2, -de / rho2], axis=1)
    # d el / d(e, n, u)
    del_ = np.stack([-de * du / (rho * r2), -dn * du / (rho * r2), rho / r2], axis=1)

    if kind is MeasurementKind.AZ:
        H = np.zeros((N, 1, 6))
        H[:, 0, 0:2] = daz
        return az[:, None], H
    if kind is MeasurementKind.AZ_EL:
        H = np.zeros((N, 2, 6))
        H[:, 0, 0:2] = daz
        H[:, 1, 0:3] = del_
        return np.stack([az, el], axis=1), H
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        v = X[:, 3:6]
        u = d / r[:, None]  # line-of-sight unit vector
        rdot = np.einsum("ij,ij->i", u, v)
        H = np.zeros((N, 4, 6))
        H[:, 0, 0:3] = u  # d r / dp
        H[:, 1, 0:2] = daz
        H[:, 2, 0:3] = del_
        H[:, 3, 0:3] = (v - rdot[:, None] * u) / r[:, None]  # d r' / dp
        H[:, 3, 3:6] = u  # d r' / dv
        return np.stack([r, az, el, rdot], axis=1), H
    raise ValueError(f"unsupported measurement kind {kind}")


def innovation(kind: MeasurementKind, z: F64, h: F64) -> F64:
    """``y = z - h(x)`` with angular rows wrapped to [-pi, pi). Shapes (..., m)."""
    y = z - h
    for row in kind.angular_rows:
        y[..., row] = (y[..., row] + np.pi) % (2.0 * np.pi) - np.pi
    return y

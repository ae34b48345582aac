"""Track initiation: a first state and covariance from one detection, or from crossing bearings.

Single-point initiation (Bar-Shalom 2001, §5.5.3; Blackman & Popoli 1999, §3.4): the position
and its covariance come from the measurement; the unknown velocity gets a zero mean and a
variance ``sigma_v^2`` that covers the targets of interest (small drones, birds, light
aircraft), so the second plot's gate is wide enough for any of them. A radar plot's range
rate fixes the line-of-sight velocity component at once: ``v = r' u`` with variance
``sigma_r'^2`` along ``u`` and ``sigma_v^2`` across it.

Polar to Cartesian covariance: first-order propagation ``P = J R J'`` with J the Jacobian of
``p = s + r (cos el sin az, cos el cos az, sin el)`` (the standard converted-measurement
approximation, adequate where ``r sigma_az`` is small against the gate).

Passive initiation from two bearing lines (RF direction finders, acoustic arrays): the
least-squares crossing point with information ``J = sum_i n_i n_i' / (r_i sigma_i)^2``
(n_i the unit normal to bearing line i, r_i the distance along it), refused when the lines
cross at a shallow angle or behind either sensor.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import MeasurementKind

F64 = NDArray[np.float64]


def init_from_measurements(
    kind: MeasurementKind, Z: F64, R: F64, s: F64, sigma_v: float, sigma_vz: float
) -> tuple[F64, F64]:
    """States (K, 6) and covariances (K, 6, 6) from K position-fixing detections of one sensor."""
    K = Z.shape[0]
    x = np.zeros((K, 6))
    P = np.zeros((K, 6, 6))
    vel_var = np.diag([sigma_v**2, sigma_v**2, sigma_vz**2])
    if kind is MeasurementKind.XY:
        x[:, :2] = Z
        P[:, :2, :2] = R
        P[:, 2, 2] = 1.0  # 2-D scene: altitude held at 0
        P[:, 3:6, 3:6] = vel_var
        P[:, 5, 5] = 1e-4
    elif kind is MeasurementKind.XYZ:
        x[:, :3] = Z
        P[:, :3, :3] = R
        P[:, 3:6, 3:6] = vel_var
    elif kind is MeasurementKind.POSITION_ID:
        x[:] = Z
        P[:] = R
    elif kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        r, az, el, rdot = Z[:, 0], Z[:, 1], Z[:, 2], Z[:, 3]
        ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
        u = np.stack([ce * sa, ce * ca, se], axis=1)  # line of sight
        x[:, :3] = s[None, :] + r[:, None] * u
        J = np.zeros((K, 3, 3))  # d p / d(r, az, el)
        J[:, :, 0] = u
        J[:, :, 1] = np.stack([r * ce * ca, -r * ce * sa, np.zeros(K)], axis=1)
        J[:, :, 2] = np.stack([-r * se * sa, -r * se * ca, r * ce], axis=1)
        P[:, :3, :3] = J @ R[:3, :3] @ np.swapaxes(J, 1, 2)
        x[:, 3:6] = rdot[:, None] * u
        uu = np.einsum("ki,kj->kij", u, u)
        proj = np.eye(3)[None] - uu  # onto the plane across the line of sight
        P[:, 3:6, 3:6] = proj @ vel_var[None] @ proj + R[3, 3] * uu
    else:
        raise ValueError(f"{kind} does not fix a position")
    return x, P


def triangulate(
    s1: F64,
    az1: float,
    sig1: float,
    s2: F64,
    az2: float,
    sig2: float,
    min_angle_rad: float = math.radians(8.0),
    max_range_m: float = 10_000.0,
) -> tuple[F64, F64] | None:
    """Horizontal crossing of two bearing lines; ``(p_en (2,), P_en (2, 2))`` or None.

    Bearings are clockwise from north at sensor positions ``s1``, ``s2`` (ENU, only e/n used).
    """
    d1 = np.array([math.sin(az1), math.cos(az1)])
    d2 = np.array([math.sin(az2), math.cos(az2)])
    cross = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(cross) < math.sin(min_angle_rad):
        return None
    # s1 + a d1 = s2 + b d2  ->  [d1, -d2] [a, b]' = s2 - s1
    A = np.column_stack([d1, -d2])
    a, b = np.linalg.solve(A, (s2[:2] - s1[:2]))
    if a <= 0 or b <= 0 or a > max_range_m or b > max_range_m:
        return None
    p = s1[:2] + a * d1
    n1 = np.array([d1[1], -d1[0]])
    n2 = np.array([d2[1], -d2[0]])
    J = np.outer(n1, n1) / (a * sig1) ** 2 + np.outer(n2, n2) / (b * sig2) ** 2
    return p, np.linalg.inv(J)

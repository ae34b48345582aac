"""Zone geometry over time: when will a track enter a zone, and how sure are we.

``time_to_enter(zone, p, v, horizon)`` extrapolates the track on a straight line (the
closest-point-of-approach model every air-defence picture uses for short horizons) and
returns the first time ``tau >= 0`` at which the position is inside the zone's footprint and
between its floor and ceiling, or None within the horizon. For a circle the horizontal entry
solves ``|p + v tau - c| = r + margin`` in closed form; polygons are checked by stepping.

``margin_m`` widens the zone by the track's own position uncertainty (a few sigma), so a
track whose error ellipse reaches the zone counts: warning early is the point.
"""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.site import ZoneSpec
from skywarden.core.types import Vec


def _vertical_window(
    zone: ZoneSpec, z: float, vz: float, horizon: float
) -> tuple[float, float] | None:
    """Interval of tau in [0, horizon] during which floor <= z + vz tau <= ceiling."""
    lo, hi = 0.0, horizon
    for bound, below in ((zone.floor_m, True), (zone.ceiling_m, False)):
        if not math.isfinite(bound):
            continue
        # below=True: need z + vz tau >= bound ; else z + vz tau <= bound
        if abs(vz) < 1e-9:
            ok = z >= bound if below else z <= bound
            if not ok:
                return None
            continue
        tb = (bound - z) / vz
        if (vz > 0) == below:
            lo = max(lo, tb)
        else:
            hi = min(hi, tb)
    return (lo, hi) if lo <= hi else None


def time_to_enter(
    zone: ZoneSpec, p: Vec, v: Vec, horizon_s: float, margin_m: float = 0.0
) -> float | None:
    """First tau in [0, horizon] with the extrapolated track inside the (widened) zone."""
    win = _vertical_window(zone, float(p[2]), float(v[2]), horizon_s)
    if win is None:
        return None
    t0, t1 = win
    if zone.center_enu is not None and zone.radius_m is not None:
        r = zone.radius_m + margin_m
        dx = float(p[0]) - zone.center_enu[0]
        dy = float(p[1]) - zone.center_enu[1]
        vx, vy = float(v[0]), float(v[1])
        a = vx * vx + vy * vy
        c = dx * dx + dy * dy - r * r
        if c <= 0:
            ins, ins_end = 0.0, math.inf
        else:
            if a < 1e-12:
                return None
            b = 2 * (dx * vx + dy * vy)
            disc = b * b - 4 * a * c
            if disc < 0:
                return None
            sq = math.sqrt(disc)
            ins, ins_end = (-b - sq) / (2 * a), (-b + sq) / (2 * a)
            if ins_end < 0:
                return None
        lo, hi = max(t0, ins), min(t1, ins_end)
        return lo if lo <= hi else None
    step = 1.0
    for tau in np.arange(t0, t1 + step, step):
        q = p + v * tau
        if zone.horizontal_distance(float(q[0]), float(q[1])) <= margin_m:
            return float(tau)
    return None

"""Zone geometry over time: when will a track enter a zone, and how sure are we.

``time_to_enter(zone, p, v, horizon)`` extrapolates the track on a straight line (the
closest-point-of-approach model every air-defence picture uses for short horizons) and
returns the first time ``tau >= 0`` at which the position is inside the zone's footprint and
between its floor and ceiling, or None within the horizon. For a circle the horizontal entry
solves ``|p + v tau - c| = r + margin`` in closed form. A polygon widened by the margin is
the union of the polygon and one capsule (the set of points within ``margin`` of a segment)
per edge; a straight path that starts outside can only get in through a capsule, so the
entry time is the earliest entry into any capsule, each of which is the union of a rectangle
(slab test) and two discs (quadratics). Exact, where stepping the path second by second cost
up to 240 point-to-polygon distances per track per frame and was late by up to a step.

``margin_m`` widens the zone by the track's own position uncertainty (a few sigma), so a
track whose error ellipse reaches the zone counts: warning early is the point.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from skywarden.core.site import ZoneSpec
from skywarden.core.types import Vec

F64 = NDArray[np.float64]


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
    px, py, vx, vy = float(p[0]), float(p[1]), float(v[0]), float(v[1])
    if zone.center_enu is not None and zone.radius_m is not None:
        cx, cy = zone.center_enu
        r = zone.radius_m + margin_m
        dx, dy = px - cx, py - cy
        if dx * dx + dy * dy - r * r <= 0:  # inside now
            return t0
        tau = _disc_entry(px, py, vx, vy, cx, cy, r, t0)
        return tau if tau is not None and tau <= t1 else None
    assert zone.polygon_enu is not None
    if zone.horizontal_distance(px + vx * t0, py + vy * t0) <= margin_m:
        return t0
    best = math.inf
    poly = zone.polygon_enu
    for i in range(len(poly)):
        (ax, ay), (bx, by) = poly[i], poly[(i + 1) % len(poly)]
        tau = _capsule_entry(px, py, vx, vy, ax, ay, bx, by, max(margin_m, 0.0), t0)
        if tau is not None and tau < best:
            best = tau
    return best if best <= t1 else None


def _disc_entry(
    px: float, py: float, vx: float, vy: float, cx: float, cy: float, r: float, t0: float
) -> float | None:
    """First tau >= t0 with ``|p + v tau - c| <= r`` (None if never)."""
    dx, dy = px - cx, py - cy
    a = vx * vx + vy * vy
    b = 2.0 * (dx * vx + dy * vy)
    c = dx * dx + dy * dy - r * r
    if a < 1e-12:
        return t0 if c <= 0 else None
    disc = b * b - 4.0 * a * c
    if disc < 0:
        return None
    sq = math.sqrt(disc)
    lo, hi = (-b - sq) / (2.0 * a), (-b + sq) / (2.0 * a)
    if hi < t0:
        return None
    return max(lo, t0)


def _capsule_entry(
    px: float,
    py: float,
    vx: float,
    vy: float,
    ax: float,
    ay: float,
    bx: float,
    by: float,
    r: float,
    t0: float,
) -> float | None:
    """First tau >= t0 with the path within ``r`` of segment AB: the earliest entry into
    the rectangle along AB (half-width r) or either end disc; the capsule is convex, so the
    path meets it in one interval whose start is the earliest of the three entries."""
    hits = [h for h in (_disc_entry(px, py, vx, vy, ax, ay, r, t0),
                        _disc_entry(px, py, vx, vy, bx, by, r, t0)) if h is not None]  # fmt: skip
    ex, ey = bx - ax, by - ay
    length = math.hypot(ex, ey)
    if length > 0:
        ux, uy = ex / length, ey / length  # along the edge
        # slab test in edge coordinates: s = along in [0, L], w = across in [-r, r]
        lo, hi = t0, math.inf
        for q0, dq, qmin, qmax in (
            ((px - ax) * ux + (py - ay) * uy, vx * ux + vy * uy, 0.0, length),
            (-(px - ax) * uy + (py - ay) * ux, -vx * uy + vy * ux, -r, r),
        ):
            if abs(dq) < 1e-12:
                if not qmin <= q0 <= qmax:
                    lo, hi = math.inf, -math.inf
                    break
                continue
            ta, tb = (qmin - q0) / dq, (qmax - q0) / dq
            lo, hi = max(lo, min(ta, tb)), min(hi, max(ta, tb))
        if lo <= hi:
            hits.append(lo)
    return min(hits) if hits else None


def entry_chance(zone: ZoneSpec, x: F64, P: F64) -> float:
    """The chance that a track on a straight line, whose state is known only to ``P``,
    really passes through the zone's footprint (issue 19): not whether the line does.

    The straight line's miss distance ``m`` (signed, across the track's heading from the
    zone's centre at the closest point of approach, time ``tau``) is one draw of a normal
    whose sd ``s`` is the across-track position error carried to ``tau``:
    ``s^2 = w' (Ppp + tau (Ppv + Pvp) + tau^2 Pvv) w`` with ``w`` the horizontal unit vector
    across the heading (the constant-velocity propagation ``F P F'``, ``F = [[I, tau I],
    [0, I]]``). The path meets a zone of half-width ``r`` when the true miss lies in
    ``[-r, r]``: ``Phi((r - m) / s) - Phi((-r - m) / s)`` (a normal's mass on an interval;
    the one-dimensional form of the collision probability used for conjunctions). A disc's
    ``r`` is its radius, a polygon's the circumscribing radius about its centroid (generous:
    a polygon is never suppressed more than its enclosing disc would be). A far entry
    predicted from a velocity known to +-6 m/s spreads over a kilometre at 188 s, so its
    chance is small however straight the line; the same track 30 s out is 180 m wide.
    """
    cx, cy = zone.centroid
    if zone.center_enu is not None and zone.radius_m is not None:
        r = zone.radius_m
    else:
        assert zone.polygon_enu is not None
        r = max(math.hypot(px - cx, py - cy) for px, py in zone.polygon_enu)
    de, dn = float(x[0]) - cx, float(x[1]) - cy
    ve, vn = float(x[3]), float(x[4])
    speed = math.hypot(ve, vn)
    if speed < 1e-6:
        return 1.0 if math.hypot(de, dn) <= r else 0.0
    ue, un = ve / speed, vn / speed  # along the heading
    we, wn = -un, ue  # across it
    tau = max(-(de * ue + dn * un) / speed, 0.0)
    m = de * we + dn * wn  # the across-track offset is the same all along the line
    w = np.array([we, wn])
    Ppp = P[np.ix_([0, 1], [0, 1])]
    Ppv = P[np.ix_([0, 1], [3, 4])]
    Pvv = P[np.ix_([3, 4], [3, 4])]
    var = float(w @ (Ppp + tau * (Ppv + Ppv.T) + tau * tau * Pvv) @ w)
    if var <= 1e-12:
        return 1.0 if abs(m) <= r else 0.0
    s = math.sqrt(var)
    return _phi((r - m) / s) - _phi((-r - m) / s)


def _phi(z: float) -> float:
    """Standard normal cumulative distribution."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))

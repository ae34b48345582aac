"""Zone edits as GeoJSON: validate an operator's Feature and turn it into a ``core.site.ZoneSpec``.

Input is a GeoJSON Feature (RFC 7946) whose ``properties`` carry ``id``, ``kind``
(``protected``/``warning``) and optional ``floor_m``/``ceiling_m`` (metres above the site
origin). The shape is taken from, in this order:

1. ``properties.center_enu`` + ``properties.radius_m``: a circle in site ENU metres;
2. ``properties.polygon_enu``: a polygon in site ENU metres;
3. ``geometry`` Polygon (outer ring, ``[lon, lat]``; holes are refused) converted to ENU;
4. ``geometry`` Point plus ``properties.radius_m``: a circle about that point.

So a Feature read from ``GET /api/zones`` (which carries both the exact ENU shape and a
lon/lat outline) round-trips exactly, and a polygon drawn on any GeoJSON tool works too.
Refused with a reason (HTTP 422): fewer than 3 distinct vertices, a self-intersecting ring,
zero area, a vertex more than ``MAX_EXTENT_M`` from the origin, floor above ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import ZoneKind, ZoneSpec

MAX_EXTENT_M = 100_000.0
MAX_VERTICES = 1000


class ZoneInputError(ValueError):
    """The Feature is not a usable zone; the message says why."""


def _point(v: Any, what: str) -> tuple[float, float]:
    if not isinstance(v, list | tuple) or len(v) < 2:
        raise ZoneInputError(f"{what} must be [x, y]")
    x, y = v[0], v[1]
    for c in (x, y):
        if isinstance(c, bool) or not isinstance(c, int | float) or not math.isfinite(c):
            raise ZoneInputError(f"{what} must hold finite numbers")
    return float(x), float(y)


def _in_extent(e: float, n: float, what: str) -> None:
    if math.hypot(e, n) > MAX_EXTENT_M:
        raise ZoneInputError(f"{what} is more than {MAX_EXTENT_M / 1000:.0f} km from the site")


def _segments_cross(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    def orient(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2 = orient(c, d, a), orient(c, d, b)
    d3, d4 = orient(a, b, c), orient(a, b, d)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def check_ring(ring: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """The ring without a repeated closing vertex; raises on a degenerate or crossing ring."""
    pts = list(ring)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    if len(set(pts)) < 3:
        raise ZoneInputError("a polygon needs at least 3 distinct vertices")
    if len(pts) > MAX_VERTICES:
        raise ZoneInputError(f"a polygon may have at most {MAX_VERTICES} vertices")
    n = len(pts)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue
            if _segments_cross(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]):
                raise ZoneInputError("the polygon's edges cross each other")
    area2 = sum(
        pts[i][0] * pts[(i + 1) % len(pts)][1] - pts[(i + 1) % len(pts)][0] * pts[i][1]
        for i in range(len(pts))
    )
    if abs(area2) / 2.0 < 1.0:
        raise ZoneInputError("the polygon encloses no area (under 1 m²)")
    return tuple(pts)


def zone_from_feature(feature: dict[str, Any], origin: GeoOrigin) -> ZoneSpec:
    props = feature.get("properties") or {}
    zid = props.get("id")
    if not isinstance(zid, str) or not zid:
        raise ZoneInputError("properties.id is required")
    try:
        kind = ZoneKind(str(props.get("kind")))
    except ValueError:
        raise ZoneInputError("properties.kind must be protected or warning") from None
    floor = props.get("floor_m")
    ceiling = props.get("ceiling_m")
    floor_m = -math.inf if floor is None else float(floor)
    ceiling_m = math.inf if ceiling is None else float(ceiling)
    if floor_m >= ceiling_m:
        raise ZoneInputError("floor_m must be below ceiling_m")
    radius = props.get("radius_m")
    geom = feature.get("geometry") or {}
    if props.get("center_enu") is not None and radius is not None:
        c = _point(props["center_enu"], "properties.center_enu")
        _in_extent(*c, "the centre")
        return ZoneSpec(
            zid, kind, center_enu=c, radius_m=float(radius), floor_m=floor_m, ceiling_m=ceiling_m
        )
    if props.get("polygon_enu") is not None:
        raw = props["polygon_enu"]
        if not isinstance(raw, list):  # pragma: no cover - the schema already says so
            raise ZoneInputError("properties.polygon_enu must be a list of [e, n]")
        ring = [_point(p, "a polygon_enu vertex") for p in raw]
        for p in ring:
            _in_extent(*p, "a vertex")
        return ZoneSpec(
            zid, kind, polygon_enu=check_ring(ring), floor_m=floor_m, ceiling_m=ceiling_m
        )
    gtype = geom.get("type")
    if gtype == "Polygon":
        rings = geom.get("coordinates")
        if not isinstance(rings, list) or len(rings) != 1 or not isinstance(rings[0], list):
            raise ZoneInputError("a Polygon zone has exactly one ring (no holes)")
        ring = [_enu(_point(p, "a coordinate"), origin) for p in rings[0]]
        return ZoneSpec(
            zid, kind, polygon_enu=check_ring(ring), floor_m=floor_m, ceiling_m=ceiling_m
        )
    if gtype == "Point" and radius is not None:
        c = _enu(_point(geom.get("coordinates"), "the Point"), origin)
        return ZoneSpec(
            zid, kind, center_enu=c, radius_m=float(radius), floor_m=floor_m, ceiling_m=ceiling_m
        )
    raise ZoneInputError(
        "give a Polygon geometry, a Point with properties.radius_m, or properties.center_enu + "
        "radius_m / properties.polygon_enu"
    )


def _enu(lonlat: tuple[float, float], origin: GeoOrigin) -> tuple[float, float]:
    lon, lat = lonlat
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ZoneInputError("coordinates are [lon, lat] in degrees (lon ±180, lat ±90)")
    enu = origin.to_enu(lat, lon, origin.alt_m)
    e, n = float(enu[0]), float(enu[1])
    _in_extent(e, n, "a vertex")
    return round(e, 3), round(n, 3)

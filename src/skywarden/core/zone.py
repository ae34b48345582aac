"""Protected and warning zones: the value, its geometry and its one codec.

A zone is written the same way wherever it is stored or sent (site file, skywarden.toml,
journal site edits, the service's zone edits): :func:`zone_to_dict` and
:func:`parse_zone` are inverse of each other, so a zone that went through an operator's edit
and the journal comes back with the same floor, ceiling and policy it had. Keys::

    id = "residence"
    kind = "protected"       # protected | warning
    center_enu_m = [0, 0]    # a circle ...
    radius_m = 150
    # polygon_enu_m = [[e, n], ...] or geojson = { type = "Polygon", coordinates = [...] }
    floor_m = 0              # default 0 (ground at the origin); null: unbounded below
    ceiling_m = 300          # default: unbounded
    [zones.policy]           # the warning policy's per-zone settings (threat.policy)
    warning_s = 300

Unbounded floors and ceilings are ``null`` in JSON and left out in TOML (which has no
null; an absent floor_m is 0 there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from skywarden.core import config_fields as f
from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin
from skywarden.core.strict import check_keys

#: the keys a zone table may hold
ZONE_KEYS = frozenset(
    {
        "id",
        "kind",
        "center_enu_m",
        "radius_m",
        "polygon_enu_m",
        "geojson",
        "floor_m",
        "ceiling_m",
        "policy",
    }
)
#: the ceiling of a zone whose file gives none (finite, so it survives JSON)
DEFAULT_CEILING_M = 1e9


class ZoneKind(StrEnum):
    PROTECTED = "protected"
    WARNING = "warning"


@dataclass(frozen=True, eq=False)
class ZoneSpec:
    """A protected or warning volume: a circle or polygon (ENU metres) between floor and ceiling."""

    id: str
    kind: ZoneKind
    center_enu: tuple[float, float] | None = None
    radius_m: float | None = None
    polygon_enu: tuple[tuple[float, float], ...] | None = None
    floor_m: float = -math.inf
    ceiling_m: float = math.inf
    # the warning policy's per-zone settings, (name, value) pairs (``threat.policy`` checks
    # the names): ``[zones.policy]`` in a site file
    policy: tuple[tuple[str, float], ...] = ()

    def contains(self, e: float, n: float, u: float) -> bool:
        if not self.floor_m <= u <= self.ceiling_m:
            return False
        return self.horizontal_distance(e, n) <= 0.0

    def horizontal_distance(self, e: float, n: float) -> float:
        """Signed horizontal distance to the boundary: negative inside, positive outside."""
        if self.center_enu is not None and self.radius_m is not None:
            return math.hypot(e - self.center_enu[0], n - self.center_enu[1]) - self.radius_m
        assert self.polygon_enu is not None
        d = _distance_to_polygon_edges(e, n, self.polygon_enu)
        return -d if _point_in_polygon(e, n, self.polygon_enu) else d

    @property
    def centroid(self) -> tuple[float, float]:
        if self.center_enu is not None:
            return self.center_enu
        assert self.polygon_enu is not None
        pts = np.asarray(self.polygon_enu)
        return float(pts[:, 0].mean()), float(pts[:, 1].mean())


def _point_in_polygon(x: float, y: float, poly: Sequence[tuple[float, float]]) -> bool:
    """Even-odd ray casting (the ring may or may not repeat its first vertex)."""
    inside = False
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xc:
                inside = not inside
    return inside


def _distance_to_polygon_edges(x: float, y: float, poly: Sequence[tuple[float, float]]) -> float:
    best = math.inf
    n = len(poly)
    for i in range(n):
        ax, ay = poly[i]
        bx, by = poly[(i + 1) % n]
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        s = 0.0 if L2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / L2))
        best = min(best, math.hypot(x - ax - s * dx, y - ay - s * dy))
    return best


# ----------------------------------------------------------------------------- the codec


def zone_to_dict(z: ZoneSpec) -> dict[str, Any]:
    """The zone as plain JSON/TOML values; :func:`parse_zone` reads it back unchanged."""
    d: dict[str, Any] = {"id": z.id, "kind": z.kind.value}
    if z.center_enu is not None and z.radius_m is not None:
        d["center_enu_m"] = [float(z.center_enu[0]), float(z.center_enu[1])]
        d["radius_m"] = float(z.radius_m)
    else:
        d["polygon_enu_m"] = [[float(e), float(n)] for e, n in z.polygon_enu or ()]
    d["floor_m"] = float(z.floor_m) if math.isfinite(z.floor_m) else None
    d["ceiling_m"] = float(z.ceiling_m) if math.isfinite(z.ceiling_m) else None
    if z.policy:
        d["policy"] = dict(z.policy)
    return d


def parse_zone(d: Any, path: str, origin: GeoOrigin) -> ZoneSpec:
    """One zone table (site file, skywarden.toml, a journal's site edit, the zone API)."""
    d = f.table(d, path)
    check_keys(d, ZONE_KEYS, path)
    zid = f.ident(d, path)
    kind = f.enum(ZoneKind, f.req(d, "kind", path), f"{path}.kind")
    floor = _bound(d, "floor_m", path, 0.0, -math.inf)
    ceiling = _bound(d, "ceiling_m", path, DEFAULT_CEILING_M, math.inf)
    if ceiling <= floor:
        raise ConfigError(f"{path}.ceiling_m", f"must be above floor_m ({floor})")
    pol = d.get("policy") or {}
    if not isinstance(pol, Mapping):
        raise ConfigError(f"{path}.policy", "must be a table of numbers")
    pairs = tuple(sorted((str(k), f.num(v, f"{path}.policy.{k}")) for k, v in pol.items()))
    center, radius, poly = _shape(d, path, origin)
    return ZoneSpec(zid, kind, center, radius, poly, floor, ceiling, pairs)


def _bound(d: Mapping[str, Any], key: str, path: str, absent: float, null: float) -> float:
    if key not in d:
        return absent
    return null if d[key] is None else f.num(d[key], f"{path}.{key}")


Shape = tuple[tuple[float, float] | None, float | None, tuple[tuple[float, float], ...] | None]


def _shape(d: Mapping[str, Any], path: str, origin: GeoOrigin) -> Shape:
    if "center_enu_m" in d or "radius_m" in d:
        c = f.vec(f.req(d, "center_enu_m", path), 2, f"{path}.center_enu_m")
        r = f.num(f.req(d, "radius_m", path), f"{path}.radius_m", positive=True)
        return (c[0], c[1]), r, None
    if "polygon_enu_m" in d:
        pts = d["polygon_enu_m"]
        if not isinstance(pts, list | tuple):
            raise ConfigError(f"{path}.polygon_enu_m", "must be a list of [e, n] pairs")
        ring = [f.vec(p, 2, f"{path}.polygon_enu_m[{i}]") for i, p in enumerate(pts)]
        return None, None, _polygon(ring, f"{path}.polygon_enu_m")
    if "geojson" in d:
        gj = d["geojson"]
        gpath = f"{path}.geojson"
        if not isinstance(gj, Mapping) or gj.get("type") != "Polygon":
            raise ConfigError(f"{gpath}.type", "must be a GeoJSON Polygon")
        rings = gj.get("coordinates")
        if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
            raise ConfigError(f"{gpath}.coordinates", "must hold at least one linear ring")
        enu = []
        for i, p in enumerate(rings[0]):
            lon, lat = f.vec(p[:2] if isinstance(p, list) else p, 2, f"{gpath}.coordinates[0][{i}]")
            v = origin.to_enu(lat, lon, origin.alt_m)
            enu.append([float(v[0]), float(v[1])])
        return None, None, _polygon(enu, f"{gpath}.coordinates")
    raise ConfigError(path, "needs a shape: center_enu_m + radius_m, polygon_enu_m or geojson")


def _polygon(pts: list[list[float]], path: str) -> tuple[tuple[float, float], ...]:
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3:
        raise ConfigError(path, "a polygon needs at least 3 distinct vertices")
    return tuple((p[0], p[1]) for p in pts)

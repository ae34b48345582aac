"""WGS-84 geodetic <-> local East-North-Up about the site origin.

The conversion is pymap3d's (ellipsoid WGS-84), wrapped so every layer uses one origin
object and SI units. The local frame is a tangent plane at the protected site: flat, free
of the antimeridian and pole problems of latitude/longitude arithmetic, and accurate to
centimetres over the few tens of kilometres a site's sensors cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from skywarden.core.types import Vec

if TYPE_CHECKING:
    import pymap3d


def _pymap3d() -> pymap3d:
    """pymap3d, imported on first use: its package import pulls in date parsing and
    astronomy (~50 ms), which a run in a local frame (the benchmark files) never needs."""
    import pymap3d

    return pymap3d


@dataclass(frozen=True)
class GeoOrigin:
    """The site origin: WGS-84 latitude/longitude in degrees, altitude in metres (ellipsoid)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0:
            raise ValueError(f"latitude {self.lat_deg} outside [-90, 90]")
        if not -180.0 <= self.lon_deg <= 180.0:
            raise ValueError(f"longitude {self.lon_deg} outside [-180, 180]")

    def to_enu(self, lat_deg: float, lon_deg: float, alt_m: float) -> Vec:
        """Geodetic point -> ENU metres about this origin."""
        e, n, u = _pymap3d().geodetic2enu(
            lat_deg, lon_deg, alt_m, self.lat_deg, self.lon_deg, self.alt_m
        )
        return np.array([float(e), float(n), float(u)])

    def vector_to_enu(self, lat_deg: float, lon_deg: float, v: Vec) -> Vec:
        """A vector (a velocity) given in the local East-North-Up axes at ``(lat, lon)`` ->
        this origin's ENU axes: through Earth-centred axes, ``M(origin)' M(point) v``.

        The axes of two tangent planes differ by the meridian convergence (about
        ``dlon * sin(lat)``) and the tilt between their verticals: a 250 m/s airliner's
        velocity taken as is 98 km away is off by about 6 m/s, 400 km away by 23 m/s."""
        return np.asarray(
            _enu_axes(self.lat_deg, self.lon_deg).T
            @ (_enu_axes(lat_deg, lon_deg) @ np.asarray(v, dtype=float)),
            dtype=float,
        )

    def to_geodetic(self, e: float, n: float, u: float) -> tuple[float, float, float]:
        """ENU metres about this origin -> (lat_deg, lon_deg, alt_m)."""
        lat, lon, alt = _pymap3d().enu2geodetic(e, n, u, self.lat_deg, self.lon_deg, self.alt_m)
        return float(lat), float(lon), float(alt)


def _enu_axes(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Columns: the east, north and up unit vectors at a geodetic point, in Earth-centred
    (ECEF) axes (up along the ellipsoid normal)."""
    p, la = math.radians(lat_deg), math.radians(lon_deg)
    sp, cp, sl, cl = math.sin(p), math.cos(p), math.sin(la), math.cos(la)
    return np.array([[-sl, -sp * cl, cp * cl], [cl, -sp * sl, cp * sl], [0.0, cp, sp]])


def wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def wrap_angles(a: np.ndarray) -> np.ndarray:
    """Vectorised :func:`wrap_angle`."""
    return np.asarray((a + np.pi) % (2.0 * np.pi) - np.pi, dtype=float)

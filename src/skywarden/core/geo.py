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

    def to_geodetic(self, e: float, n: float, u: float) -> tuple[float, float, float]:
        """ENU metres about this origin -> (lat_deg, lon_deg, alt_m)."""
        lat, lon, alt = _pymap3d().enu2geodetic(e, n, u, self.lat_deg, self.lon_deg, self.alt_m)
        return float(lat), float(lon), float(alt)


def wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def wrap_angles(a: np.ndarray) -> np.ndarray:
    """Vectorised :func:`wrap_angle`."""
    return np.asarray((a + np.pi) % (2.0 * np.pi) - np.pi, dtype=float)

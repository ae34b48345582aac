"""UTM grid (WGS-84) -> geodetic latitude/longitude, for sensors that report UTM metres.

SAPIENT nodes may report ``LOCATION_COORDINATE_SYSTEM_UTM_M`` with a zone string; skywarden
works in WGS-84 latitude/longitude and site ENU, so the grid position is inverted here with
Krueger's series for the transverse Mercator projection to third order in the third
flattening ``n`` (Karney, "Transverse Mercator with an accuracy of a few nanometers",
J. Geodesy 85 (2011), eqs. 11, 15-17, 19; the order-3 coefficients give sub-millimetre
error within a UTM zone). UTM constants: scale k0 = 0.9996, false easting 500 km, false
northing 10 000 km in the southern hemisphere, zone z central meridian 6z - 183 degrees.

Zone strings are ``<1..60><band letter>`` (``30U``) or a bare number. Band letters C-M are
south of the equator, N-X north: the MGRS reading, so ``30S`` is a northern band, not
"south". A bare number means northern hemisphere.
"""

from __future__ import annotations

import math
import re

from skywarden.core.errors import InputRejected

_A = 6378137.0
_F = 1.0 / 298.257223563
_N = _F / (2.0 - _F)
_K0 = 0.9996
_RECT = _A / (1.0 + _N) * (1.0 + _N**2 / 4.0 + _N**4 / 64.0)
_BETA = (
    _N / 2.0 - 2.0 / 3.0 * _N**2 + 37.0 / 96.0 * _N**3,
    _N**2 / 48.0 + _N**3 / 15.0,
    17.0 / 480.0 * _N**3,
)
_ALPHA = (
    _N / 2.0 - 2.0 / 3.0 * _N**2 + 5.0 / 16.0 * _N**3,
    13.0 / 48.0 * _N**2 - 3.0 / 5.0 * _N**3,
    61.0 / 240.0 * _N**3,
)
_DELTA = (
    2.0 * _N - 2.0 / 3.0 * _N**2 - 2.0 * _N**3,
    7.0 / 3.0 * _N**2 - 8.0 / 5.0 * _N**3,
    56.0 / 15.0 * _N**3,
)
_ZONE_RE = re.compile(r"^\s*(\d{1,2})\s*([C-HJ-NP-Xc-hj-np-x]?)\s*$")


def parse_zone(zone: str) -> tuple[int, bool]:
    """``"30U"`` -> (30, True): zone number and whether the band is northern."""
    m = _ZONE_RE.match(zone)
    if m is None or not 1 <= int(m.group(1)) <= 60:
        raise InputRejected("bad_utm_zone", repr(zone[:16]))
    band = m.group(2).upper()
    return int(m.group(1)), (band == "" or band >= "N")


def utm_to_geodetic(easting_m: float, northing_m: float, zone: str) -> tuple[float, float]:
    """UTM grid metres in ``zone`` -> (lat_deg, lon_deg) on WGS-84."""
    number, north = parse_zone(zone)
    xi = (northing_m - (0.0 if north else 10_000_000.0)) / (_K0 * _RECT)
    eta = (easting_m - 500_000.0) / (_K0 * _RECT)
    if not (math.isfinite(xi) and math.isfinite(eta)) or abs(eta) > 1.0 or abs(xi) > 1.6:
        raise InputRejected("bad_value", f"UTM ({easting_m}, {northing_m}) outside the zone")
    xi1, eta1 = xi, eta
    for j, b in enumerate(_BETA, start=1):
        xi1 -= b * math.sin(2 * j * xi) * math.cosh(2 * j * eta)
        eta1 -= b * math.cos(2 * j * xi) * math.sinh(2 * j * eta)
    chi = math.asin(max(-1.0, min(1.0, math.sin(xi1) / math.cosh(eta1))))
    lat = chi + sum(d * math.sin(2 * j * chi) for j, d in enumerate(_DELTA, start=1))
    lon0 = math.radians(6 * number - 183)
    lon = lon0 + math.atan2(math.sinh(eta1), math.cos(xi1))
    lon_deg = (math.degrees(lon) + 180.0) % 360.0 - 180.0
    return math.degrees(lat), lon_deg


def geodetic_to_utm(lat_deg: float, lon_deg: float, zone_number: int) -> tuple[float, float]:
    """(lat, lon) -> UTM (easting, northing) in ``zone_number`` (used to test the inverse)."""
    phi = math.radians(lat_deg)
    dlon = math.radians(lon_deg - (6 * zone_number - 183))
    e = math.sqrt(_F * (2.0 - _F))
    t = math.sinh(math.atanh(math.sin(phi)) - e * math.atanh(e * math.sin(phi)))
    xi1 = math.atan2(t, math.cos(dlon))
    eta1 = math.atanh(math.sin(dlon) / math.sqrt(1.0 + t * t))
    xi, eta = xi1, eta1
    for j, a in enumerate(_ALPHA, start=1):
        xi += a * math.sin(2 * j * xi1) * math.cosh(2 * j * eta1)
        eta += a * math.cos(2 * j * xi1) * math.sinh(2 * j * eta1)
    easting = 500_000.0 + _K0 * _RECT * eta
    northing = _K0 * _RECT * xi + (0.0 if lat_deg >= 0 else 10_000_000.0)
    return easting, northing

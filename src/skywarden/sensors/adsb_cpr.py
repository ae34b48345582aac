"""Compact Position Reporting (CPR) for airborne ADS-B positions: pure math.

Owns the decoding of the 17-bit CPR latitude/longitude of DF17/18 airborne position
messages (type codes 9-18, 20-22), per RTCA DO-260B §A.1.7 (also ICAO Doc 9871 §C.2.6):

- ``nl(lat)``: number of longitude zones, NZ = 15:
  ``NL = floor(2π / acos(1 - (1 - cos(π / 2NZ)) / cos²(π·lat/180)))``, 59 at the equator,
  2 at ±87°, 1 beyond.
- ``global_position``: one even and one odd message (at most 10 s apart): latitude index
  ``j = floor(59·lat_e - 60·lat_o + 1/2)``, both latitudes must fall in the same NL zone,
  longitude from the most recent message.
- ``local_position``: one message and a reference within half a zone (≈ 180 NM): the cell
  containing the reference, DO-260B §A.1.7.5: ``j = floor(1/2 + lat_ref/Dlat - YZ/2^17)``,
  one floor of the zone index with the 1/2 offset. (Written as ``floor(lat_ref/Dlat) +
  floor(1/2 + MOD(lat_ref, Dlat)/Dlat - YZ/2^17)``, equal in exact arithmetic, it breaks in
  floating point when the reference sits on a zone boundary: the quotient rounds up to the
  next integer while the remainder stays just below Dlat, and the two floors count the zone
  twice, 6° too far north.) The same for the longitude index ``m``.

CPR fractions are the raw 17-bit values / 2^17. Results are degrees, longitude in [-180, 180).
"""

from __future__ import annotations

import math

NZ = 15
CPR_SCALE = float(1 << 17)
PAIR_MAX_S = 10.0


def nl(lat: float) -> int:
    """Number of longitude zones at ``lat`` (degrees)."""
    a = abs(lat)
    if a < 1e-9:
        return 59
    if abs(a - 87.0) < 1e-9:
        return 2
    if a > 87.0:
        return 1
    c = 1.0 - (1.0 - math.cos(math.pi / (2 * NZ))) / math.cos(math.radians(a)) ** 2
    return math.floor(2 * math.pi / math.acos(c))


def _lon_wrap(lon: float) -> float:
    return lon - 360.0 if lon >= 180.0 else lon


def global_position(
    even: tuple[int, int], odd: tuple[int, int], odd_is_newer: bool
) -> tuple[float, float] | None:
    """(lat, lon) from an even and an odd (lat_cpr, lon_cpr) pair, or None (zone mismatch)."""
    lat_e, lon_e = even[0] / CPR_SCALE, even[1] / CPR_SCALE
    lat_o, lon_o = odd[0] / CPR_SCALE, odd[1] / CPR_SCALE
    j = math.floor(59 * lat_e - 60 * lat_o + 0.5)
    rlat_e = 360.0 / 60 * (j % 60 + lat_e)
    rlat_o = 360.0 / 59 * (j % 59 + lat_o)
    rlat_e = rlat_e - 360.0 if rlat_e >= 270.0 else rlat_e
    rlat_o = rlat_o - 360.0 if rlat_o >= 270.0 else rlat_o
    if not (-90.0 <= rlat_e <= 90.0 and -90.0 <= rlat_o <= 90.0):
        return None
    if nl(rlat_e) != nl(rlat_o):
        return None
    lat = rlat_o if odd_is_newer else rlat_e
    nl_lat = nl(lat)
    m = math.floor(lon_e * (nl_lat - 1) - lon_o * nl_lat + 0.5)
    if odd_is_newer:
        ni = max(nl_lat - 1, 1)
        lon = 360.0 / ni * (m % ni + lon_o)
    else:
        ni = max(nl_lat, 1)
        lon = 360.0 / ni * (m % ni + lon_e)
    return lat, _lon_wrap(lon)


def local_position(
    cpr: tuple[int, int], odd: bool, ref_lat: float, ref_lon: float
) -> tuple[float, float]:
    """(lat, lon) of one message decoded in the cell nearest the reference position."""
    i = 1 if odd else 0
    lat_c, lon_c = cpr[0] / CPR_SCALE, cpr[1] / CPR_SCALE
    dlat = 360.0 / (4 * NZ - i)
    j = math.floor(0.5 + ref_lat / dlat - lat_c)
    lat = dlat * (j + lat_c)
    dlon = 360.0 / max(nl(lat) - i, 1)
    m = math.floor(0.5 + ref_lon / dlon - lon_c)
    lon = dlon * (m + lon_c)
    return lat, _lon_wrap(lon % 360.0 if lon >= 180.0 or lon < -180.0 else lon)

"""SAPIENT detection geometry and classification: a report's location or range/bearing
becomes a skywarden measurement (z, R) in site ENU; its class tree becomes one class.

Split from :mod:`skywarden.sensors.sapient` (framing, parsing, node sessions) because this is
pure measurement maths with no session state: the sessions call it per detection, and it is
tested on its own. The detection model it implements is described in that module's docstring.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from sapient_msg.bsi_flex_335_v2_0 import (
    detection_report_pb2,
    location_pb2,
    range_bearing_pb2,
)

from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import MeasurementKind
from skywarden.core.types import Vec
from skywarden.sensors.utm import utm_to_geodetic

_LCS = location_pb2.LocationCoordinateSystem
_RBCS = range_bearing_pb2.RangeBearingCoordinateSystem
_RBD = range_bearing_pb2.RangeBearingDatum
_DEFAULT_POS_SIGMA_M: Final = 10.0
_DEFAULT_ALT_SIGMA_M: Final = 20.0
_DEFAULT_RANGE_SIGMA_M: Final = 10.0
_DEFAULT_ANGLE_SIGMA_RAD: Final = math.radians(1.0)
_MAX_RANGE_M: Final = 1e6  # no C-UAS sensor reports beyond 1000 km
_M_PER_RAD_LAT: Final = 6_367_449.0  # WGS-84 meridian arc per radian (mean)


# --- geometry ------------------------------------------------------------------------------


def location_to_enu(loc: location_pb2.Location, origin: GeoOrigin) -> tuple[Vec, Vec, bool]:
    """Location -> (ENU position, 1-sigma ENU metres, has_height). Raises InputRejected."""
    x, y = loc.x, loc.y
    cs = loc.coordinate_system
    sx = loc.x_error if loc.HasField("x_error") else None
    sy = loc.y_error if loc.HasField("y_error") else None
    if cs == _LCS.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M:
        lat, lon, scale = y, x, math.radians(1.0)
    elif cs == _LCS.LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M:
        lat, lon, scale = math.degrees(y), math.degrees(x), 1.0
    elif cs == _LCS.LOCATION_COORDINATE_SYSTEM_UTM_M:
        if not loc.HasField("utm_zone"):
            raise InputRejected("bad_utm_zone", "UTM location without utm_zone")
        lat, lon = utm_to_geodetic(x, y, loc.utm_zone)
        scale = 0.0
    else:
        raise InputRejected("unsupported_coordinate_system", str(cs))
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InputRejected("bad_value", f"lat/lon ({lat}, {lon}) out of range")
    has_z = loc.HasField("z")
    alt = loc.z if has_z else origin.alt_m
    if not abs(alt) <= _MAX_RANGE_M:
        raise InputRejected("bad_value", f"height {alt} m")
    enu = origin.to_enu(lat, lon, alt)
    sig_e, sig_n = sx, sy
    if scale:  # angular errors -> metres (east shrinks with cos(lat))
        sig_n = sy * scale * _M_PER_RAD_LAT if sy is not None else None
        k = scale * _M_PER_RAD_LAT * math.cos(math.radians(lat))
        sig_e = sx * k if sx is not None else None
    sz = loc.z_error if loc.HasField("z_error") else None
    sigma = np.array(
        [
            _sigma(sig_e, _DEFAULT_POS_SIGMA_M),
            _sigma(sig_n, _DEFAULT_POS_SIGMA_M),
            _sigma(sz, _DEFAULT_ALT_SIGMA_M),
        ]
    )
    return enu, sigma, has_z


def _sigma(v: float | None, default: float, limit: float = 1e5) -> float:
    """A usable 1-sigma: the reported one if finite and positive, else ``default``.

    A sigma above ``limit`` (metres, or radians for angles) is not a measurement: rejected.
    """
    if v is None or not math.isfinite(v) or v <= 0:
        return default
    if v > limit:
        raise InputRejected("bad_value", f"error {v} above {limit}")
    return float(v)


def _rb_scales(cs: int) -> tuple[float, float]:
    """(radians per angle unit, metres per range unit) for a RangeBearingCoordinateSystem."""
    table: dict[int, tuple[float, float]] = {
        _RBCS.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M: (math.radians(1.0), 1.0),
        _RBCS.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M: (1.0, 1.0),
        _RBCS.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM: (math.radians(1.0), 1000.0),
        _RBCS.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM: (1.0, 1000.0),
    }
    if cs not in table:
        raise InputRejected("unsupported_coordinate_system", str(cs))
    return table[cs]


def range_bearing_measurement(
    rb: range_bearing_pb2.RangeBearing, sensor_pos: Vec
) -> tuple[MeasurementKind, Vec, np.ndarray]:
    """RangeBearing about ``sensor_pos`` -> (kind, z, R) in skywarden's measurement kinds."""
    if rb.datum not in (_RBD.RANGE_BEARING_DATUM_TRUE, _RBD.RANGE_BEARING_DATUM_GRID):
        raise InputRejected("unsupported_bearing_datum", str(rb.datum))
    ang, dist = _rb_scales(rb.coordinate_system)
    if not rb.HasField("azimuth"):
        raise InputRejected("missing_field", "range_bearing.azimuth")
    az = (rb.azimuth * ang) % (2 * math.pi)
    s_az = _sigma(
        rb.azimuth_error * ang if rb.HasField("azimuth_error") else None,
        _DEFAULT_ANGLE_SIGMA_RAD,
        math.pi,
    )
    el = rb.elevation * ang if rb.HasField("elevation") else None
    s_el = _sigma(
        rb.elevation_error * ang if rb.HasField("elevation_error") else None,
        2 * _DEFAULT_ANGLE_SIGMA_RAD,
        math.pi,
    )
    if el is not None and not -math.pi / 2 <= el <= math.pi / 2:
        raise InputRejected("angle_out_of_range", f"elevation {el} rad")
    if not rb.HasField("range"):
        if el is None:
            return MeasurementKind.AZ, np.array([az]), np.array([[s_az**2]])
        return MeasurementKind.AZ_EL, np.array([az, el]), np.diag([s_az**2, s_el**2])
    r = rb.range * dist
    if not r > 0:
        raise InputRejected("negative_range", f"range {r} m")
    if r > _MAX_RANGE_M:
        raise InputRejected("bad_value", f"range {r} m beyond {_MAX_RANGE_M} m")
    s_r = _sigma(
        rb.range_error * dist if rb.HasField("range_error") else None, _DEFAULT_RANGE_SIGMA_M
    )
    return _converted(r, az, el, s_r, s_az, s_el, sensor_pos)


def _converted(
    r: float, az: float, el: float | None, s_r: float, s_az: float, s_el: float, s: Vec
) -> tuple[MeasurementKind, Vec, np.ndarray]:
    """Polar -> Cartesian about the sensor; covariance by first-order propagation J R J^T."""
    e0 = 0.0 if el is None else el
    ce, se, ca, sa = math.cos(e0), math.sin(e0), math.cos(az), math.sin(az)
    pos = s + np.array([r * ce * sa, r * ce * ca, r * se])
    # J = d(e, n, u) / d(r, az, el)
    J = np.array(
        [
            [ce * sa, r * ce * ca, -r * se * sa],
            [ce * ca, -r * ce * sa, -r * se * ca],
            [se, 0.0, r * ce],
        ]
    )
    if el is None:
        J2 = J[:2, :2]
        return MeasurementKind.XY, pos[:2], J2 @ np.diag([s_r**2, s_az**2]) @ J2.T
    return MeasurementKind.XYZ, pos, J @ np.diag([s_r**2, s_az**2, s_el**2]) @ J.T


# --- classification ------------------------------------------------------------------------

_CLASS_KEYWORDS: Final = (
    (("fixed wing uav", "fixed-wing uav", "uav fixed", "fixed wing drone"), "drone_fixed_wing"),
    (("uav", "uas", "drone", "quadcopter", "multirotor", "multi-rotor", "rotary"), "drone"),
    (("bird",), "bird"),
    (("aircraft", "aeroplane", "airplane", "helicopter", "fixed wing", "manned"), "aircraft"),
)


def map_class(sapient_type: str) -> str | None:
    """A SAPIENT class/sub-class type string -> skywarden ObjectClass value (None if not air)."""
    t = sapient_type.lower().replace("_", " ")
    for words, cls in _CLASS_KEYWORDS:
        if any(w in t for w in words):
            return cls
    return None


def best_class(
    classes: list[detection_report_pb2.DetectionReport.DetectionReportClassification],
) -> tuple[str | None, float, str | None]:
    """(skywarden class, confidence, raw SAPIENT type) of the most confident mapped class."""
    best: tuple[str | None, float, str | None] = (None, 0.0, None)
    raw_best: str | None = None
    stack = [(c.type, c.confidence, list(c.sub_class)) for c in classes]
    while stack:
        typ, conf, subs = stack.pop()
        raw_best = raw_best or typ
        cls = map_class(typ)
        if cls is not None and conf >= best[1]:
            best = (cls, float(conf), typ)
        stack.extend((s.type, s.confidence, list(s.sub_class)) for s in subs)
    return best if best[0] is not None else (None, 0.0, raw_best)

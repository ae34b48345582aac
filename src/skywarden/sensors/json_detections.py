"""Generic JSON detections (what a sensor without a standard wire format posts over HTTP).

One message is one UTF-8 JSON object: one sensor's report at one time::

    {
      "sensor_id": "radar-1",          optional; when present it must name the sensor posted to
      "t": 1732770000.25,              measurement time, UNIX seconds (finite, > 0)
      "detections": [                  required; [] means "looked and saw nothing" when the
                                       site declares the sensor reports = "scans"
        {
          "t": 1732770000.20,          optional per-detection time (default: the message's t)

          exactly one position form:
          "position": {"lat": 51.5, "lon": -0.12, "alt_m": 80.0}   WGS-84 degrees, metres
                                                                   (height as the site origin)
          "enu":      {"e": 120.0, "n": -40.0, "u": 60.0}          site ENU metres
          "polar":    {"range_m": 812.0, "az_deg": 71.0,           about the sensor; azimuth
                       "el_deg": 3.5, "radial_mps": -4.2}          clockwise from north, elevation
                                                                   up; "az_rad"/"el_rad" also

          "velocity": {"ve": 3.0, "vn": -1.0, "vu": 0.0}  optional, m/s
          "sigma": {"pos_m": 5.0, "vel_mps": 1.0,          optional 1-sigma errors; default
                    "range_m": 4.0, "az_deg": 0.5,         the sensor's data sheet (site file)
                    "el_deg": 0.5, "radial_mps": 0.5}
          "class": "drone", "class_conf": 0.8              optional sensor classification
          "identity": "1596F0000000000000ABCD"             optional cooperative id (Remote ID
                                                           serial, "icao:4840d6")
          "rcs_dbsm": -18.0                                optional radar cross-section
        }
      ]
    }

Whether one message is a whole look of the sensor (a radar posting each scan: a track it
did not report was missed) or object by object (a miss is a whole ``update_s`` without a
report of it) is the site file's ``reports = "scans" | "objects"`` for that sensor; JSON posts
default to object by object.

The detection becomes the measurement kind the site file declares for the sensor
(``SensorSpec.measures``, see ``core.observation``): ``xyz``/``xy`` from any position form
(polar converted about the sensor, its covariance propagated through the Jacobian);
``range_az_el_radial`` from ``polar`` with all four values; ``az``/``az_el`` from ``polar``
angles; ``position_id`` from a position plus ``velocity`` and ``identity``. Anything else is
refused with a reason.

:func:`parse_json_detections` is pure (bytes, the sensor's spec and the site origin in;
:class:`JsonReport` out) and raises ``core.errors.InputRejected(reason, detail)``; the
caller counts ``rejected.<reason>`` and answers the sender (HTTP 400).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind, polar_to_enu
from skywarden.core.site import SensorSpec
from skywarden.core.types import Mat, Vec

MAX_BYTES = 1_000_000
MAX_DETECTIONS = 5_000
MAX_TEXT = 128
_POSITION_FORMS = ("position", "enu", "polar")


@dataclass(frozen=True)
class JsonReport:
    """One accepted message: the sensor, its measurement time and the detections."""

    sensor_id: str
    t: float
    detections: tuple[Detection, ...]


def _num(obj: Mapping[str, Any], key: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if key not in obj:
        raise InputRejected("missing_field", f"{key!r} is required")
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InputRejected("bad_value", f"{key} is not a number")
    try:
        f = float(v)
    except OverflowError:  # a JSON integer beyond any float (Python ints are unbounded)
        raise InputRejected("out_of_range", f"{key} has {len(str(v))} digits") from None
    if not math.isfinite(f):
        raise InputRejected("not_finite", f"{key} is {v!r}")
    if not lo <= f <= hi:
        raise InputRejected("out_of_range", f"{key} = {f} outside [{lo}, {hi}]")
    return f


def _no_lone_surrogates(obj: object) -> None:
    """JSON escapes can spell a lone UTF-16 surrogate (``"\\ud800"``): valid JSON, but no
    UTF-8 text, so it could not be journaled or shown. Refused here, for every string."""
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                raise InputRejected("bad_utf8", "a string holds a lone surrogate") from None
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def _obj(d: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise InputRejected("bad_value", f"{key} is not an object")
    return v


def _angle(p: Mapping[str, Any], name: str, lo_deg: float, hi_deg: float) -> float:
    """``<name>_deg`` or ``<name>_rad`` -> radians, range-checked in degrees."""
    if f"{name}_deg" in p:
        return math.radians(_num(p, f"{name}_deg", lo_deg, hi_deg))
    if f"{name}_rad" in p:
        return _num(p, f"{name}_rad", math.radians(lo_deg), math.radians(hi_deg))
    raise InputRejected("missing_field", f"polar needs {name}_deg or {name}_rad")


@dataclass(frozen=True)
class _Polar:
    r: float | None
    az: float
    el: float | None
    radial: float | None


def _polar(p: Mapping[str, Any]) -> _Polar:
    r = _num(p, "range_m", 0.0, 1e7) if "range_m" in p else None
    if r is not None and r <= 0:
        raise InputRejected("negative_range", f"range_m {r} <= 0")
    az = _angle(p, "az", -360.0, 360.0) % (2 * math.pi)
    el = _angle(p, "el", -90.0, 90.0) if ("el_deg" in p or "el_rad" in p) else None
    radial = _num(p, "radial_mps", -1e4, 1e4) if "radial_mps" in p else None
    return _Polar(r, az, el, radial)


def _sigma(d: Mapping[str, Any], key: str, default: float) -> float:
    s = _obj(d, "sigma")
    if s is None or key not in s:
        return default
    v = _num(s, key, 0.0, 1e6)
    if v <= 0:
        raise InputRejected("bad_sigma", f"sigma.{key} must be > 0")
    return math.radians(v) if key.endswith("_deg") else v


def _sensor_sigma(sensor: SensorSpec, key: str, fallback: float) -> float:
    v = sensor.sigma.get(key)
    return float(v) if v is not None else fallback


def _position(d: Mapping[str, Any], sensor: SensorSpec, origin: GeoOrigin) -> tuple[Vec, Mat]:
    """ENU position and its covariance from whichever position form the detection has."""
    forms = [k for k in _POSITION_FORMS if k in d]
    if len(forms) != 1:
        raise InputRejected(
            "bad_position", f"need exactly one of position/enu/polar, got {forms or 'none'}"
        )
    default_sd = _sensor_sigma(sensor, "pos_m", 10.0)
    axes = [_sensor_sigma(sensor, k, default_sd) for k in ("x_m", "y_m", "z_m")]
    cov = np.diag([_sigma(d, "pos_m", a) ** 2 for a in axes])
    form = forms[0]
    p = _obj(d, form)
    if p is None:
        raise InputRejected("bad_value", f"{form} is null")
    if form == "position":
        lat = _num(p, "lat", -90.0, 90.0)
        lon = _num(p, "lon", -180.0, 180.0)
        alt = _num(p, "alt_m", -1000.0, 1e5)
        return origin.to_enu(lat, lon, alt), cov
    if form == "enu":
        enu = np.array([_num(p, k, -1e7, 1e7) for k in ("e", "n", "u")])
        return enu, cov
    pol = _polar(p)
    if pol.r is None or pol.el is None:
        raise InputRejected("missing_field", "a polar position needs range and elevation")
    sr = _sigma(d, "range_m", _sensor_sigma(sensor, "range_m", 10.0))
    sa = _sigma(d, "az_deg", _sensor_sigma(sensor, "az_rad", 0.01))
    se = _sigma(d, "el_deg", _sensor_sigma(sensor, "el_rad", 0.01))
    r, az, el = pol.r, pol.az, pol.el
    ca, sa_, ce, se_ = math.cos(az), math.sin(az), math.cos(el), math.sin(el)
    J = np.array(
        [
            [ce * sa_, r * ce * ca, -r * se_ * sa_],
            [ce * ca, -r * ce * sa_, -r * se_ * ca],
            [se_, 0.0, r * ce],
        ]
    )
    P = J @ np.diag([sr**2, sa**2, se**2]) @ J.T
    return sensor.position_enu + polar_to_enu(r, az, el), P


def _measure(
    d: Mapping[str, Any], sensor: SensorSpec, origin: GeoOrigin
) -> tuple[Vec, Mat, str | None]:
    """z, R and identity in the sensor's measurement kind."""
    kind = sensor.measures
    ident = d.get("identity")
    if ident is not None and (not isinstance(ident, str) or not 0 < len(ident) <= MAX_TEXT):
        raise InputRejected("bad_identity", "identity must be a non-empty string")
    if kind in (MeasurementKind.XYZ, MeasurementKind.XY):
        pos, P = _position(d, sensor, origin)
        n = kind.dim
        return pos[:n], P[:n, :n], ident
    if kind is MeasurementKind.POSITION_ID:
        pos, P = _position(d, sensor, origin)
        v = _obj(d, "velocity")
        if v is None or ident is None:
            raise InputRejected("missing_field", "position_id needs velocity and identity")
        vel = np.array([_num(v, k, -1e4, 1e4) for k in ("ve", "vn", "vu")])
        sv = _sigma(d, "vel_mps", _sensor_sigma(sensor, "vel_mps", 2.0))
        R = np.zeros((6, 6))
        R[:3, :3] = P
        R[3:, 3:] = np.eye(3) * sv**2
        return np.concatenate([pos, vel]), R, ident
    p = _obj(d, "polar")
    if p is None:
        raise InputRejected("needs_polar", f"sensor {sensor.id} measures {kind.value}: use polar")
    pol = _polar(p)
    sa = _sigma(d, "az_deg", _sensor_sigma(sensor, "az_rad", 0.01))
    if kind is MeasurementKind.AZ:
        return np.array([pol.az]), np.array([[sa**2]]), ident
    if pol.el is None:
        raise InputRejected("missing_field", "polar needs el_deg or el_rad")
    se = _sigma(d, "el_deg", _sensor_sigma(sensor, "el_rad", 0.01))
    if kind is MeasurementKind.AZ_EL:
        return np.array([pol.az, pol.el]), np.diag([sa**2, se**2]), ident
    if pol.r is None or pol.radial is None:
        raise InputRejected("missing_field", "range_az_el_radial needs range_m and radial_mps")
    sr = _sigma(d, "range_m", _sensor_sigma(sensor, "range_m", 10.0))
    sd = _sigma(d, "radial_mps", _sensor_sigma(sensor, "radial_mps", 1.0))
    z = np.array([pol.r, pol.az, pol.el, pol.radial])
    return z, np.diag([sr**2, sa**2, se**2, sd**2]), ident


def _detection(d: Any, sensor: SensorSpec, origin: GeoOrigin, t_msg: float) -> Detection:
    if not isinstance(d, dict):
        raise InputRejected("bad_detection", "a detection is not an object")
    t = _num(d, "t", 0.0, 1e11) if "t" in d else t_msg
    z, R, ident = _measure(d, sensor, origin)
    cls = d.get("class")
    if cls is not None and (not isinstance(cls, str) or not 0 < len(cls) <= MAX_TEXT):
        raise InputRejected("bad_class", "class must be a short string")
    conf = _num(d, "class_conf", 0.0, 1.0) if "class_conf" in d else (0.5 if cls else 0.0)
    rcs = _num(d, "rcs_dbsm", -100.0, 100.0) if "rcs_dbsm" in d else None
    return Detection(
        t=t,
        sensor_id=sensor.id,
        kind=sensor.measures,
        z=z,
        R=R,
        sensor_pos=sensor.position_enu,
        identity=ident,
        rcs_dbsm=rcs,
        class_hint=cls,
        class_conf=conf,
        attrs={"sensor_kind": sensor.kind.value},
    )


def parse_json_detections(data: bytes, sensor: SensorSpec, origin: GeoOrigin) -> JsonReport:
    """One posted message -> :class:`JsonReport`; raises :class:`InputRejected` with a reason.

    A message is accepted or refused whole: one bad detection makes the report suspect.
    """
    if len(data) > MAX_BYTES:
        raise InputRejected("too_large", f"{len(data)} bytes > {MAX_BYTES}")
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputRejected("bad_utf8", str(e)) from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise InputRejected("bad_json", str(e)) from None
    if not isinstance(obj, dict):
        raise InputRejected("not_an_object", type(obj).__name__)
    _no_lone_surrogates(obj)
    sid = obj.get("sensor_id", sensor.id)
    if sid != sensor.id:
        raise InputRejected("sensor_mismatch", f"body names {sid!r}, posted to {sensor.id!r}")
    t = _num(obj, "t", 0.0, 1e11)
    if t <= 0:
        raise InputRejected("out_of_range", "t must be > 0")
    dets = obj.get("detections")
    if not isinstance(dets, list):
        raise InputRejected("bad_detections", "detections must be a list")
    if len(dets) > MAX_DETECTIONS:
        raise InputRejected("too_many", f"{len(dets)} detections > {MAX_DETECTIONS}")
    fast = _fast_polar(dets, sensor, t)
    if fast is not None:
        return JsonReport(sensor.id, t, fast)
    return JsonReport(sensor.id, t, tuple(_detection(d, sensor, origin, t) for d in dets))


_POLAR4 = ("range_m", "az_deg", "el_deg", "radial_mps")
_FAST_KEYS = frozenset({"polar", "t", "rcs_dbsm"})
_NUMBER = (float, int)


def _fast_polar(dets: list[Any], sensor: SensorSpec, t_msg: float) -> tuple[Detection, ...] | None:
    """A radar scan of plain polar plots checked at once with numpy: the same rules as
    :func:`_detection` for the common case (``polar`` with the four values in degrees,
    optional ``t`` and ``rcs_dbsm``, nothing else), several times faster on a scan of
    hundreds of plots. Returns None at the first doubt; the caller then parses detection by
    detection, which finds the exact reason to reject."""
    if sensor.measures is not MeasurementKind.RANGE_AZ_EL_RADIAL or not dets:
        return None
    rows: list[list[Any]] = []
    ts: list[Any] = []
    rcs: list[Any] = []
    for d in dets:
        if type(d) is not dict or not d.keys() <= _FAST_KEYS:
            return None
        p = d.get("polar")
        if type(p) is not dict or len(p) != 4:
            return None
        try:
            rows.append([p[k] for k in _POLAR4])
        except KeyError:
            return None
        ts.append(d.get("t", t_msg))
        rcs.append(d.get("rcs_dbsm"))
    if not all(type(v) in _NUMBER for row in rows for v in row) or not all(
        type(v) in _NUMBER for v in ts
    ):
        return None  # bool, str, None, ...: let the slow path name it
    if not all(v is None or type(v) in _NUMBER for v in rcs):
        return None
    Z = np.array(rows, dtype=float)
    T = np.array(ts, dtype=float)
    if not (np.isfinite(Z).all() and np.isfinite(T).all()):
        return None
    r, az, el, rd = Z[:, 0], Z[:, 1], Z[:, 2], Z[:, 3]
    ok = (
        (r > 0)
        & (r <= 1e7)
        & (np.abs(az) <= 360.0)
        & (np.abs(el) <= 90.0)
        & (np.abs(rd) <= 1e4)
        & (T >= 0)
        & (T <= 1e11)
    )
    if not ok.all():
        return None
    rcs_f: list[float | None] = []
    for v in rcs:
        if v is not None and not (math.isfinite(v) and -100.0 <= v <= 100.0):
            return None
        rcs_f.append(None if v is None else float(v))
    Z[:, 1] = np.radians(az) % (2 * math.pi)
    Z[:, 2] = np.radians(el)
    sr = _sensor_sigma(sensor, "range_m", 10.0)
    sa = _sensor_sigma(sensor, "az_rad", 0.01)
    se = _sensor_sigma(sensor, "el_rad", 0.01)
    sd = _sensor_sigma(sensor, "radial_mps", 1.0)
    R = np.diag([sr**2, sa**2, se**2, sd**2])  # shared: nothing mutates a Detection's R
    kind, sid, pos = sensor.measures, sensor.id, sensor.position_enu
    attrs = {"sensor_kind": sensor.kind.value}
    return tuple(
        Detection(
            t=tt, sensor_id=sid, kind=kind, z=z, R=R, sensor_pos=pos, rcs_dbsm=rc,
            class_conf=0.0, attrs=dict(attrs),
        )
        for tt, z, rc in zip(T.tolist(), Z, rcs_f, strict=True)
    )  # fmt: skip

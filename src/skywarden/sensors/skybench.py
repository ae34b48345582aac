"""skybench/1 scenario reader (``shared/bench/FORMAT.md``).

Line 1 is a JSON header (site origin, sensors, zones, whitelist); every further line is one
report of one sensor at one time::

    {"type": "detections", "t": 12.0, "sensor": "radar-1", "detections": [{...}, ...]}

Each detection's keys depend on the sensor's ``measures`` (see ``core.observation`` for the
resulting ``z`` ordering):

=======================  ===================================================
measures                 keys
=======================  ===================================================
``xy``                   x, y
``xyz``                  x, y, z
``range_az_el_radial``   range_m, az_rad, el_rad, radial_mps, rcs_dbsm (opt.)
``az``                   az_rad
``az_el``                az_rad, el_rad
``position_id``          id, x, y, z, vx, vy, vz
=======================  ===================================================

``parse_scan_line`` is pure; :class:`SkybenchReader` streams a file, and a bad line is
rejected with its line number and reason and counted, never stopping the stream.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from skywarden.core.counters import Counters
from skywarden.core.errors import ConfigError, InputRejected
from skywarden.core.observation import Detection, MeasurementKind, StackedDetections
from skywarden.core.site import SensorSpec, Site, site_from_skybench_header

if TYPE_CHECKING:
    from pathlib import Path  # a type only: pathlib costs ~3 ms to import at start-up

_KEYS: dict[MeasurementKind, tuple[str, ...]] = {
    MeasurementKind.XY: ("x", "y"),
    MeasurementKind.XYZ: ("x", "y", "z"),
    MeasurementKind.RANGE_AZ_EL_RADIAL: ("range_m", "az_rad", "el_rad", "radial_mps"),
    MeasurementKind.AZ: ("az_rad",),
    MeasurementKind.AZ_EL: ("az_rad", "el_rad"),
    MeasurementKind.POSITION_ID: ("x", "y", "z", "vx", "vy", "vz"),
}


@dataclass(frozen=True)
class Scan:
    """One sensor report: every detection of one sensor at one time (possibly none)."""

    t: float
    sensor_id: str
    detections: tuple[Detection, ...]
    line_no: int = 0
    complete: bool = True  # everything the sensor saw in one look (see Tracker.process)
    stacked: StackedDetections | None = None  # the detections as arrays, when parsed in bulk


@dataclass(frozen=True)
class Rejected:
    """A line that was not accepted: where and why."""

    line_no: int
    reason: str
    detail: str


def _finite(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InputRejected("bad_value", f"{key} is not a number")
    f = float(v)
    if not math.isfinite(f):
        raise InputRejected("not_finite", f"{key} is {v}")
    return f


_R_CACHE: dict[int, tuple[SensorSpec, np.ndarray]] = {}


def _sensor_R(sensor: SensorSpec) -> np.ndarray:
    """The sensor's noise covariance, built once per sensor and shared read-only."""
    hit = _R_CACHE.get(id(sensor))
    if hit is None or hit[0] is not sensor:
        R = sensor.R()
        R.setflags(write=False)
        hit = _R_CACHE[id(sensor)] = (sensor, R)
    return hit[1]


def parse_detection(d: Mapping[str, Any], sensor: SensorSpec, t: float) -> Detection:
    """One detection dict -> :class:`Detection`; raises :class:`InputRejected`."""
    if not isinstance(d, Mapping):
        raise InputRejected("bad_detection", "detection is not an object")
    kind = sensor.measures
    z = []
    for key in _KEYS[kind]:
        if key not in d:
            raise InputRejected("missing_field", f"detection lacks {key!r}")
        z.append(_finite(d[key], key))
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        if z[0] <= 0:
            raise InputRejected("negative_range", f"range_m {z[0]} <= 0")
        if not -math.pi / 2 <= z[2] <= math.pi / 2:
            raise InputRejected("elevation_out_of_range", f"el_rad {z[2]} outside [-pi/2, pi/2]")
    if kind in (MeasurementKind.RANGE_AZ_EL_RADIAL, MeasurementKind.AZ, MeasurementKind.AZ_EL):
        ai = 1 if kind is MeasurementKind.RANGE_AZ_EL_RADIAL else 0
        if not -2 * math.pi <= z[ai] <= 2 * math.pi:
            raise InputRejected("angle_out_of_range", f"az_rad {z[ai]} outside [-2pi, 2pi]")
        z[ai] = z[ai] % (2 * math.pi)
    if kind is MeasurementKind.AZ_EL and not -math.pi / 2 <= z[1] <= math.pi / 2:
        raise InputRejected("elevation_out_of_range", f"el_rad {z[1]} outside [-pi/2, pi/2]")
    identity = None
    if kind is MeasurementKind.POSITION_ID:
        ident = d.get("id")
        if not isinstance(ident, str) or not ident:
            raise InputRejected("missing_field", "position_id report lacks a string 'id'")
        identity = ident
    rcs = d.get("rcs_dbsm")
    rcs_f = _finite(rcs, "rcs_dbsm") if rcs is not None else None
    return Detection(
        t=t,
        sensor_id=sensor.id,
        kind=kind,
        z=np.array(z),
        R=_sensor_R(sensor),
        sensor_pos=sensor.position_enu,
        identity=identity,
        rcs_dbsm=rcs_f,
        attrs={"sensor_kind": sensor.kind.value},
    )


# well-formed numbers that no radar can report: the noise of an object at the antenna itself
# (a range sigma of 6 m takes a plot 5 m away below zero; one straight above, past the zenith)
OUT_OF_DOMAIN = frozenset({"negative_range", "elevation_out_of_range"})


def parse_plot(
    d: Mapping[str, Any], sensor: SensorSpec, t: float, dropped: list[str] | None = None
) -> Detection | None:
    """``parse_detection``, except that a plot outside the measurement's domain
    (``OUT_OF_DOMAIN``) is None, its reason appended to ``dropped``: the one rule of
    :func:`parse_scan_line`, for every path that parses a report's plots (files, the live
    feed, the simulator's reports), so every mode keeps and drops the same plots."""
    try:
        return parse_detection(d, sensor, t)
    except InputRejected as e:
        if e.reason not in OUT_OF_DOMAIN:
            raise
        if dropped is not None:
            dropped.append(e.reason)
        return None


def parse_scan_line(
    line: str,
    sensors: Mapping[str, SensorSpec],
    line_no: int = 0,
    dropped: list[str] | None = None,
) -> Scan:
    """One scenario line -> :class:`Scan`; raises :class:`InputRejected` with a reason.

    A scan is rejected whole when it is corrupt (not JSON, a field missing or not a finite
    number, an azimuth in the wrong unit): such a report is suspect as a whole. A plot whose
    numbers are sound but outside the measurement's domain (range <= 0, elevation past
    +-pi/2) is the noise of an object within a few sigma of the antenna: that plot alone is
    dropped (its reason appended to ``dropped``) and the scan's other plots, measured
    independently, are kept. Rejecting the whole scan for it blinded the radar to everything
    else for one revisit: on generated ``ballistic_night`` seeds a drone hovering 5 m over
    the radar cost ~20 scans a file and rockets their first plots (docs/BALLISTIC.md,
    session 14 ``ball3``).
    """
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as e:
        raise InputRejected("bad_json", str(e)) from None
    if not isinstance(obj, dict):
        raise InputRejected("not_an_object", type(obj).__name__)
    if obj.get("type") != "detections":
        raise InputRejected("unknown_type", repr(obj.get("type")))
    t = _finite(obj.get("t"), "t")
    sid = obj.get("sensor")
    if not isinstance(sid, str) or sid not in sensors:
        raise InputRejected("unknown_sensor", repr(sid))
    dets = obj.get("detections")
    if not isinstance(dets, list):
        raise InputRejected("bad_detections", "detections is not a list")
    sensor = sensors[sid]
    fast = _fast_detections(dets, sensor, t)
    if fast is not None:
        return Scan(t, sid, fast[0], line_no, stacked=fast[1])
    plots = (parse_plot(d, sensor, t, dropped) for d in dets)
    return Scan(t, sid, tuple(p for p in plots if p is not None), line_no)


_NUMBER = (float, int)
_NUMBER_TYPES = frozenset(_NUMBER)
_ROW = {kind: itemgetter(*keys) for kind, keys in _KEYS.items()}  # one key: a bare value


def _fast_detections(
    dets: list[Any], sensor: SensorSpec, t: float
) -> tuple[tuple[Detection, ...], StackedDetections] | None:
    """The whole scan checked at once with numpy: the same rules as :func:`parse_detection`,
    for the common case where every detection is well formed (a radar scan of thousands of
    plots parses several times faster). Returns the detections and the arrays they were made
    from, or None at the first doubt; the caller then parses detection by detection, which
    finds the exact reason to reject."""
    kind = sensor.measures
    if kind is MeasurementKind.POSITION_ID or not dets:
        return None
    keys = _KEYS[kind]
    try:
        # an itemgetter per kind and one set test over the values' types: the same checks
        # as a nested comprehension and an all() over a generator, at C speed
        rows = list(map(_ROW[kind], dets))
        rcs = [d.get("rcs_dbsm") for d in dets]
    except (KeyError, TypeError, AttributeError):
        return None
    if len(keys) == 1:
        rows = [(v,) for v in rows]
    if not _NUMBER_TYPES.issuperset(map(type, chain.from_iterable(rows))):
        return None  # bool, str, None, ...: let the slow path name it
    Z = np.array(rows, dtype=float)
    if not np.isfinite(Z).all():
        return None
    polar = kind is MeasurementKind.RANGE_AZ_EL_RADIAL
    if polar and ((Z[:, 0] <= 0).any() or (np.abs(Z[:, 2]) > math.pi / 2).any()):
        return None
    if kind in (MeasurementKind.RANGE_AZ_EL_RADIAL, MeasurementKind.AZ, MeasurementKind.AZ_EL):
        ai = 1 if kind is MeasurementKind.RANGE_AZ_EL_RADIAL else 0
        if (np.abs(Z[:, ai]) > 2 * math.pi).any():
            return None
        Z[:, ai] = np.mod(Z[:, ai], 2 * math.pi)
    if kind is MeasurementKind.AZ_EL and (np.abs(Z[:, 1]) > math.pi / 2).any():
        return None
    rcs_f: list[float | None] = []
    if rcs.count(None) == len(rcs):
        rcs_f = rcs  # no plot has an RCS (x/y plots, bearings): nothing to check
    else:
        for v in rcs:
            if v is None:
                rcs_f.append(None)
            elif type(v) in _NUMBER and math.isfinite(v):
                rcs_f.append(float(v))
            else:
                return None
    R = _sensor_R(sensor)
    return Detection.many(
        t, sensor.id, kind, Z, R, sensor.position_enu, rcs_f,
        {"sensor_kind": sensor.kind.value},
    ), StackedDetections(kind, Z, R, sensor.position_enu)  # fmt: skip


class SkybenchReader:
    """Streams a skybench/1 scenario: the site from the header, then :class:`Scan` values.

    Rejected lines are kept in ``rejected`` (line number, reason) and counted in
    ``counters`` under ``rejected.<reason>``; plots dropped alone (see
    :func:`parse_scan_line`) are counted under ``dropped.<reason>``.
    """

    def __init__(self, f: TextIO, name: str = "scenario") -> None:
        self._f = f
        self.name = name
        self.counters = Counters()
        self.rejected: list[Rejected] = []
        first = f.readline()
        try:
            header = json.loads(first)
        except json.JSONDecodeError as e:
            raise ConfigError("(line 1)", f"header is not JSON: {e}", name) from None
        if not isinstance(header, dict) or header.get("type") != "header":
            raise ConfigError("(line 1)", "first line must be the skybench header", name)
        if header.get("format") != "skybench/1":
            raise ConfigError(
                "format", f"expected 'skybench/1', got {header.get('format')!r}", name
            )
        self.header: dict[str, Any] = header
        self.site: Site = site_from_skybench_header(header)
        self._sensors = self.site.sensor_map

    @classmethod
    def open(cls, path: str | Path) -> SkybenchReader:
        return cls(open(path, encoding="utf-8"), str(path))  # closed by close()

    def __iter__(self) -> Iterator[Scan]:
        for line_no, line in enumerate(self._f, start=2):
            if not line.strip():
                continue
            dropped: list[str] = []
            try:
                scan = parse_scan_line(line, self._sensors, line_no, dropped)
            except InputRejected as e:
                self.counters.inc(f"rejected.{e.reason}")
                self.rejected.append(Rejected(line_no, e.reason, e.detail))
                continue
            for reason in dropped:
                self.counters.inc(f"dropped.{reason}")
            self.counters.inc("accepted.scans")
            self.counters.inc("accepted.detections", len(scan.detections))
            yield scan

    def close(self) -> None:
        self._f.close()

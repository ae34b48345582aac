"""Exports over journal records: GeoJSON and KML of tracks, CSV of detections, the COURAGEOUS
C-UAS evaluation log (JSON).

Pure functions: records (any iterable, e.g. ``journal.records(t0, t1)``) in, text or a JSON
value out; positions are converted from the site's ENU frame with its ``GeoOrigin``.
Coordinates follow each format: GeoJSON (RFC 7946) ``[lon, lat, alt]``; KML 2.2
``lon,lat,alt`` with ``altitudeMode absolute`` (ellipsoid height, as the site origin).
A track's line is built from its published states in time order, ``deleted`` states
excluded (their last position is a coasted guess).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from skywarden.core.geo import GeoOrigin
from skywarden.store.records import AlertRecord, RawMessage, Record, TrackRecord, detections_of


@dataclass(frozen=True)
class TrackPath:
    """One track's history: states in time order, with its most likely class at the end."""

    track_id: str
    states: tuple[TrackRecord, ...]

    @property
    def best_class(self) -> str:
        return self.states[-1].best_class

    @property
    def identity(self) -> str | None:
        return next((s.identity for s in reversed(self.states) if s.identity), None)

    @property
    def source(self) -> str:
        return self.states[0].source

    @property
    def confirmed(self) -> bool:
        return any(s.status in ("confirmed", "coasting") for s in self.states)


def track_paths(records: Iterable[Record], confirmed_only: bool = False) -> list[TrackPath]:
    """Group track states by tracker instance and track id (first-seen order), each sorted by
    time: ids restart with every process, its ``source`` (``tracker/<run>``) tells them apart."""
    by_id: dict[tuple[str, str], list[TrackRecord]] = {}
    for r in records:
        if isinstance(r, TrackRecord) and r.status != "deleted":
            by_id.setdefault((r.source, r.track_id), []).append(r)
    paths = [TrackPath(k[1], tuple(sorted(v, key=lambda s: s.t))) for k, v in by_id.items()]
    return [p for p in paths if p.confirmed] if confirmed_only else paths


def _lla(origin: GeoOrigin, s: TrackRecord) -> tuple[float, float, float]:
    lat, lon, alt = origin.to_geodetic(s.x[0], s.x[1], s.x[2])
    return round(lon, 8), round(lat, 8), round(alt, 2)


def tracks_geojson(
    records: Iterable[Record], origin: GeoOrigin, confirmed_only: bool = False
) -> dict[str, Any]:
    """A FeatureCollection: one LineString (or Point, for a single state) per track."""
    features: list[dict[str, Any]] = []
    for p in track_paths(records, confirmed_only):
        coords = [list(_lla(origin, s)) for s in p.states]
        geom: dict[str, Any] = (
            {"type": "Point", "coordinates": coords[0]}
            if len(coords) == 1
            else {"type": "LineString", "coordinates": coords}
        )
        features.append(
            {
                "type": "Feature",
                "id": p.track_id,
                "geometry": geom,
                "properties": {
                    "track_id": p.track_id,
                    "class": p.best_class,
                    "identity": p.identity,
                    "t_first": p.states[0].t,
                    "t_last": p.states[-1].t,
                    "times": [s.t for s in p.states],
                    "speed_mps": [round(s.speed, 3) for s in p.states],
                    "status": p.states[-1].status,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


_KML_COLOURS = {  # aabbggrr
    "drone": "ff0000ff",
    "drone_fixed_wing": "ff0080ff",
    "bird": "ff00aa00",
    "aircraft": "ffff0000",
    "unknown": "ff808080",
}


def tracks_kml(records: Iterable[Record], origin: GeoOrigin, name: str = "skywarden tracks") -> str:
    """KML 2.2 document: one Placemark with a LineString per track, coloured by class."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        "<Document>",
        f"<name>{escape(name)}</name>",
    ]
    for cls, colour in _KML_COLOURS.items():
        out.append(
            f'<Style id="c_{cls}"><LineStyle><color>{colour}</color><width>2</width>'
            f"</LineStyle></Style>"
        )
    for p in track_paths(records):
        cls = p.best_class if p.best_class in _KML_COLOURS else "unknown"
        coords = " ".join("{:.8f},{:.8f},{:.2f}".format(*_lla(origin, s)) for s in p.states)
        desc = (
            f"class {p.best_class}; identity {p.identity or '-'}; "
            f"t {p.states[0].t:.3f}..{p.states[-1].t:.3f}; {len(p.states)} states"
        )
        geom = (
            f"<Point><altitudeMode>absolute</altitudeMode><coordinates>{coords}</coordinates>"
            "</Point>"
            if len(p.states) == 1
            else "<LineString><altitudeMode>absolute</altitudeMode>"
            f"<coordinates>{coords}</coordinates></LineString>"
        )
        out.append(
            f"<Placemark><name>{escape(p.track_id)}</name>"
            f"<description>{escape(desc)}</description>"
            f"<TimeSpan><begin>{p.states[0].t}</begin><end>{p.states[-1].t}</end></TimeSpan>"
            f"<styleUrl>#c_{cls}</styleUrl>{geom}</Placemark>"
        )
    out += ["</Document>", "</kml>"]
    return "\n".join(out) + "\n"


DETECTION_COLUMNS = (
    "t",
    "sensor_id",
    "format",
    "kind",
    "z",
    "e_m",
    "n_m",
    "u_m",
    "lat",
    "lon",
    "alt_m",
    "identity",
    "class_hint",
    "class_conf",
    "rcs_dbsm",
)


def detections_csv(records: Iterable[Record], origin: GeoOrigin | None = None) -> str:
    """One row per detection in raw messages whose parsed form carries detections.

    ``z`` is the measurement vector joined by spaces (ordering per ``core.observation``);
    position columns are filled when the kind fixes a position (lat/lon with ``origin``).
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(DETECTION_COLUMNS)
    for r in records:
        if not isinstance(r, RawMessage):
            continue
        for d in detections_of(r):
            pos = d.position_enu()
            enu: list[Any] = ["", "", ""]
            lla: list[Any] = ["", "", ""]
            if pos is not None:
                enu = [f"{float(v):.3f}" for v in pos]
                if origin is not None:
                    lat, lon, alt = origin.to_geodetic(float(pos[0]), float(pos[1]), float(pos[2]))
                    lla = [f"{lat:.8f}", f"{lon:.8f}", f"{alt:.2f}"]
            w.writerow(
                [
                    repr(float(r.t)),
                    r.sensor_id,
                    r.format,
                    d.kind.value,
                    " ".join(repr(float(v)) for v in d.z),
                    *enu,
                    *lla,
                    d.identity or "",
                    d.class_hint or "",
                    d.class_conf,
                    "" if d.rcs_dbsm is None else d.rcs_dbsm,
                ]
            )
    return buf.getvalue()


# ------------------------------------------------------------------ COURAGEOUS log

COURAGEOUS_CLASSES = {"drone": "UAV", "drone_fixed_wing": "UAV", "unknown": "Unknown"}
"""Our classes -> the COURAGEOUS ``classification`` options (Unknown, UAV, GCS, Other)."""


def _position3d(origin: GeoOrigin, e: float, n: float, u: float) -> dict[str, Any]:
    lat, lon, alt = origin.to_geodetic(e, n, u)
    return {
        "$type": "Position3d",
        "lat": round(lat, 8),
        "lon": round(lon, 8),
        "height_amsl": round(alt, 3),
    }


def _alarm_intervals(records: Iterable[Record]) -> dict[str, list[tuple[float, float]]]:
    """Per track: the times an alert on it was open (raised until resolved)."""
    opened: dict[str, tuple[str, float]] = {}
    out: dict[str, list[tuple[float, float]]] = {}
    for r in records:
        if not isinstance(r, AlertRecord) or r.track_id is None:
            continue
        if r.from_state is None:
            opened[r.alert_id] = (r.track_id, r.t)
        elif r.to_state == "resolved" and r.alert_id in opened:
            tid, t0 = opened.pop(r.alert_id)
            out.setdefault(tid, []).append((t0, r.t))
    for tid, t0 in opened.values():
        out.setdefault(tid, []).append((t0, float("inf")))
    return out


def courageous_log(
    records: Iterable[Record], origin: GeoOrigin, system: str = "skywarden"
) -> dict[str, Any]:
    """The COURAGEOUS C-UAS evaluation log (schema v0.4.x as documented by the project).

    Layout: ``static_cuas_location`` (the site origin, a ``Position3d``), ``tracks`` and
    ``detection``: lists of record sets ``{"uas_id", "name", "records": [...]}``. A record
    has ``time`` (UNIX milliseconds), ``record_number`` (1, 2, ... over the whole log),
    ``location`` (``{"$type": "Position3d", "lat", "lon", "height_amsl"}``),
    ``classification`` (``UAV``, ``Unknown`` or ``Other``: birds and aircraft are Other),
    ``identification`` (free text: the cooperative identity or our finer class) and
    ``alarm`` (``active``: an alert on the track was open at that time; ``certainty``: the
    track's probability of being a drone).

    Mapping choices: one track record set per journaled track (``uas_id``: the cooperative
    identity when bound, else ``tracker/<run>:<id>``, so a UAS lost and found again under
    the same identity shares a ``uas_id`` as the format intends); one detection record set
    per sensor with every detection that fixes a position (bearing-only detections have no
    location and are left out). ``height_amsl`` carries the site frame's height (the site
    origin's altitude reference): no geoid model is applied offline.
    """
    recs = list(records)
    alarms = _alarm_intervals(recs)
    counter = 0

    def number() -> int:
        nonlocal counter
        counter += 1
        return counter

    tracks: list[dict[str, Any]] = []
    for p in track_paths(recs, confirmed_only=True):
        rows = []
        for s in p.states:
            p_drone = s.class_probs.get("drone", 0.0) + s.class_probs.get("drone_fixed_wing", 0.0)
            active = any(a <= s.t <= b for a, b in alarms.get(p.track_id, ()))
            rows.append(
                {
                    "time": round(s.t * 1000.0),
                    "record_number": number(),
                    "location": _position3d(origin, s.x[0], s.x[1], s.x[2]),
                    "classification": COURAGEOUS_CLASSES.get(s.best_class, "Other"),
                    "identification": s.identity or s.best_class,
                    "alarm": {"active": active, "certainty": round(p_drone, 4)},
                }
            )
        uas = p.identity or f"{p.source}:{p.track_id}"
        tracks.append({"uas_id": uas, "name": f"{system} track {p.track_id}", "records": rows})
    per_sensor: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        if not isinstance(r, RawMessage):
            continue
        for d in detections_of(r):
            pos = d.position_enu()
            if pos is None:
                continue
            cls = COURAGEOUS_CLASSES.get(d.class_hint or "unknown", "Other")
            row: dict[str, Any] = {
                "time": round(float(d.t) * 1000.0),
                "record_number": number(),
                "location": _position3d(origin, float(pos[0]), float(pos[1]), float(pos[2])),
                "classification": cls,
            }
            if d.identity or d.class_hint:
                row["identification"] = d.identity or d.class_hint
            per_sensor.setdefault(r.sensor_id, []).append(row)
    detection = [
        {"uas_id": f"sensor-{sid}", "name": f"{system} detections of {sid}", "records": rows}
        for sid, rows in per_sensor.items()
    ]
    return {
        "static_cuas_location": _position3d(origin, 0.0, 0.0, 0.0),
        "tracks": tracks,
        "detection": detection,
    }

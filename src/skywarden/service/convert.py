"""Core values -> wire models: the one place a track, an alert or a site becomes JSON.

Geodetic positions are computed here from the site origin (``core.geo``), so the tracker stays
in ENU and the console can draw either. Floats are rounded to what a display can use
(centimetres, milli-degrees of heading) to keep each WebSocket message small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pymap3d

from skywarden.alerts.lifecycle import Alert
from skywarden.core.bearing import BearingHit
from skywarden.core.geo import GeoOrigin
from skywarden.core.site import SensorSpec, Site, ZoneSpec
from skywarden.core.track import TrackState, TrackStatus
from skywarden.service.schemas import (
    AlertOut,
    BearingOut,
    EllipseOut,
    GeoPoint,
    LaunchOut,
    PictureOut,
    SensorOut,
    SiteOut,
    ThreatOut,
    TrackOut,
    TrailPointOut,
)
from skywarden.service.source import Picture, TrailPoint
from skywarden.threat.assess import ThreatAssessment
from skywarden.threat.launch import LaunchPoint

_CIRCLE_VERTICES = 72


def _r(v: float, nd: int = 2) -> float:
    return round(float(v), nd)


def geo_point(origin: GeoOrigin, e: float, n: float, u: float) -> GeoPoint:
    lat, lon, alt = origin.to_geodetic(e, n, u)
    return GeoPoint(lat=round(lat, 7), lon=round(lon, 7), alt_m=_r(alt))


def geo_points(origin: GeoOrigin, enu: np.ndarray) -> list[GeoPoint]:
    """Many ENU points at once (one vectorised pymap3d call: the per-point call dominated the
    cost of a picture with 100 tracks)."""
    if len(enu) == 0:
        return []
    lat, lon, alt = pymap3d.enu2geodetic(
        enu[:, 0], enu[:, 1], enu[:, 2], origin.lat_deg, origin.lon_deg, origin.alt_m
    )
    return [
        GeoPoint(lat=round(a, 7), lon=round(b, 7), alt_m=round(c, 2))
        for a, b, c in zip(
            np.atleast_1d(lat).tolist(),
            np.atleast_1d(lon).tolist(),
            np.atleast_1d(alt).tolist(),
            strict=True,
        )
    ]


def threat_out(a: ThreatAssessment) -> ThreatOut:
    tte = a.time_to_enter_s
    return ThreatOut(
        level=a.level.name.lower(),  # type: ignore[arg-type]
        score=_r(a.score, 3),
        zone_id=a.zone_id,
        time_to_enter_s=None if tte is None else _r(tte, 1),
        reasons=list(a.reasons),
        friendly=a.friendly,
    )


def launch_out(lp: LaunchPoint, origin: GeoOrigin) -> LaunchOut:
    e, n, _ = lp.origin_enu
    el = lp.ellipse
    op = lp.operator_enu
    return LaunchOut(
        enu_m=[_r(e), _r(n)],
        position=geo_point(origin, e, n, 0.0),
        method=lp.method,
        origin_t=_r(lp.origin_t, 3),
        ellipse=EllipseOut(
            semi_major_m=_r(el.semi_major_m, 1),
            semi_minor_m=_r(el.semi_minor_m, 1),
            orientation_deg=_r(el.orientation_deg, 1),
            confidence=el.confidence,
        ),
        operator_enu_m=None if op is None else [_r(op[0]), _r(op[1]), _r(op[2])],
        operator_position=None if op is None else geo_point(origin, *op),
    )


def ballistic_origin_out(
    en: Sequence[float], ellipse: Sequence[float] | None, origin: GeoOrigin
) -> LaunchOut:
    """A round's point of origin (``Frame.ground_fields``: [e, n] and the 95 % ellipse as
    [semi-major, semi-minor, deg from north]) as the API's launch object."""
    el = list(ellipse) if ellipse else [0.0, 0.0, 0.0]
    return LaunchOut(
        enu_m=[_r(float(en[0])), _r(float(en[1]))],
        position=geo_point(origin, float(en[0]), float(en[1]), 0.0),
        method="ballistic",
        origin_t=None,
        ellipse=EllipseOut(
            semi_major_m=_r(float(el[0]), 1),
            semi_minor_m=_r(float(el[1]), 1),
            orientation_deg=_r(float(el[2]), 1),
            confidence=0.95,
        ),
        operator_enu_m=None,
        operator_position=None,
    )


def track_out(
    tr: TrackState,
    a: ThreatAssessment | None,
    origin: GeoOrigin,
    pos: GeoPoint | None = None,
    ground: Mapping[str, Any] | None = None,
    launch: LaunchPoint | None = None,
) -> TrackOut:
    """``launch``: the track's launch estimate when the picture has one (else the one the
    assessment carries, for warnings)."""
    lp = launch if launch is not None else a.launch if a is not None else None
    g = dict(ground or {})
    came_from = g.pop("launch_enu_m", None), g.pop("launch_ellipse_m", None)
    if lp is not None:
        lout: LaunchOut | None = launch_out(lp, origin)
    elif came_from[0] is not None:  # a ballistic round's point of origin, in the same form
        lout = ballistic_origin_out(came_from[0], came_from[1], origin)
    else:
        lout = None
    e, n, u, ve, vn, vu = tr.x[:6].tolist()
    sigma = math.sqrt(max((float(tr.P[0, 0]) + float(tr.P[1, 1])) / 2.0, 0.0))
    return TrackOut(
        id=tr.id,
        t=_r(tr.t, 3),
        status=tr.status.value,
        confirmed=tr.confirmed,
        coasting=tr.status is TrackStatus.COASTING,
        enu=[_r(e), _r(n), _r(u)],
        position=pos if pos is not None else geo_point(origin, e, n, u),
        velocity_enu=[_r(ve), _r(vn), _r(vu)],
        speed_mps=_r(math.hypot(ve, vn, vu)),
        heading_deg=_r(math.degrees(math.atan2(ve, vn)) % 360.0, 1),
        sigma_m=_r(sigma, 1),
        object_class=tr.best_class,
        class_probs={k: _r(p, 3) for k, p in tr.class_probs.items()},
        identity=tr.identity,
        sensors=list(tr.sensors),
        hits=tr.hits,
        first_t=_r(tr.first_t, 3),
        threat=None if a is None else threat_out(a),
        **g,
        launch=lout,
    )


def alert_out(al: Alert) -> AlertOut:
    return AlertOut(
        id=al.id,
        track_id=al.track_id,
        zone_id=al.zone_id,
        level=al.level.value,
        state=al.state.value,
        raised_t=al.raised_t,
        updated_t=al.updated_t,
        time_to_enter_s=None if al.time_to_enter_s is None else _r(al.time_to_enter_s, 1),
        object_class=al.object_class,
        reasons=list(al.reasons),
        acknowledged_by=al.acknowledged_by,
        acknowledged_t=al.acknowledged_t,
        resolved_t=al.resolved_t,
        evidence=None if al.evidence is None else al.evidence.to_dict(),
        explanation=list(al.explanation),
        resolution=al.resolution,
    )


def tracks_out(pic: Picture, origin: GeoOrigin) -> list[TrackOut]:
    enu = np.array([[float(v) for v in tr.x[:3]] for tr in pic.tracks]).reshape(-1, 3)
    pos = geo_points(origin, enu)
    return [
        track_out(
            tr,
            pic.assessments.get(tr.id),
            origin,
            p,
            pic.ground.get(tr.id),
            pic.launches.get(tr.id),
        )
        for tr, p in zip(pic.tracks, pos, strict=True)
    ]


def bearing_out(b: BearingHit) -> BearingOut:
    return BearingOut(
        t=_r(b.t, 3),
        sensor_id=b.sensor_id,
        sensor_enu=[_r(v) for v in b.sensor_enu],
        azimuth_deg=_r(math.degrees(b.azimuth_rad), 2),
        sigma_deg=_r(math.degrees(b.sigma_rad), 2),
        elevation_deg=None if b.elevation_rad is None else _r(math.degrees(b.elevation_rad), 2),
        track_id=b.track_id,
        class_hint=b.class_hint,
    )


def picture_out(pic: Picture, origin: GeoOrigin, resync: bool = False) -> PictureOut:
    return PictureOut(
        seq=pic.seq,
        t=pic.t,
        wall_t=pic.wall_t,
        resync=resync,
        tracks=tracks_out(pic, origin),
        alerts=[alert_out(a) for a in pic.alerts],
        bearings=[bearing_out(b) for b in pic.bearings],
    )


def trail_out(points: tuple[TrailPoint, ...]) -> list[TrailPointOut]:
    return [
        TrailPointOut(t=p.t, e=_r(p.e), n=_r(p.n), u=_r(p.u), coasting=p.coasting) for p in points
    ]


def sensor_out(s: SensorSpec, origin: GeoOrigin) -> SensorOut:
    e, n, u = (float(v) for v in s.position_enu)
    return SensorOut(
        id=s.id,
        kind=s.kind.value,
        measures=s.measures.value,
        enu=[_r(e), _r(n), _r(u)],
        position=geo_point(origin, e, n, u),
        max_range_m=s.max_range_m,
        update_s=s.update_s,
    )


def _zone_ring_enu(z: ZoneSpec) -> list[tuple[float, float]]:
    if z.center_enu is not None and z.radius_m is not None:
        ce, cn = z.center_enu
        k = _CIRCLE_VERTICES
        return [
            (
                ce + z.radius_m * math.sin(2 * math.pi * i / k),
                cn + z.radius_m * math.cos(2 * math.pi * i / k),
            )
            for i in range(k)
        ]
    assert z.polygon_enu is not None
    return list(z.polygon_enu)


def _finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


def zone_feature(z: ZoneSpec, origin: GeoOrigin) -> dict[str, Any]:
    ring = []
    for e, n in _zone_ring_enu(z):
        lat, lon, _ = origin.to_geodetic(e, n, 0.0)
        ring.append([round(lon, 7), round(lat, 7)])
    ring.append(ring[0])
    props: dict[str, Any] = {
        "id": z.id,
        "kind": z.kind.value,
        "floor_m": _finite_or_none(z.floor_m),
        "ceiling_m": _finite_or_none(z.ceiling_m),
        "center_enu": list(z.center_enu) if z.center_enu is not None else None,
        "radius_m": z.radius_m,
        "polygon_enu": [list(p) for p in z.polygon_enu] if z.polygon_enu else None,
    }
    return {
        "type": "Feature",
        "id": z.id,
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def site_out(site: Site) -> SiteOut:
    o = site.origin
    return SiteOut(
        name=site.name,
        origin=GeoPoint(lat=o.lat_deg, lon=o.lon_deg, alt_m=o.alt_m),
        sensors=[sensor_out(s, o) for s in site.sensors],
        zones={"type": "FeatureCollection", "features": [zone_feature(z, o) for z in site.zones]},
        whitelist=sorted(site.whitelisted_identities),
    )


def counters_out(stats: Mapping[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(stats.items())}

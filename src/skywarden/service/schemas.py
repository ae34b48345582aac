"""The wire contract of the REST API and the WebSocket, as pydantic models (the only place pydantic
lives, besides ``settings``). Field by field, as readsb's README-json.md does for aircraft.json.

Units: SI everywhere (metres, m/s, seconds); latitude/longitude in degrees (WGS-84); ``enu``
is ``[east, north, up]`` metres about the site origin; times are site-clock seconds (UNIX
seconds in live and simulated runs). A field the system does not know is ``null``, never
guessed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class HealthOut(_Out):
    status: Literal["ok", "starting"]
    mode: str = Field(description="simulation, replay or live")
    seq: int = Field(description="sequence number of the latest picture (0 before the first)")
    picture_t: float | None = Field(description="site time of the latest picture, s")
    picture_age_s: float | None = Field(description="wall seconds since the latest picture")


class ConfigOut(_Out):
    """What the console needs to behave like the server expects."""

    stale_after_s: float = Field(description="show the feed-lost banner after this many s")
    operator: str = Field(description="name recorded on acknowledgements")


class GeoPoint(_Out):
    lat: float
    lon: float
    alt_m: float = Field(
        description="height above the WGS-84 ellipsoid (HAE), m, as the site origin's; a "
        "track's height above the site's ground (AGL, flat site) is enu[2]"
    )


class SensorOut(_Out):
    id: str
    kind: str
    measures: str
    enu: list[float] = Field(description="[e, n, u] metres")
    position: GeoPoint
    max_range_m: float | None
    update_s: float


class SiteOut(_Out):
    name: str
    origin: GeoPoint
    sensors: list[SensorOut]
    zones: dict[str, Any] = Field(
        description="GeoJSON FeatureCollection: one Polygon feature per zone (lon/lat; circles "
        "as 72-gons); properties carry id, kind, floor_m, ceiling_m and the exact ENU shape "
        "(center_enu + radius_m, or polygon_enu)"
    )
    whitelist: list[str] = Field(description="identities treated as friendly")


class ThreatOut(_Out):
    level: Literal["none", "watch", "advisory", "warning", "alert"]
    score: float = Field(description="0 (none) .. 1 (alert)")
    zone_id: str | None
    time_to_enter_s: float | None = Field(description="0 when inside; null when not predicted")
    reasons: list[str]
    friendly: bool


class EllipseOut(_Out):
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float = Field(description="major axis, clockwise from north, [0, 180)")
    confidence: float = Field(description="probability inside, e.g. 0.95")


class LaunchOut(_Out):
    """Where the track probably took off or entered coverage (``threat.launch``)."""

    enu_m: list[float] = Field(description="[e, n] metres of the estimated launch point")
    position: GeoPoint
    method: str = Field(
        description="ground, appeared, coverage_edge, first_seen, joined (threat.launch) or "
        "ballistic (a round's point of origin)"
    )
    origin_t: float | None = Field(description="when the track was there (null: not estimated)")
    ellipse: EllipseOut
    operator_enu_m: list[float] | None = Field(
        description="[e, n, u] of the Remote ID operator position, when broadcast"
    )
    operator_position: GeoPoint | None


class TrackOut(_Out):
    id: str
    t: float
    status: Literal["tentative", "confirmed", "coasting", "deleted"]
    confirmed: bool
    coasting: bool
    enu: list[float] = Field(
        description="[e, n, u] metres about the site origin; u is the height AGL (flat site)"
    )
    position: GeoPoint
    velocity_enu: list[float] = Field(description="[ve, vn, vu] m/s")
    speed_mps: float
    heading_deg: float = Field(description="course over ground, clockwise from north")
    sigma_m: float = Field(description="1-sigma horizontal position uncertainty")
    object_class: str = Field(description="most probable class")
    class_probs: dict[str, float]
    identity: str | None
    sensors: list[str]
    hits: int
    first_t: float
    threat: ThreatOut | None = Field(description="null for tentative tracks (not assessed)")
    impact_enu_m: list[float] | None = Field(
        default=None, description="predicted ground impact [e, n] of a ballistic round"
    )
    impact_t: float | None = Field(default=None, description="predicted impact time, site s")
    impact_ellipse_m: list[float] | None = Field(
        default=None, description="95 % impact ellipse [semi-major, semi-minor, deg from north]"
    )
    launch: LaunchOut | None = Field(
        default=None,
        description="where it came from, the API's one launch field: a drone's take-off or "
        "entry estimate (every confirmed drone track in a live run, else tracks assessed "
        "warning or above) or a ballistic round's point of origin (method 'ballistic'). "
        "tracks.jsonl and the journal carry the same estimate as the skybench fields "
        "launch_enu_m and launch_ellipse_m",
    )


class AlertOut(_Out):
    id: str
    track_id: str
    zone_id: str
    level: Literal["advisory", "warning", "alert"]
    state: Literal["raised", "acknowledged", "resolved"]
    raised_t: float
    updated_t: float
    time_to_enter_s: float | None
    object_class: str
    reasons: list[str]
    acknowledged_by: str | None
    acknowledged_t: float | None
    resolved_t: float | None
    evidence: dict[str, Any] | None = Field(
        default=None,
        description="what drove the latest level: rule, class_probs, sensors, range_m, "
        "time_to_zone_s, closest_approach_m, time_to_closest_s, identity, identity_status",
    )
    explanation: list[str] = Field(
        default_factory=list,
        description="one line per raise, change of level, change of class and resolution",
    )
    resolution: str | None = None


ResolveReason = Literal[
    "false_alarm_bird", "false_alarm_friendly", "false_alarm_other", "exercise", "real_attack"
]


class AlertAction(BaseModel):
    """Body of ``POST /api/alerts/{id}/ack`` and ``/resolve`` (optional)."""

    by: str | None = Field(
        default=None,
        max_length=64,
        description="ignored: the logged-in operator is recorded (kept for old clients)",
    )
    reason: ResolveReason | None = Field(
        default=None,
        description="resolve only: why it is closed; journaled as operator action "
        "resolve_reason with the alert id",
    )
    note: str | None = Field(default=None, max_length=200, description="free text, journaled")


class BearingOut(_Out):
    """A bearing-only report (RF, acoustic): a line from the sensor, not a position."""

    t: float
    sensor_id: str
    sensor_enu: list[float] = Field(description="[e, n, u] metres of the sensor")
    azimuth_deg: float = Field(description="clockwise from north")
    sigma_deg: float = Field(description="1-sigma of the azimuth")
    elevation_deg: float | None
    track_id: str | None = Field(description="the track it was associated with; null: none")
    class_hint: str | None


class TrailPointOut(_Out):
    t: float
    e: float
    n: float
    u: float
    coasting: bool


class HistoryOut(_Out):
    t: float | None
    trails: dict[str, list[TrailPointOut]] = Field(description="track id -> oldest..newest")


class PictureOut(_Out):
    """WebSocket message ``type: picture``: the whole picture. Sent first to every client and
    whenever a client must start over (``resync``); every other update is a ``DeltaOut``."""

    type: Literal["picture"] = "picture"
    seq: int
    t: float
    wall_t: float
    resync: bool = Field(
        default=False,
        description="true on the first message and after this client fell behind and had "
        "older pictures dropped: replace, never merge",
    )
    tracks: list[TrackOut]
    alerts: list[AlertOut]
    bearings: list[BearingOut] = Field(
        default_factory=list, description="bearing-only reports of the latest step"
    )


class DeltaOut(_Out):
    """WebSocket message ``type: delta``: what changed since picture ``base_seq``.

    Apply to the picture of ``base_seq`` only: replace or add every track in ``upsert`` (by
    ``id``), drop every id in ``remove``, replace the alert list by ``alerts`` (a few dozen at
    most, so always whole). The server sends a client deltas in order and starts it over with a
    ``picture`` when it falls behind, so a mismatching ``base_seq`` means a bug or a lost
    message: reconnect to get a fresh picture."""

    type: Literal["delta"] = "delta"
    seq: int
    t: float
    wall_t: float
    base_seq: int
    upsert: list[TrackOut]
    remove: list[str]
    alerts: list[AlertOut]
    bearings: list[BearingOut] = Field(
        default_factory=list, description="bearing-only reports of the latest step (whole)"
    )


class StatsOut(_Out):
    mode: str
    seq: int
    picture_t: float | None
    tracks: int
    confirmed_tracks: int
    active_alerts: int
    ws_clients: int
    counters: dict[str, float] = Field(description="every stage's counters, by dotted name")

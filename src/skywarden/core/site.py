"""Site description: origin, sensors, zones and whitelist, as frozen values.

A site is described once, in TOML (``load_site``) or in a skybench/1 header
(``site_from_skybench_header``); both produce the same :class:`Site`. Every field is
checked on load and a bad file fails with :class:`ConfigError` naming the field's path
(``sensors[1].sigma.az_rad``) and the reason, so an integrator can fix it without reading
code.

TOML layout::

    name = "residence"
    [origin]                 # WGS-84
    lat = 33.3128
    lon = 44.3615
    alt_m = 34.0

    [[sensors]]
    id = "radar-1"
    kind = "radar"           # plots | radar | rf | acoustic | camera | remote_id | adsb
    measures = "range_az_el_radial"
    position_enu_m = [0, 0, 8]      # or: position = {lat=..., lon=..., alt_m=...}
    sigma = {range_m = 4.0, az_rad = 0.008, el_rad = 0.01, radial_mps = 0.5}
    update_s = 1.0
    max_range_m = 5000
    reports = "scans"        # each message a whole scan (else "objects"; default: by format)
    pd = {drone = 0.85, bird = 0.8, aircraft = 0.98}   # or one number
    clutter_per_scan = 30

    [sensors.link]           # optional: how the live system hears this sensor (runtime adapters)
    protocol = "asterix_cat048"   # sapient | asterix_cat048 | adsb_beast | adsb_sbs
                                  # | remoteid_udp | mqtt_json
    host = "0.0.0.0"         # bind address (sapient, asterix_cat048, remoteid_udp) or the
    port = 8600              # peer to connect to (adsb_beast, adsb_sbs, mqtt_json broker)
    sac = 25                 # asterix_cat048: the radar's SAC/SIC on the wire
    sic = 1
    # sapient: node_id = "<the node's UUID>" (own_node_id = skywarden's UUID, optional)
    #          keepalive_s, idle_timeout_s (core.link_options)
    # mqtt_json: topic = "site/detections/radar-2"
    #          username, password_env, tls, ca_file, cert_file, key_file (core.link_options)

    [[zones]]
    id = "residence"
    kind = "protected"       # protected | warning
    center_enu_m = [0, 0]    # a circle ...
    radius_m = 150
    # polygon_enu_m = [[e, n], ...] or geojson = { type = "Polygon", coordinates = [...] }
    floor_m = 0
    ceiling_m = 300

    [[whitelist]]
    remote_id = "1581F4XFC228R00B2B4A"   # or icao = "4840d6"
    note = "site security drone"
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin
from skywarden.core.link_options import (
    MQTT_KEYS,
    SAPIENT_KEYS,
    MqttSecurity,
    SapientLiveness,
    parse_mqtt_security,
    parse_sapient_liveness,
)
from skywarden.core.observation import MeasurementKind
from skywarden.core.types import Mat, Vec

if TYPE_CHECKING:
    from pathlib import Path


class SensorKind(StrEnum):
    PLOTS = "plots"
    RADAR = "radar"
    RF = "rf"
    ACOUSTIC = "acoustic"
    CAMERA = "camera"
    REMOTE_ID = "remote_id"
    ADSB = "adsb"


_SIGMA_KEYS: dict[MeasurementKind, tuple[str, ...]] = {
    MeasurementKind.XY: ("x_m", "y_m"),
    MeasurementKind.XYZ: ("x_m", "y_m", "z_m"),
    MeasurementKind.RANGE_AZ_EL_RADIAL: ("range_m", "az_rad", "el_rad", "radial_mps"),
    MeasurementKind.AZ: ("az_rad",),
    MeasurementKind.AZ_EL: ("az_rad", "el_rad"),
    MeasurementKind.POSITION_ID: ("pos_m",),
}


class LinkProtocol(StrEnum):
    """How the live system hears a sensor (``runtime.adapters`` starts one link per kind)."""

    SAPIENT = "sapient"  # TCP server: SAPIENT nodes connect to skywarden and register
    ASTERIX_CAT048 = "asterix_cat048"  # UDP: a radar (or its RDP) sends CAT048 plots
    ADSB_BEAST = "adsb_beast"  # TCP client to dump1090/readsb Beast output (30005)
    ADSB_SBS = "adsb_sbs"  # TCP client to dump1090/readsb BaseStation output (30003)
    REMOTEID_UDP = "remoteid_udp"  # UDP: a receiver bridge forwards F3411 messages
    MQTT_JSON = "mqtt_json"  # MQTT subscriber: generic JSON detections on a topic


_LINK_DEFAULT_PORT: dict[LinkProtocol, int] = {
    LinkProtocol.ADSB_BEAST: 30005,
    LinkProtocol.ADSB_SBS: 30003,
    LinkProtocol.MQTT_JSON: 1883,
}
_LINK_BINDS = frozenset(
    {LinkProtocol.SAPIENT, LinkProtocol.ASTERIX_CAT048, LinkProtocol.REMOTEID_UDP}
)


@dataclass(frozen=True)
class SensorLink:
    """Where a sensor's traffic comes from: a socket to bind or a peer to connect to.

    ``host``/``port`` are the bind address for the protocols skywarden serves (``sapient``,
    ``asterix_cat048``, ``remoteid_udp``; port 0 picks a free one) and the peer for the ones
    it connects to (``adsb_*`` to dump1090/readsb, ``mqtt_json`` to the broker). The other
    fields belong to one protocol each and are checked on load.
    """

    protocol: LinkProtocol
    host: str
    port: int
    topic: str | None = None  # mqtt_json
    node_id: str | None = None  # sapient: the UUID of the node that is this sensor
    own_node_id: str | None = None  # sapient: skywarden's own node UUID (default: derived)
    sac: int | None = None  # asterix_cat048: System Area Code
    sic: int | None = None  # asterix_cat048: System Identification Code
    mqtt: MqttSecurity | None = None  # mqtt_json: credentials and TLS
    sapient: SapientLiveness | None = None  # sapient: keepalive and idle timeout

    @property
    def binds(self) -> bool:
        """True when skywarden listens (the sensor connects or sends to it)."""
        return self.protocol in _LINK_BINDS

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, eq=False)
class SensorSpec:
    """One sensor as its data sheet and its installation describe it."""

    id: str
    kind: SensorKind
    measures: MeasurementKind
    position_enu: Vec
    sigma: Mapping[str, float]
    update_s: float = 1.0
    max_range_m: float | None = None
    pd: float | Mapping[str, float] = 0.9
    clutter_per_scan: float = 0.0
    area_m: tuple[tuple[float, float], ...] | None = None
    link: SensorLink | None = None
    # "scans": every message is one whole look (a radar's scan; an object it did not report
    # was missed); "objects": object by object (SAPIENT, ASTERIX target reports: a miss is a
    # whole update_s without a report). None: the message source decides (sim and skybench
    # lines are scans, every wire adapter and JSON post reports objects).
    reports: str | None = None

    def R(self) -> Mat:
        """Measurement noise covariance in the kind's ordering (see ``core.observation``)."""
        k = self.measures
        if k is MeasurementKind.POSITION_ID:
            p = self.sigma["pos_m"] ** 2
            v = self.sigma.get("vel_mps", max(1.0, 0.3 * self.sigma["pos_m"])) ** 2
            return np.diag([p, p, p, v, v, v])
        return np.diag([self.sigma[key] ** 2 for key in _SIGMA_KEYS[k]])

    def pd_for(self, object_class: str | None = None) -> float:
        """Detection probability; per class where the data sheet gives one (else the mean)."""
        if isinstance(self.pd, int | float):
            return float(self.pd)
        if object_class and object_class in self.pd:
            return float(self.pd[object_class])
        vals = list(self.pd.values())
        return float(sum(vals) / len(vals)) if vals else 0.9

    @property
    def pd_max(self) -> float:
        if isinstance(self.pd, int | float):
            return float(self.pd)
        return max(self.pd.values()) if self.pd else 0.9


class ZoneKind(StrEnum):
    PROTECTED = "protected"
    WARNING = "warning"


@dataclass(frozen=True, eq=False)
class ZoneSpec:
    """A protected or warning volume: a circle or polygon (ENU metres) between floor and ceiling."""

    id: str
    kind: ZoneKind
    center_enu: tuple[float, float] | None = None
    radius_m: float | None = None
    polygon_enu: tuple[tuple[float, float], ...] | None = None
    floor_m: float = -math.inf
    ceiling_m: float = math.inf
    # the warning policy's per-zone settings, (name, value) pairs (``threat.policy`` checks
    # the names): ``[zones.policy]`` in a site file
    policy: tuple[tuple[str, float], ...] = ()

    def contains(self, e: float, n: float, u: float) -> bool:
        if not self.floor_m <= u <= self.ceiling_m:
            return False
        return self.horizontal_distance(e, n) <= 0.0

    def horizontal_distance(self, e: float, n: float) -> float:
        """Signed horizontal distance to the boundary: negative inside, positive outside."""
        if self.center_enu is not None and self.radius_m is not None:
            return math.hypot(e - self.center_enu[0], n - self.center_enu[1]) - self.radius_m
        assert self.polygon_enu is not None
        d = _distance_to_polygon_edges(e, n, self.polygon_enu)
        return -d if _point_in_polygon(e, n, self.polygon_enu) else d

    @property
    def centroid(self) -> tuple[float, float]:
        if self.center_enu is not None:
            return self.center_enu
        assert self.polygon_enu is not None
        pts = np.asarray(self.polygon_enu)
        return float(pts[:, 0].mean()), float(pts[:, 1].mean())


def _point_in_polygon(x: float, y: float, poly: Sequence[tuple[float, float]]) -> bool:
    """Even-odd ray casting (the ring may or may not repeat its first vertex)."""
    inside = False
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xc:
                inside = not inside
    return inside


def _distance_to_polygon_edges(x: float, y: float, poly: Sequence[tuple[float, float]]) -> float:
    best = math.inf
    n = len(poly)
    for i in range(n):
        ax, ay = poly[i]
        bx, by = poly[(i + 1) % n]
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        s = 0.0 if L2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / L2))
        best = min(best, math.hypot(x - ax - s * dx, y - ay - s * dy))
    return best


@dataclass(frozen=True)
class WhitelistEntry:
    """A friendly cooperative identity (Remote ID serial or ICAO address): never alerted on."""

    remote_id: str | None = None
    icao: str | None = None
    note: str = ""

    @property
    def identity(self) -> str:
        """The identity string a track carries: a Remote ID serial, or ``icao:xxxxxx``."""
        return self.remote_id if self.remote_id else f"icao:{(self.icao or '').lower()}"


@dataclass(frozen=True, eq=False)
class Site:
    """A protected site: its geodetic origin, sensors, zones and whitelist."""

    name: str
    origin: GeoOrigin
    sensors: tuple[SensorSpec, ...]
    zones: tuple[ZoneSpec, ...] = ()
    whitelist: tuple[WhitelistEntry, ...] = field(default_factory=tuple)

    def sensor(self, sensor_id: str) -> SensorSpec:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)

    @property
    def sensor_map(self) -> dict[str, SensorSpec]:
        return {s.id: s for s in self.sensors}

    @property
    def whitelisted_identities(self) -> frozenset[str]:
        return frozenset(w.identity for w in self.whitelist)


# ----------------------------------------------------------------------------- parsing


def _req(d: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in d:
        raise ConfigError(f"{path}.{key}" if path else key, "is required")
    return d[key]


def _num(v: Any, path: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(path, f"must be a number, got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise ConfigError(path, "must be finite")
    if positive and f <= 0:
        raise ConfigError(path, f"must be > 0, got {f}")
    if nonneg and f < 0:
        raise ConfigError(path, f"must be >= 0, got {f}")
    return f


def _vec(v: Any, n: int, path: str) -> list[float]:
    if not isinstance(v, list | tuple) or len(v) != n:
        raise ConfigError(path, f"must be a list of {n} numbers")
    return [_num(x, f"{path}[{i}]") for i, x in enumerate(v)]


def _enum(cls: type[StrEnum], v: Any, path: str) -> Any:
    try:
        return cls(v)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ConfigError(path, f"{v!r} is not one of: {allowed}") from None


def parse_origin(d: Any, path: str = "origin") -> GeoOrigin:
    if not isinstance(d, Mapping):
        raise ConfigError(path, "must be a table with lat, lon, alt_m")
    lat = _num(_req(d, "lat", path), f"{path}.lat")
    lon = _num(_req(d, "lon", path), f"{path}.lon")
    alt = _num(d.get("alt_m", 0.0), f"{path}.alt_m")
    if not -90 <= lat <= 90:
        raise ConfigError(f"{path}.lat", f"{lat} is outside [-90, 90]")
    if not -180 <= lon <= 180:
        raise ConfigError(f"{path}.lon", f"{lon} is outside [-180, 180]")
    return GeoOrigin(lat, lon, alt)


def _int(v: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(path, f"must be an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ConfigError(path, f"must be in [{lo}, {hi}], got {v}")
    return v


def _str(v: Any, path: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(path, "must be a non-empty string")
    return v.strip()


def _uuid(v: Any, path: str) -> str:
    import uuid  # here, not at the top: only a SAPIENT link has one (uuid imports platform)

    s = _str(v, path)
    try:
        uuid.UUID(s)
    except ValueError:
        raise ConfigError(path, f"{s!r} is not a UUID") from None
    return s.lower()


_LINK_KEYS = (
    frozenset({"protocol", "host", "port", "topic", "node_id", "own_node_id", "sac", "sic"})
    | MQTT_KEYS
    | SAPIENT_KEYS
)


def parse_link(d: Any, path: str) -> SensorLink:
    """One ``link`` table; every protocol-specific key is checked against its protocol."""
    if not isinstance(d, Mapping):
        raise ConfigError(path, "must be a table (protocol, host, port, ...)")
    for key in d:
        if key not in _LINK_KEYS:
            raise ConfigError(
                f"{path}.{key}", f"unknown key (allowed: {', '.join(sorted(_LINK_KEYS))})"
            )
    proto: LinkProtocol = _enum(LinkProtocol, _req(d, "protocol", path), f"{path}.protocol")
    binds = proto in _LINK_BINDS
    if "host" in d:
        host = _str(d["host"], f"{path}.host")
    elif binds:
        host = "127.0.0.1"
    else:
        raise ConfigError(f"{path}.host", f"is required for {proto.value} (the peer to connect to)")
    if "port" in d:
        port = _int(d["port"], f"{path}.port", 0 if binds else 1, 65535)
    elif proto in _LINK_DEFAULT_PORT:
        port = _LINK_DEFAULT_PORT[proto]
    else:
        raise ConfigError(f"{path}.port", f"is required for {proto.value}")
    allowed = {
        LinkProtocol.SAPIENT: {"node_id", "own_node_id"} | SAPIENT_KEYS,
        LinkProtocol.ASTERIX_CAT048: {"sac", "sic"},
        LinkProtocol.MQTT_JSON: {"topic"} | MQTT_KEYS,
    }.get(proto, set())
    for key in sorted(_LINK_KEYS - {"protocol", "host", "port"}):
        if key in d and key not in allowed:
            raise ConfigError(f"{path}.{key}", f"does not apply to protocol {proto.value}")
    link = SensorLink(proto, host, port)
    if proto is LinkProtocol.SAPIENT:
        own = d.get("own_node_id")
        return SensorLink(
            proto,
            host,
            port,
            node_id=_uuid(_req(d, "node_id", path), f"{path}.node_id"),
            own_node_id=None if own is None else _uuid(own, f"{path}.own_node_id"),
            sapient=parse_sapient_liveness(d, path),
        )
    if proto is LinkProtocol.ASTERIX_CAT048:
        sac = _int(_req(d, "sac", path), f"{path}.sac", 0, 255)
        sic = _int(_req(d, "sic", path), f"{path}.sic", 0, 255)
        return SensorLink(proto, host, port, sac=sac, sic=sic)
    if proto is LinkProtocol.MQTT_JSON:
        topic = _str(_req(d, "topic", path), f"{path}.topic")
        if any(c in topic for c in "+#"):
            raise ConfigError(f"{path}.topic", "must be one topic (no + or # wildcards)")
        return SensorLink(proto, host, port, topic=topic, mqtt=parse_mqtt_security(d, path))
    return link


def _check_links(sensors: Sequence[SensorSpec]) -> None:
    """Two sensors cannot claim the same SAPIENT node, radar SAC/SIC, topic or UDP socket."""
    seen: dict[tuple[object, ...], int] = {}
    for i, s in enumerate(sensors):
        ln = s.link
        if ln is None:
            continue
        if ln.protocol is LinkProtocol.SAPIENT:
            key: tuple[object, ...] = ("sapient", ln.node_id)
        elif ln.protocol is LinkProtocol.ASTERIX_CAT048:
            key = ("asterix", ln.port, ln.sac, ln.sic)
        elif ln.protocol is LinkProtocol.MQTT_JSON:
            key = ("mqtt", ln.host, ln.port, ln.topic)
        elif ln.protocol is LinkProtocol.REMOTEID_UDP:
            key = ("udp", ln.port) if ln.port else ("udp-any", i)
        else:
            key = (ln.protocol.value, ln.host, ln.port)
        if key in seen:
            raise ConfigError(
                f"sensors[{i}].link",
                f"same source as sensors[{seen[key]}] ({sensors[seen[key]].id})",
            )
        seen[key] = i


def parse_sensor(d: Any, path: str, origin: GeoOrigin) -> SensorSpec:
    if not isinstance(d, Mapping):
        raise ConfigError(path, "must be a table")
    sid = _req(d, "id", path)
    if not isinstance(sid, str) or not sid:
        raise ConfigError(f"{path}.id", "must be a non-empty string")
    kind = _enum(SensorKind, _req(d, "kind", path), f"{path}.kind")
    measures = _enum(MeasurementKind, _req(d, "measures", path), f"{path}.measures")
    if "position_enu_m" in d:
        pos = np.array(_vec(d["position_enu_m"], 3, f"{path}.position_enu_m"))
    elif "position" in d:
        g = parse_origin(d["position"], f"{path}.position")
        pos = origin.to_enu(g.lat_deg, g.lon_deg, g.alt_m)
    else:
        raise ConfigError(f"{path}.position_enu_m", "is required (or position = {lat, lon, alt_m})")
    sig = _req(d, "sigma", path)
    if not isinstance(sig, Mapping):
        raise ConfigError(f"{path}.sigma", "must be a table")
    sigma = {}
    for key in _SIGMA_KEYS[measures]:
        sigma[key] = _num(_req(sig, key, f"{path}.sigma"), f"{path}.sigma.{key}", positive=True)
    for key, val in sig.items():
        if key not in sigma:
            sigma[key] = _num(val, f"{path}.sigma.{key}", positive=True)
    pd_raw = d.get("pd", 0.9)
    pd: float | dict[str, float]
    if isinstance(pd_raw, Mapping):
        pd = {}
        for k, v in pd_raw.items():
            pd[k] = _num(v, f"{path}.pd.{k}")
            if not 0 < pd[k] <= 1:
                raise ConfigError(f"{path}.pd.{k}", f"must be in (0, 1], got {pd[k]}")
    else:
        pd = _num(pd_raw, f"{path}.pd")
        if not 0 < pd <= 1:
            raise ConfigError(f"{path}.pd", f"must be in (0, 1], got {pd}")
    area = None
    if "area_m" in d:
        a = d["area_m"]
        if not isinstance(a, list | tuple) or len(a) not in (2, 3):
            raise ConfigError(f"{path}.area_m", "must be [[lo, hi], [lo, hi]] (2 or 3 axes)")
        area = tuple(tuple(_vec(ax, 2, f"{path}.area_m[{i}]")) for i, ax in enumerate(a))
    max_range = d.get("max_range_m")
    return SensorSpec(
        id=sid,
        kind=kind,
        measures=measures,
        position_enu=pos,
        sigma=sigma,
        update_s=_num(d.get("update_s", 1.0), f"{path}.update_s", positive=True),
        max_range_m=None
        if max_range is None
        else _num(max_range, f"{path}.max_range_m", positive=True),
        pd=pd,
        clutter_per_scan=_num(
            d.get("clutter_per_scan", 0.0), f"{path}.clutter_per_scan", nonneg=True
        ),
        area_m=area,  # type: ignore[arg-type]
        link=None if d.get("link") is None else parse_link(d["link"], f"{path}.link"),
        reports=_reports(d.get("reports"), f"{path}.reports"),
    )


def _reports(v: Any, path: str) -> str | None:
    if v is None or v in ("scans", "objects"):
        return v  # type: ignore[no-any-return]
    raise ConfigError(path, f'must be "scans" or "objects", got {v!r}')


def parse_zone(d: Any, path: str, origin: GeoOrigin) -> ZoneSpec:
    if not isinstance(d, Mapping):
        raise ConfigError(path, "must be a table")
    zid = _req(d, "id", path)
    if not isinstance(zid, str) or not zid:
        raise ConfigError(f"{path}.id", "must be a non-empty string")
    kind = _enum(ZoneKind, _req(d, "kind", path), f"{path}.kind")
    floor = _num(d.get("floor_m", 0.0), f"{path}.floor_m")
    ceiling = _num(d.get("ceiling_m", 1e9), f"{path}.ceiling_m")
    if ceiling <= floor:
        raise ConfigError(f"{path}.ceiling_m", f"must be above floor_m ({floor})")
    zone = _parse_zone_shape(d, path, origin, zid, kind, floor, ceiling)
    pol = d.get("policy", {})
    if not isinstance(pol, Mapping):
        raise ConfigError(f"{path}.policy", "must be a table of numbers")
    pairs = tuple(sorted((str(k), _num(v, f"{path}.policy.{k}")) for k, v in pol.items()))
    return replace(zone, policy=pairs) if pairs else zone


def _parse_zone_shape(
    d: Mapping[str, Any], path: str, origin: GeoOrigin, zid: str, kind: ZoneKind,
    floor: float, ceiling: float,
) -> ZoneSpec:  # fmt: skip
    if "center_enu_m" in d or "radius_m" in d:
        c = _vec(_req(d, "center_enu_m", path), 2, f"{path}.center_enu_m")
        r = _num(_req(d, "radius_m", path), f"{path}.radius_m", positive=True)
        return ZoneSpec(zid, kind, (c[0], c[1]), r, None, floor, ceiling)
    if "polygon_enu_m" in d:
        pts = d["polygon_enu_m"]
        poly = _polygon(
            [_vec(p, 2, f"{path}.polygon_enu_m[{i}]") for i, p in enumerate(pts)],
            f"{path}.polygon_enu_m",
        )
        return ZoneSpec(zid, kind, None, None, poly, floor, ceiling)
    if "geojson" in d:
        gj = d["geojson"]
        gpath = f"{path}.geojson"
        if not isinstance(gj, Mapping) or gj.get("type") != "Polygon":
            raise ConfigError(f"{gpath}.type", "must be a GeoJSON Polygon")
        rings = gj.get("coordinates")
        if not isinstance(rings, list) or not rings:
            raise ConfigError(f"{gpath}.coordinates", "must hold at least one linear ring")
        ring = rings[0]
        enu = []
        for i, p in enumerate(ring):
            lon, lat = _vec(p[:2] if isinstance(p, list) else p, 2, f"{gpath}.coordinates[0][{i}]")
            v = origin.to_enu(lat, lon, origin.alt_m)
            enu.append([float(v[0]), float(v[1])])
        return ZoneSpec(
            zid, kind, None, None, _polygon(enu, f"{gpath}.coordinates"), floor, ceiling
        )
    raise ConfigError(path, "needs a shape: center_enu_m + radius_m, polygon_enu_m or geojson")


def _polygon(pts: list[list[float]], path: str) -> tuple[tuple[float, float], ...]:
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3:
        raise ConfigError(path, "a polygon needs at least 3 distinct vertices")
    return tuple((p[0], p[1]) for p in pts)


def parse_site(d: Mapping[str, Any], source: str = "") -> Site:
    """Build a :class:`Site` from a parsed TOML/JSON mapping; raise :class:`ConfigError`."""
    try:
        origin = parse_origin(_req(d, "origin", ""))
        sensors_raw = d.get("sensors", [])
        if not isinstance(sensors_raw, list):
            raise ConfigError("sensors", "must be an array of tables")
        sensors = tuple(parse_sensor(s, f"sensors[{i}]", origin) for i, s in enumerate(sensors_raw))
        ids = [s.id for s in sensors]
        for i, sid in enumerate(ids):
            if sid in ids[:i]:
                raise ConfigError(f"sensors[{i}].id", f"duplicate sensor id {sid!r}")
        _check_links(sensors)
        zones_raw = d.get("zones", [])
        if not isinstance(zones_raw, list):
            raise ConfigError("zones", "must be an array of tables")
        zones = tuple(parse_zone(z, f"zones[{i}]", origin) for i, z in enumerate(zones_raw))
        wl = []
        for i, w in enumerate(d.get("whitelist", [])):
            if not isinstance(w, Mapping) or not (w.get("remote_id") or w.get("icao")):
                raise ConfigError(f"whitelist[{i}]", "needs remote_id or icao")
            wl.append(WhitelistEntry(w.get("remote_id"), w.get("icao"), str(w.get("note", ""))))
        name = d.get("name", "site")
        if not isinstance(name, str):
            raise ConfigError("name", "must be a string")
        return Site(name, origin, sensors, zones, tuple(wl))
    except ConfigError as e:
        if source and not e.source:
            raise ConfigError(e.field, e.reason, source) from None
        raise


def load_site(path: str | Path) -> Site:
    """Read a site TOML file.

    ``tomllib`` and ``pathlib`` are imported here: a skybench file brings its site in its
    header, and ``skywarden track`` should not pay for the TOML parser's import."""
    import tomllib
    from pathlib import Path

    p = Path(path)
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("(file)", f"not valid TOML: {e}", str(p)) from None
    except OSError as e:
        raise ConfigError("(file)", f"cannot read: {e.strerror}", str(p)) from None
    return parse_site(data, str(p))


def site_from_skybench_header(h: Mapping[str, Any]) -> Site:
    """The skybench/1 header carries the same description under slightly different keys."""
    o = h.get("origin", {})
    d: dict[str, Any] = {
        "name": h.get("name", "scenario"),
        "origin": {"lat": o.get("lat"), "lon": o.get("lon"), "alt_m": o.get("alt_m", 0.0)},
        "sensors": h.get("sensors", []),
        "zones": h.get("zones", []),
        "whitelist": h.get("whitelist", []),
    }
    return parse_site(d, "skybench header")

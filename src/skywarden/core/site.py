"""Site description: origin, sensors, zones and whitelist, as frozen values.

A site is described once, in TOML (``load_site``) or in a skybench/1 header
(``site_from_skybench_header``); both produce the same :class:`Site`. Every field is
checked on load and a bad file fails with :class:`ConfigError` naming the field's path
(``sensors[1].sigma.az_rad``) and the reason, so an integrator can fix it without reading
code; an unknown key is refused with the nearest valid one (``core.strict``).

A sensor's ``link`` table is kept here as data (:class:`LinkEntry`): the link kinds live in
``sensors.links`` (one module each), which parse and check it (``registry.parse_links``)
when the live system starts or ``skywarden.toml`` is loaded.

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

    [sensors.link]           # optional: how the live system hears this sensor
    protocol = "asterix_cat048"   # a link kind: one module of sensors/links/ each
    host = "0.0.0.0"         # bind address, or the peer to connect to
    port = 8600
    sac = 25                 # the kind's own keys (see the kind's module)
    sic = 1

    [[zones]]                # see core.zone (the zone codec)
    id = "residence"
    kind = "protected"
    center_enu_m = [0, 0]
    radius_m = 150
    ceiling_m = 300

    [[whitelist]]
    remote_id = "1581F4XFC228R00B2B4A"   # or icao = "4840d6"
    note = "site security drone"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from skywarden.core import config_fields as f
from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import MeasurementKind
from skywarden.core.strict import check_keys
from skywarden.core.track import ObjectClass
from skywarden.core.types import Mat, Vec
from skywarden.core.zone import ZoneKind, ZoneSpec, parse_zone, zone_to_dict

__all__ = [
    "CONFIG_SECTIONS",
    "SENSOR_KEYS",
    "LinkEntry",
    "SensorKind",
    "SensorSpec",
    "Site",
    "WhitelistEntry",
    "ZoneKind",
    "ZoneSpec",
    "load_site",
    "parse_origin",
    "parse_sensor",
    "parse_site",
    "parse_zone",
    "site_from_skybench_header",
    "site_mapping",
    "zone_to_dict",
]

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


#: sigma keys a sensor may give beyond its measurement's: position/velocity fallbacks of
#: JSON detections (``sensors.json_detections``) and an ASTERIX radar's altitude
_SIGMA_EXTRA = frozenset({"x_m", "y_m", "z_m", "pos_m", "vel_mps", "alt_m"})
SENSOR_KEYS = frozenset(
    {
        "id", "kind", "measures", "position_enu_m", "position", "sigma", "update_s",
        "max_range_m", "pd", "clutter_per_scan", "area_m", "link", "reports",
    }
)  # fmt: skip
_SITE_KEYS = frozenset({"name", "origin", "sensors", "zones", "whitelist"})
_PD_CLASSES = frozenset(c.value for c in ObjectClass)
#: the top-level tables of ``skywarden.toml`` (``runtime.config_file`` reads all of them)
CONFIG_SECTIONS = frozenset(
    {
        "site",
        "sensors",
        "zones",
        "whitelist",
        "outputs",
        "service",
        "tracker",
        "threat",
        "alerts",
        "cue",
    }
)


@dataclass(frozen=True)
class LinkEntry:
    """A sensor's ``link`` table as written: its kind (``protocol``) and the raw keys.

    ``sensors.links.registry`` parses it into the kind's own config; ``core`` only checks
    that it is a table naming a kind, because the kinds live in a higher layer.
    """

    protocol: str
    # the table's (key, value) pairs: immutable, and plain data for the state codec
    items: tuple[tuple[str, Any], ...]

    @property
    def table(self) -> dict[str, Any]:
        return dict(self.items)


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
    link: LinkEntry | None = None
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


def parse_origin(d: Any, path: str = "origin") -> GeoOrigin:
    if not isinstance(d, Mapping):
        raise ConfigError(path, "must be a table with lat, lon, alt_m")
    check_keys(d, ("lat", "lon", "alt_m"), path)
    lat = f.num(f.req(d, "lat", path), f"{path}.lat")
    lon = f.num(f.req(d, "lon", path), f"{path}.lon")
    alt = f.num(d.get("alt_m", 0.0), f"{path}.alt_m")
    if not -90 <= lat <= 90:
        raise ConfigError(f"{path}.lat", f"{lat} is outside [-90, 90]")
    if not -180 <= lon <= 180:
        raise ConfigError(f"{path}.lon", f"{lon} is outside [-180, 180]")
    return GeoOrigin(lat, lon, alt)


def _link(d: Any, path: str) -> LinkEntry:
    t = f.table(d, path, "a table (protocol, host, port, ...)")
    proto = f.string(f.req(t, "protocol", path), f"{path}.protocol")
    return LinkEntry(proto, tuple((str(k), v) for k, v in t.items()))


def parse_sensor(d: Any, path: str, origin: GeoOrigin) -> SensorSpec:
    d = f.table(d, path)
    check_keys(d, SENSOR_KEYS, path)
    sid = f.ident(d, path)
    kind = f.enum(SensorKind, f.req(d, "kind", path), f"{path}.kind")
    measures = f.enum(MeasurementKind, f.req(d, "measures", path), f"{path}.measures")
    if "position_enu_m" in d:
        pos = np.array(f.vec(d["position_enu_m"], 3, f"{path}.position_enu_m"))
    elif "position" in d:
        g = parse_origin(d["position"], f"{path}.position")
        pos = origin.to_enu(g.lat_deg, g.lon_deg, g.alt_m)
    else:
        raise ConfigError(f"{path}.position_enu_m", "is required (or position = {lat, lon, alt_m})")
    area = None
    if "area_m" in d:
        a = d["area_m"]
        if not isinstance(a, list | tuple) or len(a) not in (2, 3):
            raise ConfigError(f"{path}.area_m", "must be [[lo, hi], [lo, hi]] (2 or 3 axes)")
        area = tuple(tuple(f.vec(ax, 2, f"{path}.area_m[{i}]")) for i, ax in enumerate(a))
    max_range = d.get("max_range_m")
    return SensorSpec(
        id=sid,
        kind=kind,
        measures=measures,
        position_enu=pos,
        sigma=_sigma(f.req(d, "sigma", path), measures, f"{path}.sigma"),
        update_s=f.num(d.get("update_s", 1.0), f"{path}.update_s", positive=True),
        max_range_m=None
        if max_range is None
        else f.num(max_range, f"{path}.max_range_m", positive=True),
        pd=_pd(d.get("pd", 0.9), f"{path}.pd"),
        clutter_per_scan=f.num(
            d.get("clutter_per_scan", 0.0), f"{path}.clutter_per_scan", nonneg=True
        ),
        area_m=area,  # type: ignore[arg-type]
        link=None if d.get("link") is None else _link(d["link"], f"{path}.link"),
        reports=_reports(d.get("reports"), f"{path}.reports"),
    )


def _sigma(sig: Any, measures: MeasurementKind, path: str) -> dict[str, float]:
    """The measurement's own keys (required) and the optional fallbacks, nothing else."""
    sig = f.table(sig, path)
    need = _SIGMA_KEYS[measures]
    check_keys(sig, frozenset(need) | _SIGMA_EXTRA, path)
    sigma = {key: f.num(f.req(sig, key, path), f"{path}.{key}", positive=True) for key in need}
    for key, val in sig.items():
        if key not in sigma:
            sigma[key] = f.num(val, f"{path}.{key}", positive=True)
    return sigma


def _pd(raw: Any, path: str) -> float | dict[str, float]:
    """One probability, or one per object class (``drone``, ``bird``, ...)."""
    if isinstance(raw, Mapping):
        check_keys(raw, _PD_CLASSES, path)
        out = {}
        for k, v in raw.items():
            out[k] = f.num(v, f"{path}.{k}")
            if not 0 < out[k] <= 1:
                raise ConfigError(f"{path}.{k}", f"must be in (0, 1], got {out[k]}")
        return out
    pd = f.num(raw, path)
    if not 0 < pd <= 1:
        raise ConfigError(path, f"must be in (0, 1], got {pd}")
    return pd


def _reports(v: Any, path: str) -> str | None:
    if v is None or v in ("scans", "objects"):
        return v  # type: ignore[no-any-return]
    raise ConfigError(path, f'must be "scans" or "objects", got {v!r}')


def _whitelist(w: Any, path: str) -> WhitelistEntry:
    if not isinstance(w, Mapping) or not (w.get("remote_id") or w.get("icao")):
        raise ConfigError(path, "needs remote_id or icao")
    check_keys(w, ("remote_id", "icao", "note"), path)
    return WhitelistEntry(w.get("remote_id"), w.get("icao"), str(w.get("note", "")))


def parse_site(
    d: Mapping[str, Any], source: str = "", *, extra: frozenset[str] = frozenset()
) -> Site:
    """Build a :class:`Site` from a parsed TOML/JSON mapping; raise :class:`ConfigError`.

    ``extra``: top-level keys the caller reads itself (``skywarden.toml``'s other sections)."""
    try:
        check_keys(d, _SITE_KEYS | extra, "")
        origin = parse_origin(f.req(d, "origin", ""))
        sensors_raw = d.get("sensors", [])
        if not isinstance(sensors_raw, list):
            raise ConfigError("sensors", "must be an array of tables")
        sensors = tuple(parse_sensor(s, f"sensors[{i}]", origin) for i, s in enumerate(sensors_raw))
        ids = [s.id for s in sensors]
        for i, sid in enumerate(ids):
            if sid in ids[:i]:
                raise ConfigError(f"sensors[{i}].id", f"duplicate sensor id {sid!r}")
        zones_raw = d.get("zones", [])
        if not isinstance(zones_raw, list):
            raise ConfigError("zones", "must be an array of tables")
        zones = tuple(parse_zone(z, f"zones[{i}]", origin) for i, z in enumerate(zones_raw))
        wl = tuple(_whitelist(w, f"whitelist[{i}]") for i, w in enumerate(d.get("whitelist", [])))
        name = d.get("name", "site")
        if not isinstance(name, str):
            raise ConfigError("name", "must be a string")
        return Site(name, origin, sensors, zones, wl)
    except ConfigError as e:
        if source and not e.source:
            raise ConfigError(e.field, e.reason, source) from None
        raise


def site_mapping(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The site part of a file: a site file as it is, or ``skywarden.toml``'s ``[site]``
    (name, origin) with its ``sensors``, ``zones`` and ``whitelist`` arrays.

    So every command that takes a site file takes ``skywarden.toml`` too; the other
    sections are checked by ``runtime.config_file`` (here only their names are)."""
    site = data.get("site")
    if not isinstance(site, Mapping):
        return data
    check_keys(data, CONFIG_SECTIONS, "")
    check_keys(site, ("name", "origin"), "site")
    return {**site, **{k: data[k] for k in ("sensors", "zones", "whitelist") if k in data}}


def load_site(path: str | Path) -> Site:
    """Read a site TOML file (or the site of a ``skywarden.toml``)."""
    data = f.read_toml(path)
    try:
        part = site_mapping(data)
    except ConfigError as e:
        raise ConfigError(e.field, e.reason, str(path)) from None
    return parse_site(part, str(path))


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

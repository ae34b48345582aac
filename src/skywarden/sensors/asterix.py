"""ASTERIX (EUROCONTROL): CAT048 monoradar target reports in, CAT062 system tracks out.

Wire layout (EUROCONTROL ASTERIX Part 1, "data block")::

    +------+-------------+-------------------------------------------+
    | CAT  | LEN (BE u16)| record, record, ...  (FSPEC + data items) |
    | 1 B  | 2 B, incl. header                                       |
    +------+-------------+-------------------------------------------+

A UDP datagram holds one or more data blocks. Records are decoded with ``libasterix``
(editions CAT048 1.32 / CAT062 1.21, falling back to older CAT048 editions).

CAT048 -> :class:`Detection` (Part 4, CAT048 ed. 1.32). Items used:

- I048/010 SAC/SIC names the radar: a plot is refused (``unknown_radar``) unless the
  configured ``radars`` map knows it (sensor id, ENU position, sigmas);
- I048/140 time of day (UTC s, LSB 1/128 s) -> detection time, taken as the instance of
  that time of day nearest ``t_recv`` (handles midnight roll-over);
- I048/040 measured position in polar coordinates: slant range RHO (LSB 1/256 NM) and
  azimuth THETA (LSB 360/2^16 deg, clockwise from north);
- I048/090 flight level (LSB 1/4 FL), when present and validated (V=0) and not garbled
  (G=0); I048/220 aircraft address, I048/240 identification, I048/070 Mode 3/A, I048/161
  track number and I048/200 polar velocity go into ``identity`` / ``attrs``.

How a 2-D plot becomes a detection: a CAT048 plot has no elevation and no range rate, so the
4-row ``range_az_el_radial`` kind does not fit. skywarden converts it about the radar:

- with a flight level: ``xyz``; height h = FL x 100 ft (pressure altitude used as height,
  error a few tens of metres; ``sigma_alt_m``), ground range sqrt(rho^2 - dh^2), and R is
  the diagonal (range, cross-range = ground range x sigma_az, height) rotated to ENU;
- without: ``xy``; slant range taken as ground range (bias rho(1 - cos el), small for the
  low elevations of surveillance radars), R rotated the same way.

Flat-earth conversion about the radar: good to metres within the few tens of kilometres a
C-UAS site covers; beyond that use a tracker-side spherical model.

CAT062 encoding (Part 9, CAT062 ed. 1.21) of :class:`TrackState`: I062/010 SDPS SAC/SIC,
I062/015 service id, I062/070 time of track information, I062/105 WGS-84 position, I062/100
Cartesian position (x east, y north about the system reference point = site origin),
I062/185 Cartesian velocity, I062/040 track number, I062/080 track status (MON=1 mono-sensor
when one source, CNF=1 for tentative), I062/130 geometric altitude.
"""

from __future__ import annotations

import functools
import importlib
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from skywarden.core.errors import DecodeError, InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.track import TrackState, TrackStatus
from skywarden.core.types import Vec


@dataclass(frozen=True)
class _Lib:
    base: Any
    cat048_editions: tuple[Any, ...]
    cat062: Any


@functools.cache
def load() -> _Lib:
    """libasterix, loaded on first use.

    Its generated module is ~180k lines of typed classes: importing it takes 2-3 s of CPU
    (17 s on a loaded machine), and every ``skywarden run`` imports this module through the
    link registry, so it is loaded only when a datagram is parsed or encoded, or when an
    ASTERIX link starts (``AsterixReceiver.start`` calls this). ``importlib`` keeps mypy from
    analysing the generated module on every run. Its API is used as documented.
    """
    gen = importlib.import_module("asterix.generated")
    return _Lib(
        base=importlib.import_module("asterix.base"),
        cat048_editions=tuple(gen.__dict__[f"Cat_048_1_{n}"] for n in (32, 31, 30, 29)),
        cat062=gen.Cat_062_1_21,
    )


NM: Final = 1852.0
FT: Final = 0.3048
DAY_S: Final = 86400.0


@dataclass(frozen=True)
class RadarSite:
    """A configured radar: who it is on the wire, where it is, how precise it is."""

    sensor_id: str
    position_enu: Vec
    sigma_range_m: float = 30.0
    sigma_az_rad: float = math.radians(0.1)
    sigma_alt_m: float = 30.0


@dataclass
class Cat048Result:
    """What one datagram yielded: detections, per-record rejections, blocks of other CATs."""

    detections: list[Detection] = field(default_factory=list)
    rejected: list[InputRejected] = field(default_factory=list)
    other_categories: list[int] = field(default_factory=list)


def split_blocks(datagram: bytes) -> list[tuple[int, Any]]:
    """Datagram -> [(category, RawDatablock)]; DecodeError ``bad_datablock`` if malformed."""
    base = load().base
    raw = base.RawDatablock.parse(base.Bits.from_bytes(datagram))
    if isinstance(raw, ValueError) or not raw:
        raise DecodeError("bad_datablock", str(raw)[:200])
    return [(int(db.get_category()), db) for db in raw]


def _records(db: Any) -> list[Any]:
    err: object = None
    for edition in load().cat048_editions:
        recs = edition.cv_uap.parse(db.get_raw_records())
        if not isinstance(recs, ValueError):
            return list(recs)
        err = recs
    raise DecodeError("bad_record", f"CAT048: {err}"[:200])


def parse_datagram(
    datagram: bytes, t_recv: float, radars: Mapping[tuple[int, int], RadarSite]
) -> Cat048Result:
    """One UDP payload -> CAT048 detections; a bad block or record is rejected alone."""
    out = Cat048Result()
    for cat, db in split_blocks(datagram):
        if cat != 48:
            out.other_categories.append(cat)
            continue
        try:
            recs = _records(db)
        except InputRejected as e:
            out.rejected.append(e)
            continue
        for rec in recs:
            try:
                out.detections.append(cat048_detection(rec, t_recv, radars))
            except InputRejected as e:
                out.rejected.append(e)
    return out


def _item(rec: Any, name: str) -> Any:
    return rec.get_item(name)


def _sub(item: Any, name: str) -> Any:
    return item.variation.get_item(name).variation


def time_of_day_to_t(tod_s: float, t_recv: float) -> float:
    """UTC time of day -> epoch seconds: the instance nearest ``t_recv``."""
    day = math.floor(t_recv / DAY_S) * DAY_S
    t = day + tod_s
    if t - t_recv > DAY_S / 2:
        t -= DAY_S
    elif t_recv - t > DAY_S / 2:
        t += DAY_S
    return t


def cat048_detection(
    rec: Any, t_recv: float, radars: Mapping[tuple[int, int], RadarSite]
) -> Detection:
    """One CAT048 record -> :class:`Detection` (see the module docstring for the model)."""
    i010, i040 = _item(rec, "010"), _item(rec, "040")
    if i010 is None or i040 is None:
        raise InputRejected("missing_field", "I048/010 and I048/040 are required")
    key = (int(_sub(i010, "SAC").content.as_uint()), int(_sub(i010, "SIC").content.as_uint()))
    radar = radars.get(key)
    if radar is None:
        raise InputRejected("unknown_radar", f"SAC/SIC {key}")
    rho = float(_sub(i040, "RHO").content.as_quantity("NM")) * NM
    az = math.radians(float(_sub(i040, "THETA").content.as_quantity("°"))) % (2 * math.pi)
    if not rho > 0:
        raise InputRejected("negative_range", f"rho {rho} m")
    i140 = _item(rec, "140")
    t = time_of_day_to_t(float(i140.variation.content.as_quantity("s")), t_recv) if i140 else t_recv
    attrs = _cat048_attrs(rec, key)
    height = _flight_level_height(rec)
    kind, z, R = _plot_measurement(rho, az, height, radar)
    icao = attrs.get("icao")
    return Detection(
        t=t,
        sensor_id=radar.sensor_id,
        kind=kind,
        z=z,
        R=R,
        sensor_pos=radar.position_enu,
        identity=f"icao:{icao}" if isinstance(icao, str) else None,
        attrs=attrs,
    )


def _flight_level_height(rec: Any) -> float | None:
    i090 = _item(rec, "090")
    if i090 is None:
        return None
    if _sub(i090, "V").content.as_uint() != 0 or _sub(i090, "G").content.as_uint() != 0:
        return None
    return float(_sub(i090, "FL").content.as_quantity("FL")) * 100.0 * FT


def _plot_measurement(
    rho: float, az: float, height: float | None, radar: RadarSite
) -> tuple[MeasurementKind, Vec, np.ndarray]:
    s = radar.position_enu
    dh = 0.0 if height is None else height - float(s[2])
    ground = math.sqrt(max(rho * rho - dh * dh, 0.0))
    sa, ca = math.sin(az), math.cos(az)
    # rotation from (radial, cross-range clockwise) to (east, north)
    rot = np.array([[sa, ca], [ca, -sa]])
    cov2 = rot @ np.diag([radar.sigma_range_m**2, (ground * radar.sigma_az_rad) ** 2]) @ rot.T
    en = np.array([s[0] + ground * sa, s[1] + ground * ca])
    if height is None:
        return MeasurementKind.XY, en, cov2
    R = np.zeros((3, 3))
    R[:2, :2] = cov2
    R[2, 2] = radar.sigma_alt_m**2
    return MeasurementKind.XYZ, np.array([en[0], en[1], height]), R


def _cat048_attrs(rec: Any, key: tuple[int, int]) -> dict[str, object]:
    attrs: dict[str, object] = {"protocol": "asterix/048", "sac_sic": key}
    i220 = _item(rec, "220")
    if i220 is not None:
        attrs["icao"] = f"{int(i220.variation.as_uint()):06x}"
    i240 = _item(rec, "240")
    if i240 is not None:
        attrs["callsign"] = str(i240.variation.content.as_string()).strip()
    i070 = _item(rec, "070")
    if i070 is not None:
        attrs["mode3a"] = str(_sub(i070, "MODE3A").content.as_string())
    i161 = _item(rec, "161")
    if i161 is not None:
        attrs["track_number"] = int(_sub(i161, "TRN").content.as_uint())
    i200 = _item(rec, "200")
    if i200 is not None:
        attrs["ground_speed_mps"] = float(_sub(i200, "GSP").content.as_quantity("NM/s")) * NM
        attrs["heading_rad"] = math.radians(float(_sub(i200, "HDG").content.as_quantity("°")))
    return attrs


# --- CAT062 out ----------------------------------------------------------------------------


def track_number(track_id: str) -> int:
    """A stable 12-bit ASTERIX track number for a skywarden track id (digits if numeric)."""
    digits = "".join(ch for ch in track_id if ch.isdigit())
    n = int(digits) if digits else zlib.crc32(track_id.encode())
    return n % 4096


def cat062_record(
    track: TrackState, origin: GeoOrigin, sac: int, sic: int, service_id: int = 1
) -> Any:
    """One :class:`TrackState` -> libasterix CAT062 record (time of day from ``track.t``)."""
    e, n, u = (float(v) for v in track.x[:3])
    ve, vn = float(track.x[3]), float(track.x[4])
    lat, lon, alt = origin.to_geodetic(e, n, u)
    tod = track.t % DAY_S
    mono = 1 if len(track.sensors) <= 1 else 0
    tentative = 1 if track.status is TrackStatus.TENTATIVE else 0
    return load().cat062.cv_record.create(
        {
            "010": (("SAC", sac), ("SIC", sic)),
            "015": service_id,
            "070": (tod, "s"),
            "105": (("LAT", (lat, "°")), ("LON", (lon, "°"))),
            "100": (("X", (_clip(e, 2**23 * 0.5), "m")), ("Y", (_clip(n, 2**23 * 0.5), "m"))),
            "185": (("VX", (_clip(ve, 8191.0), "m/s")), ("VY", (_clip(vn, 8191.0), "m/s"))),
            "040": track_number(track.id),
            "080": ((("MON", mono), ("SPI", 0), ("MRH", 1), ("SRC", 0), ("CNF", tentative), None),),
            "130": (_clip(alt / FT, 2**15 * 6.25 - 7), "ft"),
        }
    )


def _clip(v: float, limit: float) -> float:
    return max(-limit, min(limit, v))


def encode_cat062(
    tracks: Iterable[TrackState], origin: GeoOrigin, sac: int, sic: int, service_id: int = 1
) -> bytes:
    """Tracks -> one CAT062 data block (bytes), each record carrying I062/010 SAC/SIC."""
    records = [cat062_record(tr, origin, sac, sic, service_id) for tr in tracks]
    return bytes(load().cat062.create(records).unparse().to_bytes())


@dataclass(frozen=True)
class Cat062Track:
    """The fields of a decoded CAT062 record skywarden writes (for tests and consumers)."""

    sac: int
    sic: int
    track_number: int
    tod_s: float
    lat_deg: float
    lon_deg: float
    x_m: float
    y_m: float
    vx_mps: float
    vy_mps: float
    alt_m: float | None


def decode_cat062(datagram: bytes) -> list[Cat062Track]:
    """CAT062 data blocks -> :class:`Cat062Track` values (other categories skipped)."""
    out: list[Cat062Track] = []
    for cat, db in split_blocks(datagram):
        if cat != 62:
            continue
        recs = load().cat062.cv_uap.parse(db.get_raw_records())
        if isinstance(recs, ValueError):
            raise DecodeError("bad_record", f"CAT062: {recs}"[:200])
        out.extend(_cat062_fields(r) for r in recs)
    return out


def _cat062_fields(r: Any) -> Cat062Track:
    i010, i105, i100, i185 = (r.get_item(k) for k in ("010", "105", "100", "185"))
    i130 = r.get_item("130")
    return Cat062Track(
        sac=int(_sub(i010, "SAC").content.as_uint()),
        sic=int(_sub(i010, "SIC").content.as_uint()),
        track_number=int(r.get_item("040").variation.content.as_uint()),
        tod_s=float(r.get_item("070").variation.content.as_quantity("s")),
        lat_deg=float(_sub(i105, "LAT").content.as_quantity("°")),
        lon_deg=float(_sub(i105, "LON").content.as_quantity("°")),
        x_m=float(_sub(i100, "X").content.as_quantity("m")),
        y_m=float(_sub(i100, "Y").content.as_quantity("m")),
        vx_mps=float(_sub(i185, "VX").content.as_quantity("m/s")),
        vy_mps=float(_sub(i185, "VY").content.as_quantity("m/s")),
        alt_m=float(i130.variation.content.as_quantity("ft")) * FT if i130 else None,
    )

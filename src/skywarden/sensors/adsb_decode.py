"""ADS-B aircraft state from Mode S messages: rs1090 field decoding, our CPR, Detections.

Owns the step from one Mode S message (hex, from the Beast splitter or any raw feed) to
per-aircraft state and ``position_id`` Detections:

- Fields come from ``rs1090.decode`` (Rust, MIT): downlink format, ICAO address, type code,
  CPR parity and 17-bit CPR fractions, barometric altitude (ft), callsign (BDS 0,8),
  ground speed (kt), track (deg) and vertical rate (ft/min) (BDS 0,9). rs1090 checks the
  CRC of DF17/18 and returns nothing for a corrupt one (``adsb_crc``).
- Positions use ``adsb_cpr``: a global decode from an even/odd pair at most 10 s apart, then
  local decoding relative to the aircraft's last position while it is under 60 s old.
  A local fix further than 20 NM/min from the last one is refused (``adsb_cpr_jump``) and
  the aircraft falls back to the global decode.
- A Detection: ``identity = "icao:xxxxxx"``, ``z = [e, n, u, ve, vn, vu]`` about the site
  origin (``u`` from barometric altitude: pressure altitude is not geodetic height; the
  difference, typically tens of metres, is inside ``R``), callsign in ``attrs``. Ground
  speed, track and vertical rate are in the aircraft's own East-North-Up axes and are
  rotated into the site's (``GeoOrigin.vector_to_enu``: meridian convergence and the tilt of
  the vertical, 6 m/s of error at 98 km for an airliner, 23 m/s at 400 km, if left out).

Surface positions (type codes 5-8) are not decoded yet: they need the receiver position and
skywarden's sites are protected against airborne objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import rs1090

from skywarden.core.counters import Counters
from skywarden.core.errors import DecodeError, InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.sensors.adsb_cpr import PAIR_MAX_S, global_position, local_position

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0
LOCAL_REF_MAX_S = 60.0
MAX_JUMP_M_PER_S = 20 * 1852.0 / 60.0
SIGMA_POS_M = 30.0
SIGMA_ALT_M = 60.0
SIGMA_VEL_MPS = 3.0
SIGMA_VEL_UNKNOWN_MPS = 150.0
_AIRBORNE_TC = frozenset([*range(9, 19), 20, 21, 22])


@dataclass
class Aircraft:
    """Mutable per-ICAO state inside the decoder (never leaves it: Detections do)."""

    icao: str
    callsign: str | None = None
    alt_ft: float | None = None
    lat: float | None = None
    lon: float | None = None
    pos_t: float = -math.inf
    cpr: dict[int, tuple[float, int, int]] | None = None  # parity -> (t, lat_cpr, lon_cpr)
    gs_kt: float | None = None
    track_deg: float | None = None
    vrate_fpm: float | None = None
    vel_t: float = -math.inf


def decode_fields(msg_hex: str) -> dict[str, Any]:
    """rs1090's field dict for one message; raises DecodeError when it is not decodable."""
    if len(msg_hex) not in (14, 28) or any(c not in "0123456789abcdefABCDEF" for c in msg_hex):
        raise DecodeError("adsb_bad_length", f"{len(msg_hex)} hex digits")
    try:
        d = rs1090.decode(msg_hex)
    except Exception as e:  # rs1090 raises pyo3 panics as Exception subclasses
        raise DecodeError("adsb_decoder_error", str(e)[:80]) from None
    if not isinstance(d, dict):
        raise DecodeError("adsb_crc", msg_hex)
    return dict(d)


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


class AdsbDecoder:
    """Mode S messages in (``feed``), a Detection out for every new airborne position.

    Time ``t`` is passed in (receive time, or MLAT seconds for a replay). Rejects are
    counted as ``rejected.<reason>``; nothing raises out of ``feed``.
    """

    def __init__(self, origin: GeoOrigin, sensor_id: str = "adsb") -> None:
        self.origin = origin
        self.sensor_id = sensor_id
        self.counters = Counters()
        self.aircraft: dict[str, Aircraft] = {}

    def feed(self, msg_hex: str, t: float) -> Detection | None:
        try:
            d = decode_fields(msg_hex)
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}")
            return None
        df = str(d.get("df"))
        self.counters.inc(f"accepted.df{df}")
        icao = d.get("icao24")
        if df not in ("17", "18") or not isinstance(icao, str):
            return None
        ac = self.aircraft.setdefault(icao, Aircraft(icao))
        if isinstance(d.get("callsign"), str):
            ac.callsign = d["callsign"].strip("_ ").strip() or None
        if d.get("bds") == "09" and d.get("groundspeed") is not None:
            ac.gs_kt, ac.track_deg = d.get("groundspeed"), d.get("track")
            ac.vrate_fpm, ac.vel_t = d.get("vertical_rate"), t
        if d.get("tc") in _AIRBORNE_TC and "lat_cpr" in d:
            return self._position(ac, d, t)
        return None

    def _position(self, ac: Aircraft, d: dict[str, Any], t: float) -> Detection | None:
        odd = 1 if d.get("parity") == "odd" else 0
        cpr = (int(d["lat_cpr"]), int(d["lon_cpr"]))
        if d.get("altitude") is not None:
            ac.alt_ft = float(d["altitude"])
        ac.cpr = ac.cpr or {}
        ac.cpr[odd] = (t, *cpr)
        fix: tuple[float, float] | None = None
        if ac.lat is not None and ac.lon is not None and t - ac.pos_t <= LOCAL_REF_MAX_S:
            fix = local_position(cpr, bool(odd), ac.lat, ac.lon)
            if _distance_m(fix[0], fix[1], ac.lat, ac.lon) > MAX_JUMP_M_PER_S * max(
                t - ac.pos_t, 1.0
            ):
                self.counters.inc("rejected.adsb_cpr_jump")
                ac.lat = ac.lon = None
                fix = None
        if fix is None:
            other = ac.cpr.get(1 - odd)
            if other is None or abs(t - other[0]) > PAIR_MAX_S:
                return None
            even = cpr if odd == 0 else (other[1], other[2])
            oddc = cpr if odd == 1 else (other[1], other[2])
            fix = global_position(even, oddc, odd_is_newer=bool(odd))
            if fix is None:
                self.counters.inc("rejected.adsb_cpr_zone")
                return None
        ac.lat, ac.lon, ac.pos_t = fix[0], fix[1], t
        if ac.alt_ft is None:
            return None
        self.counters.inc("accepted.positions")
        return aircraft_detection(ac, self.origin, self.sensor_id, t)


def aircraft_detection(ac: Aircraft, origin: GeoOrigin, sensor_id: str, t: float) -> Detection:
    """The aircraft's current state as a ``position_id`` Detection (it must have a fix)."""
    assert ac.lat is not None and ac.lon is not None and ac.alt_ft is not None
    pos = origin.to_enu(ac.lat, ac.lon, ac.alt_ft * FT)
    vel = np.zeros(3)
    s_vel = SIGMA_VEL_UNKNOWN_MPS
    if ac.gs_kt is not None and ac.track_deg is not None and t - ac.vel_t <= 10.0:
        tr = math.radians(ac.track_deg)
        gs = ac.gs_kt * KT
        vu = (ac.vrate_fpm or 0.0) * FPM
        # ground track and vertical rate are in the aircraft's own ENU axes
        vel = origin.vector_to_enu(
            ac.lat, ac.lon, np.array([gs * math.sin(tr), gs * math.cos(tr), vu])
        )
        s_vel = SIGMA_VEL_MPS  # the same on every axis: the rotation leaves R as it is
    z = np.concatenate([pos, vel])
    R = np.diag([SIGMA_POS_M**2, SIGMA_POS_M**2, SIGMA_ALT_M**2] + [s_vel**2] * 3)
    attrs: dict[str, object] = {
        "protocol": "adsb",
        "icao": ac.icao,
        "lat_deg": ac.lat,
        "lon_deg": ac.lon,
        "altitude_ft": ac.alt_ft,
    }
    if ac.callsign:
        attrs["callsign"] = ac.callsign
    return Detection(
        t=t,
        sensor_id=sensor_id,
        kind=MeasurementKind.POSITION_ID,
        z=z,
        R=R,
        identity=f"icao:{ac.icao.lower()}",
        class_hint="aircraft",
        class_conf=0.95,
        attrs=attrs,
    )

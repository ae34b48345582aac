"""SBS-1 BaseStation text (dump1090/readsb port 30003): pure line parser and aircraft state.

One CSV line per message, 22 fields, empty when not carried by that message type::

     1 MSG        2 transmission type (1..8)   3 session   4 aircraft id   5 ICAO hex
     6 flight id  7 date gen  8 time gen  9 date logged  10 time logged
    11 callsign  12 altitude (ft)  13 ground speed (kt)  14 track (deg)
    15 latitude  16 longitude  17 vertical rate (ft/min)  18 squawk
    19 alert     20 emergency  21 SPI  22 on ground

Transmission types: 1 identification (callsign), 2 surface position, 3 airborne position,
4 airborne velocity, 5 surveillance altitude, 6 surveillance ID (squawk), 7 air-to-air,
8 all-call reply. The date/time fields are the emitter's wall clock and are kept only as
text: skywarden times a message by the receive time passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skywarden.core.counters import Counters
from skywarden.core.errors import DecodeError, InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection
from skywarden.sensors.adsb_decode import Aircraft, aircraft_detection


@dataclass(frozen=True)
class SbsMessage:
    tx_type: int
    icao: str
    callsign: str | None
    altitude_ft: float | None
    ground_speed_kt: float | None
    track_deg: float | None
    lat_deg: float | None
    lon_deg: float | None
    vertical_rate_fpm: float | None
    squawk: str | None
    on_ground: bool | None


def _num(s: str, name: str) -> float | None:
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        raise DecodeError("sbs_bad_number", f"{name}={s[:20]!r}") from None
    if not math.isfinite(v):
        raise DecodeError("sbs_bad_number", f"{name}={s[:20]!r}")
    return v


def parse_sbs_line(line: str) -> SbsMessage:
    """One BaseStation line -> :class:`SbsMessage`; raises DecodeError with a reason."""
    f = line.strip().split(",")
    if len(f) < 22 or f[0] != "MSG":
        raise DecodeError("sbs_bad_line", line[:40])
    if f[1] not in tuple("12345678"):
        raise DecodeError("sbs_bad_type", f[1][:8])
    icao = f[4].strip().lower()
    if len(icao) != 6 or any(c not in "0123456789abcdef" for c in icao):
        raise DecodeError("sbs_bad_icao", f[4][:12])
    lat, lon = _num(f[14], "lat"), _num(f[15], "lon")
    if (lat is None) != (lon is None):
        raise DecodeError("sbs_bad_position", "latitude without longitude")
    if lat is not None and lon is not None and (abs(lat) > 90 or abs(lon) > 180):
        raise DecodeError("sbs_bad_position", f"{lat}, {lon}")
    return SbsMessage(
        tx_type=int(f[1]),
        icao=icao,
        callsign=f[10].strip() or None,
        altitude_ft=_num(f[11], "altitude"),
        ground_speed_kt=_num(f[12], "ground_speed"),
        track_deg=_num(f[13], "track"),
        lat_deg=lat,
        lon_deg=lon,
        vertical_rate_fpm=_num(f[16], "vertical_rate"),
        squawk=f[17].strip() or None,
        on_ground=None if not f[21].strip() else f[21].strip() not in ("0", ""),
    )


class SbsDecoder:
    """BaseStation lines in, a Detection out for every message that carries a position."""

    def __init__(self, origin: GeoOrigin, sensor_id: str = "adsb-sbs") -> None:
        self.origin = origin
        self.sensor_id = sensor_id
        self.counters = Counters()
        self.aircraft: dict[str, Aircraft] = {}

    def feed(self, line: str, t: float) -> Detection | None:
        try:
            m = parse_sbs_line(line)
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}")
            return None
        self.counters.inc(f"accepted.msg{m.tx_type}")
        ac = self.aircraft.setdefault(m.icao, Aircraft(m.icao))
        if m.callsign:
            ac.callsign = m.callsign
        if m.altitude_ft is not None:
            ac.alt_ft = m.altitude_ft
        if m.ground_speed_kt is not None and m.track_deg is not None:
            ac.gs_kt, ac.track_deg, ac.vel_t = m.ground_speed_kt, m.track_deg, t
            ac.vrate_fpm = m.vertical_rate_fpm
        if m.lat_deg is None or m.lon_deg is None or ac.alt_ft is None:
            return None
        ac.lat, ac.lon, ac.pos_t = m.lat_deg, m.lon_deg, t
        self.counters.inc("accepted.positions")
        return aircraft_detection(ac, self.origin, self.sensor_id, t)

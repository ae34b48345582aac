"""Remote ID messages: ASTM F3411-22a (clause 5.4.5, Table 3..9) / ASD-STAN EN 4709-002.

Owns the 25-byte broadcast messages and the Message Pack, decoded into typed frozen
dataclasses by pure functions over bytes. The radio framing around them (Bluetooth adverts,
Wi-Fi beacon and NAN frames) is in ``remoteid_frames``; turning a drone's messages into a
``Detection`` and the spoof-consistency rule are in ``remoteid_track``.

Every message is 25 bytes; multi-byte integers are little-endian::

    byte 0        header: bits 7..4 message type, bits 3..0 protocol version (0, 1 or 2)

    type 0x0 Basic ID
      1           bits 7..4 ID type (1 serial ANSI/CTA-2063-A, 2 CAA registration,
                  3 UTM UUID, 4 specific session), bits 3..0 UA type (0..15)
      2..21       UAS ID, ASCII, NUL padded
    type 0x1 Location/Vector
      1           bits 7..4 status, bit 2 height type (0 over take-off, 1 AGL),
                  bit 1 direction segment (+180 deg), bit 0 speed multiplier
      2           track direction, deg clockwise from true north (value + 180 * segment;
                  > 360 = unknown)
      3           ground speed: mult 0 -> v * 0.25 m/s, mult 1 -> v * 0.75 + 63.75 m/s
                  (255 m/s = unknown)
      4           vertical speed, int8 * 0.5 m/s (63 m/s = unknown)
      5..8        latitude, int32 * 1e-7 deg       9..12  longitude  (0, 0 = unknown)
      13..14      pressure altitude, u16 * 0.5 - 1000 m   (-1000 = unknown)
      15..16      geodetic altitude (WGS-84 HAE), same encoding
      17..18      height, same encoding
      19          bits 7..4 vertical accuracy, bits 3..0 horizontal accuracy (enums below)
      20          bits 7..4 baro altitude accuracy, bits 3..0 speed accuracy
      21..22      timestamp, u16 tenths of a second after the full hour (0xFFFF = unknown)
      23          bits 3..0 timestamp accuracy, tenths of a second (0 = unknown)
    type 0x2 Authentication
      1           bits 7..4 auth type, bits 3..0 page number
      page 0:  2 last page index, 3 length (bytes), 4..7 timestamp u32 s after
               2019-01-01T00:00Z, 8..24 data (17 B)
      page n:  2..24 data (23 B)
    type 0x3 Self-ID: 1 description type, 2..24 text (ASCII)
    type 0x4 System
      1           bits 4..2 classification type (0 undeclared, 1 EU), bits 1..0 operator
                  location type (0 take-off, 1 live GNSS, 2 fixed)
      2..5, 6..9  operator latitude, longitude (int32 * 1e-7 deg)
      10..11      area count u16;  12 area radius * 10 m
      13..14, 15..16  area ceiling, floor (altitude encoding)
      17          bits 7..4 UA category (EU), bits 3..0 UA class (EU)
      18..19      operator geodetic altitude (altitude encoding)
      20..23      timestamp u32 s after 2019-01-01T00:00Z
    type 0x5 Operator ID: 1 operator ID type, 2..21 operator ID (ASCII)
    type 0xF Message Pack: 1 message size (25), 2 message count (1..9), then count * 25 B
                  A pack cut short (some transmitters, e.g. the spoofer behind the shared
                  Parrot capture, drop the last message's reserved bytes) yields its complete
                  messages and keeps ``declared_count``, so the caller can count it.

Accuracy enums (F3411 Table 6): horizontal 1..12 -> < 18 520, 7 408, 3 704, 1 852, 926,
555.6, 185.2, 92.6, 30, 10, 3, 1 m; vertical 1..6 -> < 150, 45, 25, 10, 3, 1 m;
speed 1..4 -> < 10, 3, 1, 0.3 m/s. 0 = unknown. "Unknown" values decode to ``None``.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from typing import Any

from skywarden.core.errors import DecodeError

MESSAGE_SIZE = 25
MAX_PACK = 9
F3411_EPOCH_UNIX = 1546300800
"""2019-01-01T00:00:00Z, the epoch of the Authentication and System timestamps."""

HORIZONTAL_ACCURACY_M: dict[int, float] = {
    1: 18520.0, 2: 7408.0, 3: 3704.0, 4: 1852.0, 5: 926.0, 6: 555.6,
    7: 185.2, 8: 92.6, 9: 30.0, 10: 10.0, 11: 3.0, 12: 1.0,
}  # fmt: skip
VERTICAL_ACCURACY_M: dict[int, float] = {1: 150.0, 2: 45.0, 3: 25.0, 4: 10.0, 5: 3.0, 6: 1.0}
SPEED_ACCURACY_MPS: dict[int, float] = {1: 10.0, 2: 3.0, 3: 1.0, 4: 0.3}


class _Msg:
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = asdict(self)  # type: ignore[call-overload]
        d["type"] = type(self).__name__
        return d


@dataclass(frozen=True)
class BasicId(_Msg):
    version: int
    id_type: int
    ua_type: int
    uas_id: str


@dataclass(frozen=True)
class Location(_Msg):
    """Location/Vector. Unknown fields are ``None``; altitudes in metres, speeds in m/s."""

    version: int
    status: int
    height_agl: bool
    direction_deg: float | None
    speed_mps: float | None
    vspeed_mps: float | None
    lat_deg: float | None
    lon_deg: float | None
    alt_baro_m: float | None
    alt_geo_m: float | None
    height_m: float | None
    h_acc_m: float | None
    v_acc_m: float | None
    baro_acc_m: float | None
    speed_acc_mps: float | None
    time_after_hour_s: float | None
    time_acc_s: float | None


@dataclass(frozen=True)
class Authentication(_Msg):
    """One page; page 0 carries ``last_page``, ``length`` and ``timestamp_unix``."""

    version: int
    auth_type: int
    page: int
    last_page: int | None
    length: int | None
    timestamp_unix: int | None
    data: bytes


@dataclass(frozen=True)
class SelfId(_Msg):
    version: int
    desc_type: int
    text: str


@dataclass(frozen=True)
class System(_Msg):
    version: int
    operator_location_type: int
    classification_type: int
    operator_lat_deg: float | None
    operator_lon_deg: float | None
    area_count: int
    area_radius_m: float
    area_ceiling_m: float | None
    area_floor_m: float | None
    ua_category: int
    ua_class: int
    operator_alt_m: float | None
    timestamp_unix: int


@dataclass(frozen=True)
class OperatorId(_Msg):
    version: int
    id_type: int
    operator_id: str


@dataclass(frozen=True)
class MessagePack(_Msg):
    """``declared_count`` > ``len(messages)`` when the pack was cut short (see ``_pack``)."""

    version: int
    messages: tuple[RidMessage, ...]
    declared_count: int


RidMessage = BasicId | Location | Authentication | SelfId | System | OperatorId | MessagePack


def _text(b: bytes) -> str:
    """NUL-padded ASCII; a non-printable byte is a decode error (a corrupt or foreign frame)."""
    s = b.split(b"\x00", 1)[0]
    if any(c < 0x20 or c > 0x7E for c in s):
        raise DecodeError("rid_bad_text", s.hex())
    return s.decode("ascii").rstrip()


def _alt(raw: int) -> float | None:
    return None if raw == 0 else raw * 0.5 - 1000.0


def _latlon(lat_raw: int, lon_raw: int) -> tuple[float | None, float | None]:
    lat, lon = lat_raw * 1e-7, lon_raw * 1e-7
    if (lat_raw == 0 and lon_raw == 0) or abs(lat) > 90.0 or abs(lon) > 180.0:
        return None, None
    return lat, lon


def _basic_id(m: bytes, ver: int) -> BasicId:
    return BasicId(ver, m[1] >> 4, m[1] & 0x0F, _text(m[2:22]))


def _location(m: bytes, ver: int) -> Location:
    flags = m[1]
    direction = m[2] + (180 if flags & 0x02 else 0)
    speed = m[3] * 0.75 + 255 * 0.25 if flags & 0x01 else m[3] * 0.25
    vs = struct.unpack_from("<b", m, 4)[0] * 0.5
    lat_raw, lon_raw, baro, geo, height = struct.unpack_from("<iiHHH", m, 5)
    lat, lon = _latlon(lat_raw, lon_raw)
    ts = struct.unpack_from("<H", m, 21)[0]
    return Location(
        version=ver,
        status=flags >> 4,
        height_agl=bool(flags & 0x04),
        direction_deg=float(direction) if direction <= 360 else None,
        speed_mps=speed if speed < 254.5 else None,
        vspeed_mps=vs if abs(vs) < 62.5 else None,
        lat_deg=lat,
        lon_deg=lon,
        alt_baro_m=_alt(baro),
        alt_geo_m=_alt(geo),
        height_m=_alt(height),
        h_acc_m=HORIZONTAL_ACCURACY_M.get(m[19] & 0x0F),
        v_acc_m=VERTICAL_ACCURACY_M.get(m[19] >> 4),
        baro_acc_m=VERTICAL_ACCURACY_M.get(m[20] >> 4),
        speed_acc_mps=SPEED_ACCURACY_MPS.get(m[20] & 0x0F),
        time_after_hour_s=ts / 10.0 if ts <= 36000 else None,
        time_acc_s=(m[23] & 0x0F) / 10.0 if m[23] & 0x0F else None,
    )


def _auth(m: bytes, ver: int) -> Authentication:
    page = m[1] & 0x0F
    if page == 0:
        ts = struct.unpack_from("<I", m, 4)[0]
        return Authentication(ver, m[1] >> 4, 0, m[2], m[3], ts + F3411_EPOCH_UNIX, m[8:25])
    return Authentication(ver, m[1] >> 4, page, None, None, None, m[2:25])


def _system(m: bytes, ver: int) -> System:
    lat_raw, lon_raw, count = struct.unpack_from("<iiH", m, 2)
    lat, lon = _latlon(lat_raw, lon_raw)
    ceiling, floor = struct.unpack_from("<HH", m, 13)
    op_alt, ts = struct.unpack_from("<HI", m, 18)
    return System(
        version=ver,
        operator_location_type=m[1] & 0x03,
        classification_type=(m[1] >> 2) & 0x07,
        operator_lat_deg=lat,
        operator_lon_deg=lon,
        area_count=count,
        area_radius_m=m[12] * 10.0,
        area_ceiling_m=_alt(ceiling),
        area_floor_m=_alt(floor),
        ua_category=m[17] >> 4,
        ua_class=m[17] & 0x0F,
        operator_alt_m=_alt(op_alt),
        timestamp_unix=ts + F3411_EPOCH_UNIX,
    )


def decode_message(m: bytes) -> RidMessage:
    """One F3411 message (25 bytes, or a Message Pack) -> its dataclass; raises DecodeError."""
    if len(m) < MESSAGE_SIZE:
        raise DecodeError("rid_short", f"{len(m)} B < {MESSAGE_SIZE}")
    mtype, ver = m[0] >> 4, m[0] & 0x0F
    if ver > 2:
        raise DecodeError("rid_bad_version", f"protocol version {ver}")
    if mtype == 0xF:
        return _pack(m, ver)
    if len(m) != MESSAGE_SIZE:
        raise DecodeError("rid_bad_length", f"{len(m)} B for message type {mtype}")
    if mtype == 0:
        return _basic_id(m, ver)
    if mtype == 1:
        return _location(m, ver)
    if mtype == 2:
        return _auth(m, ver)
    if mtype == 3:
        return SelfId(ver, m[1], _text(m[2:25]))
    if mtype == 4:
        return _system(m, ver)
    if mtype == 5:
        return OperatorId(ver, m[1], _text(m[2:22]))
    raise DecodeError("rid_bad_type", f"message type {mtype:#x}")


def _pack(m: bytes, ver: int) -> MessagePack:
    size, count = m[1], m[2]
    if size != MESSAGE_SIZE:
        raise DecodeError("rid_pack_bad_size", f"message size {size}")
    if not 1 <= count <= MAX_PACK:
        raise DecodeError("rid_pack_bad_count", f"{count} messages")
    complete = min(count, (len(m) - 3) // MESSAGE_SIZE)
    if complete == 0:
        raise DecodeError("rid_pack_truncated", f"{len(m)} B for {count} messages")
    msgs = []
    for k in range(complete):
        sub = m[3 + k * MESSAGE_SIZE : 3 + (k + 1) * MESSAGE_SIZE]
        if sub[0] >> 4 == 0xF:
            raise DecodeError("rid_pack_nested", f"message {k} is a pack")
        msgs.append(decode_message(sub))
    return MessagePack(ver, tuple(msgs), count)


def flatten(msg: RidMessage) -> tuple[RidMessage, ...]:
    """A pack's messages, or the message itself."""
    return msg.messages if isinstance(msg, MessagePack) else (msg,)

"""Native wire output of a simulated run for the live path: SAPIENT, ADS-B Beast, Remote ID.

``wire_stream(run, epoch_s)`` turns a run's sensor reports (in arrival order) into
:class:`WireMessage` values, one per message on the wire, and ``play`` hands them to a
sender either as fast as possible or paced in real time (the clock and the sleep are passed
in; only ``core.clock`` reads the wall clock).

SAPIENT (BSI Flex 335 v2.0, clause 6 transport): every message is a ``SapientMessage``
protobuf (package ``sapient-proto``) behind a 4-byte little-endian length. Each
non-cooperative sensor is one node (id: UUID v5 of the sensor id) of its own node type
(radar, camera, acoustic, passive RF): it sends a ``Registration`` first, then a
``StatusReport`` with its location (``INFO_NEW``) and another every ``STATUS_INTERVAL_S``
(``INFO_UNCHANGED``), then one ``DetectionReport`` per detection (ULID report/object
ids). Radar, acoustic and camera plots are ``range_bearing`` (radians/metres, true north;
range omitted for angle-only sensors); an RF bearing is azimuth only; camera class labels
become a ``classification``.

ADS-B Beast (the dump1090 port-30005 format): ``0x1a`` ``'3'`` + 6-byte MLAT counter
(12 MHz) + 1 signal byte + the 14-byte Mode S frame, with every ``0x1a`` in the body doubled.
The Mode S frame is DF17 extended squitter (DO-260B, 2.2.3.2): ``DF=17 | CA=5 | ICAO(24) |
ME(56) | PI(24)``, PI the CRC-24 (generator 0x1FFF409) of the first 88 bits. ME types: 4
(identification: 8 callsign characters, 6 bits each), 11 (airborne position: 12-bit
altitude with Q bit, 25 ft steps; CPR lat/lon, 17 bits each, even and odd frames
alternating) and 19 subtype 1 (ground velocity: east/west and north/south in knots + 1,
vertical rate in 64 ft/min + 1).

Remote ID (ASTM F3411-22a 5.4.5): each broadcast is a Message Pack (type 0xF) carrying a
Basic ID (type 0x0: serial number, ANSI/CTA-2063-A, UA type multirotor) and a Location/Vector
message (type 0x1), 25 bytes each, little-endian, and with ``system_messages`` a System
message (type 0x4: operator position at the take-off point, area, UA class); the radio
framing (Bluetooth / Wi-Fi) is left to the transport. ADS-B altitude in the position message
is barometric (pressure altitude for the receiver's ``qnh_hpa``); the velocity message
carries the GNSS-minus-barometric difference (DO-260B 2.2.3.2.6.1.14, 25 ft steps).
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import SensorKind
from skywarden.sim.run import SimRun, rng_for
from skywarden.sim.sensors import Report, SensorModel

_SKY = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
_NS = uuid.UUID("8c3e1b5a-2f47-4d6e-9a0b-1c2d3e4f5a6b")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
STATUS_INTERVAL_S = 10.0
# BSI Flex 335 v2.0 Registration.NodeType per sensor kind (1 = NODE_TYPE_OTHER)
NODE_TYPES = {
    SensorKind.RADAR: 2,
    SensorKind.CAMERA: 4,
    SensorKind.ACOUSTIC: 6,
    SensorKind.RF: 8,
}
M_PER_HPA = 8.3  # pressure-altitude change per hPa near the ground (ICAO standard atmosphere)
F3411_EPOCH_UNIX = 1_546_300_800  # 2019-01-01T00:00:00Z


@dataclass(frozen=True)
class WireMessage:
    """One message on one channel: ``sapient``, ``beast`` or ``remoteid``."""

    t: float
    channel: str
    sensor_id: str
    payload: bytes


# ----------------------------------------------------------------------------- SAPIENT


def node_uuid(sensor_id: str) -> str:
    return str(uuid.uuid5(_NS, sensor_id))


def ulid(t_unix: float, rng: np.random.Generator) -> str:
    """A ULID: 48-bit milliseconds + 80 random bits, Crockford base-32, 26 characters."""
    v = (int(t_unix * 1000) & ((1 << 48) - 1)) << 80
    v |= int.from_bytes(rng.bytes(10), "big")
    return "".join(_CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


def sapient_frame(msg: Any) -> bytes:
    body: bytes = msg.SerializeToString()
    return struct.pack("<I", len(body)) + body


def _sapient_msg(node: str, t_unix: float) -> Any:
    from sapient_msg.bsi_flex_335_v2_0 import sapient_message_pb2

    m = sapient_message_pb2.SapientMessage(node_id=node, destination_id=_SKY)
    m.timestamp.FromNanoseconds(int(t_unix * 1e9))
    return m


def sapient_registration(model: SensorModel, t_unix: float) -> Any:
    from sapient_msg.bsi_flex_335_v2_0 import location_pb2, range_bearing_pb2, registration_pb2

    R = registration_pb2.Registration
    m = _sapient_msg(node_uuid(model.id), t_unix)
    r = m.registration
    r.node_definition.add(node_type=NODE_TYPES.get(model.spec.kind, 1))
    r.icd_version = "BSI Flex 335 v2.0"
    r.name = f"skywarden-sim {model.id}"
    r.capabilities.add(category=model.spec.kind.value, type="Detection")
    r.status_definition.status_interval.units = R.TIME_UNITS_SECONDS
    r.status_definition.status_interval.value = int(STATUS_INTERVAL_S)
    mode = r.mode_definition.add(mode_name="Default")
    mode.mode_type = R.MODE_TYPE_PERMANENT
    mode.settle_time.units = R.TIME_UNITS_SECONDS
    mode.settle_time.value = 1
    dd = mode.detection_definition.add()
    dd.location_type.location_units = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    dd.location_type.location_datum = location_pb2.LOCATION_DATUM_WGS84_E
    dd2 = mode.detection_definition.add()
    dd2.location_type.range_bearing_units = (
        range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M
    )
    dd2.location_type.range_bearing_datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    mode.task.concurrent_tasks = 1
    cmd = mode.task.command.add(units="s", type=R.COMMAND_TYPE_REQUEST)
    cmd.completion_time.units = R.TIME_UNITS_SECONDS
    cmd.completion_time.value = 1
    mode.task.region_definition.region_type.append(R.REGION_TYPE_AREA_OF_INTEREST)
    mode.task.region_definition.settle_time.units = R.TIME_UNITS_SECONDS
    mode.task.region_definition.settle_time.value = 1
    ra = mode.task.region_definition.region_area.add()
    ra.location_units = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    ra.location_datum = location_pb2.LOCATION_DATUM_WGS84_E
    r.config_data.add(manufacturer="skywarden", model=f"sim-{model.spec.kind.value}")
    return m


def sapient_status(
    model: SensorModel,
    origin: GeoOrigin,
    t_unix: float,
    rng: np.random.Generator,
    first: bool = True,
) -> Any:
    from sapient_msg.bsi_flex_335_v2_0 import location_pb2

    m = _sapient_msg(node_uuid(model.id), t_unix)
    s = m.status_report
    s.report_id = ulid(t_unix, rng)
    s.system = s.SYSTEM_OK
    s.info = s.INFO_NEW if first else s.INFO_UNCHANGED
    s.mode = "Default"
    p = model.spec.position_enu
    lat, lon, alt = origin.to_geodetic(float(p[0]), float(p[1]), float(p[2]))
    s.node_location.x, s.node_location.y, s.node_location.z = lon, lat, alt
    s.node_location.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    s.node_location.datum = location_pb2.LOCATION_DATUM_WGS84_E
    return m


def sapient_detection(
    model: SensorModel, det: dict[str, Any], t_unix: float, rng: np.random.Generator
) -> Any:
    """One skybench detection dict of an angle/range sensor -> a ``DetectionReport``."""
    from sapient_msg.bsi_flex_335_v2_0 import range_bearing_pb2

    m = _sapient_msg(node_uuid(model.id), t_unix)
    d = m.detection_report
    d.report_id = ulid(t_unix, rng)
    d.object_id = ulid(t_unix, rng)
    rb = d.range_bearing
    rb.coordinate_system = range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M
    rb.datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    sig = model.spec.sigma
    rb.azimuth = float(det["az_rad"])
    rb.azimuth_error = float(sig["az_rad"])
    if "el_rad" in det:
        rb.elevation = float(det["el_rad"])
        rb.elevation_error = float(sig["el_rad"])
    if "range_m" in det:
        rb.range = float(det["range_m"])
        rb.range_error = float(sig["range_m"])
    if "class" in det:
        names = {"drone": "UAV Rotary Wing", "bird": "Bird", "aircraft": "Aircraft"}
        c = d.classification.add(type=names.get(str(det["class"]), "Unknown"))
        c.confidence = float(det.get("class_conf", 0.5))
    return m


# ----------------------------------------------------------------------------- ADS-B


def crc24(data: bytes) -> int:
    """Mode S parity: CRC-24 with generator 0x1FFF409 over the message bits."""
    crc = 0
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1FFF409
    return crc & 0xFFFFFF


def _nl(lat: float) -> int:
    if lat == 0:
        return 59
    if abs(lat) == 87:
        return 2
    if abs(lat) > 87:
        return 1
    a = 1 - math.cos(math.pi / 30) / 1.0
    return math.floor(2 * math.pi / math.acos(1 - a / math.cos(math.pi / 180 * abs(lat)) ** 2))


def cpr_encode(lat: float, lon: float, odd: bool) -> tuple[int, int]:
    """Airborne CPR (17 bits each) of a position, even (i=0) or odd (i=1) format."""
    i = 1 if odd else 0
    dlat = 360.0 / (60 - i)
    yz = math.floor(2**17 * (lat % dlat) / dlat + 0.5)
    rlat = dlat * (yz / 2**17 + math.floor(lat / dlat))
    dlon = 360.0 / max(_nl(rlat) - i, 1)
    xz = math.floor(2**17 * (lon % dlon) / dlon + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF


def _df17(icao: str, me: int) -> bytes:
    head = (17 << 3) | 5
    body = bytes([head]) + bytes.fromhex(icao) + me.to_bytes(7, "big")
    return body + crc24(body).to_bytes(3, "big")


def adsb_position(icao: str, lat: float, lon: float, alt_m: float, odd: bool) -> bytes:
    ft = alt_m / 0.3048
    n = max(0, min(2047, round((ft + 1000) / 25)))
    alt12 = ((n >> 4) << 5) | (1 << 4) | (n & 0xF)
    yz, xz = cpr_encode(lat, lon, odd)
    me = (11 << 51) | (alt12 << 36) | (int(odd) << 34) | (yz << 17) | xz
    return _df17(icao, me)


def adsb_velocity(
    icao: str, ve: float, vn: float, vu: float, gnss_minus_baro_m: float = 0.0
) -> bytes:
    kt = 1.0 / 0.514444
    vew = min(1022, round(abs(ve) * kt)) + 1
    vns = min(1022, round(abs(vn) * kt)) + 1
    vr = min(510, round(abs(vu) / 0.3048 * 60 / 64)) + 1
    me = (19 << 51) | (1 << 48)
    me |= (int(ve < 0) << 42) | (vew << 32) | (int(vn < 0) << 31) | (vns << 21)
    me |= (1 << 20) | (int(vu < 0) << 19) | (vr << 10)
    diff = min(126, round(abs(gnss_minus_baro_m) / 0.3048 / 25)) + 1
    me |= (int(gnss_minus_baro_m < 0) << 7) | diff
    return _df17(icao, me)


_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def adsb_ident(icao: str, callsign: str) -> bytes:
    cs = (callsign.upper() + " " * 8)[:8]
    v = 0
    for ch in cs:
        i = _CHARS.find(ch) if ch != "#" else -1
        v = (v << 6) | (i if i >= 0 else 32)
    me = (4 << 51) | (1 << 48) | v
    return _df17(icao, me)


def beast_frame(modes: bytes, t: float, signal: int = 0x80) -> bytes:
    ticks = int(t * 12e6) & ((1 << 48) - 1)
    body = ticks.to_bytes(6, "big") + bytes([signal]) + modes
    return b"\x1a3" + body.replace(b"\x1a", b"\x1a\x1a")


# ----------------------------------------------------------------------------- Remote ID


def _rid_alt(m: float) -> int:
    return max(0, min(0xFFFE, round((m + 1000.0) / 0.5)))


def rid_basic_id(serial: str) -> bytes:
    b = bytes([0x02, (1 << 4) | 2]) + serial.encode("ascii")[:20].ljust(20, b"\0")
    return b + b"\0\0\0"


def rid_location(
    lat: float,
    lon: float,
    alt_m: float,
    height_m: float,
    ve: float,
    vn: float,
    vu: float,
    t_unix: float,
) -> bytes:
    track = math.degrees(math.atan2(ve, vn)) % 360.0
    seg = 1 if track >= 180.0 else 0
    spd = math.hypot(ve, vn)
    if spd <= 63.75:
        mult, sv = 0, round(spd / 0.25)
    else:
        mult, sv = 1, min(254, round((spd - 63.75) / 0.75))
    flags = (2 << 4) | (seg << 1) | mult
    vs = max(-126, min(126, round(vu / 0.5)))
    tenths = round((t_unix % 3600.0) * 10) % 36000
    return struct.pack(
        "<BBBBbiiHHHBBHBB",
        0x12,
        flags,
        round(track - 180 * seg) % 256,
        sv,
        vs,
        round(lat * 1e7),
        round(lon * 1e7),
        0,
        _rid_alt(alt_m),
        _rid_alt(height_m),
        (4 << 4) | 11,
        3,
        tenths,
        1,
        0,
    )


def rid_system(
    op_lat: float, op_lon: float, op_alt_m: float, t_unix: float, area_radius_m: float = 0.0
) -> bytes:
    """ASTM F3411-22a System message (type 0x4): operator at the take-off point (location
    type 0), classification undeclared, one aircraft in the area."""
    return struct.pack(
        "<BBiiHBHHBHIB",
        0x42,
        0,
        round(op_lat * 1e7),
        round(op_lon * 1e7),
        1,
        min(255, round(area_radius_m / 10.0)),
        0,
        0,
        0,
        _rid_alt(op_alt_m),
        max(0, int(t_unix) - F3411_EPOCH_UNIX),
        0,
    )


def rid_pack(messages: list[bytes]) -> bytes:
    return bytes([0xF2, 25, len(messages)]) + b"".join(messages)


# ----------------------------------------------------------------------------- streams


def wire_stream(run: SimRun, epoch_s: float = 1_700_000_000.0) -> Iterator[WireMessage]:
    """Every report of the run as wire messages, in arrival order (scenario seconds)."""
    origin = run.site.origin
    rng = rng_for(run.seed, "wire")
    models = {m.id: m for m in run.sensors}
    operators: dict[str, tuple[float, float, float]] = {}
    for tr in run.trajectories:  # the operator stands where the drone took off
        if tr.remote_id is not None:
            ok = ~np.isnan(tr.states[:, 0])
            if ok.any():
                e, n, _ = tr.states[int(np.argmax(ok)), :3].tolist()
                operators[tr.remote_id] = origin.to_geodetic(e, n, 1.5)
    ctx = _Ctx(origin, epoch_s, rng, {}, {}, operators)
    for rep in run.reports(order="arrival"):
        yield from _report_messages(rep, models[rep.sensor_id], ctx)


@dataclass
class _Ctx:
    """What the wire stream keeps between reports."""

    origin: GeoOrigin
    epoch_s: float
    rng: np.random.Generator
    status_t: dict[str, float]  # node -> time of its last status report
    odd: dict[str, bool]  # ICAO -> next CPR frame is odd
    operators: dict[str, tuple[float, float, float]]  # Remote ID serial -> lat, lon, alt


def _report_messages(rep: Report, m: SensorModel, ctx: _Ctx) -> Iterator[WireMessage]:
    k = m.spec.kind
    origin, rng, odd = ctx.origin, ctx.rng, ctx.odd
    t_unix = ctx.epoch_s + rep.t
    if k is SensorKind.ADSB:
        for d in rep.detections:
            icao = str(d["id"])
            lat, lon, alt = origin.to_geodetic(d["x"], d["y"], d["z"])
            o = odd.get(icao, False)
            odd[icao] = not o
            # pressure altitude: a high QNH puts the standard pressure levels lower
            diff = (float(m.params["qnh_hpa"]) - 1013.25) * M_PER_HPA
            frames = [
                adsb_position(icao, lat, lon, alt - diff, o),
                adsb_velocity(icao, d["vx"], d["vy"], d["vz"], diff),
            ]
            if d.get("callsign") and not o:
                frames.append(adsb_ident(icao, str(d["callsign"])))
            for f in frames:
                yield WireMessage(rep.arrival_t, "beast", m.id, beast_frame(f, rep.t))
        return
    if k is SensorKind.REMOTE_ID:
        for d in rep.detections:
            lat, lon, alt = origin.to_geodetic(d["x"], d["y"], d["z"])
            loc = rid_location(lat, lon, alt, d["z"], d["vx"], d["vy"], d["vz"], t_unix)
            msgs = [rid_basic_id(str(d["id"])), loc]
            op = ctx.operators.get(str(d["id"]))
            if m.params["system_messages"] and op is not None:
                msgs.append(rid_system(*op, t_unix))
            yield WireMessage(rep.arrival_t, "remoteid", m.id, rid_pack(msgs))
        return
    if k is SensorKind.PLOTS:
        return
    last = ctx.status_t.get(m.id)
    if last is None:
        yield WireMessage(
            rep.arrival_t, "sapient", m.id, sapient_frame(sapient_registration(m, t_unix))
        )
    if last is None or rep.t - last >= STATUS_INTERVAL_S:
        ctx.status_t[m.id] = rep.t
        st = sapient_status(m, origin, t_unix, rng, first=last is None)
        yield WireMessage(rep.arrival_t, "sapient", m.id, sapient_frame(st))
    for d in rep.detections:
        yield WireMessage(
            rep.arrival_t, "sapient", m.id, sapient_frame(sapient_detection(m, d, t_unix, rng))
        )


def play(
    stream: Iterator[WireMessage],
    send: Callable[[WireMessage], None],
    *,
    realtime: bool = False,
    now: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    speed: float = 1.0,
) -> int:
    """Send every message; with ``realtime``, pace by scenario time (``now``/``sleep`` given)."""
    n = 0
    t0_wall = now() if (realtime and now is not None) else 0.0
    t0_sim: float | None = None
    for msg in stream:
        if realtime and now is not None and sleep is not None:
            if t0_sim is None:
                t0_sim = msg.t
            due = t0_wall + (msg.t - t0_sim) / speed
            wait = due - now()
            if wait > 0:
                sleep(wait)
        send(msg)
        n += 1
    return n

"""Remote ID reports: messages of one transmitter assembled, checked and turned into Detections.

Owns three things built on ``remoteid`` (messages) and ``remoteid_frames`` (radio framing):

- :class:`RidAssembler` keeps, per transmitter (MAC address, or UAS ID when the frame has no
  address), the latest Basic ID, System, Operator ID and Self-ID, and emits one
  :class:`RidReport` per Location message. Time is the receive time passed in.
- :func:`to_detection`: a report -> ``Detection`` of kind ``position_id``:
  ``z = [e, n, u, ve, vn, vu]`` about the site origin, ``R`` from the message's accuracy
  fields (F3411 Table 6 bounds taken as 1-sigma, conservative), identity = UAS ID,
  operator position in ``attrs``.
- The consistency rule (:func:`check_pair`, :func:`check_operator`,
  :class:`ConsistencyMonitor`). A Remote ID report is *inconsistent* when

  1. ``implied_speed``: between two reports of one UAS ID, the great-circle distance exceeds
     ``v_max * dt + acc_1 + acc_2 + slack`` (``v_max`` = 100 m/s, above any small UAS;
     ``acc`` = declared horizontal accuracy or 30 m when unknown; ``slack`` = 10 m for GNSS
     noise). A physical drone cannot jump; a spoofer replaying or inventing positions does.
  2. ``operator_distance``: drone-operator distance over ``max_operator_m`` = 10 km. Remote
     ID broadcast is heard over a few km, and consumer C2 links rarely reach 10 km.
  3. ``serial_format``: a Basic ID of type 1 (serial) that is not ANSI/CTA-2063-A.

  Each finding names its rule; a report's ``attrs["rid_inconsistent"]`` lists the rules hit
  and ``attrs["rid_findings"]`` says what each found (``"operator_distance: 24311 m from
  its operator (> 10000 m)"``). The tracker gives such a report no credit
  (``tracking.cooperative``) and the spoof monitor (``threat.spoof``) turns persistent
  findings into reasons and an alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from uas_standards.ansi_cta_2063_a import SerialNumber  # type: ignore[import-untyped]

from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.sensors.remoteid import (
    BasicId,
    Location,
    MessagePack,
    OperatorId,
    RidMessage,
    SelfId,
    System,
    decode_message,
    flatten,
)
from skywarden.sensors.remoteid_frames import RidPayload

V_MAX_MPS = 100.0
MAX_OPERATOR_M = 10_000.0
SLACK_M = 10.0
UNKNOWN_H_ACC_M = 30.0
UNKNOWN_V_ACC_M = 45.0
UNKNOWN_SPEED_ACC_MPS = 10.0
UNKNOWN_VELOCITY_SIGMA_MPS = 30.0
_EARTH_R_M = 6_371_008.8


def serial_valid(uas_id: str) -> bool:
    """ANSI/CTA-2063-A physical serial number: 4-char maker code, length code, serial."""
    return bool(SerialNumber(uas_id).valid)


@dataclass(frozen=True)
class RidReport:
    """One Location of one UA with the latest identity and system data of its transmitter."""

    t: float
    key: str
    transport: str
    location: Location
    basic_ids: tuple[BasicId, ...] = ()
    system: System | None = None
    operator_id: OperatorId | None = None
    self_id: SelfId | None = None

    @property
    def uas_id(self) -> str:
        """The serial if one was sent, else the first other UAS ID, else the transmitter key."""
        for b in self.basic_ids:
            if b.id_type == 1 and b.uas_id:
                return b.uas_id
        for b in self.basic_ids:
            if b.uas_id:
                return b.uas_id
        return f"mac:{self.key}"


@dataclass
class _State:
    basic: dict[int, BasicId] = field(default_factory=dict)
    system: System | None = None
    operator_id: OperatorId | None = None
    self_id: SelfId | None = None


class RidAssembler:
    """Per-transmitter state; ``feed`` decodes one payload and returns the reports it yields.

    A malformed payload is counted as ``rejected.<reason>`` and yields nothing.
    """

    def __init__(self, counters: Counters | None = None) -> None:
        self.counters = counters if counters is not None else Counters()
        self._states: dict[str, _State] = {}

    def feed(self, payload: RidPayload, t: float) -> list[RidReport]:
        try:
            msg = decode_message(payload.data)
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}")
            return []
        if isinstance(msg, MessagePack) and msg.declared_count > len(msg.messages):
            self.counters.inc("warn.rid_pack_truncated")
        return self.feed_messages(flatten(msg), payload.mac, payload.transport, t)

    def feed_messages(
        self, msgs: tuple[RidMessage, ...], key: str, transport: str, t: float
    ) -> list[RidReport]:
        """Update state with every non-Location message first, then report each Location."""
        st = self._states.setdefault(key, _State())
        for m in msgs:
            self.counters.inc(f"accepted.{type(m).__name__}")
            if isinstance(m, BasicId):
                st.basic[m.id_type] = m
            elif isinstance(m, System):
                st.system = m
            elif isinstance(m, OperatorId):
                st.operator_id = m
            elif isinstance(m, SelfId):
                st.self_id = m
        basic = tuple(st.basic[k] for k in sorted(st.basic))
        return [
            RidReport(t, key, transport, m, basic, st.system, st.operator_id, st.self_id)
            for m in msgs
            if isinstance(m, Location)
        ]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean Earth sphere (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_R_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Inconsistency:
    t: float
    uas_id: str
    rule: str
    detail: str


def check_pair(prev: RidReport, cur: RidReport, v_max: float = V_MAX_MPS) -> Inconsistency | None:
    """Rule 1 (``implied_speed``) between two reports of one UA, ``prev`` before ``cur``."""
    a, b = prev.location, cur.location
    if a.lat_deg is None or a.lon_deg is None or b.lat_deg is None or b.lon_deg is None:
        return None
    d = distance_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg)
    dt = abs(cur.t - prev.t)
    allowed = v_max * dt + (a.h_acc_m or UNKNOWN_H_ACC_M) + (b.h_acc_m or UNKNOWN_H_ACC_M)
    allowed += SLACK_M
    if d > allowed:
        return Inconsistency(
            cur.t,
            cur.uas_id,
            "implied_speed",
            f"moved {d:.0f} m in {dt:.2f} s ({d / max(dt, 1e-3):.0f} m/s; > {allowed:.0f} m)",
        )
    return None


def check_operator(r: RidReport, max_m: float = MAX_OPERATOR_M) -> Inconsistency | None:
    """Rule 2 (``operator_distance``)."""
    s, loc = r.system, r.location
    if s is None or s.operator_lat_deg is None or s.operator_lon_deg is None:
        return None
    if loc.lat_deg is None or loc.lon_deg is None:
        return None
    d = distance_m(loc.lat_deg, loc.lon_deg, s.operator_lat_deg, s.operator_lon_deg)
    if d > max_m:
        return Inconsistency(
            r.t, r.uas_id, "operator_distance", f"{d:.0f} m from its operator (> {max_m:.0f} m)"
        )
    return None


def check_serial(r: RidReport) -> Inconsistency | None:
    """Rule 3 (``serial_format``)."""
    for b in r.basic_ids:
        if b.id_type == 1 and not serial_valid(b.uas_id):
            return Inconsistency(r.t, r.uas_id, "serial_format", repr(b.uas_id))
    return None


class ConsistencyMonitor:
    """Applies the three rules to a stream of reports; keeps the last fix per UAS ID.

    Bounded: ``findings`` keeps the newest ``max_findings`` (the journal keeps every
    report's flags), and last fixes older than ``forget_s`` are dropped, so a transmitter
    inventing a new UAS ID per pack cannot grow memory without limit."""

    max_findings = 10_000
    forget_s = 600.0

    def __init__(self, v_max: float = V_MAX_MPS, max_operator_m: float = MAX_OPERATOR_M) -> None:
        self.v_max = v_max
        self.max_operator_m = max_operator_m
        self._last: dict[str, RidReport] = {}
        self._prune_at = 4096
        self.findings: list[Inconsistency] = []

    def check(self, r: RidReport) -> list[Inconsistency]:
        found: list[Inconsistency] = []
        prev = self._last.get(r.uas_id)
        if prev is not None and (f := check_pair(prev, r, self.v_max)):
            found.append(f)
        for rule in (check_operator(r, self.max_operator_m), check_serial(r)):
            if rule is not None:
                found.append(rule)
        if r.location.lat_deg is not None:
            self._last[r.uas_id] = r
            if len(self._last) > self._prune_at:  # amortised: the bound doubles with the set
                self._last = {k: v for k, v in self._last.items() if r.t - v.t <= self.forget_s}
                self._prune_at = max(4096, 2 * len(self._last))
        self.findings.extend(found)
        if len(self.findings) > self.max_findings * 5 // 4:
            del self.findings[: len(self.findings) - self.max_findings]
        return found

    def flagged(self, uas_id: str) -> set[str]:
        return {f.rule for f in self.findings if f.uas_id == uas_id}


def _altitude(loc: Location) -> float | None:
    return loc.alt_geo_m if loc.alt_geo_m is not None else loc.alt_baro_m


def to_detection(
    r: RidReport,
    origin: GeoOrigin,
    sensor_id: str,
    sensor_pos: np.ndarray | None = None,
    flags: tuple[str, ...] = (),
    details: tuple[str, ...] = (),
) -> Detection:
    """A report -> ``position_id`` Detection; raises InputRejected if it has no position."""
    loc = r.location
    if loc.lat_deg is None or loc.lon_deg is None:
        raise InputRejected("rid_no_position", r.uas_id)
    alt = _altitude(loc)
    pos = origin.to_enu(loc.lat_deg, loc.lon_deg, alt if alt is not None else origin.alt_m)
    h_acc = loc.h_acc_m or UNKNOWN_H_ACC_M
    v_acc = loc.v_acc_m if (loc.v_acc_m and alt is not None) else UNKNOWN_V_ACC_M * 10
    if loc.speed_mps is not None and loc.direction_deg is not None:
        az = math.radians(loc.direction_deg)
        vel_h = (loc.speed_mps * math.sin(az), loc.speed_mps * math.cos(az))
        s_acc = loc.speed_acc_mps or UNKNOWN_SPEED_ACC_MPS
    else:
        vel_h, s_acc = (0.0, 0.0), UNKNOWN_VELOCITY_SIGMA_MPS
    vu = loc.vspeed_mps if loc.vspeed_mps is not None else 0.0
    vu_acc = loc.speed_acc_mps or UNKNOWN_SPEED_ACC_MPS if loc.vspeed_mps is not None else 30.0
    z = np.array([pos[0], pos[1], pos[2], vel_h[0], vel_h[1], vu])
    R = np.diag([h_acc**2, h_acc**2, v_acc**2, s_acc**2, s_acc**2, vu_acc**2])
    return Detection(
        t=r.t,
        sensor_id=sensor_id,
        kind=MeasurementKind.POSITION_ID,
        z=z,
        R=R,
        sensor_pos=sensor_pos if sensor_pos is not None else np.zeros(3),
        identity=r.uas_id,
        class_hint="drone",
        class_conf=0.99,
        attrs=_attrs(r, origin, flags, details),
    )


def _attrs(
    r: RidReport, origin: GeoOrigin, flags: tuple[str, ...], details: tuple[str, ...] = ()
) -> dict[str, object]:
    a: dict[str, object] = {
        "protocol": "remote_id",
        "transport": r.transport,
        "transmitter": r.key,
        "status": r.location.status,
        "lat_deg": r.location.lat_deg,
        "lon_deg": r.location.lon_deg,
        "height_m": r.location.height_m,
    }
    if r.basic_ids:
        a["ua_type"] = r.basic_ids[0].ua_type
        a["uas_ids"] = {b.id_type: b.uas_id for b in r.basic_ids}
    s = r.system
    if s is not None and s.operator_lat_deg is not None and s.operator_lon_deg is not None:
        op_alt = s.operator_alt_m if s.operator_alt_m is not None else origin.alt_m
        a["operator_lat_deg"] = s.operator_lat_deg
        a["operator_lon_deg"] = s.operator_lon_deg
        a["operator_alt_m"] = s.operator_alt_m
        a["operator_enu"] = [
            float(v) for v in origin.to_enu(s.operator_lat_deg, s.operator_lon_deg, op_alt)
        ]
    if r.operator_id is not None and r.operator_id.operator_id:
        a["operator_id"] = r.operator_id.operator_id
    if r.self_id is not None and r.self_id.text:
        a["self_id"] = r.self_id.text
    if flags:
        a["rid_inconsistent"] = list(flags)
    if details:
        a["rid_findings"] = list(details)
    return a


class RemoteIdPipeline:
    """Payloads in, Detections out: assembler, consistency monitor and conversion in one step.

    ``feed(payload, t)`` never raises on bad input: rejects are counted in ``counters``.
    """

    def __init__(
        self, origin: GeoOrigin, sensor_id: str = "remote-id", sensor_pos: np.ndarray | None = None
    ) -> None:
        self.origin = origin
        self.sensor_id = sensor_id
        self.sensor_pos = sensor_pos
        self.counters = Counters()
        self.assembler = RidAssembler(self.counters)
        self.monitor = ConsistencyMonitor()

    def feed(self, payload: RidPayload, t: float) -> list[Detection]:
        out = []
        for r in self.assembler.feed(payload, t):
            found = self.monitor.check(r)
            flags = tuple(f.rule for f in found)
            details = tuple(f"{f.rule}: {f.detail}" for f in found)
            try:
                out.append(
                    to_detection(r, self.origin, self.sensor_id, self.sensor_pos, flags, details)
                )
            except InputRejected as e:
                self.counters.inc(f"rejected.{e.reason}")
                continue
            self.counters.inc("accepted.detections")
        return out

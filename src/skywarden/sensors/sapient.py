"""SAPIENT (BSI Flex 335 v2.0) edge-node input: framing, parsing, node sessions, detections.

The detection geometry and class mapping live in :mod:`skywarden.sensors.sapient_measure`
(pure maths, re-exported here).

Frame layout on the TCP stream (BSI Flex 335 v2.0, clause 6 "message transport")::

    +----------------------------+----------------------------------------+
    | length: uint32 little-end. | SapientMessage, protobuf binary        |
    | 4 bytes                    | `length` bytes                          |
    +----------------------------+----------------------------------------+

``split_frames(buf)`` cuts a byte buffer into complete message bodies plus the unconsumed
remainder. A length of 0 or above ``MAX_FRAME_BYTES`` (1 MiB: the largest harness message is
under 10 kB) cannot be resynchronised from (there is no sync marker), so it raises
:class:`DecodeError` ``bad_length`` and the link closes that connection.

``parse_message(body, t_recv)`` decodes one body and applies the ICD rules of
:mod:`skywarden.sensors.sapient_icd` (mandatory fields, UUID node ids, ULID report/object
ids, icd_version); ``parse_json_message`` does the same for the proto3-JSON form the DSTL
test harness uses. Every rejection is an :class:`InputRejected` with a stable reason.

:class:`SapientSessions` is the per-node state a fusion node keeps (pure, time passed in):

- ``Registration`` -> ``RegistrationAck`` (accepted unless the node is an effector type:
  skywarden is an early-warning system and serves no effector). A registration on a new
  connection while the node is still registered on an older one takes over (after a link
  loss the old socket can stay half-open for minutes): ``Outcome.superseded_conn`` names
  the old connection, which the server closes. Any other message on the old connection is
  refused (``wrong_connection``);
- ``StatusReport`` -> node location (for range/bearing reports) and health; ``SYSTEM_GOODBYE``
  deregisters;
- ``DetectionReport`` -> :class:`~skywarden.core.observation.Detection`, refused
  (``unregistered_node``) unless the node registered, and refused
  (``unregistered_location_type``) when its coordinate system is not one the node declared
  in its registration's detection definitions;
- ``Alert``/``AlertAck``/``Error`` are counted; a ``Task`` addressed to skywarden is refused
  (``task_not_accepted``): skywarden is not taskable and never tasks.

Detection model (see ``core.observation`` for ``z`` orderings):

- ``location`` (lat/lon degrees or radians, or UTM metres + zone; x is longitude/easting,
  y latitude/northing) -> ``xyz`` in site ENU (``xy`` when z is absent). ``x/y/z_error``
  are 1-sigma in the coordinate's units, converted to metres; defaults 10 m / 20 m.
  Heights on ``WGS84_G`` (geoid) are used unconverted (no geoid model here; flagged in
  ``attrs["height_datum"]``).
- ``range_bearing`` about the node's location (site sensor position if the node maps to a
  site sensor, else its last ``StatusReport.node_location``): range+azimuth(+elevation)
  become a converted ``xyz``/``xy`` position with covariance J R J^T (SAPIENT carries no
  range rate, so the 4-row ``range_az_el_radial`` kind does not fit); azimuth only -> ``az``;
  azimuth+elevation -> ``az_el``. Azimuth datum TRUE or GRID (grid convergence ignored);
  MAGNETIC and PLATFORM are refused (``unsupported_bearing_datum``): no declination model
  nor platform heading here.
- ``classification``: the most confident class (or sub-class) mapped to skywarden classes
  (``drone``, ``drone_fixed_wing``, ``bird``, ``aircraft``) by keyword; the raw type is kept
  in ``attrs["sapient_class"]``. Confidence -> ``class_conf``.

Harness files under ``sapient/invalid`` that this parser accepts: none (all 193 rejected,
35 of them already by the proto3-JSON parser). See ``tests/test_sapient_corpus.py``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtoDecodeError
from sapient_msg.bsi_flex_335_v2_0 import (
    location_pb2,
    registration_ack_pb2,
    registration_pb2,
    sapient_message_pb2,
)

from skywarden.core.errors import DecodeError, InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.types import Vec
from skywarden.sensors import sapient_icd
from skywarden.sensors.sapient_measure import (
    best_class,
    location_to_enu,
    map_class,
    range_bearing_measurement,
)

__all__ = [
    "MAX_FRAME_BYTES",
    "MessageKind",
    "NodeState",
    "Outcome",
    "ParsedMessage",
    "SapientMessage",
    "SapientSessions",
    "best_class",
    "frame",
    "location_to_enu",
    "map_class",
    "parse_json_message",
    "parse_message",
    "range_bearing_measurement",
    "split_frames",
    "split_frames_upto",
]

SapientMessage = sapient_message_pb2.SapientMessage
MAX_FRAME_BYTES: Final = 1 << 20
_LEN = struct.Struct("<I")


class MessageKind(StrEnum):
    """The ``content`` oneof of ``SapientMessage`` (field names of the ICD)."""

    REGISTRATION = "registration"
    REGISTRATION_ACK = "registration_ack"
    STATUS_REPORT = "status_report"
    DETECTION_REPORT = "detection_report"
    TASK = "task"
    TASK_ACK = "task_ack"
    ALERT = "alert"
    ALERT_ACK = "alert_ack"
    ERROR = "error"


@dataclass(frozen=True, eq=False)
class ParsedMessage:
    """One valid SAPIENT message: header fields plus the decoded protobuf."""

    kind: MessageKind
    node_id: str
    destination_id: str | None
    timestamp: float
    t_recv: float
    message: sapient_message_pb2.SapientMessage


# --- framing -------------------------------------------------------------------------------


def frame(message: sapient_message_pb2.SapientMessage) -> bytes:
    """Serialise one message with its 4-byte little-endian length prefix."""
    body = message.SerializeToString()
    return _LEN.pack(len(body)) + body


def split_frames(buf: bytes) -> tuple[list[bytes], bytes]:
    """Complete message bodies in ``buf`` and the unconsumed remainder.

    Raises :class:`DecodeError` ``bad_length`` on a zero or absurd length prefix: without a
    sync marker the stream cannot be resynchronised, so the caller drops the connection.
    """
    out, rest, error = split_frames_upto(buf)
    if error is not None:
        raise error
    return out, rest


def split_frames_upto(buf: bytes) -> tuple[list[bytes], bytes, DecodeError | None]:
    """``split_frames`` that keeps the complete frames before a broken length prefix.

    Returns (bodies, remainder, error): with an error, the remainder starts at the broken
    prefix, and the bodies before it are still whole messages to handle before the close.
    """
    out: list[bytes] = []
    pos = 0
    while len(buf) - pos >= 4:
        (n,) = _LEN.unpack_from(buf, pos)
        if n == 0 or n > MAX_FRAME_BYTES:
            err = DecodeError("bad_length", f"frame length {n} at offset {pos}")
            return out, bytes(buf[pos:]), err
        if len(buf) - pos - 4 < n:
            break
        out.append(bytes(buf[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    return out, bytes(buf[pos:]), None


# --- parsing -------------------------------------------------------------------------------


def parse_message(body: bytes, t_recv: float) -> ParsedMessage:
    """Decode and validate one protobuf ``SapientMessage`` body; raises InputRejected."""
    msg = SapientMessage()
    try:
        msg.ParseFromString(body)
    except (ProtoDecodeError, RecursionError, ValueError) as e:
        raise DecodeError("bad_protobuf", str(e)[:200]) from None
    return _validated(msg, t_recv)


def parse_json_message(text: str | bytes, t_recv: float) -> ParsedMessage:
    """The proto3-JSON form (DSTL harness files) -> :class:`ParsedMessage`."""
    msg = SapientMessage()
    try:
        json_format.Parse(text, msg)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as e:
        raise DecodeError("bad_json", str(e)[:200]) from None
    return _validated(msg, t_recv)


def _validated(msg: sapient_message_pb2.SapientMessage, t_recv: float) -> ParsedMessage:
    sapient_icd.check_message(msg)
    kind = msg.WhichOneof("content")
    if kind is None:  # pragma: no cover - check_message requires it
        raise InputRejected("missing_oneof", "content")
    ts = msg.timestamp.seconds + msg.timestamp.nanos * 1e-9
    if msg.timestamp.nanos < 0 or msg.timestamp.nanos >= 1_000_000_000:
        raise InputRejected("bad_timestamp", f"nanos={msg.timestamp.nanos}")
    dest = msg.destination_id if msg.HasField("destination_id") else None
    return ParsedMessage(MessageKind(kind), msg.node_id, dest, ts, t_recv, msg)


# --- node sessions -------------------------------------------------------------------------

_TIME_UNIT_S: Final = {
    registration_pb2.Registration.TIME_UNITS_NANOSECONDS: 1e-9,
    registration_pb2.Registration.TIME_UNITS_MICROSECONDS: 1e-6,
    registration_pb2.Registration.TIME_UNITS_MILLISECONDS: 1e-3,
    registration_pb2.Registration.TIME_UNITS_SECONDS: 1.0,
    registration_pb2.Registration.TIME_UNITS_MINUTES: 60.0,
    registration_pb2.Registration.TIME_UNITS_HOURS: 3600.0,
    registration_pb2.Registration.TIME_UNITS_DAYS: 86400.0,
}


def _status_interval_s(reg: registration_pb2.Registration) -> float | None:
    """The StatusReport interval a registration declares, in seconds (None: not usable)."""
    if not reg.HasField("status_definition"):
        return None
    si = reg.status_definition.status_interval
    scale = _TIME_UNIT_S.get(si.units)
    if scale is None or not math.isfinite(si.value) or si.value <= 0:
        return None
    return float(si.value) * scale


@dataclass
class NodeState:
    """What skywarden knows about one SAPIENT node (mutable, owned by SapientSessions)."""

    node_id: str
    registered: bool = False
    conn_id: int | None = None
    node_types: tuple[int, ...] = ()
    name: str = ""
    location_units: frozenset[int] = frozenset()
    range_bearing_units: frozenset[int] = frozenset()
    position_enu: Vec | None = None
    last_report_t: float | None = None
    last_status_t: float | None = None
    system: int = 0
    status_interval_s: float | None = None  # what the registration promised

    @property
    def declares_types(self) -> bool:
        """True when the registration declared any detection location type."""
        return bool(self.location_units or self.range_bearing_units)


@dataclass(frozen=True, eq=False)
class Outcome:
    """What handling one message produced: detections for the tracker, replies to send."""

    detections: tuple[Detection, ...] = ()
    replies: tuple[sapient_message_pb2.SapientMessage, ...] = ()
    superseded_conn: int | None = None  # a re-registration took the node from this link


class SapientSessions:
    """Per-node registration state; turns valid messages into detections or refusals.

    ``sensor_map`` maps a node UUID to a site sensor id (its position then comes from the
    site); unmapped nodes get ``sapient-<uuid>`` and their position from status reports.
    """

    def __init__(
        self,
        origin: GeoOrigin,
        own_node_id: str,
        sensor_map: Mapping[str, tuple[str, Vec]] | None = None,
    ) -> None:
        if not sapient_icd.is_uuid(own_node_id):
            raise ValueError(f"own node id {own_node_id!r} is not a UUID")
        self.origin = origin
        self.own_node_id = own_node_id
        self._sensor_map = dict(sensor_map or {})
        self.nodes: dict[str, NodeState] = {}

    def sensor_id(self, node_id: str) -> str:
        mapped = self._sensor_map.get(node_id)
        return mapped[0] if mapped else f"sapient-{node_id}"

    def handle(self, pm: ParsedMessage, conn_id: int = 0) -> Outcome:
        """Apply one parsed message; raises InputRejected when the node may not send it."""
        node = self.nodes.get(pm.node_id) or NodeState(pm.node_id)
        elsewhere = node.registered and node.conn_id is not None and node.conn_id != conn_id
        if elsewhere and pm.kind is not MessageKind.REGISTRATION:
            raise InputRejected("wrong_connection", f"node {pm.node_id} is on another link")
        if pm.destination_id is not None and pm.destination_id != self.own_node_id:
            raise InputRejected("wrong_destination", pm.destination_id)
        if pm.kind is MessageKind.REGISTRATION:
            return self._register(node, pm, conn_id)
        if pm.kind is MessageKind.TASK:
            raise InputRejected("task_not_accepted", "skywarden is not taskable")
        if pm.kind in (MessageKind.REGISTRATION_ACK, MessageKind.TASK_ACK):
            raise InputRejected("unexpected_message", pm.kind.value)
        if not node.registered:
            raise InputRejected("unregistered_node", f"{pm.kind.value} from {pm.node_id}")
        node.last_report_t = pm.t_recv
        if pm.kind is MessageKind.STATUS_REPORT:
            self._status(node, pm)
            return Outcome()
        if pm.kind is MessageKind.DETECTION_REPORT:
            return Outcome(detections=(self._detection(node, pm),))
        return Outcome()  # alert, alert_ack, error: counted by the caller

    def _register(self, node: NodeState, pm: ParsedMessage, conn_id: int) -> Outcome:
        self.nodes[node.node_id] = node
        reg = pm.message.registration
        types = tuple(int(nd.node_type) for nd in reg.node_definition)
        ack = registration_ack_pb2.RegistrationAck()
        superseded: int | None = None
        if any(t in sapient_icd.EFFECTOR_NODE_TYPES for t in types):
            node.registered = False
            ack.acceptance = False
            ack.ack_response_reason.append("skywarden serves no effector node")
        else:
            if node.registered and node.conn_id is not None and node.conn_id != conn_id:
                superseded = node.conn_id  # the node came back on a new link: it takes over
            node.registered, node.conn_id, node.node_types = True, conn_id, types
            node.name = reg.name if reg.HasField("name") else ""
            node.status_interval_s = _status_interval_s(reg)
            lus: set[int] = set()
            rbs: set[int] = set()
            for mode in reg.mode_definition:
                for dd in mode.detection_definition:
                    lt = dd.location_type
                    if lt.HasField("location_units"):
                        lus.add(int(lt.location_units))
                    if lt.HasField("range_bearing_units"):
                        rbs.add(int(lt.range_bearing_units))
            node.location_units, node.range_bearing_units = frozenset(lus), frozenset(rbs)
            ack.acceptance = True
        reply = SapientMessage(node_id=self.own_node_id, destination_id=pm.node_id)
        reply.timestamp.FromNanoseconds(int(pm.t_recv * 1e9))
        reply.registration_ack.CopyFrom(ack)
        return Outcome(replies=(reply,), superseded_conn=superseded)

    def _status(self, node: NodeState, pm: ParsedMessage) -> None:
        sr = pm.message.status_report
        node.last_status_t, node.system = pm.t_recv, int(sr.system)
        if sr.system == sr.SYSTEM_GOODBYE:
            node.registered = False
            return
        if sr.HasField("node_location") and pm.node_id not in self._sensor_map:
            node.position_enu, _, _ = location_to_enu(sr.node_location, self.origin)

    def _detection(self, node: NodeState, pm: ParsedMessage) -> Detection:
        dr = pm.message.detection_report
        attrs: dict[str, object] = {"object_id": dr.object_id, "report_id": dr.report_id}
        mapped = self._sensor_map.get(node.node_id)
        sensor_pos = mapped[1] if mapped else node.position_enu
        where = dr.WhichOneof("location_oneof")
        if where == "location":
            loc = dr.location
            if node.declares_types and loc.coordinate_system not in node.location_units:
                raise InputRejected("unregistered_location_type", str(loc.coordinate_system))
            enu, sig, has_z = location_to_enu(loc, self.origin)
            if loc.datum == location_pb2.LocationDatum.LOCATION_DATUM_WGS84_G:
                attrs["height_datum"] = "geoid_unconverted"
            kind = MeasurementKind.XYZ if has_z else MeasurementKind.XY
            z = enu if has_z else enu[:2]
            R = np.diag(sig**2) if has_z else np.diag(sig[:2] ** 2)
        else:
            rb = dr.range_bearing
            if node.declares_types and rb.coordinate_system not in node.range_bearing_units:
                raise InputRejected("unregistered_location_type", str(rb.coordinate_system))
            if sensor_pos is None:
                raise InputRejected("node_location_unknown", "range/bearing before a location")
            kind, z, R = range_bearing_measurement(rb, sensor_pos)
        if not (np.all(np.isfinite(z)) and np.all(np.isfinite(R))):
            raise InputRejected("bad_value", "non-finite measurement or covariance")
        cls, conf, raw = best_class(list(dr.classification))
        if raw is not None:
            attrs["sapient_class"] = raw
        if dr.HasField("detection_confidence"):
            attrs["detection_confidence"] = float(dr.detection_confidence)
        return Detection(
            t=pm.timestamp,
            sensor_id=self.sensor_id(node.node_id),
            kind=kind,
            z=np.asarray(z, dtype=float),
            R=np.asarray(R, dtype=float),
            sensor_pos=sensor_pos if sensor_pos is not None else np.zeros(3),
            identity=None,
            class_hint=cls,
            class_conf=conf,
            attrs=attrs,
        )

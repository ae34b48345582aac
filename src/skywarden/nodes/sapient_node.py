"""The camera and microphone nodes' SAPIENT side: what they send to skywarden's SAPIENT link.

A node registers (``Registration`` with one node definition, ``NODE_TYPE_CAMERA`` or
``NODE_TYPE_ACOUSTIC``, detections as range/bearing in RADIANS_M about the node, datum
TRUE), reports its location (``StatusReport``) and then one ``DetectionReport`` per object
seen: azimuth and elevation (no range: a single camera or microphone has none), the class
with its confidence, and for a camera an image chip as an ``associated_file`` (a
``data:image/jpeg;base64,...`` URL, a few kB, so the chip travels and is journaled with the
report). Frames are length-prefixed as in ``sensors.sapient.frame``.

``NodeClient`` is a blocking TCP client: connect, register, wait for the acknowledgement
(refused -> ``ConnectionRefusedError``), send reports. Report and object ids are ULIDs made
from the report time and a per-node counter (time is passed in).
"""

from __future__ import annotations

import base64
import hashlib
import socket
from dataclasses import dataclass

from sapient_msg.bsi_flex_335_v2_0 import (
    location_pb2,
    range_bearing_pb2,
    registration_pb2,
    status_report_pb2,
)

from skywarden.sensors.sapient import SapientMessage, frame, parse_message, split_frames

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NODE_TYPES = {
    "camera": registration_pb2.Registration.NODE_TYPE_CAMERA,
    "acoustic": registration_pb2.Registration.NODE_TYPE_ACOUSTIC,
}
SAPIENT_CLASS = {
    "drone": "UAV Rotary Wing",
    "helicopter": "Helicopter",
    "aeroplane": "Fixed Wing Aircraft",
    "bird": "Bird",
    "background": "Other",
}


def ulid(t: float, seq: int, salt: str = "") -> str:
    """A ULID: 48-bit millisecond time then 80 bits from (salt, seq)."""
    ms = max(0, int(t * 1000.0)) & ((1 << 48) - 1)
    rnd = int.from_bytes(hashlib.sha256(f"{salt}:{seq}".encode()).digest()[:10], "big")
    v = (ms << 80) | rnd
    return "".join(_CROCKFORD[(v >> (5 * i)) & 31] for i in range(25, -1, -1))


def _msg(node_id: str, dest: str, t: float) -> SapientMessage:
    m = SapientMessage(node_id=node_id, destination_id=dest)
    m.timestamp.FromNanoseconds(int(t * 1e9))
    return m


def registration(node_id: str, dest: str, t: float, kind: str, name: str) -> SapientMessage:
    m = _msg(node_id, dest, t)
    r = m.registration
    r.node_definition.add(node_type=NODE_TYPES[kind])
    r.icd_version = "BSI Flex 335 v2.0"
    r.name = name
    r.capabilities.add(category=kind.capitalize(), type="Detection")
    sd = r.status_definition
    sd.status_interval.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    sd.status_interval.value = 5
    mode = r.mode_definition.add(mode_name="Default")
    mode.mode_type = registration_pb2.Registration.MODE_TYPE_PERMANENT
    mode.settle_time.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    mode.settle_time.value = 1
    dd = mode.detection_definition.add()
    dd.location_type.range_bearing_units = (
        range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M
    )
    dd.location_type.range_bearing_datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    # What tasking it accepts: a camera takes one LookAt at a time (slew-to-cue), given as a
    # range/bearing area of interest; a microphone takes none.
    task_def = mode.task
    task_def.concurrent_tasks = 1 if kind == "camera" else 0
    rd = task_def.region_definition
    rd.region_type.append(registration_pb2.Registration.REGION_TYPE_AREA_OF_INTEREST)
    rd.settle_time.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    rd.settle_time.value = 1
    area = rd.region_area.add()
    area.range_bearing_units = range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M
    area.range_bearing_datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    mode.task.region_definition.settle_time.units = registration_pb2.Registration.TIME_UNITS_SECONDS
    mode.task.region_definition.settle_time.value = 1
    r.config_data.add(manufacturer="skywarden", model=f"{kind} node")
    return m


def status(
    node_id: str, dest: str, t: float, lat: float, lon: float, alt: float, report: str
) -> SapientMessage:
    m = _msg(node_id, dest, t)
    s = m.status_report
    s.report_id = report
    s.system = status_report_pb2.StatusReport.SYSTEM_OK
    s.info = status_report_pb2.StatusReport.INFO_NEW
    s.mode = "Default"
    loc = s.node_location
    loc.x, loc.y, loc.z = lon, lat, alt
    loc.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    loc.datum = location_pb2.LOCATION_DATUM_WGS84_E
    return m


@dataclass(frozen=True)
class Report:
    """One detection as a node reports it."""

    t: float
    object_id: str
    report_id: str
    azimuth_rad: float
    elevation_rad: float | None  # None: azimuth only (a planar microphone array)
    sigma_rad: float
    label: str
    confidence: float
    chip_jpeg: bytes = b""


def detection(node_id: str, dest: str, r: Report) -> SapientMessage:
    m = _msg(node_id, dest, r.t)
    d = m.detection_report
    d.report_id, d.object_id = r.report_id, r.object_id
    rb = d.range_bearing
    rb.azimuth, rb.azimuth_error = r.azimuth_rad, r.sigma_rad
    if r.elevation_rad is not None:
        rb.elevation, rb.elevation_error = r.elevation_rad, r.sigma_rad
    rb.coordinate_system = range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M
    rb.datum = range_bearing_pb2.RANGE_BEARING_DATUM_TRUE
    d.detection_confidence = r.confidence
    c = d.classification.add()
    c.type = SAPIENT_CLASS.get(r.label, "Other")
    c.confidence = r.confidence
    if r.chip_jpeg:
        f = d.associated_file.add()
        f.type = "image/jpeg"
        f.url = "data:image/jpeg;base64," + base64.b64encode(r.chip_jpeg).decode()
    return m


class NodeClient:
    """A blocking SAPIENT client to skywarden's link."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b""

    def register(self, msg: SapientMessage, t: float) -> None:
        self.send(msg)
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("link closed before acknowledging the registration")
            bodies, self._buf = split_frames(self._buf + chunk)
            for body in bodies:
                pm = parse_message(body, t)
                if pm.message.WhichOneof("content") == "registration_ack":
                    if not pm.message.registration_ack.acceptance:
                        raise ConnectionRefusedError("registration refused")
                    return

    def send(self, msg: SapientMessage) -> None:
        self.sock.sendall(frame(msg))

    def close(self) -> None:
        self.sock.close()

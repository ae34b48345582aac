"""skywarden as a SAPIENT node to a higher decision-making node (BSI Flex 335 v2.0).

What goes up: skywarden registers as a ``NODE_TYPE_FUSION_NODE``, then publishes its fused
tracks as ``DetectionReport`` messages (location in WGS-84 degrees, ENU velocity,
classification with confidences) and its alerts as ``Alert`` messages. Frames are the
4-byte little-endian length + protobuf of :func:`skywarden.sensors.sapient.frame`.

What never goes anywhere: a ``Task``. There is no encoder for one in this package, and
:class:`UpwardPeer` refuses, at construction, a destination whose registered node types
include an effector (kinetic, jammer, cyber, laser or RF directed energy;
``sapient_icd.EFFECTOR_NODE_TYPES``), so no message of skywarden's can be addressed to one.
``tests/test_sapient_task_guard.py`` checks both by scanning ``src/`` and calling this API.

Identifiers: SAPIENT object and report ids are ULIDs. A track's object id is derived from
the track id (stable across reports, as the ICD asks of ``object_id``); report ids are
ULIDs made from the report time and a counter, so encoding stays deterministic.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sapient_msg.bsi_flex_335_v2_0 import (
    alert_pb2,
    location_pb2,
    registration_pb2,
    status_report_pb2,
)

from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState
from skywarden.sensors.sapient import SapientMessage, frame
from skywarden.sensors.sapient_icd import EFFECTOR_NODE_TYPES, ICD_VERSION, is_uuid

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SAPIENT_CLASS: Final[Mapping[str, str]] = {
    "drone": "UAV Rotary Wing",
    "drone_fixed_wing": "UAV Fixed Wing",
    "bird": "Bird",
    "aircraft": "Aircraft",
    "unknown": "Unknown",
}
_Reg = registration_pb2.Registration
_Status = status_report_pb2.StatusReport


class EffectorAddressError(ValueError):
    """Raised when code tries to address a SAPIENT effector node."""


@dataclass(frozen=True)
class UpwardPeer:
    """The node skywarden reports to: its UUID and the node types it registered with."""

    node_id: str
    node_types: tuple[int, ...] = (_Reg.NODE_TYPE_FUSION_NODE,)

    def __post_init__(self) -> None:
        if not is_uuid(self.node_id):
            raise ValueError(f"destination {self.node_id!r} is not a UUID")
        effectors = [t for t in self.node_types if t in EFFECTOR_NODE_TYPES]
        if effectors:
            names = ", ".join(_Reg.NodeType.Name(t) for t in effectors)
            raise EffectorAddressError(f"skywarden never addresses effector nodes ({names})")


def ulid(t: float, salt: str) -> str:
    """A ULID: 48-bit milliseconds of ``t`` + 80 bits from sha256(salt); deterministic."""
    ms = max(0, int(t * 1000)) & ((1 << 48) - 1)
    rnd = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:10], "big")
    value = (ms << 80) | rnd
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def _declare_untaskable(mode: registration_pb2.Registration.ModeDefinition) -> None:
    """Fill the mandatory ``ModeDefinition.task`` (a TaskDefinition, not a Task message).

    The ICD requires every mode to describe the tasking it accepts; skywarden accepts none:
    zero concurrent tasks and no commands. The region definition is mandatory in the
    TaskDefinition, so it names the area-of-interest type in skywarden's coordinates.
    ``tests/test_sapient_task_guard.py`` allows ``.task`` only on a ModeDefinition like this.
    """
    definition = mode.task
    definition.concurrent_tasks = 0
    region = definition.region_definition
    region.region_type.append(_Reg.REGION_TYPE_AREA_OF_INTEREST)
    area = region.region_area.add()
    area.location_units = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    area.location_datum = location_pb2.LOCATION_DATUM_WGS84_E


class SapientUplink:
    """Encodes skywarden's registration, tracks and alerts for one higher node (pure)."""

    def __init__(self, own_node_id: str, peer: UpwardPeer, origin: GeoOrigin) -> None:
        if not is_uuid(own_node_id):
            raise ValueError(f"own node id {own_node_id!r} is not a UUID")
        self.own_node_id, self.peer, self.origin = own_node_id, peer, origin
        self._seq = 0

    def _header(self, t: float) -> SapientMessage:
        m = SapientMessage(node_id=self.own_node_id, destination_id=self.peer.node_id)
        m.timestamp.FromNanoseconds(int(t * 1e9))
        return m

    def _next_id(self, t: float) -> str:
        self._seq += 1
        return ulid(t, f"{self.own_node_id}/{self._seq}")

    def registration(self, t: float, name: str = "skywarden", status_every_s: int = 5) -> bytes:
        """skywarden's own Registration: a fusion node that reports lat/lon detections and
        promises a StatusReport every ``status_every_s`` seconds (:meth:`status_report`)."""
        m = self._header(t)
        r = m.registration
        r.node_definition.add(node_type=_Reg.NODE_TYPE_FUSION_NODE)
        r.icd_version, r.name, r.short_name = ICD_VERSION, name, "skywarden"
        r.capabilities.add(category="Fusion", type="Counter-UAS early warning")
        r.status_definition.status_interval.units = _Reg.TIME_UNITS_SECONDS
        r.status_definition.status_interval.value = int(status_every_s)
        mode = r.mode_definition.add(mode_name="Default", mode_type=_Reg.MODE_TYPE_PERMANENT)
        mode.settle_time.units, mode.settle_time.value = _Reg.TIME_UNITS_SECONDS, 0
        dd = mode.detection_definition.add()
        dd.location_type.location_units = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
        dd.location_type.location_datum = location_pb2.LOCATION_DATUM_WGS84_E
        _declare_untaskable(mode)
        r.config_data.add(manufacturer="skywarden project", model="skywarden")
        return frame(m)

    def status_report(self, t: float, first: bool, ok: bool = True) -> bytes:
        """The periodic StatusReport the registration promises: system state, mode, and the
        site origin as the node's location. ``first``: INFO_NEW (the first after each
        registration), else INFO_UNCHANGED."""
        m = self._header(t)
        sr = m.status_report
        sr.report_id = self._next_id(t)
        sr.system = _Status.SYSTEM_OK if ok else _Status.SYSTEM_WARNING
        sr.info = _Status.INFO_NEW if first else _Status.INFO_UNCHANGED
        sr.mode = "Default"
        loc = sr.node_location
        loc.y, loc.x, loc.z = self.origin.lat_deg, self.origin.lon_deg, self.origin.alt_m
        loc.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
        loc.datum = location_pb2.LOCATION_DATUM_WGS84_E
        return frame(m)

    def track_report(self, track: TrackState) -> bytes:
        """One fused track -> DetectionReport (object id stable per track)."""
        m = self._header(track.t)
        d = m.detection_report
        d.report_id = self._next_id(track.t)
        d.object_id = ulid(track.first_t, f"track/{track.id}")
        d.state = track.status.value
        e, n, u = (float(v) for v in track.x[:3])
        lat, lon, alt = self.origin.to_geodetic(e, n, u)
        loc = d.location
        loc.x, loc.y, loc.z = lon, lat, alt
        sig = [math.sqrt(max(float(track.P[i, i]), 0.0)) for i in range(3)]
        loc.x_error = math.degrees(sig[0] / (6_378_137.0 * math.cos(math.radians(lat))))
        loc.y_error = math.degrees(sig[1] / 6_367_449.0)
        loc.z_error = sig[2]
        loc.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
        loc.datum = location_pb2.LOCATION_DATUM_WGS84_E
        ve, vn, vu = (float(v) for v in track.x[3:6])
        d.enu_velocity.east_rate, d.enu_velocity.north_rate = ve, vn
        d.enu_velocity.up_rate = vu
        for cls, p in sorted(track.class_probs.items(), key=lambda kv: -kv[1]):
            d.classification.add(type=_SAPIENT_CLASS.get(cls, cls), confidence=float(p))
        if track.identity:
            d.object_info.add(type="identity", value=track.identity)
        return frame(m)

    def alert(
        self,
        t: float,
        alert_id_seed: str,
        description: str,
        priority: str = "high",
        track: TrackState | None = None,
        active: bool = True,
    ) -> bytes:
        """An alert (``priority`` low/medium/high) -> Alert, located at the track if given."""
        m = self._header(t)
        a = m.alert
        a.alert_id = ulid(t, f"alert/{alert_id_seed}")
        a.alert_type = alert_pb2.Alert.ALERT_TYPE_WARNING
        a.status = (
            alert_pb2.Alert.ALERT_STATUS_ACTIVE if active else alert_pb2.Alert.ALERT_STATUS_CLEAR
        )
        a.description = description
        prio = {"low": 1, "medium": 2, "high": 3}.get(priority)
        if prio is None:
            raise InputRejected("bad_value", f"priority {priority!r}")
        a.priority = prio  # type: ignore[assignment]
        if track is not None:
            lat, lon, alt = self.origin.to_geodetic(*(float(v) for v in track.x[:3]))
            a.location.x, a.location.y, a.location.z = lon, lat, alt
            a.location.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
            a.location.datum = location_pb2.LOCATION_DATUM_WGS84_E
        return frame(m)

    def tracks(self, tracks: Iterable[TrackState]) -> bytes:
        """Confirmed tracks only, concatenated frames."""
        return b"".join(self.track_report(tr) for tr in tracks if tr.confirmed)

"""SAPIENT framing, parsing, geometry and node sessions: hand-built frames, no network."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from sapient_helpers import (
    NODE,
    OTHER,
    SKY,
    ULIDS,
    detection_latlon,
    detection_rb,
    registration,
    status,
)
from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import MeasurementKind
from skywarden.sensors.sapient import (
    MAX_FRAME_BYTES,
    MessageKind,
    SapientSessions,
    frame,
    map_class,
    parse_message,
    split_frames,
)
from skywarden.sensors.utm import geodetic_to_utm, utm_to_geodetic

ORIGIN = GeoOrigin(51.0, -1.0, 0.0)


def sessions() -> SapientSessions:
    return SapientSessions(ORIGIN, SKY)


def test_split_frames_partial_and_remainder() -> None:
    a, b = frame(registration()), frame(status())
    buf = a + b
    for cut in range(len(buf) + 1):
        bodies, rest = split_frames(buf[:cut])
        bodies2, rest2 = split_frames(rest + buf[cut:])
        assert [*bodies, *bodies2] == [a[4:], b[4:]]
        assert rest2 == b""


@pytest.mark.parametrize("n", [0, MAX_FRAME_BYTES + 1, 0xFFFFFFFF])
def test_split_frames_rejects_absurd_length(n: int) -> None:
    with pytest.raises(InputRejected) as e:
        split_frames(struct.pack("<I", n) + b"x" * 8)
    assert e.value.reason == "bad_length"


def test_parse_roundtrip_kinds() -> None:
    assert parse_message(frame(registration())[4:], 1.0).kind is MessageKind.REGISTRATION
    pm = parse_message(frame(detection_latlon())[4:], 1.0)
    assert pm.kind is MessageKind.DETECTION_REPORT
    assert pm.timestamp == pytest.approx(102.0)
    assert pm.node_id == NODE and pm.destination_id == SKY


def test_garbage_rejected_with_reason() -> None:
    with pytest.raises(InputRejected) as e:
        parse_message(b"\xff\xff\xff", 0.0)
    assert e.value.reason == "bad_protobuf"


def test_bad_node_id_and_report_id() -> None:
    m = detection_latlon()
    m.node_id = "not-a-uuid"
    with pytest.raises(InputRejected, match="bad_uuid"):
        parse_message(m.SerializeToString(), 0.0)
    m = detection_latlon()
    m.detection_report.report_id = "01GGYFBAXGDG7AGAHRZ6XSNIL1"  # I and L are not Crockford
    with pytest.raises(InputRejected, match="bad_ulid"):
        parse_message(m.SerializeToString(), 0.0)


def test_unregistered_node_refused_then_registered_accepted() -> None:
    s = sessions()
    with pytest.raises(InputRejected) as e:
        s.handle(parse_message(detection_latlon().SerializeToString(), 5.0))
    assert e.value.reason == "unregistered_node"
    out = s.handle(parse_message(registration().SerializeToString(), 5.0))
    (ack,) = out.replies
    assert ack.registration_ack.acceptance
    assert ack.destination_id == NODE and ack.node_id == SKY
    out = s.handle(parse_message(detection_latlon().SerializeToString(), 6.0))
    (det,) = out.detections
    assert det.kind is MeasurementKind.XYZ
    expect = ORIGIN.to_enu(51.001, -1.0, 150.0)
    np.testing.assert_allclose(det.z, expect, atol=1e-6)
    assert det.class_hint == "drone" and det.class_conf == pytest.approx(0.9)
    assert det.sensor_id == f"sapient-{NODE}"
    # 1e-5 deg of latitude is about 1.11 m
    assert math.sqrt(det.R[1, 1]) == pytest.approx(1.11, abs=0.01)


def test_effector_node_registration_refused() -> None:
    s = sessions()
    out = s.handle(parse_message(registration(node_type=14).SerializeToString(), 5.0))
    assert not out.replies[0].registration_ack.acceptance
    with pytest.raises(InputRejected, match="unregistered_node"):
        s.handle(parse_message(detection_latlon().SerializeToString(), 6.0))


def test_range_bearing_about_status_location() -> None:
    s = sessions()
    s.handle(parse_message(registration().SerializeToString(), 1.0))
    with pytest.raises(InputRejected, match="node_location_unknown"):
        s.handle(parse_message(detection_rb().SerializeToString(), 2.0))
    s.handle(parse_message(status(lat=51.0, lon=-1.0).SerializeToString(), 2.0))
    (det,) = s.handle(parse_message(detection_rb().SerializeToString(), 3.0)).detections
    assert det.kind is MeasurementKind.XYZ
    np.testing.assert_allclose(det.sensor_pos, [0, 0, 50.0], atol=1e-3)
    el = math.radians(5.0)
    np.testing.assert_allclose(
        det.z, [1000 * math.cos(el), 0.0, 50.0 + 1000 * math.sin(el)], atol=1e-6
    )
    # cross-range sigma ~ r * sigma_az = 1000 * 0.5 deg along north
    assert math.sqrt(det.R[1, 1]) == pytest.approx(1000 * math.cos(el) * math.radians(0.5))
    with pytest.raises(InputRejected, match="negative_range"):
        s.handle(parse_message(detection_rb(rng=-5.0).SerializeToString(), 4.0))


def test_bearing_only_and_az_el() -> None:
    s = sessions()
    s.handle(parse_message(registration().SerializeToString(), 1.0))
    s.handle(parse_message(status().SerializeToString(), 2.0))
    m = detection_rb(el_deg=None)
    m.detection_report.range_bearing.ClearField("range")
    (d,) = s.handle(parse_message(m.SerializeToString(), 3.0)).detections
    assert d.kind is MeasurementKind.AZ and d.z[0] == pytest.approx(math.pi / 2)
    m = detection_rb(el_deg=10.0)
    m.detection_report.range_bearing.ClearField("range")
    (d,) = s.handle(parse_message(m.SerializeToString(), 3.0)).detections
    assert d.kind is MeasurementKind.AZ_EL


def test_unregistered_location_type_refused() -> None:
    s = sessions()
    reg = registration()
    # the node declares lat/lon only
    del reg.registration.mode_definition[0].detection_definition[1]
    s.handle(parse_message(reg.SerializeToString(), 1.0))
    s.handle(parse_message(status().SerializeToString(), 2.0))
    with pytest.raises(InputRejected, match="unregistered_location_type"):
        s.handle(parse_message(detection_rb().SerializeToString(), 3.0))


def test_goodbye_deregisters_and_other_connection_refused() -> None:
    s = sessions()
    s.handle(parse_message(registration().SerializeToString(), 1.0), conn_id=1)
    with pytest.raises(InputRejected, match="wrong_connection"):
        s.handle(parse_message(detection_latlon().SerializeToString(), 2.0), conn_id=2)
    bye = status()
    bye.status_report.system = bye.status_report.SYSTEM_GOODBYE
    s.handle(parse_message(bye.SerializeToString(), 3.0), conn_id=1)
    with pytest.raises(InputRejected, match="unregistered_node"):
        s.handle(parse_message(detection_latlon().SerializeToString(), 4.0), conn_id=1)


def test_wrong_destination_refused() -> None:
    s = sessions()
    m = registration()
    m.destination_id = OTHER
    with pytest.raises(InputRejected, match="wrong_destination"):
        s.handle(parse_message(m.SerializeToString(), 1.0))


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("UAV Rotary Wing", "drone"),
        ("Fixed Wing UAV", "drone_fixed_wing"),
        ("Bird", "bird"),
        ("Aircraft", "aircraft"),
        ("Human", None),
    ],
)
def test_class_mapping(text: str, cls: str | None) -> None:
    assert map_class(text) == cls


def test_utm_against_published_point() -> None:
    # CN Tower, Toronto: 43.642567 N, 79.387139 W is UTM 17T 630084 E 4833438 N
    lat, lon = utm_to_geodetic(630084.0, 4833438.0, "17T")
    assert lat == pytest.approx(43.642567, abs=1e-5)
    assert lon == pytest.approx(-79.387139, abs=1e-5)
    e, n = geodetic_to_utm(-33.9, 18.4, 34)
    assert utm_to_geodetic(e, n, "34H") == pytest.approx((-33.9, 18.4), abs=1e-8)


def test_ulids_helper_valid() -> None:
    from skywarden.sensors.sapient_icd import is_ulid

    assert all(is_ulid(u) for u in ULIDS[:5])


def test_absurd_errors_rejected_not_overflowing() -> None:
    """Regression from the 100k fuzz run: an azimuth error of 1e156 overflowed J R J^T."""
    s = sessions()
    s.handle(parse_message(registration().SerializeToString(), 1.0))
    s.handle(parse_message(status().SerializeToString(), 2.0))
    m = detection_rb()
    m.detection_report.range_bearing.azimuth_error = 7.7e156
    with pytest.raises(InputRejected, match="bad_value"):
        s.handle(parse_message(m.SerializeToString(), 3.0))

"""skywarden as a SAPIENT node upward: tracks and alerts, parsed back by our own validator."""

from __future__ import annotations

import numpy as np
import pytest

from sapient_helpers import SKY
from skywarden.alerts.sinks.sapient import EffectorAddressError, SapientUplink, UpwardPeer, ulid
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState, TrackStatus
from skywarden.sensors.sapient import MessageKind, SapientSessions, parse_message, split_frames
from skywarden.sensors.sapient_icd import EFFECTOR_NODE_TYPES, is_ulid

HIGHER = "0f8fad5b-d9cb-469f-a165-70867728950e"
ORIGIN = GeoOrigin(51.0, -1.0, 10.0)


def _track() -> TrackState:
    x = np.array([300.0, -200.0, 120.0, 5.0, 1.0, 0.0])
    return TrackState(
        id="T7",
        t=50.0,
        x=x,
        P=np.diag([25.0, 25.0, 100.0, 4, 4, 4]),
        status=TrackStatus.CONFIRMED,
        class_probs={"drone": 0.8, "bird": 0.2},
        first_t=40.0,
    )


def test_track_report_valid_and_roundtrips_position() -> None:
    up = SapientUplink(SKY, UpwardPeer(HIGHER), ORIGIN)
    bodies, rest = split_frames(up.registration(49.0) + up.track_report(_track()))
    assert rest == b""
    reg, rep = (parse_message(b, 50.0) for b in bodies)
    assert reg.kind is MessageKind.REGISTRATION and rep.kind is MessageKind.DETECTION_REPORT
    # the higher node's view: register skywarden, then read the track as a detection
    higher = SapientSessions(ORIGIN, HIGHER)
    assert higher.handle(reg).replies[0].registration_ack.acceptance
    (det,) = higher.handle(rep).detections
    np.testing.assert_allclose(det.z, [300.0, -200.0, 120.0], atol=1e-3)
    np.testing.assert_allclose(np.sqrt(np.diag(det.R)), [5.0, 5.0, 10.0], rtol=2e-3)
    assert det.class_hint == "drone" and det.class_conf == pytest.approx(0.8)
    # object id is stable per track, report ids differ
    rep2 = parse_message(split_frames(up.track_report(_track()))[0][0], 51.0)
    dr1, dr2 = rep.message.detection_report, rep2.message.detection_report
    assert dr1.object_id == dr2.object_id and dr1.report_id != dr2.report_id


def test_alert_valid() -> None:
    up = SapientUplink(SKY, UpwardPeer(HIGHER), ORIGIN)
    (body,), _ = split_frames(up.alert(60.0, "A1", "drone in protected zone", track=_track()))
    pm = parse_message(body, 60.0)
    assert pm.kind is MessageKind.ALERT
    assert pm.message.alert.description == "drone in protected zone"


@pytest.mark.parametrize("node_type", sorted(EFFECTOR_NODE_TYPES))
def test_uplink_refuses_effector_destination(node_type: int) -> None:
    with pytest.raises(EffectorAddressError):
        UpwardPeer(HIGHER, (20, node_type))


def test_ulid_format() -> None:
    assert is_ulid(ulid(1.7e9, "x")) and ulid(1.7e9, "x") == ulid(1.7e9, "x")

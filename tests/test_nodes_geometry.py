"""Pixels to azimuth/elevation for a camera on a pan/tilt head, and back."""

from __future__ import annotations

import math

import pytest

from skywarden.nodes.camera_geometry import CameraCalib, az_el_to_pixel, pixel_to_az_el
from skywarden.nodes.sapient_node import ulid
from skywarden.sensors.sapient_icd import is_ulid

CAL = CameraCalib.from_fov(320, 256, math.radians(24.0))


def test_centre_pixel_is_the_pointing_direction() -> None:
    az, el = pixel_to_az_el(CAL, math.radians(135.0), math.radians(10.0), CAL.cx, CAL.cy)
    assert math.degrees(az) == pytest.approx(135.0)
    assert math.degrees(el) == pytest.approx(10.0)


def test_edges_span_the_field_of_view() -> None:
    az_l, _ = pixel_to_az_el(CAL, 0.0, 0.0, -0.5, CAL.cy)
    az_r, _ = pixel_to_az_el(CAL, 0.0, 0.0, CAL.width - 0.5, CAL.cy)
    assert math.degrees(az_r) == pytest.approx(12.0, abs=1e-6)
    assert math.degrees(az_l) == pytest.approx(360.0 - 12.0, abs=1e-6)
    _, el_top = pixel_to_az_el(CAL, 0.0, 0.0, CAL.cx, 0.0)
    assert el_top > 0  # image y grows downwards, elevation upwards


@pytest.mark.parametrize(("pan", "tilt"), [(0.0, 0.0), (2.0, 0.3), (5.5, 1.2), (3.0, -0.2)])
def test_round_trip(pan: float, tilt: float) -> None:
    for u, v in [(10.0, 20.0), (CAL.cx, CAL.cy), (300.0, 250.0)]:
        az, el = pixel_to_az_el(CAL, pan, tilt, u, v)
        back = az_el_to_pixel(CAL, pan, tilt, az, el)
        assert back is not None
        assert back[0] == pytest.approx(u, abs=1e-6) and back[1] == pytest.approx(v, abs=1e-6)
    assert az_el_to_pixel(CAL, pan, tilt, pan + math.pi, -tilt) is None  # behind


def test_ulids_are_valid_and_distinct() -> None:
    ids = {ulid(1.7e9 + i * 0.01, i, "node") for i in range(200)}
    assert len(ids) == 200 and all(is_ulid(s) for s in ids)

"""WGS-84 <-> ENU against independently computed values."""

from __future__ import annotations

import math

import pytest

from skywarden.core.geo import GeoOrigin, wrap_angle

A = 6378137.0  # WGS-84 semi-major axis
F = 1 / 298.257223563
E2 = F * (2 - F)


def meridian_radius(lat_deg: float) -> float:
    """Meridional radius of curvature M = a (1 - e^2) / (1 - e^2 sin^2 phi)^(3/2)."""
    s = math.sin(math.radians(lat_deg))
    return A * (1 - E2) / (1 - E2 * s * s) ** 1.5


def normal_radius(lat_deg: float) -> float:
    s = math.sin(math.radians(lat_deg))
    return A / math.sqrt(1 - E2 * s * s)


def test_origin_maps_to_zero() -> None:
    o = GeoOrigin(33.3128, 44.3615, 34.0)
    assert o.to_enu(33.3128, 44.3615, 34.0) == pytest.approx([0, 0, 0], abs=1e-6)


def test_small_north_and_east_offsets_match_radii_of_curvature() -> None:
    lat0 = 33.3128
    o = GeoOrigin(lat0, 44.3615, 0.0)
    d = 1e-3  # degrees: ~110 m, small enough for the tangent-plane first order
    north = o.to_enu(lat0 + d, 44.3615, 0.0)
    assert north[1] == pytest.approx(meridian_radius(lat0) * math.radians(d), rel=1e-4)
    east = o.to_enu(lat0, 44.3615 + d, 0.0)
    expected_e = normal_radius(lat0) * math.cos(math.radians(lat0)) * math.radians(d)
    assert east[0] == pytest.approx(expected_e, rel=1e-4)


def test_up_is_up_and_roundtrip() -> None:
    o = GeoOrigin(-33.9, 151.2, 10.0)
    assert o.to_enu(-33.9, 151.2, 110.0) == pytest.approx([0, 0, 100.0], abs=1e-6)
    lat, lon, alt = o.to_geodetic(1234.5, -2345.6, 321.0)
    back = o.to_enu(lat, lon, alt)
    assert back == pytest.approx([1234.5, -2345.6, 321.0], abs=1e-4)


def test_bad_origin_rejected() -> None:
    with pytest.raises(ValueError, match="latitude"):
        GeoOrigin(91.0, 0.0)


def test_wrap_angle() -> None:
    assert wrap_angle(3 * math.pi) == pytest.approx(-math.pi)
    assert wrap_angle(-0.1) == pytest.approx(-0.1)

"""CPR local decoding (DO-260B §A.1.7.5) at and around zone boundaries.

The issue's vector: odd CPR (131058, 50010) with the reference exactly on a latitude-zone
boundary (54.91525423728813 = 9 · 360/59) decoded to 61.016 N, one zone north of the truth
(54.9146 N). Property: positions encoded with the ICAO Doc 9871 §C.2.6 encoder below and
decoded against any reference within a third of a zone (boundary references included) come
back within the CPR resolution, and agree with pyModeS where it is installed (a GPL
reference, test-time only: never imported by ``src/``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.sensors.adsb_cpr import NZ, local_position, nl

try:  # GPL-3.0: a cross-check at test time only
    from pyModeS.position._cpr import airborne_position_with_ref as pms_local
except ImportError:  # pragma: no cover - optional dev dependency
    pms_local = None

SCALE = 1 << 17


def encode(lat: float, lon: float, odd: bool) -> tuple[int, int]:
    """Airborne CPR encoding, 17 bits (Doc 9871 §C.2.6.7), for the round trip."""
    i = 1 if odd else 0
    dlat = 360.0 / (4 * NZ - i)
    # (one floor of lat/dlat scaled: MOD and floor taken apart disagree on a zone boundary)
    yz = math.floor(SCALE * lat / dlat + 0.5)
    rlat = dlat * yz / SCALE
    dlon = 360.0 / max(nl(rlat) - i, 1)
    xz = math.floor(SCALE * lon / dlon + 0.5)
    return yz % SCALE, xz % SCALE


def _close_deg(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_issue_vector_on_a_zone_boundary() -> None:
    lat, lon = local_position((131058, 50010), True, 54.91525423728813, 4.1615)
    assert lat == pytest.approx(54.9146, abs=1e-4)
    assert lon == pytest.approx(4.1623, abs=1e-3)


@pytest.mark.parametrize("odd", [False, True])
def test_every_latitude_boundary_as_reference(odd: bool) -> None:
    """The reference on each zone boundary (as a float computes it), the aircraft 200 m
    south or north of it: always the right zone."""
    dlat = 360.0 / (4 * NZ - (1 if odd else 0))
    for k in range(-14, 15):
        ref = k * dlat
        for dn in (-0.0018, 0.0018):
            lat, lon = ref + dn, 4.1615
            got = local_position(encode(lat, lon, odd), odd, ref, lon)
            assert got[0] == pytest.approx(lat, abs=5e-4), (k, dn)
            assert _close_deg(got[1], lon) < 5e-3


@settings(max_examples=400, deadline=None)
@given(
    st.floats(-84.0, 84.0),
    st.floats(-180.0, 179.999),
    st.booleans(),
    st.floats(-0.33, 0.33),
    st.floats(-0.33, 0.33),
    st.integers(-14, 14),
    st.booleans(),
)
def test_local_decoding_property(
    lat: float, lon: float, odd: bool, fy: float, fx: float, k: int, on_boundary: bool
) -> None:
    i = 1 if odd else 0
    dlat = 360.0 / (4 * NZ - i)
    if on_boundary:  # the reference on a zone boundary, the aircraft within a third of a zone
        ref_lat = k * dlat
        lat = ref_lat + fy * dlat
    else:
        ref_lat = lat + fy * dlat
    ref_lat = max(min(ref_lat, 86.9), -86.9)
    if abs(lat) > 86.0:
        return
    dlon = 360.0 / max(nl(lat) - i, 1)
    ref_lon = lon + fx * dlon * 0.5 if nl(lat) == nl(ref_lat) else lon
    yz, xz = encode(lat, lon, odd)
    got = local_position((yz, xz), odd, ref_lat, ref_lon)
    res = dlat / SCALE  # one CPR step
    assert abs(got[0] - lat) <= res, (got, lat, ref_lat)
    assert _close_deg(got[1], lon) <= dlon / SCALE * 2 + 1e-9
    if pms_local is not None:
        ref = pms_local(i, yz, xz, ref_lat, ref_lon)
        assert got[0] == pytest.approx(ref[0], abs=1e-9)
        assert _close_deg(got[1], ref[1]) < 1e-9

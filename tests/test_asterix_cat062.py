"""CAT062 system tracks out: skywarden's encoder round-trips through libasterix decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import FUZZ
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState, TrackStatus
from skywarden.sensors.asterix import decode_cat062, encode_cat062, track_number

ORIGIN = GeoOrigin(45.0, 13.0, 20.0)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "asterix"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/asterix")


def _track(tid: str, x: list[float], t: float = 1.7e9 + 12.25) -> TrackState:
    return TrackState(
        id=tid, t=t, x=np.array(x), P=np.eye(6), status=TrackStatus.CONFIRMED, sensors=("r",)
    )


def test_cat062_roundtrip_through_libasterix() -> None:
    tracks = [_track("T7", [1000.0, -500.0, 120.0, 5.0, -2.25, 0.0]), _track("T8", [0] * 6)]
    decoded = decode_cat062(encode_cat062(tracks, ORIGIN, sac=1, sic=2))
    assert [d.track_number for d in decoded] == [7, 8]
    d = decoded[0]
    assert (d.sac, d.sic) == (1, 2)
    lat, lon, alt = ORIGIN.to_geodetic(1000.0, -500.0, 120.0)
    assert d.lat_deg == pytest.approx(lat, abs=180 / 2**25)
    assert d.lon_deg == pytest.approx(lon, abs=180 / 2**25)
    assert (d.x_m, d.y_m) == pytest.approx((1000.0, -500.0), abs=0.5)
    assert (d.vx_mps, d.vy_mps) == pytest.approx((5.0, -2.25), abs=0.25)
    assert d.alt_m == pytest.approx(alt, abs=6.25 * 0.3048)
    assert d.tod_s == pytest.approx((1.7e9 + 12.25) % 86400, abs=1 / 128)


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/asterix is absent")
def test_decoder_reads_reference_cat062_sample() -> None:
    tracks = decode_cat062((DATA / "cat062cat065.raw").read_bytes())
    assert len(tracks) == 2
    assert tracks[0].lat_deg == pytest.approx(44.7344, abs=1e-4)
    assert tracks[1].lon_deg == pytest.approx(15.1332, abs=1e-4)


def test_track_number_stable() -> None:
    assert track_number("T42") == 42 and track_number("abc") == track_number("abc")


@FUZZ
@given(
    st.lists(st.floats(-20_000, 20_000), min_size=3, max_size=3),
    st.lists(st.floats(-100, 100), min_size=3, max_size=3),
)
def test_fuzz_roundtrip(pos: list[float], vel: list[float]) -> None:
    (d,) = decode_cat062(encode_cat062([_track("T1", pos + vel)], ORIGIN, 1, 2))
    assert (d.x_m, d.y_m) == pytest.approx((pos[0], pos[1]), abs=0.5)
    assert (d.vx_mps, d.vy_mps) == pytest.approx((vel[0], vel[1]), abs=0.25)

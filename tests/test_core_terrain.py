"""Terrain from a DEM (``core.terrain``): an SRTM tile and an ASCII grid of a synthetic hill are
read back, and the hill is where launch points (``threat.launch``) and ballistic impacts and
origins (``tracking.ballistic``) meet the ground, not at the site origin's height."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec, Site
from skywarden.core.terrain import EARTH_R_M, GroundHeight, ground_height, read_dem
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.launch import LaunchPointEstimator
from skywarden.tracking.ballistic import BallisticConfig, Fit, ground_point

ORIGIN = GeoOrigin(33.3128, 44.3615, 34.0)  # the site (heights in the DEM's datum)
HILL_EN = (1200.0, -800.0)  # hill top, ENU metres from the origin
HILL_UP = 80.0  # above the plain, which lies at the origin's height
HILL_SD = 300.0  # Gaussian hill width (m)
N = 1201  # a 3 arc-second SRTM tile


def _hill_heights(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Heights (m, DEM datum) of the plain and the hill at geodetic points."""
    n = np.radians(lat - ORIGIN.lat_deg) * EARTH_R_M
    e = np.radians(lon - ORIGIN.lon_deg) * EARTH_R_M * math.cos(math.radians(ORIGIN.lat_deg))
    d2 = (e - HILL_EN[0]) ** 2 + (n - HILL_EN[1]) ** 2
    return ORIGIN.alt_m + HILL_UP * np.exp(-0.5 * d2 / HILL_SD**2)


def write_hgt(d: Path) -> Path:
    """N33E044.hgt: rows north to south, big-endian int16, one void near the hill."""
    lat = 34.0 - np.arange(N) / (N - 1)
    lon = 44.0 + np.arange(N) / (N - 1)
    h = np.round(_hill_heights(lat[:, None], lon[None, :])).astype(">i2")
    h[400, 437] = -32768  # a void: filled from its neighbours
    p = d / "N33E044.hgt"
    h.tofile(p)
    return p


def ground(e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The exact hill in ENU (what the DEM should give back, to its 1 m quantisation)."""
    return HILL_UP * np.exp(-0.5 * ((e - HILL_EN[0]) ** 2 + (n - HILL_EN[1]) ** 2) / HILL_SD**2)


def test_srtm_tile_reads_back_the_hill_in_enu(tmp_path: Path) -> None:
    g = ground_height(write_hgt(tmp_path), ORIGIN)
    e = np.array([0.0, HILL_EN[0], HILL_EN[0] + 300.0, -2500.0])
    n = np.array([0.0, HILL_EN[1], HILL_EN[1], 3000.0])
    want = ground(e, n) - (e * e + n * n) / (2 * EARTH_R_M)  # minus the curvature drop
    # 3 arc-seconds is ~90 m: bilinear between samples of a 300 m wide hill, 1 m steps
    assert g(e, n) == pytest.approx(want, abs=2.5)
    assert float(g(np.array([HILL_EN[0]]), np.array([HILL_EN[1]]))[0]) > 75.0


def test_ascii_grid_and_bad_files(tmp_path: Path) -> None:
    cs = 0.001
    lat = 33.29 + np.arange(60) * cs
    lon = 44.35 + np.arange(50) * cs
    h = _hill_heights(lat[:, None], lon[None, :])[::-1]  # rows north to south
    text = f"ncols 50\nnrows 60\nxllcenter 44.35\nyllcenter 33.29\ncellsize {cs}\n"
    text += "nodata_value -9999\n" + "\n".join(" ".join(f"{v:.2f}" for v in r) for r in h)
    p = tmp_path / "hill.asc"
    p.write_text(text, encoding="ascii")
    g = GroundHeight(read_dem(p), ORIGIN)
    top = g(np.array([HILL_EN[0]]), np.array([HILL_EN[1]]))
    assert float(top[0]) == pytest.approx(HILL_UP, abs=3.0)
    bad = tmp_path / "N33E044.hgt"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(ConfigError, match="not a square tile"):
        read_dem(bad)
    with pytest.raises(ConfigError, match="named like"):
        read_dem(tmp_path / "hill.hgt")


def _climb_out(start: np.ndarray, v: np.ndarray, first_t: float) -> list[TrackState]:
    P = np.diag([25.0, 25.0, 16.0, 1.0, 1.0, 0.25])
    return [
        TrackState("7", float(t), np.concatenate([start + v * t, v]), P.copy(),
                   TrackStatus.CONFIRMED, first_t=first_t,
                   class_probs={"drone": 0.95, "bird": 0.05}, hits=20, score=30.0)
        for t in range(int(first_t) + 2, int(first_t) + 30)
    ]  # fmt: skip


def test_launch_point_from_a_hilltop_is_on_the_hill(tmp_path: Path) -> None:
    radar = SensorSpec(
        "radar-1", SensorKind.RADAR, MeasurementKind.RANGE_AZ_EL_RADIAL,
        np.array([0.0, 0.0, 5.0]), {"range_m": 5.0, "az_rad": 0.01, "el_rad": 0.01},
        max_range_m=5000.0,
    )  # fmt: skip
    site = Site("hill", ORIGIN, (radar,), (), ())
    top = np.array([HILL_EN[0], HILL_EN[1], HILL_UP])
    v = np.array([-12.0, 8.0, 3.0])  # off the hill toward the site, climbing 3 m/s
    flat, dem = (
        LaunchPointEstimator(site),
        LaunchPointEstimator(site, terrain=ground_height(write_hgt(tmp_path), ORIGIN)),
    )
    for tr in _climb_out(top, v, 10.0):
        flat.observe_tracks([tr])
        dem.observe_tracks([tr])
    a, b = flat.estimate("7"), dem.estimate("7")
    assert a is not None and b is not None and b.method == "ground"
    # on flat ground it is first seen 110 m up: too high for a take-off seen (threat.launch
    # claims none), or carried 80 m / 3 m/s = 27 s of climb-out (390 m) too far back
    assert a.method != "ground" or math.dist(a.origin_enu[:2], top[:2]) > 350.0
    assert math.dist(b.origin_enu[:2], top[:2]) < 15.0
    assert b.origin_enu[2] == pytest.approx(HILL_UP, abs=3.0)
    assert b.origin_t == pytest.approx(0.0, abs=1.0)  # the DEM rounds the peak down a little


def test_ballistic_impact_on_the_hillside_falls_short_of_the_flat_ground(tmp_path: Path) -> None:
    # a mortar bomb descending toward the hill from the south-west
    cfg = BallisticConfig()
    th = np.array([HILL_EN[0] - 600.0, HILL_EN[1] - 200.0, 400.0, 60.0, 20.0, -20.0, 0.0])
    f = Fit(0.0, th, np.eye(7) * 1e-4, 0.0, 1)
    flat = ground_point(f, +1.0, cfg)
    hill = ground_point(f, +1.0, cfg, ground_height(write_hgt(tmp_path), ORIGIN))
    assert flat is not None and hill is not None
    p = hill[0]
    # on the hill: its height is the terrain's there, and it lands before the flat impact
    assert p[2] == pytest.approx(float(ground(p[:1], p[1:2])[0]), abs=2.5)
    assert p[2] > 40.0
    assert hill[0][3] < flat[0][3] - 0.5
    assert math.dist(p[:2], flat[0][:2]) > 30.0  # tens of metres short of the flat impact

"""Coverage maps and the coverage plot of the residence site."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skywarden.core.site import parse_site
from skywarden.sim import load_scenario
from skywarden.sim.coverage import coverage_map, plot_coverage


def test_coverage_map_shapes_and_physics() -> None:
    sc = load_scenario("residence")
    cov = coverage_map(sc, 50.0, extent_m=3000.0, resolution_m=50.0)
    e, n = cov["e"], cov["n"]
    comb = cov["combined"]
    assert comb.shape == (len(n), len(e))
    radar = cov["per_sensor"]["radar-1"]
    # the radar sees a small drone near the site and nothing beyond its instrumented range
    i0, j0 = np.argmin(np.abs(n - 500)), np.argmin(np.abs(e))
    assert radar[i0, j0] > 0.95
    assert radar[np.argmin(np.abs(n - 2900)), j0] == 0.0
    # combining independent looks never lowers the probability of any single sensor
    for sid, grid in cov["per_sensor"].items():
        if sid.startswith(("rf-", "rid-")):
            continue
        assert np.all(comb >= grid - 1e-12)
    # an emitting drone is heard far beyond the radar's reach
    loud = coverage_map(sc, 50.0, extent_m=3000.0, resolution_m=50.0, rf_emitting=True)
    assert loud["combined"].mean() > comb.mean()


def test_coverage_of_a_bare_site_uses_default_models() -> None:
    site = parse_site(
        {
            "origin": {"lat": 1.0, "lon": 2.0},
            "sensors": [
                {
                    "id": "r",
                    "kind": "radar",
                    "measures": "range_az_el_radial",
                    "position_enu_m": [0, 0, 5],
                    "max_range_m": 2000,
                    "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.01, "radial_mps": 0.5},
                }
            ],
        }
    )
    cov = coverage_map(site, 30.0, resolution_m=100.0)
    assert 0.0 < cov["combined"].mean() < 1.0


def test_residence_coverage_plot(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    out = plot_coverage(load_scenario("residence"), tmp_path / "cov.png", altitude_m=50.0)
    assert out.exists() and out.stat().st_size > 30_000
    img = mpimg.imread(out)
    h, w = img.shape[:2]
    assert w >= 1000 and h >= 500
    rgb = (img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert float(rgb.astype(float).var()) > 1000.0
    assert len(np.unique(rgb, axis=0)) > 100  # a colour ramp, zones, labels: not a blank page

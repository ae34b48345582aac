"""The session-14 site background reference of ``benchmarks/audio_cv_variants.py``: a floor
by minimum statistics that is causal and follows the last ``memory`` windows only."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from audio_cv_variants import site_rise


def _levels(mean: list[float], quiet: list[float], bands: int = 10) -> np.ndarray:
    """Band levels of windows whose every band has the given mean and 10th percentile."""
    m = np.repeat(np.array(mean, dtype=np.float32)[:, None], bands, axis=1)
    q = np.repeat(np.array(quiet, dtype=np.float32)[:, None], bands, axis=1)
    return np.concatenate([m, q], axis=1)


def test_rise_is_over_the_quietest_recent_floor() -> None:
    # a quiet site (floor -60 dB) for three windows, then a source (mean -40, floor -45)
    lv = _levels([-55, -55, -55, -40, -40, -40, -40], [-60, -60, -60, -45, -45, -45, -45])
    r = site_rise(lv, memory=3, pool=5)
    assert r.shape == (7, 3)  # 10 bands pooled by 5, and their mean
    np.testing.assert_allclose(r[:, -1], [5, 5, 5, 20, 20, 5, 5])


def test_rise_is_causal() -> None:
    lv = _levels([-50, -50, -30, -50], [-55, -55, -35, -70])
    full = site_rise(lv, memory=10)
    for t in range(1, 5):
        np.testing.assert_allclose(site_rise(lv[:t], memory=10), full[:t])

"""The smoother keeps a track's first plots after a long bearing-only stretch (issue 21).

A drone heard by one direction finder for a minute, then seen by radar: the forward filter
comes out of the bearings with its range far off, and its first radar plots fail the forward
gate. The investigation must keep them (the live track had them): the smoother judges
outliers from both ends.
"""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking.measurement import measure
from skywarden.tracking.smoother import SmootherConfig, smooth


def _truth(t: float) -> np.ndarray:
    return np.array([6000.0 - 20.0 * t, 500.0, 80.0, -20.0, 0.0, 0.0])


def _track(rng: np.random.Generator) -> list[Detection]:
    dets = []
    df = np.zeros(3)
    s = np.radians(1.0)
    for t in np.arange(0.0, 60.0):  # bearings only: range unobservable from one sensor
        h, _ = measure(MeasurementKind.AZ, _truth(t)[None], df)
        z = h[0] + rng.normal(0, s, 1)
        dets.append(Detection(float(t), "df", MeasurementKind.AZ, z, np.eye(1) * s**2, df))
    for t in np.arange(60.0, 120.0):  # then radar plots (XYZ, 15 m)
        z = _truth(t)[:3] + rng.normal(0, 15.0, 3)
        dets.append(Detection(float(t), "r", MeasurementKind.XYZ, z, np.eye(3) * 225.0))
    return dets


def test_first_radar_plots_after_bearings_are_kept() -> None:
    rng = np.random.default_rng(0)
    dets = _track(rng)
    # the live bearing-only start guessed the range 3 km short, slow, and sure of itself
    x0 = np.array([3000.0, 250.0, 60.0, -5.0, 0.0, 0.0])
    P0 = np.diag([100.0**2, 100.0**2, 150.0**2, 3.0**2, 3.0**2, 5.0**2])
    sm = smooth(dets, x0, P0)
    radar = [d for d in dets if d.kind is MeasurementKind.XYZ]
    kept = [d for d in sm.used if d.kind is MeasurementKind.XYZ]
    assert len(kept) >= len(radar) - 2, f"{len(radar) - len(kept)} radar plots dropped"
    assert min(d.t for d in kept) <= 61.0
    # from where the radar sees it on, the record follows the plots
    for t in (60.0, 70.0, 90.0):
        k = int(np.searchsorted(sm.t, t))
        assert float(np.linalg.norm(sm.X[k, :3] - _truth(t)[:3])) < 60.0, t


def _cruise(t: float) -> np.ndarray:
    """6 km out, 110 m up, heading for the site at 20 m/s."""
    return np.array([300.0, 6000.0 - 20.0 * t, 110.0, 0.0, -20.0, 0.0])


def test_a_bearing_only_stretch_takes_its_height_from_the_later_radar() -> None:
    """Two direction finders hear the drone for 90 s, then the radar measures it at 110 m:
    over the bearings the record's height is the radar's, not the 60 m prior's (session 13;
    night-launch seed 17's H2 was held 52 m low)."""
    rng = np.random.default_rng(0)
    dets = []
    finders = (("w", np.array([-1200.0, 300.0, 15.0])), ("e", np.array([1200.0, 300.0, 15.0])))
    for t in np.arange(0.0, 90.0):
        for name, pos in finders:
            h, _ = measure(MeasurementKind.AZ, _cruise(t)[None], pos)
            z = h[0] + rng.normal(0, 0.03, 1)
            dets.append(Detection(float(t), name, MeasurementKind.AZ, z, np.eye(1) * 0.03**2, pos))
    for t in np.arange(90.0, 150.0):
        z = _cruise(t)[:3] + rng.normal(0, 15.0, 3)
        dets.append(Detection(float(t), "r", MeasurementKind.XYZ, z, np.eye(3) * 225.0))
    x0 = _cruise(0.0)
    x0[2] = 60.0  # the live bearing-only start's guess
    P0 = np.diag([300.0**2, 300.0**2, 150.0**2, 15.0**2, 15.0**2, 5.0**2])
    new = smooth(dets, x0, P0)
    old = smooth(dets, x0, P0, SmootherConfig(height_from_fix=False))
    for t in (10.0, 40.0, 80.0):
        assert abs(float(new.state_at(t)[0][2]) - 110.0) < 25.0, t
        assert abs(float(old.state_at(t)[0][2]) - 110.0) > 25.0, t  # held near the prior
    assert len(new.used) == len(dets)

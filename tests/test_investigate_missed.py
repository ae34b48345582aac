"""What we missed: expected detections along a reconstructed path against the actual ones."""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import parse_site
from skywarden.runtime.investigate.missed import account
from skywarden.runtime.investigate.rerun import RetroTrack
from skywarden.tracking.smoother import smooth

SITE = parse_site(
    {
        "name": "t",
        "origin": {"lat": 33.0, "lon": 44.0, "alt_m": 30.0},
        "sensors": [
            {
                "id": "radar-1",
                "kind": "radar",
                "measures": "range_az_el_radial",
                "position_enu_m": [0, 0, 10],
                "update_s": 1.0,
                "max_range_m": 5000.0,
                "pd": {"drone": 0.8, "bird": 0.7},
                "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.01, "radial_mps": 0.5},
            },
            {
                "id": "rf-1",
                "kind": "rf",
                "measures": "az",
                "position_enu_m": [-1000, 0, 10],
                "update_s": 1.0,
                "max_range_m": 9000.0,
                "pd": 0.9,
                "sigma": {"az_rad": 0.02},
            },
            {
                "id": "acoustic-1",
                "kind": "acoustic",
                "measures": "az_el",
                "position_enu_m": [0, 0, 5],
                "update_s": 1.0,
                "max_range_m": 300.0,
                "sigma": {"az_rad": 0.05, "el_rad": 0.05},
            },
        ],
    }
)


def _pos(t: float) -> np.ndarray:
    return np.array([2000.0 - 20.0 * t, 500.0, 60.0])


def test_gap_closed_by_rf_and_sensor_out_of_coverage() -> None:
    dets = []
    for t in np.arange(0.0, 40.0):
        p = _pos(float(t))
        if not 10 <= t <= 16:  # the radar loses it for seven scans
            r = float(np.linalg.norm(p - [0, 0, 10]))
            rdot = float((p - [0, 0, 10]) @ [-20.0, 0.0, 0.0]) / r
            z = np.array([r, math.atan2(p[0], p[1]), math.asin((p[2] - 10) / r), rdot])
            R = np.diag([25.0, 1e-4, 1e-4, 0.25])
            dets.append(
                Detection(
                    float(t),
                    "radar-1",
                    MeasurementKind.RANGE_AZ_EL_RADIAL,
                    z,
                    R,
                    np.array([0.0, 0.0, 10.0]),
                )
            )
        az = math.atan2(p[0] + 1000, p[1]) % (2 * math.pi)
        dets.append(
            Detection(
                float(t),
                "rf-1",
                MeasurementKind.AZ,
                np.array([az]),
                np.array([[4e-4]]),
                np.array([-1000.0, 0.0, 10.0]),
            )
        )
    x0 = np.array([*_pos(0.0), -20.0, 0.0, 0.0])
    sm = smooth(dets, x0, np.diag([1e4, 1e4, 1e4, 100.0, 100.0, 4.0]))
    track = RetroTrack("7", ("7",), "drone", None, sm, 2.0, 0, None)
    reports = [
        (float(t), s) for t in np.arange(0.0, 40.0) for s in ("radar-1", "rf-1", "acoustic-1")
    ]
    acc = {a.sensor_id: a for a in account(SITE, track, reports)}
    radar = acc["radar-1"]
    assert radar.detected == 33 and abs(radar.expected - 0.8 * 40) < 0.5
    assert len(radar.gaps) == 1
    g = radar.gaps[0]
    assert (g.t_from, g.t_to) == (10.0, 16.0) and g.closed_by == ("rf-1",)
    assert "1 gaps (0 not covered" in radar.verdict
    assert acc["rf-1"].detected == 40 and acc["rf-1"].first_detected_t == 0.0
    # the acoustic array (300 m) is never within reach of this path: nothing expected
    assert acc["acoustic-1"].in_coverage == 0 and "out of coverage" in acc["acoustic-1"].verdict

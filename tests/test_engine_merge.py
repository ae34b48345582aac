"""Object-by-object reports of one sensor and one measurement time are stepped as one look
(``engine.merge_reports``): one ``Tracker.process`` call for the lot, whole looks and other
sensors' reports untouched, nothing lost or reordered."""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import Site, parse_site
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.steps import merge_reports
from skywarden.sensors.skybench import Scan

ORIGIN = {"lat": 51.5, "lon": -0.12, "alt_m": 20.0}
R = np.diag([16.0, 16.0, 36.0])


def camera_site(name: str) -> Site:
    """One camera measuring positions (x, y, z) at the origin: the engine tests' site."""
    return parse_site(
        {
            "name": name,
            "origin": ORIGIN,
            "sensors": [
                {
                    "id": "cam",
                    "kind": "camera",
                    "measures": "xyz",
                    "position_enu_m": [0, 0, 10],
                    "sigma": {"x_m": 4, "y_m": 4, "z_m": 6},
                }
            ],
        }
    )


def det(t: float, sid: str, e: float, n: float, u: float = 100.0) -> Detection:
    return Detection(t, sid, MeasurementKind.XYZ, np.array([e, n, u]), R, np.zeros(3))


def test_same_sensor_partial_reports_join_others_stay() -> None:
    a = Scan(1.0, "a", (det(1.0, "a", 0, 0),), complete=False)
    a2 = Scan(1.0, "a", (det(1.0, "a", 500, 0),), complete=False)
    b = Scan(1.0, "b", (det(1.0, "b", 0, 900),), complete=False)
    whole = Scan(1.0, "a", (det(1.0, "a", 900, 900),), complete=True)
    empty = Scan(1.0, "a", (), complete=False)
    out = merge_reports([a, a2, b, a, whole, a2, empty, a2])
    assert [(s.sensor_id, len(s.detections), s.complete) for s in out] == [
        ("a", 2, False),
        ("b", 1, False),
        ("a", 1, False),
        ("a", 1, True),
        ("a", 1, False),
        ("a", 0, False),
        ("a", 1, False),
    ]
    assert out[0].detections == a.detections + a2.detections


def test_engine_steps_a_batch_of_one_time_in_one_tracker_call() -> None:
    eng = Engine(camera_site("merge"))
    pos = [(300.0 * k, 1000.0 - 200.0 * k) for k in range(6)]
    for step in range(8):
        t = 1.0 + step
        for e, n in pos:  # six objects, each its own one-detection message of the same look
            eng.message("cam", t, [det(t, "cam", e + 5.0 * step, n)], complete=False)
        frames = eng.tick(t)
        assert len(frames) == 1
    stats = eng.pipeline.tracker.counters.snapshot()
    assert stats["accepted.reports"] == 8  # one per look, not one per message (48)
    assert stats["accepted.detections"] == 48
    assert len([tr for tr in frames[0].tracks if tr.confirmed]) == 6

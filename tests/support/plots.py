"""A 2-D plot sensor over a 10 km square and its detections: the tracker role tests' shared
fixture (one definition, so the roles are tested against the same sensor)."""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec

PLOTS = SensorSpec(
    "p",
    SensorKind.PLOTS,
    MeasurementKind.XY,
    np.zeros(3),
    {"x_m": 5.0, "y_m": 5.0},
    pd=0.9,
    clutter_per_scan=5,
    area_m=((-5000.0, 5000.0), (-5000.0, 5000.0)),
)


def xy(t: float, x: float, y: float) -> Detection:
    return Detection(t, "p", MeasurementKind.XY, np.array([x, y]), PLOTS.R(), np.zeros(3))

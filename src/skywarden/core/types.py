"""Short aliases used across layers, so signatures say what a value is."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

Seconds: TypeAlias = float
"""Time in seconds on the scenario / site clock (never a wall-clock read)."""
Metres: TypeAlias = float
Radians: TypeAlias = float
SensorId: TypeAlias = str
TrackId: TypeAlias = str
Vec: TypeAlias = NDArray[np.float64]
"""A 1-D float vector; its length and ordering are documented where it is used."""
Mat: TypeAlias = NDArray[np.float64]
"""A 2-D (or stacked 3-D) float matrix."""

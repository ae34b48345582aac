"""Short aliases used across layers, so signatures say what a value is."""

from __future__ import annotations

from typing import Any, TypeAlias, TypeVar

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


_T = TypeVar("_T")


def frozen_from_fields(cls: type[_T], fields: dict[str, Any]) -> _T:
    """An instance of the frozen dataclass ``cls`` whose instance dict is ``fields``, set in
    one go instead of by ``__init__``'s one ``object.__setattr__`` per field.

    For values made by the thousand on the hot path (a scan's detections, every track's
    state and assessment on every frame), where ``__init__`` cost more than the rest of
    making them. ``fields`` must hold every field, checked by the caller: ``__post_init__``
    does not run. Tests check each user's values equal the constructor's.
    """
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    return obj

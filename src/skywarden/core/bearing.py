"""Bearing-only reports as the operator sees them: a line from a sensor, not a point.

Why: an RF direction finder or an acoustic array says *which way*, not *where*. Until a
second sensor crosses it, or it is associated with a track that has a position, the only
honest drawing is a line (a wedge, with its 1-sigma width) from the sensor along the bearing.
:func:`bearing_hits` picks the bearing-only detections (``MeasurementKind.AZ``/``AZ_EL``)
out of a scan and says which track, if any, each one was assigned to.

Angles: azimuth clockwise from north in [0, 2 pi), elevation up from the horizon, radians
(the tracker's measurement model, ``tracking.measurement``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from skywarden.core.observation import Detection, MeasurementKind

BEARING_KINDS = frozenset({MeasurementKind.AZ, MeasurementKind.AZ_EL})


@dataclass(frozen=True, slots=True)
class BearingHit:
    """One bearing-only detection: where from, which way, how sure, and its track if any."""

    t: float
    sensor_id: str
    sensor_enu: tuple[float, float, float]
    azimuth_rad: float
    sigma_rad: float  # 1-sigma of the azimuth
    elevation_rad: float | None = None
    track_id: str | None = None  # None: not associated (no position yet)
    class_hint: str | None = None


def bearing_hits(
    detections: Iterable[Detection], assignments: Sequence[tuple[str, Detection, int]] = ()
) -> list[BearingHit]:
    """The bearing-only detections among ``detections``; ``assignments`` are the tracker's
    ``(track_id, detection, _)`` of the same scan (matched by identity)."""
    assigned = {id(d): tid for tid, d, _ in assignments}
    out = []
    for d in detections:
        if d.kind not in BEARING_KINDS:
            continue
        p = d.sensor_pos
        out.append(
            BearingHit(
                t=d.t,
                sensor_id=d.sensor_id,
                sensor_enu=(float(p[0]), float(p[1]), float(p[2])),
                azimuth_rad=float(d.z[0]) % (2 * math.pi),
                sigma_rad=math.sqrt(max(float(d.R[0, 0]), 0.0)),
                elevation_rad=float(d.z[1]) if d.kind is MeasurementKind.AZ_EL else None,
                track_id=assigned.get(id(d)),
                class_hint=d.class_hint,
            )
        )
    return out

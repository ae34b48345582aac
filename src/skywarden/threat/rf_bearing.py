"""RF bearings that point at a ranged track: emitter evidence the tracker's assignment misses.

Why: a direction finder's bearing says only *which way*. The tracker assigns each bearing to
one track, and two direction finders whose bearings cross make a track of their own (a
cross-fix, placed wherever the bearings meet, often 100 m or more from the drone). The radar
track of the same drone then gets no RF hit at all and waits for its kinematics to say
"drone", 20-30 s in the benchmark families, while the emitter has been heard all along. So
the classifier also asks, for every RF bearing, which tracks *located by a ranging sensor*
lie along it: a bearing that points at exactly one of them within its gate is a hit for that
track (the emitter is there, or a coincidence, which ``Classifier._rf_loglik`` weighs as
such: a bird crossing a bearing line is hit for a few scans, an emitter scan after scan).
A bearing that points at two or more ranged tracks says nothing about any of them, as a
bearing the tracker found ambiguous. A track already given this scan's hit by the tracker's
assignment is not counted twice.

Gate: ``GATE_SIGMA`` standard deviations of the bearing widened by the angle the track's own
position error subtends at the sensor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from skywarden.core.bearing import BEARING_KINDS
from skywarden.core.observation import Detection
from skywarden.core.track import TrackState

GATE_SIGMA = 3.0
MIN_RANGE_M = 50.0  # a track on top of the sensor has no meaningful bearing


@dataclass(frozen=True, slots=True)
class Bearing:
    """One RF bearing: sensor position (east, north), azimuth clockwise from north, its
    1-sigma (radians), and the tracks the tracker gave it to (unambiguously)."""

    e: float
    n: float
    az: float
    sigma: float
    assigned: frozenset[str]


def bearings(detections: Iterable[Detection], assigned: frozenset[str]) -> list[Bearing]:
    """The bearing-only detections of one RF scan as ``Bearing`` values."""
    out = []
    for d in detections:
        if d.kind not in BEARING_KINDS:
            continue
        p = d.sensor_pos
        sig = math.sqrt(max(float(d.R[0, 0]), 0.0))
        out.append(Bearing(float(p[0]), float(p[1]), float(d.z[0]), sig, assigned))
    return out


def pointed_at(scan: Sequence[Bearing], tracks: Sequence[TrackState]) -> set[str]:
    """Ids of the tracks that one scan's bearings point at, each bearing at exactly one of
    ``tracks`` (the ranged ones), less those the tracker already gave a hit from it."""
    hits: set[str] = set()
    for b in scan:
        inside = []
        for tr in tracks:
            e, n = tr.x[:2].tolist()
            de, dn = e - b.e, n - b.n
            r = math.hypot(de, dn)
            if r < MIN_RANGE_M:
                continue
            off = (math.atan2(de, dn) - b.az + math.pi) % (2.0 * math.pi) - math.pi
            P = tr.P
            sig_p = math.sqrt(max(0.5 * (float(P[0, 0]) + float(P[1, 1])), 0.0))
            gate = GATE_SIGMA * math.hypot(b.sigma, sig_p / r)
            if abs(off) <= gate:
                inside.append(tr.id)
                if len(inside) > 1:
                    break
        if len(inside) == 1 and inside[0] not in b.assigned:
            hits.add(inside[0])
    return hits

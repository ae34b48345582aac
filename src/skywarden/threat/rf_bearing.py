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

A bearing the tracker gave to a track located *elsewhere* is explained (issue 19, session
10): when the track that got it (often the cross-fix of two direction finders, placed where
the bearings meet) is not where the ranged track is (``owner_far``: their horizontal
positions differ by more than ``CHI2_FAR`` under the sum of both covariances), the bearing is
the owner's emitter seen along a line the ranged track happens to lie on. Found on harder
multisensor_attack s10: bird B13 at 2.4 km lay within 3 sigma of both direction finders'
bearings to H0, which was 1.1 km further out (beyond the radar's range, tracked by its RF
cross-fix, to which the tracker gave them as ambiguous between the two): four "hits" in two
seconds made the young bird track an emitter (+5.2 nats).
The cross-fix of the same drone's radar track lies along the same bearings within its own
(long, along the bearing) error ellipse, so that hit still counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from skywarden.core.bearing import BEARING_KINDS
from skywarden.core.observation import Detection
from skywarden.core.track import TrackState

GATE_SIGMA = 3.0
# chi-square, 2 degrees of freedom, 99.9 %: the owner of a bearing is located elsewhere
CHI2_FAR = 13.8
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
    owner: frozenset[str] = frozenset()  # the tracks the tracker gave it to (even ambiguously)


def bearings(
    detections: Iterable[Detection],
    assigned: frozenset[str],
    owners: Mapping[int, frozenset[str]] | None = None,
) -> list[Bearing]:
    """The bearing-only detections of one RF scan as ``Bearing`` values; ``owners``: by
    ``id()`` of a detection, the tracks the tracker gave it to (even when it fitted others)."""
    out = []
    for d in detections:
        if d.kind not in BEARING_KINDS:
            continue
        p = d.sensor_pos
        sig = math.sqrt(max(float(d.R[0, 0]), 0.0))
        own = owners.get(id(d), frozenset()) if owners else frozenset()
        out.append(Bearing(float(p[0]), float(p[1]), float(d.z[0]), sig, assigned, own))
    return out


def owner_far(track: TrackState, owner: TrackState) -> bool:
    """True when ``owner`` (the track a bearing was given to) is located elsewhere than
    ``track``: the squared Mahalanobis distance of their horizontal positions,
    ``d^T (P_t + P_o)^-1 d`` over (east, north), exceeds ``CHI2_FAR``."""
    de = float(track.x[0]) - float(owner.x[0])
    dn = float(track.x[1]) - float(owner.x[1])
    a = float(track.P[0, 0]) + float(owner.P[0, 0])
    b = float(track.P[0, 1]) + float(owner.P[0, 1])
    c = float(track.P[1, 1]) + float(owner.P[1, 1])
    det = a * c - b * b
    if det <= 0.0:
        return False
    # inverse of the 2x2 [[a, b], [b, c]] is [[c, -b], [-b, a]] / det
    return (c * de * de - 2.0 * b * de * dn + a * dn * dn) / det > CHI2_FAR


def pointed_at(
    scan: Sequence[Bearing],
    tracks: Sequence[TrackState],
    located: Mapping[str, TrackState] | None = None,
) -> set[str]:
    """Ids of the tracks that one scan's bearings point at, each bearing at exactly one of
    ``tracks`` (the ranged ones), less those the tracker already gave a hit from it and
    those whose bearing's owner (in ``located``, every track by id) is located elsewhere."""
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
            tid = inside[0]
            if located and b.owner:
                me = located[tid]
                owners = [located[o] for o in b.owner if o != tid and o in located]
                if any(owner_far(me, o) for o in owners):
                    continue  # the bearing is explained by its owner, located elsewhere
            hits.add(tid)
    return hits

"""One sensor report as the tracker's roles read it: its valid detections stacked in arrays.

``validate`` drops (and counts) what no role may see: detections of the wrong kind,
non-finite values, negative ranges, a second report of the same identity. ``Look`` is the
report plus what every role needs of the moment it was made (time, sensor model, the clutter
density at each detection): the one argument that the hypothesiser, associator, updater,
initiator and deleter share, so none of them reads another's state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from skywarden.core.counters import Counters
from skywarden.core.observation import (
    Detection,
    MeasurementKind,
    StackedDetections,
    positions_enu,
)
from skywarden.tracking.cooperative import one_per_identity
from skywarden.tracking.sensor_model import SensorModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Report(NamedTuple):
    """One report's valid detections and their arrays."""

    dets: list[Detection]
    Z: F64  # (K, dim)
    R: F64  # (dim, dim) when every detection shares it, else (K, dim, dim): see noise_rows
    SP: F64  # (3,) sensor position when shared, else (K, 3)
    cooperative: bool  # some detection carries an identity or a transmitter key


class Look(NamedTuple):
    """One report at its moment: what every role of one ``Tracker.process`` call reads."""

    t: float
    sm: SensorModel
    dets: list[Detection]
    Z: F64
    R: F64
    SP: F64
    cooperative: bool
    loglam: F64  # (K,) ln lambda, the false-report density at each detection
    det_pos: F64  # (K, spatial dims): each detection's position; (K, 0) for bearings
    complete: bool  # the report holds all the sensor saw in one look (see Tracker.process)
    past_startup: bool  # the sensor's first ``startup_scans`` periods are over
    cells: I64  # (K,) each detection's clutter-map cell (empty without a map)


def noise_rows(R: F64, idx: I64, repeat: int = 1) -> F64:
    """The noise covariances of detections ``idx``, each ``repeat`` times (once per mode):
    the report's one shared (m, m) matrix as it is (it broadcasts), else their rows."""
    if R.ndim == 2:
        return R
    return np.repeat(R[idx], repeat, axis=0) if repeat > 1 else R[idx]


def unique_rows(rows: I64, n: int) -> tuple[I64, I64]:
    """``np.unique(rows, return_inverse=True)`` for row indices below ``n``, by marking: no
    sort (a few microseconds less per call on the few dozen rows of a scan's candidates)."""
    mark = np.zeros(n, dtype=bool)
    mark[rows] = True
    inv: I64 = (np.cumsum(mark) - 1)[rows]
    return mark.nonzero()[0], inv


def det_positions(sm: SensorModel, Z: F64, SP: F64) -> F64:
    """Each report's position (K, spatial dims) for a spatial sensor; (K, 0) for bearings."""
    k = sm.spatial_dims
    if not k:
        return Z[:, :0]
    if sm.kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        return positions_enu(sm.kind, Z, SP)[:, :k]
    return Z[:, :k]  # plots and positions: the measurement is the position


def position_spread(sm: SensorModel, max_range_m: float) -> float:
    """Square root of the trace of a detection's position covariance (m); for a polar radar,
    at ``max_range_m``, where the angles' share of it is largest."""
    sig = sm.spec.sigma
    if sm.kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        r = max_range_m
        return math.sqrt(sig["range_m"] ** 2 + (r * sig["az_rad"]) ** 2 + (r * sig["el_rad"]) ** 2)
    return math.sqrt(float(np.trace(sm.spec.R()[:3, :3])))


def fixed_spreads(sensors: dict[str, SensorModel]) -> dict[str, float]:
    """The detection spread of each spatial sensor whose spread does not depend on the
    report (all but a polar radar without a stated range)."""
    return {
        sid: position_spread(sm, sm.spec.max_range_m or 0.0)
        for sid, sm in sensors.items()
        if sm.spatial_dims
        and (sm.kind is not MeasurementKind.RANGE_AZ_EL_RADIAL or sm.spec.max_range_m)
    }


def det_spread(sm: SensorModel, det_pos: F64, fixed: dict[str, float]) -> float:
    """A bound on a detection's position spread (m): the gate's detection term."""
    sd = fixed.get(sm.spec.id)
    if sd is not None:
        return sd
    return position_spread(sm, float(np.max(np.linalg.norm(det_pos, axis=1))))


def inside_coverage(sm: SensorModel, pos: F64) -> NDArray[np.bool_]:
    """Which positions (N, 3) the sensor covers (its range and area): where a miss counts."""
    inside = np.ones(pos.shape[0], dtype=bool)
    s = sm.spec.position_enu
    if sm.spec.max_range_m:
        inside &= np.linalg.norm(pos - s[None], axis=1) <= sm.spec.max_range_m
    if sm.spec.area_m:
        box = np.asarray(sm.spec.area_m[:2], dtype=float)  # ((x0, x1), (y0, y1))
        k = box.shape[0]
        inside &= ((pos[:, :k] >= box[:, 0]) & (pos[:, :k] <= box[:, 1])).all(axis=1)
    return inside


def validate(
    detections: Sequence[Detection],
    sm: SensorModel,
    stacked: StackedDetections | None,
    counters: Counters,
) -> Report:
    """Drop (and count) detections of the wrong kind, non-finite or negative ranges;
    return the rest with their measurements stacked (K, dim), their noise and sensor
    positions (one matrix and one position when all share them), and whether any is
    cooperative (carries an identity or a transmitter key)."""
    kind = sm.kind
    R1: F64 | None
    SP1: F64 | None
    if stacked is not None and stacked.kind is kind and stacked.Z.shape[0] == len(detections):
        dets = list(detections)
        Z = stacked.Z
        ok = np.isfinite(Z).all(axis=1) & bool(np.isfinite(stacked.R).all())
        R1, SP1 = stacked.R, stacked.sensor_pos
    else:
        dets = [d for d in detections if d.kind is kind]
        if len(dets) < len(detections):
            counters.inc("rejected.kind_mismatch", len(detections) - len(dets))
        if not dets:
            return Report(dets, np.zeros((0, kind.dim)), np.zeros((0, kind.dim, kind.dim)),
                          np.zeros((0, 3)), False)  # fmt: skip
        Z = np.stack([d.z for d in dets])
        ok = np.isfinite(Z).all(axis=1)
        Rs = {id(d.R): d.R for d in dets}
        if not all(np.isfinite(R).all() for R in Rs.values()):
            ok &= np.array([bool(np.isfinite(d.R).all()) for d in dets])
        R1 = next(iter(Rs.values())) if len(Rs) == 1 else None
        SP1 = dets[0].sensor_pos if all(d.sensor_pos is dets[0].sensor_pos for d in dets) else None
    counters.inc("rejected.not_finite", int((~ok).sum()))
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        neg = ok & (Z[:, 0] <= 0)
        counters.inc("rejected.negative_range", int(neg.sum()))
        ok &= ~neg
    if not ok.all():
        keep: list[bool] = np.asarray(ok, dtype=bool).tolist()
        dets = [d for d, k in zip(dets, keep, strict=True) if k]
        Z = Z[ok]
    # one matrix where every detection shares the object (a sensor's data-sheet R:
    # thousands of plots per radar scan); it broadcasts wherever rows would be used
    R = R1 if R1 is not None else np.stack([d.R for d in dets])
    SP = SP1 if SP1 is not None else np.stack([d.sensor_pos for d in dets])
    cooperative = stacked is None and any(
        d.identity is not None or "transmitter" in d.attrs for d in dets
    )
    if cooperative and not (one := one_per_identity(dets)).all():
        counters.inc("dropped.duplicate_identity", int((~one).sum()))
        dets = [d for d, k in zip(dets, one.tolist(), strict=True) if k]
        Z = Z[one]
        R = R if R.ndim == 2 else R[one]
        SP = SP if SP.ndim == 1 else SP[one]
    return Report(dets, Z, R, SP, cooperative)

"""Gating: which (track, detection) pairs are worth scoring at all.

Two stages. A coarse spatial stage finds candidate pairs with a k-d tree over the
detections' own positions, so the work grows with the number of nearby pairs rather than
tracks x detections; each track queries a ball whose radius bounds its gate (below). A fine
stage keeps pairs whose Mahalanobis distance ``d^2 = y' S^-1 y`` is below the chi-square
gate ``G = chi2.ppf(p_gate, m)`` (Bar-Shalom 2001, §5.4.2; Blackman & Popoli 1999, §6.3).

Coarse radius: a pair inside the chi-square gate has ``|p_track - p_det| <= sqrt(G) *
(sigma_track + sigma_det)`` where the sigmas bound the largest standard deviation of the
track's predicted position and of the detection's position; the trace of a covariance
bounds its largest eigenvalue, so ``sqrt(trace)`` is a safe, cheap bound.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@lru_cache(maxsize=64)
def chi2_gate(m: int, p_gate: float) -> float:
    """Chi-square gate threshold for an m-dimensional innovation with gate probability p_gate."""
    return float(chi2.ppf(p_gate, m))


def spatial_candidates(track_pos: F64, track_radius: F64, det_pos: F64) -> tuple[I64, I64]:
    """Pairs (track row, detection row) whose positions lie within the track's radius.

    ``track_pos`` (N, k), ``track_radius`` (N,), ``det_pos`` (D, k) with k = 2 or 3.
    """
    N, D = track_pos.shape[0], det_pos.shape[0]
    if N == 0 or D == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    tree = cKDTree(det_pos)
    lists = tree.query_ball_point(track_pos, r=track_radius, return_sorted=False)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=N)
    ti = np.repeat(np.arange(N, dtype=np.int64), counts)
    total = int(counts.sum())
    dj = (
        np.fromiter((j for x in lists for j in x), dtype=np.int64, count=total)
        if total
        else np.zeros(0, dtype=np.int64)
    )
    return ti, dj


def all_pairs(rows: I64, D: int) -> tuple[I64, I64]:
    """Every listed track row against every detection (bearing-only sensors: few of each)."""
    ti = np.repeat(rows, D)
    dj = np.tile(np.arange(D, dtype=np.int64), rows.shape[0])
    return ti, dj

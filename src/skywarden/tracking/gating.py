"""Gating: which (track, detection) pairs are worth scoring at all.

Two stages. A coarse spatial stage finds candidate pairs with a uniform grid over the
detections' own positions (a spatial hash: bucket detections by cell, look up each track's
neighbouring cells), so the work grows with the number of nearby pairs rather than tracks x
detections; each track looks for detections within a radius that bounds its gate (below). A
fine stage keeps pairs whose Mahalanobis distance ``d^2 = y' S^-1 y`` is below the chi-square
gate ``G = F^-1_{chi2(m)}(p_gate)`` (Bar-Shalom 2001, §5.4.2; Blackman & Popoli 1999, §6.3).

Coarse radius: a pair inside the chi-square gate has ``|p_track - p_det| <= sqrt(G) *
(sigma_track + sigma_det)`` where the sigmas bound the largest standard deviation of the
track's predicted position and of the detection's position; the trace of a covariance
bounds its largest eigenvalue, so ``sqrt(trace)`` is a safe, cheap bound.

Why a grid and not ``scipy.spatial.cKDTree``: the answer is the same set of pairs, but
importing scipy costs about 0.3 s per process, more than tracking a 100-scan file takes; a
command-line tracker that is started per file pays it every time. The grid is pure numpy and,
for the fixed-radius query a gate needs, as fast as a tree: the cell size is chosen from the
radii, and the few tracks with a radius above it (new tracks, long coasts) are checked against
every detection directly.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def chi2_cdf(x: float, m: int) -> float:
    """P(X <= x) for X ~ chi-square with m degrees of freedom: the regularised lower incomplete
    gamma function P(m/2, x/2) by its power series (Abramowitz & Stegun 6.5.29), which converges
    for every x and is accurate to double precision for the small m (1..6) a gate uses.
    """
    if x <= 0.0:
        return 0.0
    a, z = 0.5 * m, 0.5 * x
    term = 1.0 / a
    total = term
    n = 1
    while term > total * 1e-17 and n < 10_000:
        term *= z / (a + n)
        total += term
        n += 1
    return math.exp(a * math.log(z) - z - math.lgamma(a)) * total


@lru_cache(maxsize=64)
def chi2_gate(m: int, p_gate: float) -> float:
    """Chi-square gate threshold ``G`` with ``P(chi2_m <= G) = p_gate`` (bisection on the CDF)."""
    if not (0.0 < p_gate < 1.0) or m < 1:
        raise ValueError(f"need 0 < p_gate < 1 and m >= 1, got {p_gate}, {m}")
    lo, hi = 0.0, float(m)
    while chi2_cdf(hi, m) < p_gate:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if chi2_cdf(mid, m) < p_gate:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


_EMPTY = np.zeros(0, dtype=np.int64)
BRUTE_FORCE_PAIRS = 20_000


def spatial_candidates(track_pos: F64, track_radius: F64, det_pos: F64) -> tuple[I64, I64]:
    """Pairs (track row, detection row) whose positions lie within the track's radius.

    ``track_pos`` (N, k), ``track_radius`` (N,), ``det_pos`` (D, k) with k = 2 or 3. Pairs come
    out grouped by track in no particular order within a track.
    """
    N, D = track_pos.shape[0], det_pos.shape[0]
    if N == 0 or D == 0:
        return _EMPTY, _EMPTY
    if N * D <= BRUTE_FORCE_PAIRS:  # small problems: one distance matrix beats any index
        # summed axis by axis: a reduction over a trailing axis of 2-3 is several times
        # slower than adding k (N, D) planes
        d2 = (track_pos[:, 0, None] - det_pos[None, :, 0]) ** 2
        for a in range(1, track_pos.shape[1]):
            d2 += (track_pos[:, a, None] - det_pos[None, :, a]) ** 2
        r, c = np.nonzero(d2 <= (track_radius * track_radius)[:, None])
        return r.astype(np.int64), c.astype(np.int64)
    # cell size: the 90th percentile radius (at least 1 m), so most tracks need only the 3x3
    # cells around their own; the rest are brute-forced below
    cell = max(float(np.quantile(track_radius, 0.9)), 1.0)
    wide = track_radius > cell
    if wide.all():  # cannot happen with the 90th percentile; guards the recursion below
        wide[:] = False
        cell = float(track_radius.max())
    out_t: list[I64] = []
    out_d: list[I64] = []
    if wide.any():
        # the widest tenth: the same search on their own, with a cell sized for them
        rows = np.flatnonzero(wide)
        r, c = spatial_candidates(track_pos[rows], track_radius[rows], det_pos)
        out_t.append(rows[r])
        out_d.append(c)
    rows = np.flatnonzero(~wide)
    if rows.shape[0]:
        # bucket in the horizontal plane only: heights spread little against a cell, and 9
        # neighbour cells are a third of 27; the true 3-D distance is checked just below
        t_sel, d_sel = _grid_pairs(track_pos[rows, :2], det_pos[:, :2], cell, 2)
        ok = (
            np.linalg.norm(track_pos[rows[t_sel]] - det_pos[d_sel], axis=1)
            <= track_radius[rows[t_sel]]
        )
        out_t.append(rows[t_sel[ok]].astype(np.int64))
        out_d.append(d_sel[ok])
    if not out_t:
        return _EMPTY, _EMPTY
    return np.concatenate(out_t), np.concatenate(out_d)


def _grid_pairs(track_pos: F64, det_pos: F64, cell: float, k: int) -> tuple[I64, I64]:
    """Every (track, detection) pair in the same or a neighbouring grid cell."""
    lo = np.minimum(track_pos.min(axis=0), det_pos.min(axis=0)) - cell
    span = np.floor((np.maximum(track_pos.max(axis=0), det_pos.max(axis=0)) - lo) / cell) + 3
    strides = np.cumprod(np.r_[1.0, span[:-1]]).astype(np.int64)
    dcell = np.floor((det_pos - lo) / cell).astype(np.int64)
    dkey = dcell @ strides
    order = np.argsort(dkey, kind="stable")
    skey = dkey[order]
    tcell = np.floor((track_pos - lo) / cell).astype(np.int64)
    offsets = np.stack(np.meshgrid(*([np.arange(-1, 2)] * k), indexing="ij"), -1).reshape(-1, k)
    qkey = ((tcell[:, None, :] + offsets[None, :, :]) @ strides).ravel()  # (N * 3^k,)
    ukey, ufirst, ucount = np.unique(skey, return_index=True, return_counts=True)
    pos = np.minimum(np.searchsorted(ukey, qkey), ukey.shape[0] - 1)
    hit = ukey[pos] == qkey
    start = ufirst[pos]
    counts = np.where(hit, ucount[pos], 0)
    total = int(counts.sum())
    if total == 0:
        return _EMPTY, _EMPTY
    qtrack = np.repeat(np.arange(track_pos.shape[0], dtype=np.int64), offsets.shape[0])
    t_sel = np.repeat(qtrack, counts)
    # position within each run: global index minus the run's first output index
    run_first = np.repeat(np.cumsum(counts) - counts, counts)
    d_sel = order[np.repeat(start, counts) + np.arange(total) - run_first]
    return t_sel, d_sel.astype(np.int64)


def all_pairs(rows: I64, D: int) -> tuple[I64, I64]:
    """Every listed track row against every detection (bearing-only sensors: few of each)."""
    ti = np.repeat(rows, D)
    dj = np.tile(np.arange(D, dtype=np.int64), rows.shape[0])
    return ti, dj

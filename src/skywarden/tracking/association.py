"""Data association: which detection updates which track.

Costs are negative log-likelihood ratios ``-ln LR_ij`` of "detection j comes from track i"
against "track i missed, j is clutter or a new target" (Blackman & Popoli 1999, §6.5)::

    ln LR_ij = ln Pd - ln(1 - Pd Pg) + ln N(y_ij; 0, S_ij) - ln lambda_FA

so the best assignment maximises the joint likelihood, and a pair with ``LR < 1`` is worse
than leaving both unassigned. Only gated pairs exist (sparse); the problem splits into
connected clusters of tracks and detections that share candidates, each solved on its own.

- :class:`GNNAssociator`: global nearest neighbour, an optimal 2-D assignment per cluster
  with a "no assignment" option of cost 0 for every track. Isolated one-to-one pairs, the vast
  majority in sparse scenes, are assigned without building any matrix; small clusters (the
  rest, nearly always) by the Hungarian method in :func:`small_assignment`; large ones by
  Jonker-Volgenant (``scipy.optimize.linear_sum_assignment``, imported only then, because
  importing scipy.optimize costs a per-process 0.3 s that a file-at-a-time tracker feels).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Associator(Protocol):
    def associate(self, ti: I64, dj: I64, cost: F64, n_tracks: int, n_dets: int) -> tuple[I64, I64]:
        """Return assigned (track rows, detection rows), one-to-one."""
        ...


def clusters(ti: I64, dj: I64, n_tracks: int, n_dets: int) -> tuple[int, I64]:
    """Connected components of the bipartite candidate graph; a label per pair.

    Min-label propagation with pointer jumping over the node array (tracks, then detections):
    each round every edge pulls both ends to the smaller label and every node jumps to its
    label's label, so a chain of length L settles in O(log L) rounds.
    """
    lab = np.arange(n_tracks + n_dets, dtype=np.int64)
    u, v = ti, n_tracks + dj
    while True:
        m = np.minimum(lab[u], lab[v])
        new = lab.copy()
        np.minimum.at(new, u, m)
        np.minimum.at(new, v, m)
        new = new[new]
        if np.array_equal(new, lab):
            break
        lab = new
    roots, per_pair = np.unique(lab[u], return_inverse=True)
    return int(roots.shape[0]), per_pair.astype(np.int64)


SMALL_CLUSTER = 12  # tracks + detections up to which the pure-Python Hungarian is used


def small_assignment(C: list[list[float]]) -> list[int]:
    """Minimum-cost assignment of every row of an n x m cost matrix (n <= m) to distinct
    columns: the Hungarian method with potentials, shortest augmenting paths (Kuhn 1955;
    Jonker & Volgenant 1987 form, O(n^2 m)). Returns the column of each row.
    """
    n, m = len(C), len(C[0]) if C else 0
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    p = [0] * (m + 1)  # p[j]: row (1-based) matched to column j; column 0 is the root
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            row = C[i0 - 1]
            for j in range(1, m + 1):
                if not used[j]:
                    cur = row[j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    col = [0] * n
    for j in range(1, m + 1):
        if p[j]:
            col[p[j] - 1] = j - 1
    return col


class GNNAssociator:
    """Global nearest neighbour with optimal assignment per cluster."""

    def associate(self, ti: I64, dj: I64, cost: F64, n_tracks: int, n_dets: int) -> tuple[I64, I64]:
        keep = cost < 0.0  # LR > 1: better than no assignment
        ti, dj, cost = ti[keep], dj[keep], cost[keep]
        if ti.shape[0] == 0:
            return ti, dj
        tcount = np.bincount(ti, minlength=n_tracks)
        dcount = np.bincount(dj, minlength=n_dets)
        simple = (tcount[ti] == 1) & (dcount[dj] == 1)
        out_t = [ti[simple]]
        out_d = [dj[simple]]
        ti, dj, cost = ti[~simple], dj[~simple], cost[~simple]
        if ti.shape[0]:
            _, lab = clusters(ti, dj, n_tracks, n_dets)
            order = np.argsort(lab, kind="stable")
            ti, dj, cost, lab = ti[order], dj[order], cost[order], lab[order]
            bounds = np.flatnonzero(np.diff(lab)) + 1
            for a, b in zip(np.r_[0, bounds], np.r_[bounds, lab.shape[0]], strict=True):
                t_sel, d_sel = _solve_cluster(ti[a:b], dj[a:b], cost[a:b])
                out_t.append(t_sel)
                out_d.append(d_sel)
        return np.concatenate(out_t), np.concatenate(out_d)


def _solve_cluster(ti: I64, dj: I64, cost: F64) -> tuple[I64, I64]:
    tu, tinv = np.unique(ti, return_inverse=True)
    du, dinv = np.unique(dj, return_inverse=True)
    nt, nd = tu.shape[0], du.shape[0]
    big = 1e9
    C = np.full((nt, nd + nt), big)
    C[tinv, dinv] = cost
    C[np.arange(nt), nd + np.arange(nt)] = 0.0  # track i left unassigned
    if nt + nd <= SMALL_CLUSTER:
        c = np.asarray(small_assignment(C.tolist()), dtype=np.int64)
        r = np.arange(nt, dtype=np.int64)
    else:
        from scipy.optimize import linear_sum_assignment

        r, c = linear_sum_assignment(C)
    ok = c < nd
    ok &= C[r, c] < big
    return tu[r[ok]], du[c[ok]]

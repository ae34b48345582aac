"""Data association: which detection updates which track.

Costs are negative log-likelihood ratios ``-ln LR_ij`` of "detection j comes from track i"
against "track i missed, j is clutter or a new target" (Blackman & Popoli 1999, §6.5)::

    ln LR_ij = ln Pd - ln(1 - Pd Pg) + ln N(y_ij; 0, S_ij) - ln lambda_FA

so the best assignment maximises the joint likelihood, and a pair with ``LR < 1`` is worse
than leaving both unassigned. Only gated pairs exist (sparse); the problem splits into
connected clusters of tracks and detections that share candidates, each solved on its own.

- :class:`GNNAssociator`: global nearest neighbour, an optimal 2-D assignment per cluster
  (Jonker-Volgenant via ``scipy.optimize.linear_sum_assignment``) with a "no assignment"
  option of cost 0 for every track. Isolated one-to-one pairs, the vast majority in sparse
  scenes, are assigned without building any matrix.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Associator(Protocol):
    def associate(self, ti: I64, dj: I64, cost: F64, n_tracks: int, n_dets: int) -> tuple[I64, I64]:
        """Return assigned (track rows, detection rows), one-to-one."""
        ...


def clusters(ti: I64, dj: I64, n_tracks: int, n_dets: int) -> tuple[int, I64]:
    """Connected components of the bipartite candidate graph; labels per pair."""
    n = n_tracks + n_dets
    g = coo_matrix((np.ones(ti.shape[0]), (ti, n_tracks + dj)), shape=(n, n))
    ncomp, labels = connected_components(g, directed=False)
    return ncomp, labels[ti].astype(np.int64)


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
    r, c = linear_sum_assignment(C)
    ok = c < nd
    ok &= C[r, c] < big
    return tu[r[ok]], du[c[ok]]

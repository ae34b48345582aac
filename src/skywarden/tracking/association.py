"""Data association: which detection updates which track.

Costs are negative log-likelihood ratios ``-ln LR_ij`` of "detection j comes from track i"
against "track i missed, j is clutter or a new target" (Blackman & Popoli 1999, §6.5)::

    ln LR_ij = ln Pd - ln(1 - Pd Pg) + ln N(y_ij; 0, S_ij) - ln lambda_FA

so the best assignment maximises the joint likelihood, and a pair with ``LR < 1`` is worse
than leaving both unassigned. Only gated pairs exist (sparse); the problem splits into
connected clusters of tracks and detections that share candidates, each solved on its own.

- :class:`OptimalAssigner`: global nearest neighbour, an optimal 2-D assignment per cluster
  with a "no assignment" option of cost 0 for every track. Isolated one-to-one pairs, the vast
  majority in sparse scenes, are assigned without building any matrix; small clusters (the
  rest, nearly always) by the Hungarian method in :func:`small_assignment`; large ones by
  Jonker-Volgenant (``scipy.optimize.linear_sum_assignment``, imported only then, because
  importing scipy.optimize costs a per-process 0.3 s that a file-at-a-time tracker feels).
- :func:`jpda_marginals`: joint probabilistic data association for dense clutter, the soft
  alternative (``TrackerConfig.association = "jpda"``): every gated detection updates a track
  in proportion to its marginal association probability.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Assigner(Protocol):
    """A 2-D assignment solver over sparse pairs: the hard core of the GNN associator
    (``tracking.associator``) and of two-point initiation (``tracking.initiator``)."""

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


class OptimalAssigner:
    """Global nearest neighbour with optimal assignment per cluster."""

    def associate(self, ti: I64, dj: I64, cost: F64, n_tracks: int, n_dets: int) -> tuple[I64, I64]:
        keep = cost < 0.0  # LR > 1: better than no assignment
        ti, dj, cost = ti[keep], dj[keep], cost[keep]
        if ti.shape[0] == 0:
            return ti, dj
        tcount = np.bincount(ti, minlength=n_tracks)
        dcount = np.bincount(dj, minlength=n_dets)
        simple = (tcount[ti] == 1) & (dcount[dj] == 1)
        if simple.all():  # every pair alone in its row and column: nothing to solve
            return ti, dj
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


# ---------------------------------------------------------------------------------- JPDA

MAX_EXACT_EVENTS = 20_000  # joint events enumerated per cluster before the cheap approximation


def jpda_marginals(
    ti: I64, dj: I64, log_lr: F64, log_miss: F64, n_tracks: int, n_dets: int
) -> tuple[I64, I64, F64, F64]:
    """Joint probabilistic data association: marginal association probabilities.

    ``log_lr`` per gated pair is ``ln(Pd N(y; 0, S) / lambda)`` (detection j from track i
    against clutter), ``log_miss`` per track ``ln(1 - Pd Pg)``. A joint event assigns each
    track at most one detection and each detection at most one track; its weight is the product
    of the pairs' LR and the unassigned tracks' miss terms (Bar-Shalom, Daum & Huang, "The
    probabilistic data association filter", IEEE CSM 2009, eqs. 38-41). Per connected cluster
    the events are enumerated exactly (depth-first over the cluster's tracks) up to
    ``MAX_EXACT_EVENTS``; a larger cluster uses Fitzgerald's cheap JPDA (1985):
    ``beta_ij = G_ij / (T_i + D_j - G_ij + B)`` with ``B`` the miss weight.

    Returns ``(ti, dj, beta_ij, beta0)``: the pairs with their marginal probability, and per
    track (all ``n_tracks`` rows) the probability that none of the detections is its own.
    """
    beta0 = np.ones(n_tracks)
    if ti.shape[0] == 0:
        return ti, dj, np.zeros(0), beta0
    beta = np.zeros(ti.shape[0])
    # a track whose detections no other track wants is a PDAF on its own (closed form):
    # beta_j = LR_j / (miss + sum LR), beta_0 = miss / (miss + sum LR)
    dcount = np.bincount(dj, minlength=n_dets)
    shared = np.zeros(n_tracks, dtype=bool)
    shared[ti[dcount[dj] > 1]] = True
    alone = ~shared[ti]
    if alone.any():
        a_t, a_lr = ti[alone], log_lr[alone]
        top = np.full(n_tracks, -np.inf)
        np.maximum.at(top, a_t, a_lr)
        ref = np.maximum(top, log_miss)  # per track, for a stable log-sum-exp
        w = np.exp(a_lr - ref[a_t])
        tot = np.exp(log_miss - ref)
        np.add.at(tot, a_t, w)
        beta[alone] = w / tot[a_t]
        rows = np.unique(a_t)
        beta0[rows] = np.exp(log_miss[rows] - ref[rows]) / tot[rows]
    if not alone.all():
        sel_all = np.flatnonzero(~alone)
        _, lab = clusters(ti[sel_all], dj[sel_all], n_tracks, n_dets)
        order = np.argsort(lab, kind="stable")
        bounds = np.flatnonzero(np.diff(lab[order])) + 1
        for part in np.split(order, bounds):
            sel = sel_all[part]
            b, b0, tracks = _cluster_marginals(ti[sel], dj[sel], log_lr[sel], log_miss)
            beta[sel] = b
            beta0[tracks] = b0
    return ti, dj, beta, beta0


def _cluster_marginals(ti: I64, dj: I64, log_lr: F64, log_miss: F64) -> tuple[F64, F64, I64]:
    tu, tinv = np.unique(ti, return_inverse=True)
    nt = tu.shape[0]
    lm = log_miss[tu]
    # weights relative to "every track missed", scaled so the largest pair LR is ~1
    shift = float(max(np.max(log_lr - lm[tinv]), 0.0))
    g = np.exp(log_lr - lm[tinv] - shift)  # LR_ij / miss_i, scaled
    miss_w = math.exp(-shift)
    cand: list[list[tuple[int, int, float]]] = [[] for _ in range(nt)]
    for p, (i, j, w) in enumerate(zip(tinv.tolist(), dj.tolist(), g.tolist(), strict=True)):
        cand[i].append((p, j, w))
    n_events = 1
    for c in cand:
        n_events *= len(c) + 1
        if n_events > MAX_EXACT_EVENTS:
            break
    if n_events <= MAX_EXACT_EVENTS:
        pair_mass, miss_mass = _enumerate(cand, miss_w, ti.shape[0])
    else:
        pair_mass, miss_mass = _cheap(cand, miss_w, ti.shape[0])
    total = miss_mass + np.bincount(tinv, weights=pair_mass, minlength=nt)
    return pair_mass / total[tinv], miss_mass / total, tu


def _enumerate(
    cand: list[list[tuple[int, int, float]]], miss_w: float, n_pairs: int
) -> tuple[F64, F64]:
    """Sum of joint-event weights in which each pair / each track's miss occurs."""
    nt = len(cand)
    pair_mass = np.zeros(n_pairs)
    miss_mass = np.zeros(nt)
    chosen: list[int] = [-1] * nt  # pair index chosen per track, -1 = missed
    used: set[int] = set()

    def rec(i: int, w: float) -> None:
        if i == nt:
            for k, p in enumerate(chosen):
                if p < 0:
                    miss_mass[k] += w
                else:
                    pair_mass[p] += w
            return
        chosen[i] = -1
        rec(i + 1, w * miss_w)
        for p, j, gw in cand[i]:
            if j in used:
                continue
            used.add(j)
            chosen[i] = p
            rec(i + 1, w * gw)
            used.discard(j)
        chosen[i] = -1

    rec(0, 1.0)
    return pair_mass, miss_mass


def _cheap(
    cand: list[list[tuple[int, int, float]]], miss_w: float, n_pairs: int
) -> tuple[F64, F64]:
    """Fitzgerald's cheap JPDA: unnormalised masses with the same normalisation per track."""
    t_sum = [sum(w for _, _, w in c) for c in cand]
    d_sum: dict[int, float] = {}
    for c in cand:
        for _, j, w in c:
            d_sum[j] = d_sum.get(j, 0.0) + w
    pair_mass = np.zeros(n_pairs)
    for i, c in enumerate(cand):
        for p, j, w in c:
            pair_mass[p] = w / (t_sum[i] + d_sum[j] - w + miss_w)
    # scale: a track's masses plus its miss share must sum to one after normalisation
    miss_mass = np.array(
        [max(1.0 - sum(pair_mass[p] for p, _, _ in c), 1e-12) for c in cand], dtype=float
    )
    return pair_mass, miss_mass

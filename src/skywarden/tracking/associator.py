"""The associator role: which detection updates which track, hard (GNN) or soft (JPDA).

Both take the hypothesiser's scored pairs and return one ``Association``, so the tracker's
loop does not know which it runs (``TrackerConfig.association`` picks one, or pass an
associator to ``Tracker``):

- :class:`GNN`: global nearest neighbour. Identity-bound pairs first, then an optimal 2-D
  assignment of the rest (``association.OptimalAssigner``, per cluster).
- :class:`JPDA`: joint probabilistic data association for dense clutter. Identity-bound
  pairs hard; every other gated pair of an established track updates it by its marginal
  probability (``association.jpda_marginals``); tentative tracks take detections hard from
  what the established ones leave: soft updates would let clutter-born tentatives share a
  target's plots and grow into duplicates of its track.

``claims`` are the pairs that count as "this detection is that track's" (hard pairs, and
soft ones of probability >= 0.5): they block initiation, explain detections to the clutter
map and are the assignments the later stages (classifier, spoof, launch) receive.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking.association import Assigner, OptimalAssigner, jpda_marginals
from skywarden.tracking.bank import TENTATIVE, TrackBank
from skywarden.tracking.hypothesiser import Hypotheses
from skywarden.tracking.report import Look

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_NONE = np.zeros(0, dtype=np.int64)


class SoftPairs(NamedTuple):
    """Pairs that update their track by probability (``Updater.pda_update``)."""

    ti: I64
    dj: I64
    beta: F64  # P(detection j is track i's)
    beta0: F64  # (n tracks,) P(none of the detections is track i's)


class Association(NamedTuple):
    """One report's data association."""

    ta: I64  # hard pairs: track rows ...
    da: I64  # ... and their detections, each updating its track fully
    soft: SoftPairs | None
    claim_t: I64  # the pairs that make a detection a track's (hard first, then soft)
    claim_d: I64


class Associator(Protocol):
    """Turns scored candidate pairs into hard and soft updates."""

    def associate(self, hyp: Hypotheses, bank: TrackBank, look: Look) -> Association: ...


def _split_forced(hyp: Hypotheses) -> tuple[I64, I64, NDArray[np.bool_]]:
    """Identity-bound (tracks, detections), and the mask of pairs that involve neither."""
    fd = np.fromiter(hyp.forced.keys(), dtype=np.int64)
    ft = np.fromiter(hyp.forced.values(), dtype=np.int64)
    free = ~np.isin(hyp.dj, fd) & ~np.isin(hyp.ti, ft)
    return ft, fd, free


class GNN:
    """Hard association: identity-bound pairs, then the optimal assignment of the rest."""

    def __init__(self, assigner: Assigner | None = None) -> None:
        self.assigner = assigner or OptimalAssigner()

    def associate(self, hyp: Hypotheses, bank: TrackBank, look: Look) -> Association:
        n_dets = len(look.dets)
        cost = hyp.cost
        if hyp.forced:
            ft, fd, free = _split_forced(hyp)
            ta, da = self.assigner.associate(hyp.ti[free], hyp.dj[free], cost[free], bank.n, n_dets)
            ta, da = np.concatenate([ft, ta]), np.concatenate([fd, da])
        else:
            ta, da = self.assigner.associate(hyp.ti, hyp.dj, cost, bank.n, n_dets)
        return Association(ta, da, None, ta, da)


class JPDA:
    """Soft association of established tracks, hard of identity-bound pairs and tentatives."""

    def __init__(self, p_gate: float, assigner: Assigner | None = None) -> None:
        self.p_gate = p_gate
        self.assigner = assigner or OptimalAssigner()

    def associate(self, hyp: Hypotheses, bank: TrackBank, look: Look) -> Association:
        sm, n_dets = look.sm, len(look.dets)
        ti, dj, llr = hyp.ti, hyp.dj, hyp.llr
        ft = fd = _NONE
        if hyp.forced:
            ft, fd, free = _split_forced(hyp)
            ti, dj, llr = ti[free], dj[free], llr[free]
        tent = bank.status[ti] == TENTATIVE
        tt, tdj, tllr = ti[tent], dj[tent], llr[tent]
        ti, dj, llr = ti[~tent], dj[~tent], llr[~tent]
        log_miss = np.full(bank.n, math.log(max(1.0 - sm.pd * self.p_gate, 1e-6)))  # 1 - Pd Pg
        ti, dj, beta, beta0 = jpda_marginals(ti, dj, llr, log_miss, bank.n, n_dets)
        keep = beta > 1e-4
        ti, dj, beta = ti[keep], dj[keep], beta[keep]
        claimed = np.zeros(n_dets)
        np.add.at(claimed, dj, beta)
        free_t = claimed[tdj] < 0.5
        cost = -(tllr[free_t] - math.log(max(1.0 - sm.pd, 1e-6)))
        ht, hd = self.assigner.associate(tt[free_t], tdj[free_t], cost, bank.n, n_dets)
        ta, da = np.concatenate([ft, ht]), np.concatenate([fd, hd])
        soft = SoftPairs(ti, dj, beta, beta0) if ti.shape[0] else None
        strong = beta >= 0.5
        return Association(
            ta, da, soft, np.concatenate([ta, ti[strong]]), np.concatenate([da, dj[strong]])
        )


def make_associator(kind: str, p_gate: float) -> Associator:
    """The associator ``TrackerConfig.association`` names."""
    if kind == "jpda":
        return JPDA(p_gate)
    return GNN()

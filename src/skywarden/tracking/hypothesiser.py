"""The hypothesiser role: which (track, detection) pairs are possible, and how likely.

For one report, over the predicted bank (Stone Soup's hypothesiser predicts per track; here
the updater has already predicted every track to the report's time):

1. candidate pairs: a spatial index (``gating.spatial_candidates``) for sensors that fix a
   position, all pairs with the eligible tracks for bearings;
2. their scores from the combined IMM estimate: innovation, ``S``, ``d^2`` and ``ln N``;
3. the chi-square gate, and ``ln LR`` of each gated pair against "missed, and clutter"
   (Blackman & Popoli 1999, §6.5), with feature-aided terms for sensors that hear only
   drones (§8.1);
4. identity-bound pairs of cooperative reports, whatever the gate says.

The result, ``Hypotheses``, is what any associator (GNN or JPDA) takes.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import MeasurementKind
from skywarden.tracking import imm, kalman
from skywarden.tracking.bank import TENTATIVE, TrackBank
from skywarden.tracking.cooperative import Identities
from skywarden.tracking.gating import all_pairs, chi2_gate, spatial_candidates
from skywarden.tracking.measurement import innovation, predict_measurement
from skywarden.tracking.report import Look, det_spread, fixed_spreads, noise_rows
from skywarden.tracking.sensor_model import SensorModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Hypotheses(NamedTuple):
    """The gated pairs of one report, scored."""

    ti: I64  # track rows
    dj: I64  # detection indices
    llr: F64  # ln LR of each pair: detection j is track i's, against miss and clutter
    miss: F64  # ln P(track i does not produce a detection here), per pair
    forced: dict[int, int]  # detection -> track row bound by cooperative identity
    blocked: NDArray[np.bool_]  # (K,) detection inside a confirmed track's gate
    ambiguity: I64  # (K,) how many tracks each detection gated with

    @property
    def cost(self) -> F64:
        """``-ln`` of the pair's likelihood ratio against its miss: the assignment cost."""
        c: F64 = -(self.llr - self.miss)
        return c


class Hypothesiser(Protocol):
    """Makes the scored candidate pairs of one report against the predicted bank."""

    drone_prior: dict[int, float]  # the classifier's P(drone) per track uid (feature aid)

    def hypothesise(self, bank: TrackBank, look: Look) -> Hypotheses: ...


def pair_scores(
    kind: MeasurementKind, ti: I64, Zp: F64, Rp: F64, s: F64, xc: F64, Pc: F64
) -> tuple[F64, F64]:
    """``d^2`` and ``ln N(y; 0, S)`` of each pair from the combined estimates ``xc, Pc``."""
    h, H = predict_measurement(kind, xc[ti], s)  # h(x), H = dh/dx
    y = innovation(kind, Zp, h)  # y = z - h(x)
    S = kalman.innovation_cov(Pc[ti], H, Rp)  # S = H P H' + R
    d2, ll, _ = kalman.gate_scores(y, S)  # d^2 = y' S^-1 y, ln N(y; 0, S)
    return d2, ll


class GatingHypothesiser:
    """Spatial or all-pairs candidates, chi-square gate, likelihood ratios."""

    def __init__(
        self,
        sensors: dict[str, SensorModel],
        identities: Identities,
        p_gate: float,
        min_drone_prior: float,
    ) -> None:
        self.identities = identities
        self.p_gate = p_gate
        self.min_drone_prior = min_drone_prior
        self.drone_prior: dict[int, float] = {}
        self._det_sd_fixed = fixed_spreads(sensors)

    def hypothesise(self, bank: TrackBank, look: Look) -> Hypotheses:
        sm, n_dets = look.sm, len(look.dets)
        ti, dj, d2, ll = self._candidates(bank, look)
        gate = chi2_gate(sm.kind.dim, self.p_gate)
        ok = d2 < gate
        ti, dj, ll = ti[ok], dj[ok], ll[ok]
        blocked = np.zeros(n_dets, dtype=bool)
        blocked[dj[bank.status[ti] != TENTATIVE]] = True
        ambiguity = np.bincount(dj, minlength=n_dets)
        forced = self.identities.pairs(bank, look.dets) if look.cooperative else {}
        llr = math.log(sm.pd) + ll - look.loglam[dj]  # ln Pd + ln N(y; 0, S) - ln lambda
        miss = np.full(ti.shape[0], math.log(max(1.0 - sm.pd, 1e-6)))
        if sm.hears_drones_only and self.drone_prior:
            # P(this sensor hears track i) = Pd * P(drone_i), in the hit and the miss term
            lp = self._log_drone_prior(bank, ti)
            llr = llr + lp
            miss = np.log(np.maximum(1.0 - sm.pd * np.exp(lp), 1e-6))
        return Hypotheses(ti, dj, llr, miss, forced, blocked, ambiguity)

    def _candidates(self, b: TrackBank, look: Look) -> tuple[I64, I64, F64, F64]:
        empty = (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),) * 2
        if b.n == 0:
            return empty
        sm, Z = look.sm, look.Z
        xc, Pc = imm.combine(b.x, b.P, b.mu)  # x = sum_m mu_m x_m, P with the spread term
        s = sm.spec.position_enu
        if sm.spatial_dims:
            k = sm.spatial_dims
            det_sd = det_spread(sm, look.det_pos, self._det_sd_fixed)
            trk_sd = np.sqrt(kalman.block_trace(Pc, 0, k))
            g = math.sqrt(chi2_gate(sm.kind.dim, self.p_gate))
            ti, dj = spatial_candidates(xc[:, :k], g * (trk_sd + det_sd) + 1.0, look.det_pos)
        else:
            # bearings update confirmed tracks and tracks started from bearings; a bearing
            # line crosses too much clutter to be allowed to grow a radar-started tentative
            rows = np.flatnonzero((b.status != TENTATIVE) | (b.pos_hits == 0)).astype(np.int64)
            if sm.spec.max_range_m:
                rng = np.linalg.norm(xc[rows, :2] - s[None, :2], axis=1)
                rows = rows[rng <= sm.spec.max_range_m * 1.2]
            ti, dj = all_pairs(rows, Z.shape[0])
        if ti.shape[0] == 0:
            return empty
        d2, ll = pair_scores(sm.kind, ti, Z[dj], noise_rows(look.R, dj), s, xc, Pc)
        return ti, dj, d2, ll

    def _log_drone_prior(self, bank: TrackBank, rows: I64) -> F64:
        floor = self.min_drone_prior
        uid = bank.uid[rows]
        p = np.fromiter((self.drone_prior.get(int(u), 1.0) for u in uid), float, uid.shape[0])
        out: F64 = np.log(np.maximum(p, floor))
        return out

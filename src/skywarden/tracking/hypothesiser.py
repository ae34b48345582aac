"""The hypothesiser role: which (track, detection) pairs are possible, and how likely.

For one report, over the predicted bank (Stone Soup's hypothesiser predicts per track; here
the updater has already predicted every track to the report's time):

1. candidate pairs: a spatial index (``gating.spatial_candidates``) for sensors that fix a
   position, all pairs with the eligible tracks for bearings;
2. their scores mode by mode (``imm_pair_scores``): innovation, ``S``, ``d^2`` and ``ln N``
   of each motion mode; the pair's likelihood is the IMM's own, the mixture over modes;
3. the chi-square gate of each mode, a pair passing if any mode passes it (the union of
   the mode-matched validation regions), and ``ln LR`` against "missed, and clutter"
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


def imm_pair_scores(
    kind: MeasurementKind, ti: I64, Zp: F64, Rp: F64, s: F64, x: F64, P: F64, mu: F64
) -> tuple[F64, F64]:
    """Each pair's smallest mode ``d^2`` and its mixture likelihood ``ln sum_m mu_m N_m``.

    Why per mode: a track held by the quiet mode (mu ~ 0.99) has a combined covariance that
    is the quiet mode's, so the first plots of a manoeuvre (a drone braking 4 m/s^2 to a
    hover: 6-9 m/s of radial speed off the prediction) fall outside the combined gate while
    the manoeuvre mode expects them; the track coasts on and the plots start a new track.
    The IMM-PDAF validates a measurement in the union of the mode-matched regions (Houles &
    Bar-Shalom, IEEE Trans. AES-25(2), 1989; Bar-Shalom & Li 1995, §4.4), and the
    measurement's likelihood under the IMM is ``sum_m mu_m N(y_m; 0, S_m)`` with the
    predicted mode probabilities (Bar-Shalom, Li & Kirubarajan 2001, eq. 11.6.6-11: the same
    term the updater adds to the track score), not a Gaussian around the combined estimate.
    """
    K, M = ti.shape[0], x.shape[1]
    X = x[ti].reshape(K * M, x.shape[2])
    h, H = predict_measurement(kind, X, s)  # h(x_m), H_m = dh/dx at each mode's mean
    y = innovation(kind, np.repeat(Zp, M, axis=0), h)  # y_m = z - h(x_m)
    Rr = np.repeat(Rp, M, axis=0) if Rp.ndim == 3 else Rp
    S = kalman.innovation_cov(P[ti].reshape(K * M, *P.shape[2:]), H, Rr)  # S_m = H P_m H' + R
    d2m, llm, _ = kalman.gate_scores(y, S)  # d_m^2 = y_m' S_m^-1 y_m, ln N(y_m; 0, S_m)
    d2: F64 = d2m.reshape(K, M).min(axis=1)  # inside the union of the mode gates
    return d2, imm.mixture_loglik(mu[ti], llm.reshape(K, M))  # ln sum_m mu_m N_m


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
        xc = imm.combine_mean(b.x, b.mu)  # x = sum_m mu_m x_m
        s = sm.spec.position_enu
        if sm.spatial_dims:
            k = sm.spatial_dims
            det_sd = det_spread(sm, look.det_pos, self._det_sd_fixed)
            # the widest mode's spread and how far any mode's mean is from the combined one:
            # the candidates cover every mode's gate (imm_pair_scores gates by their union)
            trk_sd = np.sqrt(kalman.block_trace(b.P, 0, k).max(axis=1))
            off = np.linalg.norm(b.x[:, :, :k] - xc[:, None, :k], axis=2).max(axis=1)
            g = math.sqrt(chi2_gate(sm.kind.dim, self.p_gate))
            radius = g * (trk_sd + det_sd) + off + 1.0
            ti, dj = spatial_candidates(xc[:, :k], radius, look.det_pos)
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
        d2, ll = imm_pair_scores(sm.kind, ti, Z[dj], noise_rows(look.R, dj), s, b.x, b.P, b.mu)
        return ti, dj, d2, ll

    def _log_drone_prior(self, bank: TrackBank, rows: I64) -> F64:
        floor = self.min_drone_prior
        uid = bank.uid[rows]
        p = np.fromiter((self.drone_prior.get(int(u), 1.0) for u in uid), float, uid.shape[0])
        out: F64 = np.log(np.maximum(p, floor))
        return out

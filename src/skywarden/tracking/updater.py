"""The updater role: IMM prediction to a report's time and the filter updates of the bank.

Stone Soup splits this into predictor and updater; here one object holds both because they
share the motion models and act on the same stacked arrays. Every method works on many
tracks at once (rows of the bank), mode by mode (``K * M`` filters in one numpy pass): the
batched paths are what keep a 1,000-target scene fast.

- ``predict``: every track to ``t`` (IMM: mix, then mode-matched predict; ``imm.predict``).
- ``update``: hard pairs, one detection per track, mode-matched EKF in Joseph form.
- ``pda_update``: soft pairs (JPDA), each track by its marginal association probabilities.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking import imm, kalman
from skywarden.tracking.bank import TrackBank
from skywarden.tracking.measurement import innovation, predict_measurement
from skywarden.tracking.motion import MotionModel
from skywarden.tracking.report import Look, noise_rows

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Updater(Protocol):
    """Predicts the bank to a time and updates rows of it with detections."""

    def predict(self, bank: TrackBank, t: float) -> None: ...

    def update(self, bank: TrackBank, ta: I64, da: I64, look: Look) -> F64:
        """Update track rows ``ta`` with detections ``da``; returns each pair's log-likelihood."""
        ...

    def pda_update(
        self, bank: TrackBank, ti: I64, dj: I64, beta: F64, beta0: F64, look: Look, p_gate: float
    ) -> tuple[I64, F64]:
        """Soft update by association probabilities; returns the rows and score increments."""
        ...


class IMMUpdater:
    """Interacting multiple model filter over the bank's per-mode states."""

    def __init__(self, models: tuple[MotionModel, ...], p_stay: float | tuple[float, ...]) -> None:
        self.models = models
        self.p_stay = p_stay

    def predict(self, bank: TrackBank, t: float) -> None:
        b = bank
        if b.n == 0:
            return
        dt = t - b.t
        ahead = dt > 0
        if ahead.all():  # the usual case: every track is older than the report
            # x_m = F_m x0_m, P_m = F_m P0_m F_m' + Q_m after mixing (imm.predict)
            b.x, b.P, b.mu = imm.predict(b.x, b.P, b.mu, dt, self.models, self.p_stay)
            b.t[:] = t
            return
        rows = np.flatnonzero(ahead)
        if rows.shape[0] == 0:
            return
        # the same, for the tracks older than t only
        x, P, mu = imm.predict(b.x[rows], b.P[rows], b.mu[rows], dt[rows], self.models, self.p_stay)
        b.x[rows], b.P[rows], b.mu[rows] = x, P, mu
        b.t[rows] = t

    def update(self, bank: TrackBank, ta: I64, da: I64, look: Look) -> F64:
        """Mode-matched EKF updates of the assigned tracks; returns the combined log-likelihood."""
        b = bank
        K, M = ta.shape[0], b.M
        ll, X, P = _mode_updates(b, ta, da, look)
        # mode probabilities, and the combined likelihood of the measurement sum_j c_j Lambda_j
        b.mu[ta], ll_comb = imm.update_mode_probs_and_loglik(b.mu[ta], ll)
        b.x[ta] = X.reshape(K, M, 6)
        b.P[ta] = P.reshape(K, M, 6, 6)
        return ll_comb

    def pda_update(
        self, bank: TrackBank, ti: I64, dj: I64, beta: F64, beta0: F64, look: Look, p_gate: float
    ) -> tuple[I64, F64]:
        """IMM-PDA update of every track with gated pairs, as a Gaussian-mixture collapse.

        Per track i and mode m the posterior is the mixture of "no detection is mine" (weight
        ``beta0_i``, the prediction) and "detection j is mine" (``beta_ij``, the EKF update
        with j): ``x = sum_k w_k x_k``, ``P = sum_k w_k (P_k + (x_k - x)(x_k - x)')``. With
        one R for every detection this is exactly the PDAF's combined-innovation update
        (Bar-Shalom, Daum & Huang 2009, eqs. 17-20), including its spread-of-innovations term;
        with per-detection R it stays the correct moment match. Mode likelihoods are the PDA
        ones, ``Lambda_m = (1 - Pd Pg) + sum_j Pd N(y_jm; 0, S_jm) / lambda`` (IMM-PDAF,
        Bar-Shalom & Li 1995); the track score grows by ``ln sum_m mu_m Lambda_m``.
        Returns the rows updated and their score increments.
        """
        b = bank
        sm = look.sm
        K, M = ti.shape[0], b.M
        ll, Xj, Pj = _mode_updates(b, ti, dj, look)  # each pair's update, as if it were certain
        Xj, Pj = Xj.reshape(K, M, 6), Pj.reshape(K, M, 6, 6)
        rows, inv = np.unique(ti, return_inverse=True)
        w0 = beta0[rows]  # (T,)
        x = b.x[rows] * w0[:, None, None]  # x = beta0 x_pred + ...
        np.add.at(x, inv, Xj * beta[:, None, None])  # ... + sum_j beta_j x_j
        dx0 = b.x[rows] - x
        # P = beta0 (P_pred + dx0 dx0') + sum_j beta_j (P_j + dx_j dx_j')
        P = w0[:, None, None, None] * (b.P[rows] + dx0[..., :, None] * dx0[..., None, :])
        dxj = Xj - x[inv]
        np.add.at(P, inv, beta[:, None, None, None] * (Pj + dxj[..., :, None] * dxj[..., None, :]))
        # PDA mode likelihoods, in units of the miss term
        log_miss = math.log(max(1.0 - sm.pd * p_gate, 1e-6))  # ln(1 - Pd Pg)
        lr = np.exp(math.log(sm.pd) + ll - look.loglam[dj][:, None])  # Pd N(y_jm) / lambda
        lam = np.full((rows.shape[0], M), math.exp(log_miss))
        np.add.at(lam, inv, lr)  # Lambda_m = (1 - Pd Pg) + sum_j Pd N(y_jm) / lambda
        log_lam = np.log(lam)
        mu_pred = b.mu[rows]
        a = log_lam + np.log(np.maximum(mu_pred, 1e-300))
        amax = a.max(axis=1)
        dscore = amax + np.log(np.exp(a - amax[:, None]).sum(axis=1))  # ln sum_m mu_m Lambda_m
        b.mu[rows] = imm.update_mode_probs(mu_pred, log_lam)  # mu_m ∝ Lambda_m mu_m
        b.x[rows] = x
        b.P[rows] = kalman.symmetrize(P)  # P = (P + P') / 2
        return rows, np.asarray(dscore, dtype=float)


def _mode_updates(b: TrackBank, rows: I64, dets: I64, look: Look) -> tuple[F64, F64, F64]:
    """The EKF update of track rows ``rows`` with detections ``dets``, every mode of each
    (``K * M`` filters in one pass): ``ln N(y; 0, S)`` per (pair, mode) as (K, M), and the
    updated means (K * M, 6) and covariances (K * M, 6, 6). The bank is not written."""
    sm = look.sm
    K, M = rows.shape[0], b.M
    X = b.x[rows].reshape(K * M, 6)
    P = b.P[rows].reshape(K * M, 6, 6)
    Zr = np.repeat(look.Z[dets], M, axis=0)
    Rr = noise_rows(look.R, dets, M)
    h, H = predict_measurement(sm.kind, X, sm.spec.position_enu)  # h(x), H = dh/dx
    y = innovation(sm.kind, Zr, h)  # y = z - h(x)
    S = kalman.innovation_cov(P, H, Rr)  # S = H P H' + R
    _, ll, S_inv = kalman.gate_scores(y, S)  # ln N(y; 0, S)
    X, P = kalman.update(X, P, y, H, Rr, S_inv=S_inv)  # x + K y, P = (I-KH)P(I-KH)' + KRK'
    return ll.reshape(K, M), X, P

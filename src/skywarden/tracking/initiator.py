"""The initiator role: new tracks from the detections no track claimed.

- Positions (plots, radar, cooperative reports): a free plot waits as a pending plot
  (``tracking.pending``); a free plot of a later scan in its gate makes the pair a tentative
  track (two-point initiation, ``promote``), updated with its second plot in the same
  filter pass as the assigned tracks. Cooperative reports start a track at once (confirmed,
  unless the decoder found them inconsistent). With ``pending_plots`` off every free plot is
  a one-plot tentative track.
- Bearings: crossings of two sensors' bearings (``tracking.bearing_initiator``).

Initial track score: ``L0 = ln(beta_NT / beta_FA)`` (Blackman & Popoli 1999, §6.2), see
``TrackerConfig.births_per_scan``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from skywarden.core.counters import Counters
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking import imm, kalman
from skywarden.tracking.association import Assigner, OptimalAssigner
from skywarden.tracking.bank import CONFIRMED, NewTracks, TrackBank
from skywarden.tracking.bearing_initiator import BearingCrossings, CrossingConfig
from skywarden.tracking.cooperative import inconsistent
from skywarden.tracking.gating import chi2_gate, spatial_candidates
from skywarden.tracking.hypothesiser import pair_scores
from skywarden.tracking.initiation import init_from_measurements
from skywarden.tracking.management import ManagementConfig
from skywarden.tracking.motion import MotionModel
from skywarden.tracking.pending import PendingPlots
from skywarden.tracking.report import (
    Look,
    det_spread,
    fixed_spreads,
    inside_coverage,
    noise_rows,
    unique_rows,
)
from skywarden.tracking.sensor_model import SensorModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class Promoted(NamedTuple):
    """Tracks just made from pending plots, not yet updated with their second plot."""

    rows: I64  # their bank rows
    dets: I64  # the second plots: detection indices of this report
    first: list[Detection]  # the first plots (the classifier's evidence)
    pending_rows: I64  # the first plots' rows in the pending plots, dropped after this report


NO_PROMOTION = Promoted(
    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
)


@dataclass(frozen=True)
class InitiatorConfig:
    """The settings of initiation (from ``TrackerConfig``)."""

    models: tuple[MotionModel, ...]
    p_stay: float | tuple[float, ...]
    p_gate: float
    sigma_v_init: float
    sigma_vz_init: float
    births_per_scan: float
    pending_plots: bool
    management: ManagementConfig
    crossings: CrossingConfig


class Initiator(Protocol):
    """Makes tracks of free detections."""

    def promote(self, bank: TrackBank, look: Look, free: NDArray[np.bool_]) -> Promoted:
        """Free detections that confirm a pending candidate: new bank rows, to be updated."""
        ...

    def promoted(self, bank: TrackBank, look: Look, promoted: Promoted, hit_ll: F64) -> None:
        """Score the promoted tracks once their second detection updated them."""
        ...

    def age(self, look: Look, promoted: Promoted) -> None:
        """One report of the sensor went by: its waiting candidates missed or expired."""
        ...

    def remember(self, bank: TrackBank, look: Look, ta: I64, da: I64) -> None:
        """Detections ``da`` fully updated tracks ``ta`` (hard pairs; bearings among them are
        kept as partners for crossings far from their tracks)."""
        ...

    def initiate(self, bank: TrackBank, look: Look, free: NDArray[np.bool_]) -> None:
        """Start tracks (or candidates) from the free detections."""
        ...


class TwoPointInitiator:
    """Pending plots, cooperative starts and bearing crossings."""

    def __init__(
        self, cfg: InitiatorConfig, sensors: dict[str, SensorModel], counters: Counters
    ) -> None:
        self.cfg = cfg
        self.counters = counters
        self.assigner: Assigner = OptimalAssigner()
        self.pending: dict[str, PendingPlots] = {}
        self.crossings = BearingCrossings(cfg.crossings, sensors, counters)
        self._det_sd_fixed = fixed_spreads(sensors)
        # the largest position variance any motion model adds in 1 s (per axis, x dt^3 after)
        self._q_pos_rate = max(float(m.Q(np.ones(1))[0, 0, 0]) for m in cfg.models)

    def promote(self, bank: TrackBank, look: Look, free: NDArray[np.bool_]) -> Promoted:
        """Pair this report's free plots with the sensor's pending plots: each pair becomes a
        tentative track, predicted to ``t``; the tracker updates it with its second plot in
        the same pass as the assigned tracks, then calls ``promoted``."""
        sm, t = look.sm, look.t
        if not (look.dets and sm.spatial_dims and self.cfg.pending_plots):
            return NO_PROMOTION
        pend = self.pending.get(sm.spec.id)
        fidx = np.flatnonzero(free)
        if pend is None or pend.n == 0 or fidx.shape[0] == 0:
            return NO_PROMOTION
        # coarse: a bound on each plot's predicted spread from its initial covariance alone
        # (position, plus velocity times the elapsed time), no filter work for the thousands
        # of clutter plots that nothing will ever pair with
        k = sm.spatial_dims
        dt = t - pend.t
        var_pos = kalman.block_trace(pend.P, 0, k)
        var_vel = kalman.block_trace(pend.P, 3, k)
        q_bound = self._q_pos_rate * dt**3 * k
        sd = np.sqrt(var_pos + dt**2 * var_vel + q_bound)  # sd^2 >= tr(P_pos + dt^2 P_vel + Q)
        fpos = look.det_pos[fidx]
        g = math.sqrt(chi2_gate(sm.kind.dim, self.cfg.p_gate))
        radius = g * (sd + det_spread(sm, fpos, self._det_sd_fixed)) + 1.0
        pi, fj = spatial_candidates(pend.x[:, :k], radius, fpos)
        if pi.shape[0] == 0:
            return NO_PROMOTION
        # fine: the IMM prediction of the candidate plots only, and the chi-square gate
        cand, inv = unique_rows(pi, pend.n)
        xs, Ps, mus = imm.predict_unmixed(
            pend.x[cand], pend.P[cand], bank.mu0, dt[cand], self.cfg.models, self.cfg.p_stay
        )
        xc, Pc = imm.combine(xs, Ps, mus)  # x = sum_m mu_m x_m, P with the spread term
        dj = fidx[fj]
        Rp = noise_rows(look.R, dj)
        d2, ll = pair_scores(sm.kind, inv, look.Z[dj], Rp, sm.spec.position_enu, xc, Pc)
        ok = d2 < chi2_gate(sm.kind.dim, self.cfg.p_gate)
        pi, dj, ll = pi[ok], dj[ok], ll[ok]
        if pi.shape[0] == 0:
            return NO_PROMOTION
        llr = math.log(sm.pd) + ll - look.loglam[dj]  # ln Pd + ln N(y; 0, S) - ln lambda
        cost = -(llr - math.log(max(1.0 - sm.pd, 1e-6)))
        pa, da = self.assigner.associate(pi, dj, cost, pend.n, len(look.dets))
        if pa.shape[0] == 0:
            return NO_PROMOTION
        first = [pend.dets[i] for i in pa.tolist()]
        t0, score, score0 = pend.peek(pa)  # dropped from the pending plots in age()
        n0 = bank.n
        at = np.searchsorted(cand, pa)  # their states already predicted to t for the gate
        bank.add(
            NewTracks(
                xs[at],
                Ps[at],
                t0,
                score,
                [None] * pa.shape[0],
                [sm.spec.id] * pa.shape[0],
                score0=score0,
                mu=mus[at],
                t_state=np.full(pa.shape[0], t),
            )
        )
        return Promoted(np.arange(n0, bank.n, dtype=np.int64), da, first, pa)

    def promoted(self, bank: TrackBank, look: Look, promoted: Promoted, hit_ll: F64) -> None:
        sm = look.sm
        # the second plot's score increment: ln Pd + ln N(y; 0, S) - ln lambda
        bank.score[promoted.rows] += math.log(sm.pd) + hit_ll - look.loglam[promoted.dets]
        self.counters.inc("initiated.from_pending", int(promoted.rows.shape[0]))

    def age(self, look: Look, promoted: Promoted) -> None:
        sm = look.sm
        if not (sm.spatial_dims and self.cfg.pending_plots and sm.spec.id in self.pending):
            return
        log_miss = math.log(max(1.0 - sm.pd, 1e-6))  # ln(1 - Pd)
        mcfg = self.cfg.management
        pend = self.pending[sm.spec.id]
        counts = sm.expects_all and look.complete
        pend.age(
            look.t,
            np.where(inside_coverage(sm, pend.x[:, :3]), log_miss, 0.0) if counts else None,
            mcfg.drop_tentative_score,
            mcfg.tentative_max_gap_s,
            taken=promoted.pending_rows,
        )

    def remember(self, bank: TrackBank, look: Look, ta: I64, da: I64) -> None:
        if not look.sm.kind.fixes_position:  # partners for crossings with other bearings
            self.crossings.remember(look.t, look.sm, bank, look.dets, ta, da)

    def initiate(self, bank: TrackBank, look: Look, free: NDArray[np.bool_]) -> None:
        sm, t, dets = look.sm, look.t, look.dets
        idx = np.flatnonzero(free)
        if idx.shape[0] == 0:
            self.crossings.initiate(bank, t, sm, [])
            return
        if not sm.kind.fixes_position:
            self.crossings.initiate(bank, t, sm, [dets[i] for i in idx])
            return
        R = dets[idx[0]].R
        x, P = init_from_measurements(
            sm.kind, look.Z[idx], R, sm.spec.position_enu, self.cfg.sigma_v_init,
            self.cfg.sigma_vz_init,
        )  # fmt: skip
        cooperative = sm.kind is MeasurementKind.POSITION_ID
        # L0 = ln(births / clutter), the clutter where each report is (the map's local ratio)
        score = self._initial_score(look) - (look.loglam[idx] - sm.log_lambda)
        score = np.minimum(score, 0.0) if look.past_startup else np.zeros(idx.shape[0])
        if cooperative:  # identity, not clutter; unless inconsistent (a possible spoof)
            flagged = np.array([inconsistent(dets[i]) for i in idx], dtype=bool)
            score[:] = np.where(flagged, 0.0, self.cfg.management.confirm_score)
        elif self.cfg.pending_plots:
            pend = self.pending.setdefault(sm.spec.id, PendingPlots())
            pend.add(x, P, t, score, [dets[i] for i in idx])
            return
        ident = [dets[i].identity for i in idx]
        bank.add(
            NewTracks(x, P, np.full(idx.shape[0], t), score, ident, [sm.spec.id] * idx.shape[0])
        )
        if cooperative:
            new = np.arange(bank.n - idx.shape[0], bank.n)
            bank.status[new[~flagged]] = CONFIRMED

    def _initial_score(self, look: Look) -> float:
        """L0 of a track started by this sensor now (see ``TrackerConfig.births_per_scan``)."""
        spec = look.sm.spec
        if not look.past_startup:
            return 0.0
        if spec.clutter_per_scan <= 0.0:
            return 0.0
        return min(0.0, math.log(self.cfg.births_per_scan / spec.clutter_per_scan))

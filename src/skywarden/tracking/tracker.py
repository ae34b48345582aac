"""The multi-sensor multi-target tracker: the roles composed, one sensor report at a time.

``Tracker.process(t, sensor_id, detections)`` runs, for one sensor report in time order:

1. predict every track to ``t`` (IMM: mix, mode-matched predict);        ``imm``
2. find candidate pairs (identity, k-d tree or all pairs for bearings);   ``gating``
3. score them: innovation, ``S``, ``d^2``, log-likelihood ratio;          ``measurement``
4. assign detections to tracks (GNN per cluster);                        ``association``
5. update assigned tracks, mode by mode (EKF, Joseph form);              ``kalman``, ``imm``
6. start tentative tracks from what is left, and from crossing bearings; ``initiation``
7. score-based lifecycle: confirm, coast, delete.                        ``management``

Reports must come in time order (a ``ReorderBuffer`` upstream holds late ones for a window);
a report older than the tracker's time is rejected and counted, never applied out of order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from skywarden.core.counters import Counters
from skywarden.core.observation import (
    Detection,
    MeasurementKind,
    StackedDetections,
    positions_enu,
)
from skywarden.core.site import SensorSpec
from skywarden.core.track import TrackState
from skywarden.tracking import imm, kalman
from skywarden.tracking.association import Associator, GNNAssociator, jpda_marginals
from skywarden.tracking.bank import (
    CONFIRMED,
    STATUS_CODES,
    TENTATIVE,
    NewTracks,
    TrackBank,
)
from skywarden.tracking.clutter_map import ClutterMap, ClutterMapConfig
from skywarden.tracking.cooperative import inconsistent, one_per_identity, withhold_credit
from skywarden.tracking.gating import all_pairs, chi2_gate, spatial_candidates
from skywarden.tracking.initiation import init_from_measurements, triangulate
from skywarden.tracking.management import ManagementConfig, manage
from skywarden.tracking.measurement import innovation, predict_measurement
from skywarden.tracking.merge import DuplicateResolver, MergeConfig
from skywarden.tracking.motion import ConstantVelocity, CoordinatedTurn, MotionModel, NearHover
from skywarden.tracking.pending import PendingPlots
from skywarden.tracking.sensor_model import SensorModel, sensor_model

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def default_models() -> tuple[MotionModel, ...]:
    """Quiet cruise plus manoeuvre: the 2-mode IMM measured best on the benchmark families.

    q = 0.1 m^2/s^3 is a velocity wander of 0.3 m/s per second (a drone or aircraft holding
    course); q = 8 covers a bird's or a jinking drone's ~3 m/s per second.
    """
    return (
        ConstantVelocity(q_h=0.1, q_v=0.1, name="cv"),
        ConstantVelocity(q_h=8.0, q_v=1.0, name="manoeuvre"),
    )


def full_models() -> tuple[MotionModel, ...]:
    """CV, coordinated turns both ways and near-hover (small multirotors stop and hover)."""
    return (
        ConstantVelocity(q_h=0.1, q_v=0.1, name="cv"),
        ConstantVelocity(q_h=8.0, q_v=1.0, name="manoeuvre"),
        CoordinatedTurn(omega=0.2, q_h=0.5, q_v=0.2, name="ct_left"),
        CoordinatedTurn(omega=-0.2, q_h=0.5, q_v=0.2, name="ct_right"),
        NearHover(tau=1.5, sigma_v=0.7, q_pos=0.3, name="hover"),
    )


FULL_MU0 = (0.6, 0.1, 0.1, 0.1, 0.1)


@dataclass(frozen=True)
class TrackerConfig:
    """Motion models, gates, initiation and association settings of the tracker."""

    models: tuple[MotionModel, ...] = field(default_factory=default_models)
    mu0: tuple[float, ...] = (0.8, 0.2)
    p_stay: float | tuple[float, ...] = 0.995  # per second, one value or one per mode
    p_gate: float = 0.9995
    sigma_v_init: float = 10.0  # m/s, unknown velocity of a new track (per horizontal axis)
    sigma_vz_init: float = 3.0
    management: ManagementConfig = field(default_factory=ManagementConfig)
    el_span_rad: float = 0.6
    radial_span_mps: float = 100.0
    bearing_pair_window_s: float = 1.0
    # the initial track score (Blackman & Popoli 1999, §6.2: L0 = ln(beta_NT / beta_FA), new
    # target over false-report density). In a sensor's first ``startup_scans`` update periods
    # every object in view is "new", as dense as its detections: L0 = 0. After that new objects
    # are births, about ``births_per_scan`` per scan against the sensor's ``clutter_per_scan``
    # false reports: L0 = ln(births / clutter) (0 for a sensor without clutter).
    births_per_scan: float = 0.5
    startup_scans: float = 2.5
    default_altitude_m: float = 60.0  # prior for tracks started from horizontal bearings
    default_altitude_sigma_m: float = 60.0
    time_tolerance_s: float = 1e-6
    association: str = "gnn"  # "gnn" (hard, optimal assignment) or "jpda" (soft, dense clutter)
    pending_plots: bool = True  # two-point initiation outside the bank (see tracking.pending)
    # the detection probability the tracker assumes where the data sheet gives one per class:
    # "min" (the hardest class, small drones: a miss then costs a drone track least, which is
    # what an early-warning tracker wants near the edge of coverage) or "mean"
    pd_rule: str = "min"
    min_drone_prior: float = 0.02  # floor of the drone prior in RF/acoustic association
    clutter_map: ClutterMapConfig = field(default_factory=ClutterMapConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)

    def __post_init__(self) -> None:
        if self.association not in ("gnn", "jpda"):
            raise ValueError(f"association must be 'gnn' or 'jpda', not {self.association!r}")


def _inside_coverage(sm: SensorModel, pos: F64) -> NDArray[np.bool_]:
    """Which positions (N, 3) the sensor covers (its range and area): where a miss counts."""
    inside = np.ones(pos.shape[0], dtype=bool)
    s = sm.spec.position_enu
    if sm.spec.max_range_m:
        inside &= np.linalg.norm(pos - s[None], axis=1) <= sm.spec.max_range_m
    if sm.spec.area_m:
        box = np.asarray(sm.spec.area_m[:2], dtype=float)  # ((x0, x1), (y0, y1))
        k = box.shape[0]
        inside &= ((pos[:, :k] >= box[:, 0]) & (pos[:, :k] <= box[:, 1])).all(axis=1)
    return inside


def _noise_rows(R: F64, idx: I64, repeat: int = 1) -> F64:
    """The noise covariances of detections ``idx``, each ``repeat`` times (once per mode):
    the report's one shared (m, m) matrix as it is (it broadcasts), else their rows."""
    if R.ndim == 2:
        return R
    return np.repeat(R[idx], repeat, axis=0) if repeat > 1 else R[idx]


def _unique_rows(rows: I64, n: int) -> tuple[I64, I64]:
    """``np.unique(rows, return_inverse=True)`` for row indices below ``n``, by marking: no
    sort (a few microseconds less per call on the few dozen rows of a scan's candidates)."""
    mark = np.zeros(n, dtype=bool)
    mark[rows] = True
    inv: I64 = (np.cumsum(mark) - 1)[rows]
    return mark.nonzero()[0], inv


def _det_positions(sm: SensorModel, Z: F64, SP: F64) -> F64:
    """Each report's position (K, spatial dims) for a spatial sensor; (K, 0) for bearings."""
    k = sm.spatial_dims
    if not k:
        return Z[:, :0]
    if sm.kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        return positions_enu(sm.kind, Z, SP)[:, :k]
    return Z[:, :k]  # plots and positions: the measurement is the position


def _position_spread(sm: SensorModel, max_range_m: float) -> float:
    """Square root of the trace of a detection's position covariance (m); for a polar radar,
    at ``max_range_m``, where the angles' share of it is largest."""
    sig = sm.spec.sigma
    if sm.kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        r = max_range_m
        return math.sqrt(sig["range_m"] ** 2 + (r * sig["az_rad"]) ** 2 + (r * sig["el_rad"]) ** 2)
    return math.sqrt(float(np.trace(sm.spec.R()[:3, :3])))


class _Report(NamedTuple):
    """One report's valid detections and their arrays."""

    dets: list[Detection]
    Z: F64  # (K, dim)
    R: F64  # (dim, dim) when every detection shares it, else (K, dim, dim): see _noise_rows
    SP: F64  # (3,) sensor position when shared, else (K, 3)
    cooperative: bool  # some detection carries an identity or a transmitter key


class _Promoted(NamedTuple):
    """Tracks just made from pending plots, not yet updated with their second plot."""

    rows: I64  # their bank rows
    dets: I64  # the second plots: detection indices of this report
    first: list[Detection]  # the first plots (the classifier's evidence)
    pending_rows: I64  # the first plots' rows in the pending plots, dropped after this report


_NO_PROMOTION = _Promoted(
    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
)


@dataclass
class _Bearing:
    """A recent bearing kept as a partner for crossings with other sensors' bearings."""

    t: float
    sensor: SensorModel
    det: Detection
    track_uid: int | None = None  # the track this bearing updated, if any


class Tracker:
    """Multi-sensor IMM tracker over a :class:`TrackBank`."""

    def __init__(
        self,
        sensors: Sequence[SensorSpec],
        config: TrackerConfig | None = None,
        associator: Associator | None = None,
    ) -> None:
        self.cfg = config or TrackerConfig()
        if len(self.cfg.mu0) != len(self.cfg.models):
            raise ValueError("mu0 needs one probability per motion model")
        self.models = self.cfg.models
        self.sensors = {
            s.id: sensor_model(
                s, self.cfg.el_span_rad, self.cfg.radial_span_mps, pd_rule=self.cfg.pd_rule
            )
            for s in sensors
        }
        self.associator = associator or GNNAssociator()
        mu0 = np.asarray(self.cfg.mu0, dtype=float)
        self.bank = TrackBank(len(self.models), mu0 / mu0.sum())
        self.time = -math.inf
        self.counters = Counters()
        self._bearings: list[_Bearing] = []
        self._first_scan: dict[str, float] = {}
        self._clutter = {
            s.id: ClutterMap(sm, self.cfg.clutter_map)
            for s in sensors
            if self.cfg.clutter_map.enabled
            and (sm := self.sensors[s.id]).expects_all
            and sm.spatial_dims
        }
        self._loglam: F64 = np.zeros(0)  # ln lambda of each report of the current call
        self._merger = DuplicateResolver(self.cfg.merge)
        self._merge_t = -math.inf
        self._drone_prior: dict[int, float] = {}
        self._periods: dict[str, tuple[float, set[int]]] = {}  # object-by-object sensors
        self._alias: dict[str, int] = {}  # cooperative identity / transmitter key -> track uid
        self._pending: dict[str, PendingPlots] = {}
        # the largest position variance any motion model adds in 1 s (per axis, x dt^3 after)
        self._q_pos_rate = max(float(m.Q(np.ones(1))[0, 0, 0]) for m in self.models)
        self._ambiguity = np.zeros(0, dtype=np.int64)
        # the detection spread of each spatial sensor whose spread does not depend on the
        # report (all but a polar radar without a stated range)
        self._det_sd_fixed = {
            sid: _position_spread(sm, sm.spec.max_range_m or 0.0)
            for sid, sm in self.sensors.items()
            if sm.spatial_dims
            and (sm.kind is not MeasurementKind.RANGE_AZ_EL_RADIAL or sm.spec.max_range_m)
        }
        self._combined: tuple[F64, F64, F64] | None = None  # see _combined_estimate
        self.last_assignments: list[tuple[str, Detection, int]] = []
        """(track id, detection, candidates) of the latest ``process`` call, for the classifier.

        ``candidates`` is how many tracks the detection gated with: evidence such as an RF hit
        says something about the track only when the assignment was not a coin toss."""

    # ------------------------------------------------------------------ public

    def process(
        self,
        t: float,
        sensor_id: str,
        detections: Sequence[Detection],
        complete_scan: bool = True,
        stacked: StackedDetections | None = None,
    ) -> None:
        """Use one sensor report (possibly empty: the sensor looked and saw nothing).

        ``complete_scan``: the report holds everything the sensor saw in one look (a skybench
        line, a radar sweep), so a track in its coverage that it did not update was missed.
        Sensors that report object by object (SAPIENT DetectionReports, ASTERIX target
        reports, JSON posts) pass False: a track then counts as missed by the sensor only
        when a whole ``update_s`` period went by without a report of it.

        ``stacked``: the same detections as arrays, when the parser made them in bulk
        (``skybench``): used instead of stacking them again.
        """
        sm = self.sensors.get(sensor_id)
        if sm is None:
            self.counters.inc("rejected.unknown_sensor")
            return
        if not math.isfinite(t):
            self.counters.inc("rejected.bad_time")
            return
        if t < self.time - self.cfg.time_tolerance_s:
            self.counters.inc("rejected.time_backwards")
            return
        dets, Z, R, SP, cooperative = self._valid(detections, sm, stacked)
        self._combined = None  # the filter writes the bank's states in place below
        self._first_scan.setdefault(sensor_id, t)
        self.last_assignments = []
        self._predict(t)
        self.time = max(self.time, t)
        n = self.bank.n
        updated = np.zeros(n, dtype=bool)
        assigned_dets = np.zeros(len(dets), dtype=bool)
        blocked = np.zeros(len(dets), dtype=bool)  # inside a confirmed track's gate
        touched = np.zeros(n, dtype=bool)  # soft-updated (JPDA): its score already holds the miss
        cmap = self._clutter.get(sensor_id)
        cells = np.zeros(0, dtype=np.int64)
        self._loglam = np.full(len(dets), sm.log_lambda)
        was_established = self.bank.status != TENTATIVE
        explained = np.zeros(len(dets), dtype=bool)  # went to an established track
        ta = da = np.zeros(0, dtype=np.int64)
        score_before = (
            self.bank.score.copy() if cooperative and any(map(inconsistent, dets)) else None
        )
        if dets:
            if cmap is not None:
                cells = cmap.cells(Z, sm.spec.position_enu)
                self._loglam = self._loglam + cmap.log_ratio(cells)
            # each report's own position (spatial sensors): the gates' spatial index
            det_pos = _det_positions(sm, Z, SP)
            ti, dj, d2, ll = self._candidates(sm, Z, R, det_pos)
            gate = chi2_gate(sm.kind.dim, self.cfg.p_gate)
            ok = d2 < gate
            ti, dj, d2, ll = ti[ok], dj[ok], d2[ok], ll[ok]
            conf = self.bank.status[ti] != TENTATIVE
            blocked[dj[conf]] = True
            self._ambiguity = np.bincount(dj, minlength=len(dets))
            forced = self._identity_pairs(dets) if cooperative else {}
            llr = math.log(sm.pd) + ll - self._loglam[dj]
            miss = np.full(ti.shape[0], math.log(max(1.0 - sm.pd, 1e-6)))
            if sm.hears_drones_only and self._drone_prior:
                # P(this sensor hears track i) = Pd * P(drone_i), in the hit and the miss term
                lp = self._log_drone_prior(ti)
                llr = llr + lp
                miss = np.log(np.maximum(1.0 - sm.pd * np.exp(lp), 1e-6))
            cost = -(llr - miss)
            if self.cfg.association == "jpda":
                ta, da = self._soft_step(ti, dj, llr, forced, sm, Z, R, dets, t, updated, touched)
                assigned_dets[da] = True
                explained[da[was_established[ta]]] = True
                ta = da = np.zeros(0, dtype=np.int64)  # done: skip the hard update below
            else:
                ta, da = self._assign(ti, dj, cost, forced, len(dets))
            assigned_dets[da] = True
        promoted = _NO_PROMOTION
        if dets and sm.spatial_dims and self.cfg.pending_plots:
            promoted = self._promote_pending(t, sm, dets, Z, R, det_pos, ~assigned_dets)
        rows = promoted.rows
        if ta.shape[0] or rows.shape[0]:
            # one filter pass for the assigned tracks and the tracks just made from pending
            # plots: rows are independent, so the numbers are those of two passes
            hit = self._update(
                np.concatenate([ta, rows]), np.concatenate([da, promoted.dets]), sm, Z, R
            )
        if ta.shape[0]:
            dscore = math.log(sm.pd) + hit[: ta.shape[0]] - self._loglam[da]
            if not sm.spatial_dims:  # a bearing cannot confirm a track a radar started
                dscore = np.where(self.bank.pos_hits[ta] > 0, np.minimum(dscore, 0.0), dscore)
            self.bank.score[ta] += dscore
            updated[ta] = True
            explained[da[was_established[ta]]] = True
            self._after_update(ta, da, dets, sm, t)
            if not sm.kind.fixes_position:  # partners for crossings with other bearings
                self._bearings.extend(
                    _Bearing(t, sm, dets[j], int(self.bank.uid[i]))
                    for i, j in zip(ta.tolist(), da.tolist(), strict=True)
                )
        if rows.shape[0]:
            self._finish_promoted(promoted, hit[ta.shape[0] :], dets, sm, t)
            grow = np.zeros(self.bank.n - updated.shape[0], dtype=bool)
            updated = np.concatenate([updated, grow])
            touched = np.concatenate([touched, grow])
            updated[rows] = True
            assigned_dets[promoted.dets] = True
        if sm.spatial_dims and self.cfg.pending_plots and sm.spec.id in self._pending:
            log_miss = math.log(max(1.0 - sm.pd, 1e-6))
            mcfg = self.cfg.management
            pend = self._pending[sm.spec.id]
            counts = sm.expects_all and complete_scan
            pend.age(
                t,
                np.where(_inside_coverage(sm, pend.x[:, :3]), log_miss, 0.0) if counts else None,
                mcfg.drop_tentative_score,
                mcfg.tentative_max_gap_s,
                taken=promoted.pending_rows,
            )
        by_period = not complete_scan
        missed = self._period_misses(sm, updated, t) if by_period else self._misses(sm, updated)
        self.bank.score[missed & ~touched] += math.log(max(1.0 - sm.pd, 1e-6))
        if score_before is not None:  # inconsistent cooperative reports never confirm a track
            withhold_credit(self.bank.score, score_before, self.bank.uid, self.last_assignments)
        keep = manage(
            self.bank.status,
            self.bank.score,
            self.bank.score_max,
            self.bank.t_update,
            updated,
            missed,
            t,
            self.cfg.management,
            self.bank.score0,
        )
        if cmap is not None and self._past_startup(t, sm):
            # (in the start-up scans every report may be an object already in view, so
            # unexplained reports are not yet evidence of clutter)
            cmap.observe(cells[~explained])
        self.bank.keep(keep)
        if len(self._alias) > 2 * self.bank.n + 256:  # forget the names of deleted tracks
            alive = set(self.bank.uid.tolist())
            self._alias = {k: u for k, u in self._alias.items() if u in alive}
        self._merge_duplicates()
        self._initiate(t, sm, dets, Z, ~assigned_dets & ~blocked)
        self.counters.inc("accepted.reports")
        self.counters.inc("accepted.detections", len(dets))

    def tracks(self, confirmed_only: bool = False) -> list[TrackState]:
        """The current tracks as immutable values (combined IMM estimate).

        Built once per frame for every confirmed track, so per track it only indexes Python
        lists (every bank column, the object columns too, converted once) and fills each
        state's fields in one go (``TrackState.of``); ``x`` and ``P`` are copies of their
        rows, so a state kept for long (the launch estimator keeps early ones) holds its own
        6 + 36 numbers, not the whole frame's arrays."""
        b = self.bank
        if b.n == 0:
            return []
        xc, Pc = self._combined_estimate()
        status, uid, tt = b.status.tolist(), b.uid.tolist(), b.t.tolist()
        hits, score, t_first, mu = (
            b.hits.tolist(),
            b.score.tolist(),
            b.t_first.tolist(),
            b.mu.tolist(),
        )
        identity, sensors = b.identity.tolist(), b.sensors.tolist()
        rows = [i for i, s in enumerate(status) if s != TENTATIVE] if confirmed_only else range(b.n)
        make = TrackState.of
        out = []
        for i in rows:
            ti = tt[i]
            out.append(
                make(
                    str(uid[i]),
                    ti,
                    xc[i].copy(),
                    Pc[i].copy(),
                    STATUS_CODES[status[i]],
                    identity[i],
                    tuple(sorted([k for k, v in sensors[i].items() if ti - v <= 10.0])),
                    hits[i],
                    score[i],
                    t_first[i],
                    tuple(mu[i]),
                )
            )
        return out

    def _combined_estimate(self) -> tuple[F64, F64]:
        """``imm.combine`` of every track, once per state of the bank: the duplicate check at
        the end of ``process`` and ``tracks`` right after it share one computation.

        Valid while ``bank.x`` is the array it was computed from: rows added or dropped
        replace that array, and the filter's in-place writes all happen in ``process``
        before the duplicate check; ``process`` forgets the cache when it starts."""
        b = self.bank
        c = self._combined
        if c is not None and c[0] is b.x:
            return c[1], c[2]
        xc, Pc = imm.combine(b.x, b.P, b.mu)
        self._combined = (b.x, xc, Pc)
        return xc, Pc

    def stats(self) -> dict[str, int]:
        return self.counters.snapshot()

    def set_drone_priors(self, p_drone: dict[str, float]) -> None:
        """Feature-aided association (Blackman & Popoli 1999, §8.1): the classifier's current
        P(drone) per track id. A report from a sensor that hears only drones (RF, acoustic) is
        then associated with a track in proportion to that probability: a bearing line that
        passes a well-tracked bird is not the bird's, so it stays free to start (or update) the
        drone's own track. Tracks not listed count as 1 (no opinion)."""
        self._drone_prior = {int(k): min(max(v, 0.0), 1.0) for k, v in p_drone.items()}

    def _log_drone_prior(self, rows: I64) -> F64:
        floor = self.cfg.min_drone_prior
        uid = self.bank.uid[rows]
        p = np.fromiter((self._drone_prior.get(int(u), 1.0) for u in uid), float, uid.shape[0])
        out: F64 = np.log(np.maximum(p, floor))
        return out

    # ------------------------------------------------------------------ steps

    def _valid(
        self, detections: Sequence[Detection], sm: SensorModel, stacked: StackedDetections | None
    ) -> _Report:
        """Drop (and count) detections of the wrong kind, non-finite or negative ranges;
        return the rest with their measurements stacked (K, dim), their noise and sensor
        positions (one matrix and one position when all share them), and whether any is
        cooperative (carries an identity or a transmitter key)."""
        kind = sm.kind
        R1: F64 | None
        SP1: F64 | None
        if stacked is not None and stacked.kind is kind and stacked.Z.shape[0] == len(detections):
            dets = list(detections)
            Z = stacked.Z
            ok = np.isfinite(Z).all(axis=1) & bool(np.isfinite(stacked.R).all())
            R1, SP1 = stacked.R, stacked.sensor_pos
        else:
            dets = [d for d in detections if d.kind is kind]
            if len(dets) < len(detections):
                self.counters.inc("rejected.kind_mismatch", len(detections) - len(dets))
            if not dets:
                return _Report(dets, np.zeros((0, kind.dim)), np.zeros((0, kind.dim, kind.dim)),
                               np.zeros((0, 3)), False)  # fmt: skip
            Z = np.stack([d.z for d in dets])
            ok = np.isfinite(Z).all(axis=1)
            Rs = {id(d.R): d.R for d in dets}
            if not all(np.isfinite(R).all() for R in Rs.values()):
                ok &= np.array([bool(np.isfinite(d.R).all()) for d in dets])
            R1 = next(iter(Rs.values())) if len(Rs) == 1 else None
            SP1 = (
                dets[0].sensor_pos
                if all(d.sensor_pos is dets[0].sensor_pos for d in dets)
                else None
            )
        self.counters.inc("rejected.not_finite", int((~ok).sum()))
        if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
            neg = ok & (Z[:, 0] <= 0)
            self.counters.inc("rejected.negative_range", int(neg.sum()))
            ok &= ~neg
        if not ok.all():
            keep: list[bool] = np.asarray(ok, dtype=bool).tolist()
            dets = [d for d, k in zip(dets, keep, strict=True) if k]
            Z = Z[ok]
        # one matrix where every detection shares the object (a sensor's data-sheet R:
        # thousands of plots per radar scan); it broadcasts wherever rows would be used
        R = R1 if R1 is not None else np.stack([d.R for d in dets])
        SP = SP1 if SP1 is not None else np.stack([d.sensor_pos for d in dets])
        cooperative = stacked is None and any(
            d.identity is not None or "transmitter" in d.attrs for d in dets
        )
        if cooperative and not (one := one_per_identity(dets)).all():
            self.counters.inc("dropped.duplicate_identity", int((~one).sum()))
            dets = [d for d, k in zip(dets, one.tolist(), strict=True) if k]
            Z = Z[one]
            R = R if R.ndim == 2 else R[one]
            SP = SP if SP.ndim == 1 else SP[one]
        return _Report(dets, Z, R, SP, cooperative)

    def _predict(self, t: float) -> None:
        b = self.bank
        if b.n == 0:
            return
        dt = t - b.t
        ahead = dt > 0
        if ahead.all():  # the usual case: every track is older than the report
            b.x, b.P, b.mu = imm.predict(b.x, b.P, b.mu, dt, self.models, self.cfg.p_stay)
            b.t[:] = t
            return
        rows = np.flatnonzero(ahead)
        if rows.shape[0] == 0:
            return
        x, P, mu = imm.predict(
            b.x[rows], b.P[rows], b.mu[rows], dt[rows], self.models, self.cfg.p_stay
        )
        b.x[rows], b.P[rows], b.mu[rows] = x, P, mu
        b.t[rows] = t

    def _pair_scores(
        self, kind: MeasurementKind, ti: I64, Zp: F64, Rp: F64, s: F64, xc: F64, Pc: F64
    ) -> tuple[F64, F64]:
        h, H = predict_measurement(kind, xc[ti], s)
        y = innovation(kind, Zp, h)
        S = kalman.innovation_cov(Pc[ti], H, Rp)
        d2, ll, _ = kalman.gate_scores(y, S)
        return d2, ll

    def _candidates(
        self, sm: SensorModel, Z: F64, R: F64, det_pos: F64
    ) -> tuple[I64, I64, F64, F64]:
        b = self.bank
        empty = (np.zeros(0, dtype=np.int64),) * 2 + (np.zeros(0),) * 2
        if b.n == 0:
            return empty
        xc, Pc = imm.combine(b.x, b.P, b.mu)
        s = sm.spec.position_enu
        if sm.spatial_dims:
            k = sm.spatial_dims
            det_sd = self._det_sd(sm, det_pos)
            trk_sd = np.sqrt(kalman.block_trace(Pc, 0, k))
            g = math.sqrt(chi2_gate(sm.kind.dim, self.cfg.p_gate))
            ti, dj = spatial_candidates(xc[:, :k], g * (trk_sd + det_sd) + 1.0, det_pos)
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
        d2, ll = self._pair_scores(sm.kind, ti, Z[dj], _noise_rows(R, dj), s, xc, Pc)
        return ti, dj, d2, ll

    def _det_sd(self, sm: SensorModel, det_pos: F64) -> float:
        """A bound on a detection's position spread (m): the gate's detection term."""
        fixed = self._det_sd_fixed.get(sm.spec.id)
        if fixed is not None:
            return fixed
        return _position_spread(sm, float(np.max(np.linalg.norm(det_pos, axis=1))))

    def _identity_pairs(self, dets: list[Detection]) -> dict[int, int]:
        """Detection index -> track row for cooperative reports whose identity a track holds
        (called for a report ``_valid`` found cooperative)."""
        out: dict[int, int] = {}
        if self.bank.n == 0:
            return out
        rows: dict[str, int] = {}
        for i, ident in enumerate(self.bank.identity):
            if ident is not None:
                rows.setdefault(ident, i)  # the oldest track of a name (a spoof's is younger)
        row_of_uid = {int(u): i for i, u in enumerate(self.bank.uid.tolist())}
        for j, d in enumerate(dets):
            if inconsistent(d):
                continue  # a possible spoof is not bound by name: it must pass the gate
            if d.identity is not None and d.identity in rows:
                out[j] = rows[d.identity]
                continue
            # the same transmitter under a new name (Remote ID: its MAC-keyed reports before
            # the Basic ID message arrived, the serial after)
            for key in (d.identity, d.attrs.get("transmitter")):
                uid = self._alias.get(str(key)) if key is not None else None
                if uid is not None and uid in row_of_uid:
                    out[j] = row_of_uid[uid]
                    break
        return out

    def _assign(
        self, ti: I64, dj: I64, cost: F64, forced: dict[int, int], n_dets: int
    ) -> tuple[I64, I64]:
        if forced:
            fd = np.fromiter(forced.keys(), dtype=np.int64)
            ft = np.fromiter(forced.values(), dtype=np.int64)
            free = ~np.isin(dj, fd) & ~np.isin(ti, ft)
            ta, da = self.associator.associate(ti[free], dj[free], cost[free], self.bank.n, n_dets)
            return np.concatenate([ft, ta]), np.concatenate([fd, da])
        return self.associator.associate(ti, dj, cost, self.bank.n, n_dets)

    def _update(self, ta: I64, da: I64, sm: SensorModel, Z: F64, R: F64) -> F64:
        """Mode-matched EKF updates of the assigned tracks; returns the combined log-likelihood."""
        b = self.bank
        M = b.M
        K = ta.shape[0]
        X = b.x[ta].reshape(K * M, 6)
        P = b.P[ta].reshape(K * M, 6, 6)
        Zr = np.repeat(Z[da], M, axis=0)
        Rr = _noise_rows(R, da, M)
        h, H = predict_measurement(sm.kind, X, sm.spec.position_enu)
        y = innovation(sm.kind, Zr, h)
        S = kalman.innovation_cov(P, H, Rr)
        _, ll, S_inv = kalman.gate_scores(y, S)
        ll = ll.reshape(K, M)
        X, P = kalman.update(X, P, y, H, Rr, S_inv=S_inv)
        # mode probabilities, and the combined likelihood of the measurement sum_j c_j Lambda_j
        b.mu[ta], ll_comb = imm.update_mode_probs_and_loglik(b.mu[ta], ll)
        b.x[ta] = X.reshape(K, M, 6)
        b.P[ta] = P.reshape(K, M, 6, 6)
        return ll_comb

    def _promote_pending(
        self,
        t: float,
        sm: SensorModel,
        dets: list[Detection],
        Z: F64,
        R: F64,
        det_pos: F64,
        free: NDArray[np.bool_],
    ) -> _Promoted:
        """Pair this report's free plots with the sensor's pending plots (``tracking.pending``):
        each pair becomes a tentative track, predicted to ``t``; ``process`` updates it with
        its second plot in the same pass as the assigned tracks, then ``_finish_promoted``."""
        pend = self._pending.get(sm.spec.id)
        fidx = np.flatnonzero(free)
        if pend is None or pend.n == 0 or fidx.shape[0] == 0:
            return _NO_PROMOTION
        # coarse: a bound on each plot's predicted spread from its initial covariance alone
        # (position, plus velocity times the elapsed time), no filter work for the thousands
        # of clutter plots that nothing will ever pair with
        k = sm.spatial_dims
        dt = t - pend.t
        var_pos = kalman.block_trace(pend.P, 0, k)
        var_vel = kalman.block_trace(pend.P, 3, k)
        q_bound = self._q_pos_rate * dt**3 * k
        sd = np.sqrt(var_pos + dt**2 * var_vel + q_bound)
        fpos = det_pos[fidx]
        g = math.sqrt(chi2_gate(sm.kind.dim, self.cfg.p_gate))
        radius = g * (sd + self._det_sd(sm, fpos)) + 1.0
        pi, fj = spatial_candidates(pend.x[:, :k], radius, fpos)
        if pi.shape[0] == 0:
            return _NO_PROMOTION
        # fine: the IMM prediction of the candidate plots only, and the chi-square gate
        cand, inv = _unique_rows(pi, pend.n)
        xs, Ps, mus = imm.predict_unmixed(
            pend.x[cand], pend.P[cand], self.bank.mu0, dt[cand], self.models, self.cfg.p_stay
        )
        xc, Pc = imm.combine(xs, Ps, mus)
        dj = fidx[fj]
        Rp = _noise_rows(R, dj)
        d2, ll = self._pair_scores(sm.kind, inv, Z[dj], Rp, sm.spec.position_enu, xc, Pc)
        ok = d2 < chi2_gate(sm.kind.dim, self.cfg.p_gate)
        pi, dj, ll = pi[ok], dj[ok], ll[ok]
        if pi.shape[0] == 0:
            return _NO_PROMOTION
        llr = math.log(sm.pd) + ll - self._loglam[dj]
        cost = -(llr - math.log(max(1.0 - sm.pd, 1e-6)))
        pa, da = self.associator.associate(pi, dj, cost, pend.n, len(dets))
        if pa.shape[0] == 0:
            return _NO_PROMOTION
        first = [pend.dets[i] for i in pa.tolist()]
        t0, score, score0 = pend.peek(pa)  # dropped from the pending plots in age()
        n0 = self.bank.n
        at = np.searchsorted(cand, pa)  # their states already predicted to t for the gate
        self.bank.add(
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
        return _Promoted(np.arange(n0, self.bank.n, dtype=np.int64), da, first, pa)

    def _finish_promoted(
        self, promoted: _Promoted, hit_ll: F64, dets: list[Detection], sm: SensorModel, t: float
    ) -> None:
        """Score, history and classifier evidence of the tracks ``_promote_pending`` made,
        once their second plot has updated them (``hit_ll``: its log-likelihood)."""
        rows, da = promoted.rows, promoted.dets
        self.bank.score[rows] += math.log(sm.pd) + hit_ll - self._loglam[da]
        for r, d in zip(rows.tolist(), promoted.first, strict=True):
            self.last_assignments.append((str(int(self.bank.uid[r])), d, 1))
        self._after_update(rows, da, dets, sm, t)
        self.counters.inc("initiated.from_pending", int(rows.shape[0]))

    def _merge_duplicates(self) -> None:
        """Established tracks that stayed one object for several scans become one
        (``merge.DuplicateResolver``): the older number survives with the better state."""
        if self.time < self._merge_t + self.cfg.merge.check_every_s:
            return
        self._merge_t = self.time
        b = self.bank
        est = np.flatnonzero(b.status != TENTATIVE)
        xc, Pc = self._combined_estimate()
        xc, Pc = xc[est], Pc[est]
        pairs = self._merger.check(b.uid[est], b.t_first[est], xc, Pc, b.identity[est])
        if not pairs:
            return
        mask = np.ones(b.n, dtype=bool)
        for ka, kd in pairs:
            a, d = int(est[ka]), int(est[kd])
            if np.trace(Pc[kd, :3, :3]) < np.trace(Pc[ka, :3, :3]):
                b.x[a], b.P[a], b.mu[a] = b.x[d], b.P[d], b.mu[d]
            if b.identity[a] is None:
                b.identity[a] = b.identity[d]
            for sid, ts in b.sensors[d].items():
                b.sensors[a][sid] = max(b.sensors[a].get(sid, ts), ts)
            b.hits[a] += b.hits[d]
            b.pos_hits[a] += b.pos_hits[d]
            b.t_update[a] = max(b.t_update[a], b.t_update[d])
            b.score[a] = max(b.score[a], b.score[d])
            b.score_max[a] = max(b.score_max[a], b.score_max[d])
            mask[d] = False
        b.keep(mask)
        self.counters.inc("merged.duplicates", len(pairs))

    def _soft_step(
        self,
        ti: I64,
        dj: I64,
        llr: F64,
        forced: dict[int, int],
        sm: SensorModel,
        Z: F64,
        R: F64,
        dets: list[Detection],
        t: float,
        updated: NDArray[np.bool_],
        touched: NDArray[np.bool_],
    ) -> tuple[I64, I64]:
        """JPDA: identity-bound pairs update hard; every other gated pair updates its track by
        its marginal probability (``_pda_update``). Returns the pairs that count as "this
        detection is that track's" (probability >= 0.5): they block initiation and feed the
        classifier, as the hard assignment does."""
        b = self.bank
        ft = fd = np.zeros(0, dtype=np.int64)
        if forced:
            fd = np.fromiter(forced.keys(), dtype=np.int64)
            ft = np.fromiter(forced.values(), dtype=np.int64)
            free = ~np.isin(dj, fd) & ~np.isin(ti, ft)
            ti, dj, llr = ti[free], dj[free], llr[free]
            hit_ll = self._update(ft, fd, sm, Z, R)
            b.score[ft] += math.log(sm.pd) + hit_ll - self._loglam[fd]
            updated[ft] = True
        # tentative tracks take detections hard (GNN) from what the established ones leave:
        # soft updates would let clutter-born tentatives share a target's plots and grow into
        # duplicates of its track
        tent = b.status[ti] == TENTATIVE
        tt, tdj, tllr = ti[tent], dj[tent], llr[tent]
        ti, dj, llr = ti[~tent], dj[~tent], llr[~tent]
        log_miss = np.full(b.n, math.log(max(1.0 - sm.pd * self.cfg.p_gate, 1e-6)))
        ti, dj, beta, beta0 = jpda_marginals(ti, dj, llr, log_miss, b.n, len(dets))
        keep = beta > 1e-4
        ti, dj, beta = ti[keep], dj[keep], beta[keep]
        claimed = np.zeros(len(dets))
        np.add.at(claimed, dj, beta)
        free = claimed[tdj] < 0.5
        cost = -(tllr[free] - math.log(max(1.0 - sm.pd, 1e-6)))
        ht, hd = self.associator.associate(tt[free], tdj[free], cost, b.n, len(dets))
        if ht.shape[0]:
            hit_ll = self._update(ht, hd, sm, Z, R)
            dsc = math.log(sm.pd) + hit_ll - self._loglam[hd]
            if not sm.spatial_dims:
                dsc = np.where(b.pos_hits[ht] > 0, np.minimum(dsc, 0.0), dsc)
            b.score[ht] += dsc
            updated[ht] = True
        ft, fd = np.concatenate([ft, ht]), np.concatenate([fd, hd])
        if ti.shape[0]:
            rows, dscore = self._pda_update(ti, dj, beta, beta0, sm, Z, R)
            if not sm.spatial_dims:  # a bearing cannot confirm a track a radar started
                dscore = np.where(b.pos_hits[rows] > 0, np.minimum(dscore, 0.0), dscore)
            b.score[rows] += dscore
            touched[rows] = True
            updated[rows[beta0[rows] < 0.5]] = True
        strong = beta >= 0.5
        ta = np.concatenate([ft, ti[strong]])
        da = np.concatenate([fd, dj[strong]])
        self._after_update(ta, da, dets, sm, t)
        return ta, da

    def _pda_update(
        self, ti: I64, dj: I64, beta: F64, beta0: F64, sm: SensorModel, Z: F64, R: F64
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
        b = self.bank
        M = b.M
        K = ti.shape[0]
        X0 = b.x[ti].reshape(K * M, 6)
        P0 = b.P[ti].reshape(K * M, 6, 6)
        h, H = predict_measurement(sm.kind, X0, sm.spec.position_enu)
        y = innovation(sm.kind, np.repeat(Z[dj], M, axis=0), h)
        Rr = _noise_rows(R, dj, M)
        S = kalman.innovation_cov(P0, H, Rr)
        _, ll, S_inv = kalman.gate_scores(y, S)
        ll = ll.reshape(K, M)
        Xj, Pj = kalman.update(X0, P0, y, H, Rr, S_inv=S_inv)
        Xj, Pj = Xj.reshape(K, M, 6), Pj.reshape(K, M, 6, 6)
        rows, inv = np.unique(ti, return_inverse=True)
        w0 = beta0[rows]  # (T,)
        x = b.x[rows] * w0[:, None, None]
        np.add.at(x, inv, Xj * beta[:, None, None])
        dx0 = b.x[rows] - x
        P = w0[:, None, None, None] * (b.P[rows] + dx0[..., :, None] * dx0[..., None, :])
        dxj = Xj - x[inv]
        np.add.at(P, inv, beta[:, None, None, None] * (Pj + dxj[..., :, None] * dxj[..., None, :]))
        # PDA mode likelihoods, in units of the miss term
        log_miss = math.log(max(1.0 - sm.pd * self.cfg.p_gate, 1e-6))
        lr = np.exp(math.log(sm.pd) + ll - self._loglam[dj][:, None])  # (K, M)
        lam = np.full((rows.shape[0], M), math.exp(log_miss))
        np.add.at(lam, inv, lr)
        log_lam = np.log(lam)
        mu_pred = b.mu[rows]
        a = log_lam + np.log(np.maximum(mu_pred, 1e-300))
        amax = a.max(axis=1)
        dscore = amax + np.log(np.exp(a - amax[:, None]).sum(axis=1))
        b.mu[rows] = imm.update_mode_probs(mu_pred, log_lam)
        b.x[rows] = x
        b.P[rows] = kalman.symmetrize(P)
        return rows, np.asarray(dscore, dtype=float)

    def _after_update(
        self, ta: I64, da: I64, dets: list[Detection], sm: SensorModel, t: float
    ) -> None:
        b = self.bank
        b.t_update[ta] = t
        b.hits[ta] += 1
        if sm.spatial_dims:
            b.pos_hits[ta] += 1
        sid = sm.spec.id
        for i, j in zip(ta.tolist(), da.tolist(), strict=True):
            b.sensors[i][sid] = t
            self.last_assignments.append((str(int(b.uid[i])), dets[j], int(self._ambiguity[j])))
            ident = dets[j].identity
            if ident is not None:
                uid = int(b.uid[i])
                tx = dets[j].attrs.get("transmitter")
                same_tx = tx is not None and self._alias.get(str(tx)) == uid
                if b.identity[i] is None or (same_tx and b.identity[i] != ident):
                    b.identity[i] = ident  # first identity, or its transmitter's newer name
                self._alias[ident] = uid
                if tx is not None:
                    self._alias[str(tx)] = uid

    def _period_misses(
        self, sm: SensorModel, updated: NDArray[np.bool_], t: float
    ) -> NDArray[np.bool_]:
        """Misses of an object-by-object sensor: at the end of each ``update_s`` period, the
        tracks in its coverage that existed all period and got no report of it in the period."""
        b = self.bank
        sid = sm.spec.id
        seen_now = set(b.uid[updated].tolist())
        period = self._periods.get(sid)
        none = np.zeros(b.n, dtype=bool)
        if period is None:
            self._periods[sid] = (t, seen_now)
            return none
        t0, seen = period
        seen |= seen_now
        if t - t0 < sm.spec.update_s * 0.999:
            return none
        self._periods[sid] = (t, set())
        not_seen = ~np.isin(b.uid, np.fromiter(seen, dtype=np.int64, count=len(seen)))
        missed: NDArray[np.bool_] = self._misses(sm, ~not_seen) & (b.t_first < t0)
        return missed

    def _misses(self, sm: SensorModel, updated: NDArray[np.bool_]) -> NDArray[np.bool_]:
        b = self.bank
        if not sm.expects_all or b.n == 0:
            return np.zeros(b.n, dtype=bool)
        return _inside_coverage(sm, b.x[:, 0, :3]) & ~updated

    def _initiate(
        self, t: float, sm: SensorModel, dets: list[Detection], Z: F64, free: NDArray[np.bool_]
    ) -> None:
        idx = np.flatnonzero(free)
        if idx.shape[0] == 0:
            self._bearing_initiation(t, sm, [])
            return
        if not sm.kind.fixes_position:
            self._bearing_initiation(t, sm, [dets[i] for i in idx])
            return
        R = dets[idx[0]].R
        x, P = init_from_measurements(
            sm.kind, Z[idx], R, sm.spec.position_enu, self.cfg.sigma_v_init, self.cfg.sigma_vz_init
        )
        cooperative = sm.kind is MeasurementKind.POSITION_ID
        # L0 = ln(births / clutter), the clutter where each report is (the map's local ratio)
        score = self._initial_score(t, sm) - (self._loglam[idx] - sm.log_lambda)
        score = np.minimum(score, 0.0) if self._past_startup(t, sm) else np.zeros(idx.shape[0])
        if cooperative:  # identity, not clutter; unless inconsistent (a possible spoof)
            flagged = np.array([inconsistent(dets[i]) for i in idx], dtype=bool)
            score[:] = np.where(flagged, 0.0, self.cfg.management.confirm_score)
        elif self.cfg.pending_plots:
            pend = self._pending.setdefault(sm.spec.id, PendingPlots())
            pend.add(x, P, t, score, [dets[i] for i in idx])
            return
        ident = [dets[i].identity for i in idx]
        self.bank.add(
            NewTracks(x, P, np.full(idx.shape[0], t), score, ident, [sm.spec.id] * idx.shape[0])
        )
        if cooperative:
            new = np.arange(self.bank.n - idx.shape[0], self.bank.n)
            self.bank.status[new[~flagged]] = CONFIRMED

    def _past_startup(self, t: float, sm: SensorModel) -> bool:
        return t - self._first_scan[sm.spec.id] > self.cfg.startup_scans * sm.spec.update_s

    def _initial_score(self, t: float, sm: SensorModel) -> float:
        """L0 of a track started by this sensor now (see ``TrackerConfig.births_per_scan``)."""
        spec = sm.spec
        if not self._past_startup(t, sm):
            return 0.0
        if spec.clutter_per_scan <= 0.0:
            return 0.0
        return min(0.0, math.log(self.cfg.births_per_scan / spec.clutter_per_scan))

    def _bearing_initiation(self, t: float, sm: SensorModel, dets: list[Detection]) -> None:
        win = self.cfg.bearing_pair_window_s
        self._bearings = [b for b in self._bearings if t - b.t <= win]
        new = []
        for d in dets:
            partner = None
            for k, other in enumerate(self._bearings):
                if other.sensor.spec.id == sm.spec.id:
                    continue
                if other.track_uid is not None and not self._crossing_far_from_track(other, d):
                    continue  # the two bearings agree with the track the first one updated
                res = triangulate(
                    other.sensor.spec.position_enu,
                    float(other.det.z[0]),
                    math.sqrt(other.det.R[0, 0]),
                    sm.spec.position_enu,
                    float(d.z[0]),
                    math.sqrt(d.R[0, 0]),
                )
                if res is not None:
                    partner = (k, res)
                    break
            if partner is None:
                new.append(_Bearing(t, sm, d))
                continue
            k, (p_en, P_en) = partner
            if self._bearings[k].track_uid is None:
                self._bearings.pop(k)
            self._start_from_crossing(t, sm, d, p_en, P_en)
        self._bearings.extend(new)

    def _crossing_far_from_track(self, other: _Bearing, d: Detection) -> bool:
        """Whether bearing ``d`` and ``other`` (which updated a track) cross far from that
        track: then they are two objects' bearings and the crossing may be a new emitter."""
        res = triangulate(
            other.sensor.spec.position_enu,
            float(other.det.z[0]),
            math.sqrt(other.det.R[0, 0]),
            self.sensors[d.sensor_id].spec.position_enu,
            float(d.z[0]),
            math.sqrt(d.R[0, 0]),
        )
        rows = np.flatnonzero(self.bank.uid == other.track_uid)
        if res is None or rows.shape[0] == 0:
            return res is not None
        p_en, P_en = res
        i = int(rows[0])
        xc, Pc = imm.combine(
            self.bank.x[i : i + 1], self.bank.P[i : i + 1], self.bank.mu[i : i + 1]
        )
        dist = float(np.hypot(*(xc[0, :2] - p_en)))
        sd = math.sqrt(float(np.trace(P_en)) + float(np.trace(Pc[0, :2, :2])))
        return dist > max(300.0, 4.0 * sd)

    def _start_from_crossing(
        self, t: float, sm: SensorModel, d: Detection, p_en: F64, P_en: F64
    ) -> None:
        cfg = self.cfg
        x = np.zeros((1, 6))
        P = np.zeros((1, 6, 6))
        x[0, :2] = p_en
        P[0, :2, :2] = P_en
        x[0, 2] = cfg.default_altitude_m
        P[0, 2, 2] = cfg.default_altitude_sigma_m**2
        if d.kind is MeasurementKind.AZ_EL:
            s = sm.spec.position_enu
            rng = float(np.hypot(*(p_en - s[:2])))
            x[0, 2] = s[2] + rng * math.tan(float(d.z[1]))
            P[0, 2, 2] = (rng * math.sqrt(d.R[1, 1])) ** 2 + 25.0
        P[0, 3, 3] = P[0, 4, 4] = cfg.sigma_v_init**2
        P[0, 5, 5] = cfg.sigma_vz_init**2
        self.bank.add(
            NewTracks(x, P, np.array([t]), np.zeros(1), [None], [sm.spec.id], from_position=False)
        )
        self.counters.inc("initiated.from_bearings")

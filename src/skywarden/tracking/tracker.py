"""The multi-sensor multi-target tracker: the roles composed, one sensor report at a time.

As Stone Soup's ``MultiTargetTracker`` composes its components, ``Tracker.process(t,
sensor_id, detections)`` runs five roles, each a small protocol with its implementation in
its own module, for one sensor report in time order:

1. ``report.validate``: drop and count malformed detections; stack the rest;
2. updater (``updater.IMMUpdater``): predict every track to ``t`` (IMM mix and predict);
3. hypothesiser (``hypothesiser.GatingHypothesiser``): gated candidate pairs and their
   likelihood ratios, identity-bound pairs of cooperative reports;
4. associator (``associator.GNN`` or ``associator.JPDA``): hard and soft pairs;
5. updater: EKF updates (hard pairs, and the initiator's new tracks with their second plot
   in the same pass), PDA updates (soft pairs);
6. deleter (``deleter.ScoreDeleter``): misses, confirm, coast, delete; duplicates merged;
7. initiator (``initiator.TwoPointInitiator``): pending plots, cooperative starts, crossings.

It returns a ``TrackerResult`` (``tracking.result``): the assignments and the tracks born,
confirmed and deleted, which the pipeline hands to the later stages.

Reports must come in time order (a ``ReorderBuffer`` upstream holds late ones for a window);
a report older than the tracker's time is rejected and counted, never applied out of order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skywarden.core.counters import Counters
from skywarden.core.observation import Detection, StackedDetections
from skywarden.core.site import SensorSpec
from skywarden.core.track import TrackState
from skywarden.tracking import imm
from skywarden.tracking.associator import Association, Associator, make_associator
from skywarden.tracking.bank import CONFIRMED, TENTATIVE, TrackBank, states
from skywarden.tracking.bearing_initiator import CrossingConfig
from skywarden.tracking.clutter_map import ClutterMap, ClutterMapConfig
from skywarden.tracking.cooperative import Identities, inconsistent, withhold_credit
from skywarden.tracking.deleter import Deleter, ScoreDeleter, merge_duplicates
from skywarden.tracking.hypothesiser import GatingHypothesiser, Hypotheses, Hypothesiser
from skywarden.tracking.initiator import Initiator, InitiatorConfig, Promoted, TwoPointInitiator
from skywarden.tracking.management import ManagementConfig, manage, young_coast_limit
from skywarden.tracking.merge import DuplicateResolver, MergeConfig
from skywarden.tracking.motion import MotionModel, default_models
from skywarden.tracking.report import Look, det_positions, inside_coverage, validate
from skywarden.tracking.result import Assignment, TrackerResult
from skywarden.tracking.sensor_model import sensor_model
from skywarden.tracking.updater import IMMUpdater, Updater

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Mask = NDArray[np.bool_]
_NONE = np.zeros(0, dtype=np.int64)


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


class Tracker:
    """Multi-sensor IMM tracker over a :class:`TrackBank`, composed of five roles.

    Any role may be passed in (an object following its protocol); by default they are
    built from ``config``. The roles hold their own state (pending plots, recent bearings,
    misses per period); the bank, the counters and the identity book are shared."""

    def __init__(
        self,
        sensors: Sequence[SensorSpec],
        config: TrackerConfig | None = None,
        associator: Associator | None = None,
        *,
        hypothesiser: Hypothesiser | None = None,
        updater: Updater | None = None,
        initiator: Initiator | None = None,
        deleter: Deleter | None = None,
    ) -> None:
        cfg = self.cfg = config or TrackerConfig()
        if len(cfg.mu0) != len(cfg.models):
            raise ValueError("mu0 needs one probability per motion model")
        self.models = cfg.models
        self.sensors = {
            s.id: sensor_model(s, cfg.el_span_rad, cfg.radial_span_mps, pd_rule=cfg.pd_rule)
            for s in sensors
        }
        mu0 = np.asarray(cfg.mu0, dtype=float)
        self.bank = TrackBank(len(self.models), mu0 / mu0.sum())
        self.time = -math.inf
        self.counters = Counters()
        self.identities = Identities()
        self.hypothesiser = hypothesiser or GatingHypothesiser(
            self.sensors, self.identities, cfg.p_gate, cfg.min_drone_prior
        )
        self.associator = associator or make_associator(cfg.association, cfg.p_gate)
        self.updater = updater or IMMUpdater(cfg.models, cfg.p_stay)
        crossings = CrossingConfig(
            cfg.bearing_pair_window_s,
            cfg.default_altitude_m,
            cfg.default_altitude_sigma_m,
            cfg.sigma_v_init,
            cfg.sigma_vz_init,
        )
        self.initiator = initiator or TwoPointInitiator(
            InitiatorConfig(
                cfg.models, cfg.p_stay, cfg.p_gate, cfg.sigma_v_init, cfg.sigma_vz_init,
                cfg.births_per_scan, cfg.pending_plots, cfg.management, crossings,
            ),
            self.sensors,
            self.counters,
        )  # fmt: skip
        self.deleter = deleter or ScoreDeleter(cfg.management)
        self._first_scan: dict[str, float] = {}
        self._last_scan: dict[str, float] = {}  # each sensor's latest report (radar alive?)
        # the sensors that locate every object in their declared coverage: a radar (see
        # _radar_covered)
        self._locators = [sm for sm in self.sensors.values() if sm.expects_all and sm.spatial_dims]
        self._clutter = {
            s.id: ClutterMap(sm, cfg.clutter_map)
            for s in sensors
            if cfg.clutter_map.enabled
            and (sm := self.sensors[s.id]).expects_all
            and sm.spatial_dims
        }
        self._merger = DuplicateResolver(cfg.merge)
        self._merge_t = -math.inf
        self._combined: tuple[F64, F64, F64] | None = None  # see _combined_estimate

    # ------------------------------------------------------------------ public

    def process(
        self,
        t: float,
        sensor_id: str,
        detections: Sequence[Detection],
        complete_scan: bool = True,
        stacked: StackedDetections | None = None,
    ) -> TrackerResult:
        """Use one sensor report (possibly empty: the sensor looked and saw nothing).

        ``complete_scan``: the report holds everything the sensor saw in one look (a skybench
        line, a radar sweep), so a track in its coverage that it did not update was missed.
        Sensors that report object by object (SAPIENT DetectionReports, ASTERIX target
        reports, JSON posts) pass False: a track then counts as missed by the sensor only
        when a whole ``update_s`` period went by without a report of it.

        ``stacked``: the same detections as arrays, when the parser made them in bulk
        (``skybench``): used instead of stacking them again.
        """
        refused = self._refusal(t, sensor_id)
        if refused:
            self.counters.inc(refused)
            return TrackerResult(t, sensor_id, accepted=False)
        b = self.bank
        look = self._look(t, sensor_id, detections, stacked, complete_scan)
        uid0, n_dets = b.next_uid, len(look.dets)
        withhold = look.cooperative and any(map(inconsistent, look.dets))
        score_before = b.score.copy() if withhold else None
        hyp = self.hypothesiser.hypothesise(b, look) if n_dets else _no_hypotheses(n_dets)
        asg = self.associator.associate(hyp, b, look) if n_dets else _NO_ASSOCIATION
        claimed = np.zeros(n_dets, dtype=bool)
        claimed[asg.claim_d] = True
        promoted = self.initiator.promote(b, look, ~claimed)
        claimed[promoted.dets] = True
        updated, touched, out = self._update(look, hyp, asg, promoted)
        self.initiator.age(look, promoted)
        if score_before is not None:  # inconsistent cooperative reports never confirm a track
            withhold_credit(b.score, score_before, b.uid, out)
        status0 = b.status.copy()
        keep = self.deleter.delete(b, look, updated, touched)
        self._observe_clutter(look, asg, status0)
        confirmed = b.uid[(status0 == TENTATIVE) & (b.status == CONFIRMED)].tolist()
        deleted = b.uid[~keep].tolist()
        b.keep(keep)
        self.identities.prune(b)
        deleted += self._merge_duplicates()
        uid1 = b.next_uid
        self.initiator.initiate(b, look, ~claimed & ~hyp.blocked)
        confirmed += b.uid[(b.uid >= uid1) & (b.status == CONFIRMED)].tolist()
        self.counters.inc("accepted.reports")
        self.counters.inc("accepted.detections", n_dets)
        return TrackerResult(
            t, sensor_id, True, tuple(out),
            born=tuple(map(str, range(uid0, b.next_uid))),
            confirmed=tuple(map(str, confirmed)),
            deleted=tuple(map(str, deleted)),
            detections=n_dets,
            used=int(claimed.sum()),
        )  # fmt: skip

    def expire(self, t: float) -> TrackerResult:
        """Apply the lifecycle's time rules at ``t`` when no sensor reported at all.

        Misses are scored per report, so a site whose sensors all fell silent (a cut cable, a
        dead gateway) would otherwise keep its last picture for ever, with its alerts open.
        Only the gap rules act here (``max_coast_s``, ``young_max_coast_s``,
        ``tentative_max_gap_s`` of ``management.manage``): no track is updated or missed.
        """
        b = self.bank
        if b.n == 0:
            return TrackerResult(t, "", accepted=True)
        none = np.zeros(b.n, dtype=bool)
        keep = manage(
            b.status, b.score, b.score_max, b.t_update, none, none, t, self.cfg.management,
            b.score0, young_coast_limit(b.t_first, b.t_update, b.hits, self.cfg.management),
        )  # fmt: skip
        deleted = b.uid[~keep].tolist()
        if deleted:
            b.keep(keep)
            self.identities.prune(b)
            self._combined = None
        return TrackerResult(t, "", True, deleted=tuple(map(str, deleted)))

    def tracks(self, confirmed_only: bool = False) -> list[TrackState]:
        """The current tracks as immutable values (combined IMM estimate): ``bank.states``."""
        if self.bank.n == 0:
            return []
        xc, Pc = self._combined_estimate()
        return states(self.bank, xc, Pc, confirmed_only)

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
        self.hypothesiser.drone_prior = {int(k): min(max(v, 0.0), 1.0) for k, v in p_drone.items()}

    # ------------------------------------------------------------------ steps

    def _look(
        self,
        t: float,
        sensor_id: str,
        detections: Sequence[Detection],
        stacked: StackedDetections | None,
        complete: bool,
    ) -> Look:
        """Validate the report, predict the bank to ``t``, and the clutter at each detection."""
        sm = self.sensors[sensor_id]
        dets, Z, R, SP, cooperative = validate(detections, sm, stacked, self.counters)
        self._combined = None  # the filter writes the bank's states in place from here
        first = self._first_scan.setdefault(sensor_id, t)
        self._last_scan[sensor_id] = t
        self.updater.predict(self.bank, t)
        self.time = max(self.time, t)
        cmap = self._clutter.get(sensor_id)
        loglam = np.full(len(dets), sm.log_lambda)
        cells = _NONE
        if dets and cmap is not None:
            cells = cmap.cells(Z, sm.spec.position_enu)
            loglam = loglam + cmap.log_ratio(cells)  # the map's local clutter ratio
        past_startup = t - first > self.cfg.startup_scans * sm.spec.update_s
        pos = det_positions(sm, Z, SP)
        return Look(t, sm, dets, Z, R, SP, cooperative, loglam, pos, complete, past_startup, cells)

    def _update(
        self, look: Look, hyp: Hypotheses, asg: Association, promoted: Promoted
    ) -> tuple[Mask, Mask, list[Assignment]]:
        """The updater on the associated pairs and the promoted tracks; their scores and
        history. Returns the rows updated, the rows soft-updated (their score holds this
        report's miss term already) and the assignments."""
        b = self.bank
        ta, rows = asg.ta, promoted.rows
        updated = np.zeros(b.n, dtype=bool)
        touched = np.zeros(b.n, dtype=bool)
        hit = np.zeros(0)
        if ta.shape[0] or rows.shape[0]:
            # one filter pass for the assigned tracks and the tracks just made from pending
            # plots: rows are independent, so the numbers are those of two passes
            pairs = np.concatenate([ta, rows]), np.concatenate([asg.da, promoted.dets])
            hit = self.updater.update(b, *pairs, look)
            self._score(look, ta, math.log(look.sm.pd) + hit[: ta.shape[0]] - look.loglam[asg.da])
            updated[ta] = True
        if (s := asg.soft) is not None:
            p_gate = self.cfg.p_gate
            srows, dscore = self.updater.pda_update(b, s.ti, s.dj, s.beta, s.beta0, look, p_gate)
            self._score(look, srows, dscore)
            touched[srows] = True
            updated[srows[s.beta0[srows] < 0.5]] = True
        out: list[Assignment] = []
        self._after_update(asg.claim_t, asg.claim_d, look, hyp.ambiguity, out)
        self.initiator.remember(b, look, asg.ta, asg.da)  # hard pairs: bearing partners
        if rows.shape[0]:
            self.initiator.promoted(b, look, promoted, hit[ta.shape[0] :])
            uids = b.uid[rows].tolist()
            out.extend(Assignment(str(u), d, 1) for u, d in zip(uids, promoted.first, strict=True))
            self._after_update(rows, promoted.dets, look, hyp.ambiguity, out)
            updated[rows] = True
        return updated, touched, out

    def _score(self, look: Look, rows: I64, dscore: F64) -> None:
        """Add the updates' score increments (hard: ``ln Pd + ln N(y; 0, S) - ln lambda``)."""
        if not look.sm.spatial_dims:  # a bearing cannot confirm a track a radar started,
            # nor a bearing-only one where a working radar should see it
            hold = (self.bank.pos_hits[rows] > 0) | self._radar_covered(rows, look.t)
            dscore = np.where(hold, np.minimum(dscore, 0.0), dscore)
        self.bank.score[rows] += dscore

    def _radar_covered(self, rows: I64, t: float) -> NDArray[np.bool_]:
        """Which of ``rows`` are tentative tracks inside the declared coverage of a sensor
        that locates every object there (a radar) and reported within three of its periods.

        Why bearings earn such a track nothing: two direction finders and n emitters cross
        in up to n^2 places, and a ghost crossing fits both bearings as well as the true one
        (the bearings' likelihood ratio against clutter says an emitter is on each line, not
        where on it). Only a sensor that sees position can tell the crossings apart. Outside
        radar coverage the bearings are all there is and they keep confirming tracks (a drone
        first heard beyond the radar's range); inside it the radar must, and every scan it
        misses the crossing lowers the score by ln(1 - Pd) (``ScoreDeleter``), so a ghost
        falls and is dropped. Confirmed tracks keep the bearings' credit: a drone tracked
        from beyond the radar's range must not be lost where the radar misses it for a while.
        Coverage is what the site declares for the radar (range, area), never the truth."""
        out = np.zeros(rows.shape[0], dtype=bool)
        tent = self.bank.status[rows] == TENTATIVE
        if not tent.any():
            return out
        pos = self.bank.x[rows, 0, :3]
        for sm in self._locators:
            last = self._last_scan.get(sm.spec.id)
            if last is not None and t - last <= 3.0 * sm.spec.update_s:
                out |= inside_coverage(sm, pos)
        covered: NDArray[np.bool_] = out & tent
        return covered

    def _observe_clutter(self, look: Look, asg: Association, status0: NDArray[np.int64]) -> None:
        """Detections no established track explained are clutter evidence for the map (not in
        the start-up scans: then every report may be an object already in view)."""
        cmap = self._clutter.get(look.sm.spec.id)
        if cmap is None or not look.past_startup:
            return
        explained = np.zeros(len(look.dets), dtype=bool)
        explained[asg.claim_d[status0[asg.claim_t] != TENTATIVE]] = True
        cmap.observe(look.cells[~explained])

    def _refusal(self, t: float, sensor_id: str) -> str | None:
        """Why the whole report is refused (its counter), or None."""
        if sensor_id not in self.sensors:
            return "rejected.unknown_sensor"
        if not math.isfinite(t):
            return "rejected.bad_time"
        if t < self.time - self.cfg.time_tolerance_s:
            return "rejected.time_backwards"
        return None

    def _after_update(
        self, ta: I64, da: I64, look: Look, ambiguity: I64, out: list[Assignment]
    ) -> None:
        """History, identities and the assignments of rows ``ta`` updated by ``da``."""
        b = self.bank
        t = look.t
        b.t_update[ta] = t
        b.hits[ta] += 1
        if look.sm.spatial_dims:
            b.pos_hits[ta] += 1
        sid = look.sm.spec.id
        dets = look.dets
        for i, j in zip(ta.tolist(), da.tolist(), strict=True):
            b.sensors[i][sid] = t
            out.append(Assignment(str(int(b.uid[i])), dets[j], int(ambiguity[j])))
            if dets[j].identity is not None:
                self.identities.note(b, i, dets[j])

    def _merge_duplicates(self) -> list[int]:
        """Merge duplicate tracks every ``merge.check_every_s``; returns the uids merged away."""
        if self.time < self._merge_t + self.cfg.merge.check_every_s:
            return []
        self._merge_t = self.time
        before = self.bank.uid.copy()
        xc, Pc = self._combined_estimate()
        merged = merge_duplicates(self.bank, self._merger, xc, Pc)
        if not merged:
            return []
        self.counters.inc("merged.duplicates", merged)
        gone: list[int] = before[~np.isin(before, self.bank.uid)].tolist()
        return gone


def _no_hypotheses(n_dets: int) -> Hypotheses:
    z = np.zeros(0)
    return Hypotheses(_NONE, _NONE, z, z, {}, np.zeros(n_dets, dtype=bool), _NONE)


_NO_ASSOCIATION = Association(_NONE, _NONE, None, _NONE, _NONE)

"""Per-track class probabilities: drone (multirotor / fixed-wing), bird, manned aircraft.

A Bayes classifier (naive: features taken as conditionally independent given the class,
each with a likelihood grounded in the physics of the class; Blackman & Popoli 1999, §8 on
feature-aided tracking). Two kinds of evidence, kept apart on purpose:

- **Accumulated** over detections (``observe``), where successive pieces really are new
  information: a camera's own class, a cooperative identity (ADS-B means a manned aircraft,
  Remote ID a drone - unless ``threat.spoof`` found it suspicious), RF hits weighed against
  the RF scans that could have heard the track (a scan whose bearing fitted several tracks
  counts for none of them, neither as a hit nor as silence).
- **Current** features recomputed each frame (``annotate``) and *not* summed over frames,
  because they describe the same object again and again:

  * radar cross-section as a hierarchical model: each object has its own mean RCS drawn from
    its class (``RCS_MODEL`` mean and object-to-object spread) and each plot fluctuates about
    it (``RCS_FLUCT_DB``, Swerling I in dB). The sample mean of n plots is then
    ``N(mu_c, spread_c^2 + fluct^2 / n)``: the evidence saturates instead of growing with n,
    so a bird with a drone-sized mean RCS cannot become "certainly a drone" by being seen
    often (the old per-plot sum did exactly that);
  * horizontal speed (a slowly forgetting average, each frame weighed by how well the
    tracker knows the velocity: see ``_observe_state``);
  * kinematic history over the last ``WINDOW_S`` seconds (``KINEMATICS``, log-normal per
    class): speed fluctuation (flapping and gliding birds change speed, autopilots hold it),
    weave (standard deviation of the turn rate: birds wander, drones and aircraft fly lines
    and steady turns) and vertical-speed fluctuation.

  * hover: the fraction of the window spent nearly stationary, counted for multirotors only
    and only when the track stayed well above the ground (``HOVER_MIN_ALT_M``), because
    near-stationary ground clutter looks the same.

  (the window's features and their likelihoods live in ``threat.kinematics``)

- **Kinematic memory** of the windows before the current one (``threat.kinematics``
  ``memory_fold``): a one-sided, capped cumulative sum over disjoint blocks, so that minutes
  of bird-like flight are not forgotten in one steady window; it only ever speaks for the bird.

- **Speed reach** (``threat.reach``): the highest speed the track was *measured* to fly (a
  lower bound held for a few frames running). Above a bird's top speed the bird's speed
  evidence is read at the larger of now and then, so a drone that raced and then stops or
  manoeuvres is not a bird in the stop; it only ever speaks against the bird.

- **Sustained climb** (``threat.climb``): the slope of one radar's plot heights; a climb
  faster than birds sustain speaks against the bird, now (a sequential test over a growing
  segment of plots, restarted by Page's rule) and (its lower bound held for a run of
  recomputes) for the rest of the track's life, as the speed reach does; one-sided,
  capped.
- **Heading persistence** over disjoint 20 s blocks of the track's positions
  (``threat.heading``): a two-mode switching model per class whose forward recursion
  accumulates a wander that lasts (a bird's) and forgives a drone's turn onto its run-in;
  it only ever speaks for the bird, and is capped (``HEAD_CAP``).
- **RF bearings pointing at a ranged track** (``threat.rf_bearing``): a bearing the tracker
  gave to an RF cross-fix track still counts as a hit for the one radar track it points at.
- **Track continuity** (``threat.continuity``): a new track that starts where a track was lost
  moments before, within the tracker's own duplicate gate across the gap, inherits that
  track's evidence (``evidence.inherit``): a re-acquired bird stays a bird.

Altitude on its own is not used: birds and small drones share the same heights.

Calibration: the summed log-likelihood is divided by ``temperature`` before the softmax, so
that predicted probabilities match observed frequencies (the reliability table in
``tests/test_class_trajectories.py``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, Site
from skywarden.core.track import ObjectClass, TrackState, TrackStatus
from skywarden.threat import continuity, heading, reach, rf_bearing, steady
from skywarden.threat.evidence import (
    CLASSES,
    TrackEvidence,
    climb_update,
    doppler_ll,
    doppler_open,
    evidence_rows,
    inherit,
    memory,
    observe_climb,
    observe_doppler,
    observe_held,
)
from skywarden.threat.kinematics import (
    HIST_STEP_S,
    KIN_EVERY_S,
    SAMPLE,
    WINDOW_S,
    block_weight,
    kinematic_features_batch,
    kinematic_loglik_batch,
    learnt_cut,
    memory_fold,
    velocity_sd,
    window_ok,
)

if TYPE_CHECKING:
    from skywarden.sensors.skybench import Scan
    from skywarden.tracking.result import TrackerResult

F64 = NDArray[np.float64]
# Reductions call the ufunc's reduce directly (np.add.reduce for .sum(), np.maximum.reduce
# for .max()): the methods are Python wrappers around the same call, and the arrays here are
# so small (tens of tracks) that numpy's per-call overhead is most of the cost.


def _log_norm_arr(x: F64, mu: F64, sd: F64) -> F64:
    """``ln N(x; mu, sd^2)`` up to the constant ``-ln sqrt(2 pi)``, elementwise."""
    out: F64 = -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)
    return out


# Radar cross-section of an object's plots, dBsm: (class mean, object-to-object spread).
# Small multirotors -25..-10 dBsm, small fixed-wing -20..-5, birds -40..-15 (a pigeon is
# about -25, a goose or egret -20..-15), light aircraft and helicopters 0..+20 (Skolnik,
# Radar Handbook 3rd ed., table 1.1; Torvik et al., IEEE TGRS 54(6), 2016). Plot-level means
# sit ~2.5 dB below the object's mean RCS (the mean of 10 log10 of an exponential variable).
RCS_MODEL = {0: (-20.0, 4.5), 1: (-16.0, 4.5), 2: (-26.0, 5.0), 3: (5.0, 8.0)}
RCS_FLUCT_DB = 5.6  # plot-to-plot: Swerling I in dB (5.57) plus a little estimation noise
# RF direction finders: an emitting drone is heard in most RF scans, any other track lines up
# with some bearing only by coincidence. Not every drone emits (autonomous ones are silent),
# so the drone likelihood is a mixture: P(emitter) * Bin(k; n, P_HEARD) + (1 - P(emitter)) *
# Bin(k; n, P_COINCIDE). A silent drone therefore looks like a bird to the RF sensors (a mild
# penalty, ln 0.6), while a track heard scan after scan is almost surely an emitting drone.
#
# Each rate is itself uncertain (beta-binomial, concentration ``RF_RATE_CONC``): how often an
# emitter is heard varies from drone to drone (duty cycle, range to each direction finder,
# masking), and coincidences are not independent scan to scan: a bird that flies along an
# emitting drone's bearing line lines up with it for tens of scans in a row. With fixed rates
# the binomials were so sharp that a bird heard in 56 of 127 scans (44 %, neither rate) read
# as a certain emitter (+8.7 nats, harder night_launch s1); with uncertain rates a middling
# rate says little either way, while a drone heard in 36 of 40 scans still gets +19 nats.
P_EMITTER = 0.4
P_HEARD = 0.8
P_COINCIDE = 0.1
RF_RATE_CONC = 20.0
# Horizontal speed, m/s: birds cruise 6-20 m/s; multirotors hover to 25+; fixed-wing drones
# 15-40; manned aircraft near a site 30-120.
SPEED_MODEL = {0: (12.0, 12.0), 1: (28.0, 9.0), 2: (11.0, 4.0), 3: (60.0, 25.0)}
_RCS_MU, _RCS_SPREAD = (np.array([RCS_MODEL[k][i] for k in range(4)]) for i in (0, 1))
_SPEED_MU, _SPEED_SD = (np.array([SPEED_MODEL[k][i] for k in range(4)]) for i in (0, 1))
TEMPERATURE = 1.0
# The tracker's velocity noise floor (m/s, a few tenths): the speed average's weights are
# 1 / (sv^2 + SPEED_SD_FLOOR^2), so that a settled track's frames weigh alike.
SPEED_SD_FLOOR = 0.5

_CLASS_VALUES = tuple(c.value for c in CLASSES)
_SPEED_LOG_SD = np.log(_SPEED_SD)  # the constant term of the speed likelihood
_RCS_SPREAD2 = _RCS_SPREAD**2
_DRONE_I, _BIRD_I = CLASSES.index(ObjectClass.DRONE), CLASSES.index(ObjectClass.BIRD)
_BIRD_ONLY = np.eye(len(CLASSES))[_BIRD_I]  # threat.reach's penalty falls on the bird alone


def _identity_probs(k: int) -> list[float]:
    """A cooperative identity's class: 1 for it, 0.01 for the others, normalised."""
    p = [0.01] * len(CLASSES)
    p[k] = 1.0
    total = sum(p)
    return [v / total for v in p]


_IDENTITY_PROBS = [_identity_probs(k) for k in range(len(CLASSES))]
# The sensor kinds whose detections carry evidence whatever their content; any other
# detection counts only through its RCS or its own class (``_observe_detection``).
_EVIDENCE_KINDS = (SensorKind.RF, SensorKind.ACOUSTIC, SensorKind.ADSB, SensorKind.REMOTE_ID)
# The measurements that give a height (``threat.continuity``'s height gate; an XY plot's
# track holds its height at 0).
_HEIGHT_KINDS = (
    MeasurementKind.RANGE_AZ_EL_RADIAL,
    MeasurementKind.XYZ,
    MeasurementKind.POSITION_ID,
)


def _rcs_sample(ev: TrackEvidence) -> continuity.RcsSample | None:
    """A track's plot RCS for the hand-over's RCS test (``threat.continuity``)."""
    return continuity.RcsSample(ev.rcs_n, ev.rcs_sum) if ev.rcs_n else None


class Classifier:
    def __init__(self, site: Site, forget: float = 0.9) -> None:
        self.site = site
        self.kinds = {s.id: s.kind for s in site.sensors}
        self.forget = forget
        self._ev: dict[str, TrackEvidence] = {}
        # sensors whose every detection is evidence; a site without RF never has RF evidence
        self._evidence_sensors = frozenset(
            sid for sid, kind in self.kinds.items() if kind in _EVIDENCE_KINDS
        )
        self._has_rf = SensorKind.RF in self.kinds.values()
        # RF scans of this step, for the bearings that point at a ranged track (annotate)
        self._rf_pending: list[list[rf_bearing.Bearing]] = []
        ranged = (MeasurementKind.RANGE_AZ_EL_RADIAL, MeasurementKind.XY, MeasurementKind.XYZ)
        self._ranging = frozenset(s.id for s in site.sensors if s.measures in ranged)
        self._doppler = frozenset(
            s.id for s in site.sensors if s.measures is MeasurementKind.RANGE_AZ_EL_RADIAL
        )
        self._prev: list[TrackState] = []  # the last annotate's tracks (threat.continuity)
        self._lost: continuity.LostTracks[TrackEvidence] = continuity.LostTracks()
        # tracks first shown lately, each by its state when first shown (threat.continuity)
        self._young: dict[str, TrackState] = {}

    def _get(self, tid: str) -> TrackEvidence:
        ev = self._ev.get(tid)
        if ev is None:
            ev = self._ev[tid] = TrackEvidence()
        return ev

    def observe(self, scan: Scan, result: TrackerResult) -> None:
        if self.kinds.get(scan.sensor_id) is SensorKind.RF:
            # a scan whose bearing fitted this track *and* others says nothing about it:
            # neither a hit nor a scan (else ambiguity would read as silence)
            ambiguous = {tid for tid, _, cand in result.assignments if cand > 1}
            for tid, ev in self._ev.items():
                if tid not in ambiguous:
                    ev.rf_scans += 1
            given = frozenset(tid for tid, _, cand in result.assignments if cand == 1)
            # the track each bearing went to, ambiguous or not: where it is located says
            # whether the bearing points at another ranged track by coincidence
            owners: dict[int, frozenset[str]] = {}
            for tid, det, _ in result.assignments:
                owners[id(det)] = owners.get(id(det), frozenset()) | {tid}
            self._rf_pending.append(rf_bearing.bearings(scan.detections, given, owners))
        evidence_sensors = self._evidence_sensors
        dop = scan.sensor_id in self._doppler
        for tid, det, candidates in result.assignments:
            ev = self._get(tid)
            if dop and candidates == 1:
                if doppler_open(ev, det.t):
                    observe_doppler(ev, det)
                observe_climb(ev, det)
            # most plots (no RCS, no class of their own, from a radar or a camera without
            # one) carry nothing: skip _observe_detection's checks for them
            if (
                det.rcs_dbsm is not None
                or det.class_hint is not None
                or det.sensor_id in evidence_sensors
            ):
                self._observe_detection(ev, det, candidates)

    def _observe_detection(self, ev: TrackEvidence, det: Detection, candidates: int = 1) -> None:
        kind = self.kinds.get(det.sensor_id)
        if kind in (SensorKind.RF, SensorKind.ACOUSTIC) and candidates > 1:
            return  # the bearing fitted several tracks: no evidence about this one
        if det.rcs_dbsm is not None and math.isfinite(det.rcs_dbsm):
            ev.rcs_n += 1  # weighed as a sample mean in _feature_loglik (see RCS_MODEL)
            ev.rcs_sum += det.rcs_dbsm
        if kind is SensorKind.RF:
            ev.rf_hits += 1  # weighed against the scans that could have heard it: _rf_loglik
        if kind is SensorKind.ADSB and not ev.distrusted:
            ev.identity_class = 3
        if kind is SensorKind.REMOTE_ID and not ev.distrusted:
            ev.identity_class = 0
        if det.class_hint is not None and det.class_conf > 0:
            lp = ev.log_post
            for k, c in enumerate(CLASSES):
                match = c.family == det.class_hint or c.value == det.class_hint
                p = det.class_conf if match else (1 - det.class_conf) / 3
                lp[k] += math.log(max(p, 1e-3))
            top = max(lp)
            ev.log_post = [max(v - top, -30.0) for v in lp]

    def annotate(
        self, tracks: list[TrackState], t: float, distrust: Collection[str] = ()
    ) -> list[TrackState]:
        """Class probabilities on every track; ``distrust``: track ids whose cooperative
        identity is suspicious (its ADS-B/Remote ID class evidence is dropped).

        All tracks at once: the per-frame evidence is updated track by track (a few float
        operations), then the kinematic windows due a recompute and every posterior are
        computed as arrays over the tracks. The evidence of a track no longer confirmed is
        dropped."""
        for tid in distrust:
            ev = self._get(tid)
            ev.distrusted, ev.identity_class = True, None
        get = self._get
        evs = [get(tr.id) for tr in tracks]
        self._continuity(tracks, evs, t)
        if self._rf_pending:
            self._rf_pointed(tracks, evs)
        free: list[int] = []
        due: list[TrackEvidence] = []
        due_tr: list[TrackState] = []
        for i, (ev, tr) in enumerate(zip(evs, tracks, strict=True)):
            if ev.identity_class is None:
                free.append(i)
                if self._observe_state(ev, tr):
                    due.append(ev)
                    due_tr.append(tr)
        if due:
            # a window too short says nothing (and when all are, no arrays are built at all)
            kin: list[list[float] | None] = [None] * len(due)
            if any(window_ok(ev.hist) for ev in due):
                feats = kinematic_features_batch([ev.hist for ev in due], [ev.packed for ev in due])
                short = np.isnan(feats[:, 0]).tolist()
                ll = kinematic_loglik_batch(feats).tolist()
                kin = [None if none else row for row, none in zip(ll, short, strict=True)]
            for ev, tr, row in zip(due, due_tr, kin, strict=True):
                ev.dop_ll = doppler_ll(ev, tr) if ev.dop else None
                ev.held_ll = steady.steady_loglik(ev.held) if ev.held else None
                if ev.heights:
                    climb_update(ev)
                ev.kin_ll = row
                ev.kin_t = ev.hist[-1][0]
                if row is not None and ev.kin_t >= ev.kin_block_t + WINDOW_S:
                    # a new disjoint block: the previous one enters the memory (one behind,
                    # as the current window overlaps it), weighed by how settled it was
                    if ev.kin_block is not None:
                        if ev.kin_mem is None:  # the Doppler term's hand-over starts
                            ev.dop_end_t = ev.kin_t
                        ev.kin_mem = memory_fold(memory(ev), ev.kin_block, ev.kin_block_w)
                    ev.kin_block, ev.kin_block_w = row, block_weight(ev.hist)
                    ev.kin_block_t = ev.kin_t
        probs = self._posteriors(evs, free)
        c0, c1, c2, c3 = _CLASS_VALUES  # a dict display: a third of dict(zip(...))'s cost
        out = [
            tr.with_class_probs({c0: p0, c1: p1, c2: p2, c3: p3})
            for tr, (p0, p1, p2, p3) in zip(tracks, probs, strict=True)
        ]
        if len(self._ev) != len(evs):
            self._ev = {tr.id: ev for tr, ev in zip(tracks, evs, strict=True)}
        return out

    def _continuity(self, tracks: list[TrackState], evs: list[TrackEvidence], t: float) -> None:
        """Track continuity (``threat.continuity``): the tracks shown last time and gone now
        are remembered as lost, with their last measured state and their evidence; a track
        first shown in the last ``HANDOVER_S`` (after the lost one's last plot: the tracker
        may start it while the old one still coasts) that continues exactly one of them
        inherits its evidence (``evidence.inherit``), once. The gate is taken at the new track's
        first shown state: the gap is the time neither track measured the object (session 12
        trace: tested with its state 10 s later, a 5.7 m/s bird passed as a 31 m/s drone's
        continuation, its 2 m/s^2 allowance grown over time the bird was being measured)."""
        prev, self._prev = self._prev, list(tracks)
        young = self._young
        seen: set[str] = set()
        if prev:
            ids = {tr.id for tr in tracks}
            for old in prev:
                if old.id not in ids:
                    young.pop(old.id, None)
                    gone = self._ev.get(old.id)
                    if gone is not None and gone.meas is not None:
                        self._lost.add(gone.meas, gone)
            seen = {tr.id for tr in prev}
        coasting = TrackStatus.COASTING
        for tr, ev in zip(tracks, evs, strict=True):
            if tr.status is not coasting:
                ev.meas = tr
            if tr.id not in seen:
                young[tr.id] = tr
        lost = self._lost
        if young:
            for tid in [k for k, st in young.items() if t - st.t > continuity.HANDOVER_S]:
                del young[tid]
        if not lost.items:
            return
        lost.expire(t)
        at = [i for i, tr in enumerate(tracks) if tr.id in young]
        donors = lost.take_many(
            [(young[tracks[i].id], young[tracks[i].id].t) for i in at],
            frozenset(s.id for s in self.site.sensors if s.measures in _HEIGHT_KINDS),
            [_rcs_sample(evs[i]) for i in at],
            _rcs_sample,
        )
        for i, donor in zip(at, donors, strict=True):
            if donor is not None:
                inherit(evs[i], donor)
                del young[tracks[i].id]

    def _rf_pointed(self, tracks: list[TrackState], evs: list[TrackEvidence]) -> None:
        """This step's RF bearings that point at exactly one ranged track: a hit for it
        (``threat.rf_bearing``), when the tracker gave that bearing to another track."""
        ranging = self._ranging
        idx = [i for i, tr in enumerate(tracks) if any(s in ranging for s in tr.sensors)]
        ranged = [tracks[i] for i in idx]
        by_id = {tracks[i].id: evs[i] for i in idx}
        located = {tr.id: tr for tr in tracks}
        for scan in self._rf_pending:
            for tid in rf_bearing.pointed_at(scan, ranged, located):
                by_id[tid].rf_hits += 1
        self._rf_pending = []

    def _observe_state(self, ev: TrackEvidence, tr: TrackState) -> bool:
        """Fold this frame's state into the speed average and the history; True when the
        kinematic window is due a recompute (every ``KIN_EVERY_S`` of track time).

        The speed average forgets by ``forget`` a frame and weighs each frame by the inverse
        variance of its velocity (``velocity_sd``). A new radar track knows its radial speed
        from the Doppler and guesses 0 across the line of sight, so its first speeds are a
        lower bound (for a drone crossing the beam at 29 m/s: 21.6 m/s, bird-like); weighed
        alike, they held the average down for tens of seconds after the tracker had learnt
        the speed. Inverse-variance weights let the learnt speed take over within a few
        frames; a settled track's frames still weigh alike (``SPEED_SD_FLOOR``)."""
        _, _, u, ve, vn, vu = tr.x.tolist()
        spd = math.hypot(ve, vn)
        sv = velocity_sd(tr.P)
        w = 1.0 / (sv * sv + SPEED_SD_FLOOR**2)
        if ev.speed_avg is None:
            ev.speed_avg, ev.speed_w = spd, w
        else:
            a = self.forget
            ev.speed_w = a * ev.speed_w + (1 - a) * w
            ev.speed_avg += (1 - a) * w / ev.speed_w * (spd - ev.speed_avg)
        self._observe_chord(ev, tr)
        measured = tr.status is not TrackStatus.COASTING  # a coasted frame measured nothing
        if measured:
            floor = reach.speed_floor(ve, vn, tr.P)
            ev.reach_run, ev.reach_peak = reach.reach_update(ev.reach_run, ev.reach_peak, floor)
            observe_held(ev, tr.t, spd, sv)
        if measured or ev.reach_recent:
            ev.reach_recent = reach.recent_update(
                ev.reach_recent, tr.t, ev.reach_run if measured else None
            )
        h = ev.hist
        if measured and (not h or tr.t >= h[-1][0] + HIST_STEP_S):
            # a coasted frame is the filter's constant-velocity prediction, not the object's
            # flight: in the window it reads as a drone's steadiness
            sample = (tr.t, ve, vn, vu, u, sv)
            h.append(sample)
            ev.packed.append(SAMPLE.pack(*sample))
            while h[0][0] < tr.t - WINDOW_S:
                h.popleft()
                ev.packed.popleft()
            if ev.first_t is None:
                ev.first_t = tr.t
            if not ev.learnt:
                ev.learnt, cut = learnt_cut(h, tr.t - ev.first_t)
                if cut:
                    # the window read the filter learning the velocity: it says nothing
                    for _ in range(cut):
                        h.popleft()
                        ev.packed.popleft()
                    ev.kin_ll = None
        return bool(h) and h[-1][0] >= ev.kin_t + KIN_EVERY_S

    @staticmethod
    def _observe_chord(ev: TrackEvidence, tr: TrackState) -> None:
        """Heading persistence (``threat.heading``): a chord point every ``CHORD_S``, and a
        forward step at the end of every block."""
        pts = ev.chord_pts
        if not pts or tr.t >= pts[-1][0] + heading.CHORD_S:
            P = tr.P
            sig = math.sqrt(max(0.5 * (float(P[0, 0]) + float(P[1, 1])), 0.0))
            e, n = tr.x[:2].tolist()
            pts.append((tr.t, e, n, sig))
            if len(pts) > heading.BLOCK_CHORDS:
                feat = heading.block_feature(pts)
                if feat is not None:
                    ev.head_alpha = heading.forward(ev.head_alpha, *feat)
                ev.chord_pts = [pts[-1]]  # blocks do not overlap

    @staticmethod
    def _rf_loglik(evs: Sequence[TrackEvidence]) -> F64:
        """Log-likelihood per track and class of ``rf_hits`` in ``rf_scans`` (see P_EMITTER):
        a mixture of beta-binomials for drones, the coincidence one for the rest; 0 for a
        track no RF scan could have heard. (N, len(CLASSES))."""
        if not any(ev.rf_scans or ev.rf_hits for ev in evs):  # a site without RF sensors
            return np.zeros((len(evs), len(CLASSES)))
        k = np.array([ev.rf_hits for ev in evs], dtype=float)
        n = np.maximum(np.array([ev.rf_scans for ev in evs], dtype=float), k)
        silent = _beta_binomial(k, n, P_COINCIDE)
        heard = _beta_binomial(k, n, P_HEARD)
        m = np.maximum(heard, silent)
        drone = m + np.log(P_EMITTER * np.exp(heard - m) + (1 - P_EMITTER) * np.exp(silent - m))
        top = np.maximum(drone, silent)
        d, b = np.where(n > 0, drone - top, 0.0), np.where(n > 0, silent - top, 0.0)
        return np.stack([d, d, b, b], axis=1)

    @staticmethod
    def _feature_loglik(evs: Sequence[TrackEvidence], rows: F64 | None = None) -> F64:
        """Current (not accumulated) evidence per track and class: mean RCS, speed and the
        kinematic history's last recompute, summed in that order. (N, len(CLASSES)).
        ``rows``: ``evidence_rows(evs)`` when the caller has them already.

        A missing piece adds nothing (+0.0, which leaves every sum as it was, bit for bit),
        so the RCS term is computed only when some track has RCS, and no mask is applied
        when every track has a speed (always so in ``annotate``)."""
        if rows is None:
            rows = evidence_rows(evs)
        # speed: ln N(speed; mu, sd^2) up to -ln sqrt(2 pi), ln sd precomputed
        x = rows[:, 2 * len(CLASSES) :]  # (N, 1)
        ll: F64 = -0.5 * ((x - _SPEED_MU) / _SPEED_SD) ** 2 - _SPEED_LOG_SD
        if any(ev.speed_avg is None for ev in evs):
            has = np.array([ev.speed_avg is not None for ev in evs])
            ll = np.where(has[:, None], ll, 0.0)
        if any(ev.reach_recent or ev.reach_peak >= reach.BIRD_TOP_MPS for ev in evs):
            # a speed once measured beyond any bird's, or in the last reach.HOLD_S: the
            # bird's speed evidence is read at the larger of now and then (threat.reach)
            peak = np.array([reach.held_peak(ev.reach_peak, ev.reach_recent) for ev in evs])
            pen = reach.bird_penalty(peak, x[:, 0], _SPEED_MU, _SPEED_SD, _DRONE_I, _BIRD_I)
            ll = ll - np.outer(pen, _BIRD_ONLY)
        if any(ev.climb_pen for ev in evs):
            # a climb no bird sustains (threat.climb): taken from the bird alone
            pen = np.array([ev.climb_pen for ev in evs])
            ll = ll - np.outer(pen, _BIRD_ONLY)
        if any(ev.rcs_n for ev in evs):
            # the sample mean of n plots ~ N(mu_c, spread_c^2 + fluct^2 / n): see RCS_MODEL
            rcs_n = np.array([ev.rcs_n for ev in evs], dtype=float)
            n = np.maximum(rcs_n, 1.0)[:, None]
            mean = np.array([ev.rcs_sum for ev in evs])[:, None] / n
            sd = np.sqrt(_RCS_SPREAD2 + RCS_FLUCT_DB**2 / n)
            ll = np.where(rcs_n[:, None] > 0, _log_norm_arr(mean, _RCS_MU, sd), 0.0) + ll
        out: F64 = ll + rows[:, len(CLASSES) : 2 * len(CLASSES)]  # + kinematics
        return out

    def _posteriors(self, evs: list[TrackEvidence], free: list[int]) -> list[list[float]]:
        """Class probabilities of every track: a cooperative identity fixes the class (0.01
        for the others), else the softmax of accumulated + RF + current evidence:
        ``p_c = exp(a_c - max a) / sum_c' exp(a_c' - max a)`` with ``a = (ln prior-and-hints
        + RF + features) / temperature``. The RF term is skipped on a site without RF (it
        would add 0.0), and so is the division when the temperature is 1 (x / 1 = x)."""
        out: list[list[float]] = [
            [] if ev.identity_class is None else _IDENTITY_PROBS[ev.identity_class] for ev in evs
        ]
        if free:
            fe = [evs[i] for i in free]
            rows = evidence_rows(fe)
            lp = rows[:, : len(CLASSES)]
            if self._has_rf:
                lp = lp + self._rf_loglik(fe)
            a = lp + self._feature_loglik(fe, rows)
            if TEMPERATURE != 1.0:
                a = a / TEMPERATURE
            w = np.exp(a - np.maximum.reduce(a, axis=1, keepdims=True))
            p = w / np.add.reduce(w, axis=1, keepdims=True)
            for i, row in zip(free, p.tolist(), strict=True):
                out[i] = row
        return out


def _beta_binomial(k: F64, n: F64, rate: float) -> F64:
    """``ln P(k hits in n scans)`` without the binomial coefficient (it is the same for every
    class), the hit rate ``Beta(rate * c, (1 - rate) * c)`` with ``c = RF_RATE_CONC``."""
    from scipy.special import betaln  # on first use: `skywarden run` starts without scipy

    a, b = rate * RF_RATE_CONC, (1.0 - rate) * RF_RATE_CONC
    out: F64 = betaln(k + a, n - k + b) - betaln(a, b)
    return out

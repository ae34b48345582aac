"""What the classifier keeps about one track, and the pure steps that fold into it.

``threat.classify`` turns evidence into class probabilities; this module is the evidence
itself: the per-track record (:class:`TrackEvidence`, snapshotted with the engine's state),
the class list and prior it starts from, and the steps that need nothing but the record and
one observation -- a radar plot's radial speed (``threat.doppler``) and height
(``threat.climb``), the climb's recompute, the Doppler term of a young track, the kinematic
row (window + memory + heading + Doppler), and the hand-over of a lost track's evidence to
the track that continues it (``threat.continuity``). Kept apart so that the classifier's
module holds the class models and the posterior, and the record's fields sit beside the
steps that write them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import Detection
from skywarden.core.track import ObjectClass, TrackState
from skywarden.threat import climb, doppler, heading, reach, steady
from skywarden.threat.kinematics import (
    KNOWN_SV_MPS,
    WINDOW_S,
    Sample,
    block_weight,
    memory_fold,
)

F64 = NDArray[np.float64]

CLASSES: tuple[ObjectClass, ...] = (
    ObjectClass.DRONE,
    ObjectClass.DRONE_FIXED_WING,
    ObjectClass.BIRD,
    ObjectClass.AIRCRAFT,
)
PRIOR = np.array([0.15, 0.1, 0.6, 0.15])
LOG_PRIOR = [math.log(float(p)) for p in PRIOR]
NO_KIN = [0.0] * len(CLASSES)  # no kinematic evidence (yet)


@dataclass
class TrackEvidence:
    """What the classifier has gathered about one track so far."""

    log_post: list[float] = field(default_factory=lambda: list(LOG_PRIOR))
    speed_avg: float | None = None
    speed_w: float = 0.0  # the speed average's forgotten sum of weights
    rcs_n: int = 0
    rcs_sum: float = 0.0
    hist: deque[Sample] = field(default_factory=deque)
    packed: deque[bytes] = field(default_factory=deque)  # hist's samples as SAMPLE bytes
    identity_class: int | None = None
    rf_hits: int = 0
    rf_scans: int = 0
    distrusted: bool = False  # a suspicious (spoofed) identity says nothing about the class
    kin_ll: list[float] | None = None  # kinematic log-likelihood, recomputed every KIN_EVERY_S
    kin_t: float = -math.inf
    kin_mem: list[float] | None = None  # kinematic memory (threat.kinematics.memory_fold)
    # the memory handed on by a lost track this one continues (threat.continuity): the
    # start of this track's own memory, kept apart so that kin_mem still says whether this
    # track has a block of its own behind it (the Doppler term's end, doppler_ll)
    kin_prior: list[float] | None = None
    meas: TrackState | None = None  # the last shown state that was not coasted
    kin_block: list[float] | None = None  # the last block's window, folded at the next one
    kin_block_t: float = -math.inf
    kin_block_w: float = 1.0  # its weight in the memory (threat.kinematics.block_weight)
    first_t: float | None = None  # the track's first frame (for threat.kinematics.learnt_cut)
    learnt: bool = False  # the velocity's first learning is behind (learnt_cut decided)
    chord_pts: list[heading.Point] = field(default_factory=list)  # the current block's points
    reach_run: tuple[float, ...] = ()  # the last speed floors (threat.reach.reach_update)
    reach_peak: float = 0.0  # the highest speed floor held for a run of frames, m/s
    reach_recent: reach.Recent = ()  # the floors of the last reach.HOLD_S (recent_update)
    head_alpha: list[float] | None = None  # heading-persistence forward variables
    # one radar's plots (threat.doppler), its id and position; their evidence until the
    # kinematic memory holds its first block (``observe_doppler``, ``doppler_ll``)
    dop: deque[doppler.DopplerSample] = field(default_factory=deque)
    dop_sensor: str | None = None
    dop_pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dop_ll: list[float] | None = None
    # the track time its kinematic memory took its first block: the Doppler term's
    # hand-over to the window starts there (``doppler.handover_weight``, session 19)
    dop_end_t: float | None = None
    # one radar's plot heights over the last climb.HISTORY_S, the last climb floors, their
    # peak and the bird's penalty (threat.climb)
    heights: deque[climb.ClimbSample] = field(default_factory=deque)
    climb_run: tuple[float, ...] = ()
    climb_peak: float = 0.0
    climb_pen: float = 0.0
    # the sequential climb test's segment (the plots after this time) and how many the
    # track has had, this one included (threat.climb.segment_update)
    climb_seg_t: float = -math.inf
    climb_segs: int = 1
    # the sequential test's largest penalty so far, remembered (threat.climb, session 15)
    climb_seq_peak: float = 0.0
    # the horizontal speed of the frames whose velocity is known, one sample every
    # steady.LONG_STEP_S over the last steady.LONG_S, and its evidence at the last
    # recompute (threat.steady, session 18)
    held: deque[steady.SpeedSample] = field(default_factory=deque)
    held_ll: list[float] | None = None


def inherit(ev: TrackEvidence, old: TrackEvidence) -> None:
    """Hand a lost track's evidence to the new track ``ev`` that continues it
    (``threat.continuity``), added to what the new track gathered as a tentative one.

    Inherited: what describes the object rather than the track: camera class hints (summed
    in ``log_post``), the RCS sample, RF hits and scans, the speed average (the new track's
    first speeds are the filter's lower bound and weigh little beside it, ``_observe_state``),
    the speed peak, the heading persistence, and the kinematic memory with the lost track's
    last window folded in as a finished block (``memory_fold``, weighed by ``block_weight``;
    the new track's window never overlaps it). Not inherited: the window samples, the
    velocity's learning, the Doppler series and the chord points (the new track's filter and
    plots), and a cooperative identity (it comes again with the next message, and the spoof
    monitor judges it per track)."""
    lp = [a + b - p for a, b, p in zip(ev.log_post, old.log_post, LOG_PRIOR, strict=True)]
    top = max(lp)
    ev.log_post = [max(v - top, -30.0) for v in lp]
    ev.rcs_n += old.rcs_n
    ev.rcs_sum += old.rcs_sum
    ev.rf_hits += old.rf_hits
    ev.rf_scans += old.rf_scans
    if old.speed_avg is not None:
        # the two averages weighed by their sums of weights (each frame's 1 / sv^2)
        if ev.speed_avg is None:
            ev.speed_avg, ev.speed_w = old.speed_avg, old.speed_w
        else:
            w = ev.speed_w + old.speed_w
            ev.speed_avg = (ev.speed_w * ev.speed_avg + old.speed_w * old.speed_avg) / w
            ev.speed_w = w
    ev.reach_peak = max(ev.reach_peak, old.reach_peak)
    # the lost track's recent floors are the object's: merged as one sliding-window maximum
    ev.reach_recent = reach.recent_merge(ev.reach_recent, old.reach_recent)
    if ev.head_alpha is None:
        ev.head_alpha = old.head_alpha
    mem = memory(old)
    if old.kin_ll is not None and old.hist:
        mem = memory_fold(mem, old.kin_ll, block_weight(old.hist))
    ev.kin_prior = mem


def memory(ev: TrackEvidence) -> list[float] | None:
    """The track's kinematic memory: its own once it holds a block (``kin_mem``), before
    that what it inherited from a lost track it continues (``kin_prior``, or None)."""
    return ev.kin_mem if ev.kin_mem is not None else ev.kin_prior


def evidence_rows(evs: Sequence[TrackEvidence]) -> F64:
    """The per-track numbers of the posterior in one array (one conversion, not three):
    (N, 2 * len(CLASSES) + 1) of ``log_post``, ``kin_ll`` (0 without) and ``speed_avg``
    (0 without)."""
    return np.array([[*ev.log_post, *kin_row(ev), ev.speed_avg or 0.0] for ev in evs])


def observe_doppler(ev: TrackEvidence, det: Detection) -> None:
    """Keep the radial speed of a radar plot given to this track alone (``threat.doppler``):
    one radar's plots (the first that fed it; another's radial speeds lie on another line)
    over the last ``WINDOW_S``."""
    if ev.dop_sensor is None:
        ev.dop_sensor = det.sensor_id
        ev.dop_pos = (float(det.sensor_pos[0]), float(det.sensor_pos[1]), float(det.sensor_pos[2]))
    elif det.sensor_id != ev.dop_sensor:
        return
    q = ev.dop
    q.append((det.t, float(det.z[3]), float(det.R[3, 3])))
    while q[0][0] < det.t - WINDOW_S:
        q.popleft()


def observe_held(ev: TrackEvidence, t: float, speed: float, sv: float) -> None:
    """Keep a frame's horizontal speed for the held-speed evidence (``threat.steady``): a
    measured frame (the caller skips coasted ones) whose velocity is known (``sv`` at most
    ``KNOWN_SV_MPS``), one every ``steady.LONG_STEP_S``, over the last ``steady.LONG_S``."""
    q = ev.held
    if sv <= KNOWN_SV_MPS and (not q or t >= q[-1][0] + steady.LONG_STEP_S):
        q.append((t, speed))
    while q and q[0][0] < t - steady.LONG_S:
        q.popleft()


def climb_update(ev: TrackEvidence) -> None:
    """The sustained climb's floor into its run and peak, one look of the sequential test
    over the current segment, and the bird's penalty, the larger of the held floor's and the
    sequential test's largest so far (``threat.climb``), at each recompute of the kinematic
    window."""
    floor = climb.climb_floor(ev.heights)
    ev.climb_run, ev.climb_peak = reach.reach_update(ev.climb_run, ev.climb_peak, floor)
    after = ev.climb_seg_t
    ev.climb_seg_t, seq = climb.segment_update(ev.heights, after, ev.climb_segs)
    if ev.climb_seg_t != after:
        ev.climb_segs += 1
    ev.climb_seq_peak = max(ev.climb_seq_peak, seq)  # Ville: its largest is as sound
    ev.climb_pen = max(climb.bird_penalty(ev.climb_peak), ev.climb_seq_peak)


def observe_climb(ev: TrackEvidence, det: Detection) -> None:
    """Keep the height of a radar plot given to this track alone (``threat.climb``): the
    radar that first fed the track's Doppler record (``observe_doppler``; another radar's
    elevation errors lie on another line), over the last ``climb.HISTORY_S``."""
    if ev.dop_sensor is None:
        ev.dop_sensor = det.sensor_id  # (the Doppler record is closed: kin_mem is set)
    elif det.sensor_id != ev.dop_sensor:
        return
    R = det.R
    q = ev.heights
    q.append(
        climb.plot_height(
            det.t,
            float(det.z[0]),
            float(det.z[2]),
            float(R[0, 0]),
            float(R[2, 2]),
            float(det.sensor_pos[2]),
        )
    )
    while q[0][0] < det.t - climb.HISTORY_S:
        q.popleft()


def doppler_weight(ev: TrackEvidence, t: float) -> float:
    """The Doppler term's weight at time ``t``: 1 until the kinematic memory holds its first
    block, then ``doppler.handover_weight`` of the time since (``dop_end_t``, set with that
    block; a memory without it, which the classifier never makes, ends the term)."""
    if ev.kin_mem is None:
        return 1.0
    return 0.0 if ev.dop_end_t is None else doppler.handover_weight(t - ev.dop_end_t)


def doppler_open(ev: TrackEvidence, t: float) -> bool:
    """Whether the track's Doppler series still takes plots at time ``t``: while its term
    has weight (``doppler_weight``)."""
    return doppler_weight(ev, t) > 0.0


def doppler_ll(ev: TrackEvidence, tr: TrackState) -> list[float] | None:
    """The Doppler steadiness evidence (``threat.doppler``) in full until the kinematic
    memory holds its first block (``memory_fold``: a window of known velocity is behind the
    track), then weighed by ``doppler.handover_weight`` of the time since (``dop_end_t``),
    and None once that is 0: from then on the window and its memory read the same flight
    with the whole velocity, and counting both would count it twice (session 15: the term
    for the track's life lifted the residence's straight-flying birds). Not earlier: the
    first windows after the velocity's learning still carry its end (multisensor_attack
    s34 H0: the cut at sv 1.9 m/s, the speed estimate still climbing 19.7 -> 21.5 m/s over
    the next 12 s, the first full window +0.1 nats for the drone where the steady drone's
    read +1.9). Not at once: the window may read the same steadiness weaker or stronger
    than the term, and a switch turned the difference into a step of P(drone) (session 19,
    branch dopend)."""
    w = doppler_weight(ev, tr.t)
    if w <= 0.0:
        ev.dop.clear()
        return None
    e, n, u, ve, vn, vu = tr.x.tolist()
    se, sn, su = ev.dop_pos
    de, dn, du = e - se, n - sn, u - su
    r = math.sqrt(de * de + dn * dn + du * du)
    radial = (de * ve + dn * vn + du * vu) / r if r > 0 else 0.0
    ll = doppler.doppler_loglik(ev.dop, radial, math.sqrt(ve * ve + vn * vn + vu * vu))
    if ll is None or w >= 1.0:
        return ll
    return [w * d for d in ll]  # the hand-over: w of the term, the window the rest


def kin_row(ev: TrackEvidence) -> list[float]:
    """The kinematic evidence of one track: the window's (``kin_ll``) plus its memory of
    earlier windows (``threat.kinematics.memory_fold``) plus the heading persistence
    accumulated over blocks (``threat.heading``), plus the Doppler steadiness of a young
    track (``threat.doppler``, until the memory holds its first block and through the
    hand-over after it: ``doppler_ll``).
    The window and the Doppler read different data (the filtered velocity, learnt across
    the beam only over 8-12 s; the plots' raw radial speeds), so both count while the
    track is young. (Replacing the window by the Doppler before the velocity is learnt
    warned the traced drones no earlier and would take from a drone-sized young bird the
    bird-like reading of its transient, docs/WARNING_POLICY.md.)"""
    row = ev.kin_ll or NO_KIN
    if ev.dop_ll is not None:
        row = [k + d for k, d in zip(row, ev.dop_ll, strict=True)]
    if ev.held_ll is not None:
        row = [k + h for k, h in zip(row, ev.held_ll, strict=True)]
    mem = memory(ev)
    if mem is not None:
        row = [k + m for k, m in zip(row, mem, strict=True)]
    if ev.head_alpha is None:
        return row
    head = heading.class_loglik(ev.head_alpha)
    return [k + h for k, h in zip(row, head, strict=True)]

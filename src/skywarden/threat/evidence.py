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
from skywarden.threat import climb, doppler, heading, reach
from skywarden.threat.kinematics import WINDOW_S, Sample, block_weight, memory_fold

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
    head_alpha: list[float] | None = None  # heading-persistence forward variables
    # one radar's plots (threat.doppler), its id and position, and their evidence, for the
    # track's life (``observe_doppler``, ``doppler_ll``; how it counts: ``steadiness``)
    dop: deque[doppler.DopplerSample] = field(default_factory=deque)
    dop_sensor: str | None = None
    dop_pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dop_ll: list[float] | None = None
    # the window's mean velocity sd at its last recompute (``kin_ll``'s): how much of the
    # flight's steadiness it could see (``window_sight``)
    kin_sv: float = 0.0
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
        ev.dop_sensor = det.sensor_id  # (observe_doppler saw no plot of this track yet)
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


def doppler_ll(ev: TrackEvidence, tr: TrackState) -> list[float] | None:
    """The Doppler steadiness evidence (``threat.doppler``) of the track's radar plots over
    the last ``WINDOW_S``, for the track's whole life (``kin_row`` decides how it counts)."""
    e, n, u, ve, vn, vu = tr.x.tolist()
    se, sn, su = ev.dop_pos
    de, dn, du = e - se, n - sn, u - su
    r = math.sqrt(de * de + dn * dn + du * du)
    radial = (de * ve + dn * vn + du * vu) / r if r > 0 else 0.0
    return doppler.doppler_loglik(ev.dop, radial, math.sqrt(ve * ve + vn * vn + vu * vu))


# The Doppler's stand-in for the window once the memory holds a block (issue 19, session
# 16). The window's speed_sd separates a steady drone (median 0.3 m/s) from a bird (1.2 m/s,
# ``threat.kinematics.KINEMATICS``) by SIGHT_SEP_MPS; its samples are the filter's velocity
# estimates, whose error (sd ``sv``) adds to the object's own fluctuation, so a window read
# through a velocity sd that large cannot show how steady a steady flight is. The plots'
# radial speeds (``threat.doppler``) model each plot's noise and can.
SIGHT_SEP_MPS = 0.9


def window_sight(sv: float) -> float:
    """The share of the steadiness evidence the kinematic window carries: 1 where the
    window's mean velocity sd ``sv`` is 0, falling linearly to 0 at ``SIGHT_SEP_MPS`` (the
    class medians' separation of the window's speed sd)."""
    return min(1.0, max(0.0, (SIGHT_SEP_MPS - sv) / SIGHT_SEP_MPS))


def steadiness(ev: TrackEvidence) -> list[float]:
    """The window's and the Doppler's steadiness evidence, as ``kin_row`` counts it.

    While the memory holds no block of the track's own, both add: they read different data
    (the filtered velocity, learnt across the beam only over 8-12 s; the plots' raw radial
    speeds). (Replacing the window by the Doppler then warned the traced drones no earlier
    and would take from a drone-sized young bird the bird-like reading of its transient,
    docs/WARNING_POLICY.md.) Afterwards both read the same flight with the whole velocity,
    and adding them counted it twice (session 15: the residence's straight-flying birds
    rose into P(drone) 0.4-0.8). So then the window counts alone, except where it reads for
    the drone and the Doppler reads more: the filter's noise can only widen the window's
    spread, so a steady reading is a lower bound of the steadiness, and the Doppler stands
    in for the share of the window that cannot see (``window_sight``):
    ``w * window + (1 - w) * doppler``. A window that reads for the bird is kept whole: its
    spread may be the noise's or a bird's wander (session 16: standing in there too put a
    drone-sized bird of birds_night s73, window -0.6 at sv 1.6-3.6 m/s, Doppler +0.3, at
    P(drone) 0.81 for 8 s)."""
    row = ev.kin_ll or NO_KIN
    dop = ev.dop_ll
    if dop is None:
        return row
    if ev.kin_mem is None:
        return [k + d for k, d in zip(row, dop, strict=True)]
    win = row[0] - row[2]
    if win <= 0.0:
        return row
    w = window_sight(ev.kin_sv)
    mix = [w * k + (1.0 - w) * d for k, d in zip(row, dop, strict=True)]
    return mix if mix[0] - mix[2] > win else row


def block_update(ev: TrackEvidence, row: list[float], weight: float) -> None:
    """A new disjoint block of the kinematic window (every ``WINDOW_S`` of track time): the
    previous block enters the memory (one behind, as the current window ``row`` overlaps it)
    weighed by how settled it was (``memory_fold``), and ``row`` becomes the block, with
    ``weight`` (``block_weight``) for its own fold.

    The first block enters as the track was shown it, window and Doppler (``steadiness``),
    not the window alone: that window mostly reads the filter learning the velocity across
    the beam, which the Doppler, reading the plots, does not (session 16: multisensor_attack
    s74 H2's first block, window -1.34 and Doppler +0.97 nats at block weight 0.18, left
    -0.24 in the memory, and P(drone) fell under 0.7 two seconds after it had reached 0.95)."""
    if ev.kin_block is not None:
        ev.kin_mem = memory_fold(memory(ev), ev.kin_block, ev.kin_block_w)
        ev.kin_block = row
    else:
        ev.kin_block = steadiness(ev)
    ev.kin_block_w = weight
    ev.kin_block_t = ev.kin_t


def kin_row(ev: TrackEvidence) -> list[float]:
    """The kinematic evidence of one track: the window's and the Doppler's steadiness
    (``steadiness``), plus the window's memory of earlier windows
    (``threat.kinematics.memory_fold``), plus the heading persistence accumulated over blocks
    (``threat.heading``)."""
    row = steadiness(ev)
    mem = memory(ev)
    if mem is not None:
        row = [k + m for k, m in zip(row, mem, strict=True)]
    if ev.head_alpha is None:
        return row
    head = heading.class_loglik(ev.head_alpha)
    return [k + h for k, h in zip(row, head, strict=True)]

"""Kinematic history of a track over the last ``WINDOW_S`` seconds, as class evidence.

Split out of ``threat.classify`` (which combines it with the other evidence): the window's
features (speed, turn-rate and vertical-speed fluctuation, hover) computed for every track
at once as padded arrays, and their per-class likelihoods (log-normal mixtures). Why each
feature separates the classes is said where its model is defined.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from itertools import starmap

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
N_CLASSES = 4  # drone, fixed-wing drone, bird, aircraft: threat.evidence.CLASSES

# Kinematic history over WINDOW_S, as the tracker's filtered velocity shows it (its noise
# floor is a few tenths of a m/s): the standard deviation of horizontal speed (m/s), of turn
# rate (rad/s, while moving faster than MOVING_MPS) and of vertical speed (m/s). Birds flap,
# glide and wander all the time; autopilots hold speed, heading and height between
# manoeuvres, and aircraft are steadier still. So a drone's likelihood is a mixture: mostly
# steady, sometimes manoeuvring hard (a real multirotor log stops, turns and sprints), while
# a bird's is one broad log-normal in between. Per class: ((weight, median, sd of log), ...).
WINDOW_S = 15.0
MIN_WINDOW_S = 6.0
MOVING_MPS = 2.0
# A sample's heading counts only while the velocity is known to be moving: its speed less
# MOVING_SD_K times the velocity's sd (the sample's ``sv``) above MOVING_MPS (issue 19,
# session 16). The heading of a velocity whose sd is comparable to its speed is the
# filter's noise: a multirotor stopped for its vertical launch climb, seen at 2.6 km, has a
# speed estimate of 0-5 m/s with an sd of 3-6 m/s, and its headings swung by 0.25-0.32 rad/s
# of "turn rate", read as a bird's wandering (night_launch s73 H0, s85 H1: session 15's
# trace). With K = 2 a heading is used where the speed is about 2 sd clear of the gate
# (the heading's own sd, about sv / speed, then under ~0.5 rad).
MOVING_SD_K = 2.0
Mixture = tuple[tuple[float, float, float], ...]
_STEADY_MANOEUVRE: dict[str, tuple[Mixture, Mixture, Mixture, Mixture]] = {
    "speed_sd": (
        ((0.75, 0.3, 0.6), (0.25, 2.5, 0.8)),
        ((0.8, 0.3, 0.6), (0.2, 2.0, 0.8)),
        ((1.0, 1.2, 0.8),),
        ((0.9, 0.3, 0.6), (0.1, 2.0, 0.8)),
    ),
    "turn_sd": (
        ((0.75, 0.03, 0.8), (0.25, 0.2, 0.8)),
        ((0.8, 0.02, 0.8), (0.2, 0.1, 0.8)),
        ((1.0, 0.1, 1.0),),
        ((0.9, 0.01, 0.7), (0.1, 0.05, 0.8)),
    ),
    "climb_sd": (
        ((0.75, 0.4, 0.8), (0.25, 1.5, 0.8)),
        ((0.8, 0.4, 0.8), (0.2, 1.5, 0.8)),
        ((1.0, 0.7, 0.7),),
        ((0.9, 0.35, 0.6), (0.1, 1.5, 0.8)),
    ),
}
KINEMATICS: dict[str, dict[int, Mixture]] = {
    name: dict(enumerate(per_class)) for name, per_class in _STEADY_MANOEUVRE.items()
}
# Hover: a multirotor stops in the air, birds (bar a few hunters) and fixed wings cannot.
# Counted only well above the ground (near-stationary ground clutter would look the same),
# and only where the tracker knows the velocity to better than HOVER_MPS (the sample's
# ``sv``): a young radar track knows its radial speed from the Doppler but not the speed
# across the line of sight, whose estimate stays near 0 for several seconds; a far object
# flying across the beam (or clutter) then reads as hovering while its velocity is unknown.
HOVER_MPS = 1.5
HOVER_MIN_ALT_M = 30.0
HOVER_LOGLIK = 3.0  # added to multirotor per unit hover fraction of the window
# Below these a track's fluctuation is the tracker's own noise, not the object's behaviour:
# features are floored there (a perfectly smooth GPS log must not read as "super-drone").
FEATURE_FLOOR = {"speed_sd": 0.15, "turn_sd": 0.005, "climb_sd": 0.1}
KINEMATIC_WEIGHT = 0.6  # the three are correlated (one wandering flight path shows in all)
# The 15 s window moves by a sample or two between frames; recomputing its features for every
# track on every frame cost more than the tracker itself on 1,000-object scenes. Every 2 s of
# the track's own time is enough for evidence that describes the last 15 s.
KIN_EVERY_S = 2.0
# One history sample per HIST_STEP_S of track time at most. The features are calibrated on
# 1 Hz tracks; a 10 Hz radar would put 150 strongly correlated samples in the window (ten
# times the cost, every 2 s for every track at once) and turn-rate differences over 0.1 s
# that are mostly the filter's own noise.
HIST_STEP_S = 0.5


FEATURES = ("speed_sd", "turn_sd", "climb_sd", "hover")  # columns of the feature arrays


# Kinematic memory over the track's life (issue 19, session 10). The window above forgets
# everything older than WINDOW_S, so a bird with a drone-sized RCS that wandered bird-like
# for minutes and then held speed and heading for 15 s read as a drone in that one window
# (harder birds_night s11 track 108: 180 s of windows at -1.0..-1.6 nats for the drone, one
# at +0.25, P(drone) 0.79; radar3d_site s3 track 32). Memory: at the end of every disjoint
# WINDOW_S block, the block's drone-minus-bird window evidence d_k enters a one-sided
# cumulative sum (Page's CUSUM, Page 1954, Biometrika 41, with both bounds):
#     m_k = min(0, max(-MEMORY_CAP, m_{k-1} + d_k))
# A bird that keeps wandering sits at -MEMORY_CAP; a drone's steady blocks (d_k > 0) bring a
# manoeuvre's debt back to 0 within a block or two, and the sum never speaks for the drone
# (the current window already does, and birds fly straight too). The block being folded
# overlaps the current window, so the memory lags one block (``memory_fold``): no piece of
# path is counted twice. Capped because blocks of one flight are not independent.
# A block enters the memory weighed by how well its velocity was known (``block_weight``):
# while the tracker learns a velocity its estimate moves by up to the change of its sd, so
# where the sd (each sample's ``sv``) spanned more than MEMORY_SV_SPAN within the block, the
# window's fluctuation may be the filter's rather than the object's, and the block counts
# MEMORY_SV_SPAN / span of itself: a young track learning its speed across the beam (harder
# multisensor_attack s11 H0: 17 -> 24 m/s in 15 s while the sd fell 9.6 -> 1.2 m/s; its two
# first blocks read -1.3 and -0.9 for the drone and, remembered whole, delayed its warning by
# 6 s), or a track coasting through missed plots. The span is a bird's median speed
# fluctuation (``KINEMATICS``), the size of what the memory is there to remember. The current
# window still counts whole, as before.
MEMORY_CAP = 3.0
MEMORY_SV_SPAN = 1.2
MEMORY_CLASSES = (0, 1)  # the drone classes: memory is evidence against them only
BIRD = 2


def block_weight(hist: Iterable[Sample]) -> float:
    """The share of a block that enters the kinematic memory: 1 when the window's velocity sd
    (each sample's ``sv``) spanned at most ``MEMORY_SV_SPAN`` m/s, else that over the span."""
    svs = [s[5] for s in hist]
    span = max(svs) - min(svs)
    return 1.0 if span <= MEMORY_SV_SPAN else MEMORY_SV_SPAN / span


# A young radar track's window without its own settling transient (issue 19, session 10,
# branch young). A new radar track knows its radial speed (Doppler) and learns the speed
# across the beam over 8-12 s; its estimate's climb onto the true speed and its heading's
# swing onto the true course are the filter's, not the object's, yet the window read them as
# a bird's wandering (-1.1..-1.6 nats for the drone) for 18-25 s after confirmation (branch
# warnlate, docs/WARNING_POLICY.md). Once, in a track's first LEARN_MAX_S, the first sample
# whose velocity is known (sv <= KNOWN_SV_MPS, a settled track's 1.2-1.5 m/s plus a missed
# plot's margin) cuts the window's earlier samples: the window starts again from the known
# velocity (no kinematic evidence until it is ``window_ok``). Only once and only young,
# unlike warnlate's variant 3 (which cut every time a wandering, poorly seen bird's sd
# dipped, leaving short steady-looking windows): later rises of the sd are a coasting
# track's, which the memory's ``block_weight`` handles.
KNOWN_SV_MPS = 2.0
LEARN_MAX_S = 15.0


def learnt_cut(hist: Sequence[Sample], age_s: float) -> tuple[bool, int]:
    """(decided, samples to drop from the front of ``hist``) for a track ``age_s`` old whose
    newest sample is ``hist[-1]``: decided when the velocity is known at the newest sample
    or the track is older than ``LEARN_MAX_S`` (then it is never cut); the drop is every
    leading sample whose ``sv`` exceeded ``KNOWN_SV_MPS``."""
    if hist[-1][5] > KNOWN_SV_MPS:
        return age_s > LEARN_MAX_S, 0
    cut = 0
    while cut < len(hist) - 1 and hist[cut][5] > KNOWN_SV_MPS:
        cut += 1
    return True, cut


def memory_fold(mem: list[float] | None, block: list[float], weight: float = 1.0) -> list[float]:
    """One CUSUM step of the kinematic memory: ``mem`` (per class, 0 for the classes outside
    ``MEMORY_CLASSES``; None before the first block) plus ``weight`` (``block_weight``) times
    the finished block's window log-likelihoods ``block`` relative to the bird's, bounded to
    [-MEMORY_CAP, 0]."""
    old = mem or [0.0] * N_CLASSES
    bird = block[BIRD]
    return [
        min(0.0, max(-MEMORY_CAP, old[c] + weight * (block[c] - bird)))
        if c in MEMORY_CLASSES
        else 0.0
        for c in range(N_CLASSES)
    ]


def _mixture_arrays() -> tuple[F64, F64, F64]:
    """``KINEMATICS`` as (feature, class, term) arrays for every track at once: ``log w -
    log sd``, ``log median`` and ``1 / sd``; a class with fewer terms is padded with a term of
    weight 0 (constant -inf), which the log-sum-exp ignores."""
    names = FEATURES[:3]
    width = max(len(KINEMATICS[f][k]) for f in names for k in range(N_CLASSES))
    c = np.full((len(names), N_CLASSES, width), -np.inf)
    lm = np.zeros((len(names), N_CLASSES, width))
    inv = np.zeros((len(names), N_CLASSES, width))
    for f, name in enumerate(names):
        for k in range(N_CLASSES):
            for j, (w, m, sd) in enumerate(KINEMATICS[name][k]):
                c[f, k, j] = math.log(w) - math.log(sd)
                lm[f, k, j], inv[f, k, j] = math.log(m), 1.0 / sd
    return c, lm, inv


_MIX_C, _MIX_LM, _MIX_INV = _mixture_arrays()
_FLOORS = np.array([FEATURE_FLOOR[f] for f in FEATURES[:3]])


def kinematic_loglik_batch(feats: F64) -> F64:
    """Per track and class, the sum over features of ``KINEMATIC_WEIGHT`` times the log
    mixture density (``KINEMATICS``), plus ``HOVER_LOGLIK`` per unit hover fraction for
    multirotors. ``feats`` (N, 4) in ``FEATURES`` order, NaN where a feature is undefined
    (it then adds nothing). Returns (N, N_CLASSES). All features in one pass: (track,
    feature, class, term) arrays.

    An undefined feature's term is computed and thrown away (``have``), not skipped: ``fmax``
    gives its NaN the floor, so the log stays finite, in one call where selecting the
    defined ones would cost several."""
    x = feats[:, :3]
    have = x == x  # False where NaN: the feature is undefined
    lx = np.log(np.fmax(x, _FLOORS))  # (N, feature); fmax(NaN, floor) = floor
    v = _MIX_C - 0.5 * ((lx[:, :, None, None] - _MIX_LM) * _MIX_INV) ** 2
    top = np.maximum.reduce(v, axis=3)
    lse = top + np.log(np.add.reduce(np.exp(v - top[..., None]), axis=3))  # (N, feature, class)
    out: F64 = np.add.reduce(np.where(have[:, :, None], KINEMATIC_WEIGHT * lse, 0.0), axis=1)
    hover = feats[:, 3]
    out[:, 0] += HOVER_LOGLIK * np.where(np.isnan(hover), 0.0, hover)
    return out


def _masked_sd(x: F64, mask: NDArray[np.bool_], n: F64, zero_padded: bool = False) -> F64:
    """Population standard deviation of each row of ``x`` (..., N, L) over the ``mask``ed
    (N, L) entries of the row; ``n`` (N,) their counts. ``zero_padded``: ``x`` is already
    +0.0 outside the mask, so its sum needs no masking (the same values summed in the same
    order: the same bits).

    ``sqrt(sum(d^2) / n)`` with ``d = x - mean``: a sum of squares is never negative, so no
    clamp at 0 is needed before the root."""
    m = np.add.reduce(x if zero_padded else np.where(mask, x, 0.0), axis=-1) / n
    d = np.where(mask, x - m[..., None], 0.0)
    out: F64 = np.sqrt(np.add.reduce(d * d, axis=-1) / n)
    return out


# (t, ve, vn, vu, u, sv): time, velocity, height and the horizontal velocity's standard
# deviation (m/s, the largest of the tracker's covariance; see ``velocity_sd``)
Sample = tuple[float, float, float, float, float, float]
# A window sample as the bytes of six float64s: the classifier packs each sample once, when
# it enters the history, so that a window enters numpy by one bytes join. Converting the
# Python floats (np.fromiter) cost ~25 ns a number, ~10 us a frame for 5 windows of 15
# samples, and every sample was converted again at each of its ~7 recomputes.
SAMPLE = struct.Struct("=6d")
# A missing sample: velocity 0 (speed 0: not moving, nothing in the speed sums) and height
# +inf (never the lowest).
_PAD = SAMPLE.pack(0.0, 0.0, 0.0, 0.0, math.inf, 0.0)


def velocity_sd(P: F64) -> float:
    """The largest standard deviation (m/s) of the horizontal velocity under covariance
    ``P`` (6, 6): the square root of the larger eigenvalue of its (ve, vn) block. The
    largest, not the mean, because a radar track's velocity is known well along the line of
    sight (Doppler) long before it is known across it."""
    a, b, d = float(P[3, 3]), float(P[3, 4]), float(P[4, 4])
    half = 0.5 * (a + d)
    return math.sqrt(max(half + math.sqrt(0.25 * (a - d) ** 2 + b * b), 0.0))


def window_ok(hist: Sequence[Sample]) -> bool:
    """Long enough to say anything: 5 samples spanning ``MIN_WINDOW_S``."""
    return len(hist) >= 5 and hist[-1][0] - hist[0][0] >= MIN_WINDOW_S


def kinematic_features_batch(
    hists: Sequence[Sequence[Sample]], packed: Sequence[Iterable[bytes]] | None = None
) -> F64:
    """Window features of N histories of (t, ve, vn, vu, u, sv) samples, all at once: (N,
    4) in ``FEATURES`` order, a row all NaN where the window is too short (fewer than 5
    samples or under ``MIN_WINDOW_S``), turn_sd NaN with fewer than 4 steps known to be
    moving (speed less ``MOVING_SD_K`` times ``sv`` above ``MOVING_MPS``), hover NaN unless
    the whole window stayed above ``HOVER_MIN_ALT_M`` (a sample hovers when both its speed
    and its velocity's ``sv`` are below ``HOVER_MPS``).
    ``packed``: the same samples as ``SAMPLE`` bytes, when the caller keeps them (the
    classifier does).

    The windows are padded into one (M, L) array (M windows long enough, L the longest of all
    N): one set of numpy calls for every track due a recompute, where the per-track Python
    loop cost ~50 us a track (a 20-object pooled site spent a sixth of its step in the
    classifier). A short window is found in Python and never enters the arrays.

    The padding (``_PAD``) makes most masks free. The sums are numpy's pairwise sums over the
    padded length, so a row's last bits depend on L, which therefore stays the longest of
    all N windows, short ones included."""
    N = len(hists)
    lens = [len(h) for h in hists]
    L = max(lens, default=0)
    ok = [i for i, h in enumerate(hists) if window_ok(h)]
    M = len(ok)
    if M == 0:
        return np.full((N, len(FEATURES)), np.nan)
    parts: list[bytes] = []
    for i in ok:
        parts += packed[i] if packed is not None else starmap(SAMPLE.pack, hists[i])
        if lens[i] < L:
            parts.append(_PAD * (L - lens[i]))
    A = np.frombuffer(b"".join(parts), dtype=np.float64).reshape(M, L, 6)
    T, ve, vn, vu, u, sv = A.transpose(2, 0, 1)  # each (M, L)
    n = np.array([lens[i] for i in ok], dtype=float)
    valid = np.arange(L) < n[:, None]  # (M, L): sample j of window i exists
    SV = np.empty((2, M, L))  # horizontal and vertical speed, one pass of _masked_sd
    sp = np.hypot(ve, vn, out=SV[0])
    SV[1] = vu
    res = np.empty((M, len(FEATURES)))
    res[:, 0::2] = _masked_sd(SV, valid, n, zero_padded=True).T  # speed_sd, climb_sd
    high = np.minimum.reduce(u, axis=1) >= HOVER_MIN_ALT_M
    still = valid & (sp < HOVER_MPS) & (sv < HOVER_MPS)  # slow, and known to be slow
    res[:, 3] = np.where(high, np.add.reduce(still, axis=1) / n, np.nan)
    heading = np.arctan2(ve, vn)
    moving = sp - MOVING_SD_K * sv > MOVING_MPS  # the padding's speed is 0
    step = moving[:, 1:] & moving[:, :-1]
    d = (heading[:, 1:] - heading[:, :-1] + math.pi) % (2 * math.pi) - math.pi
    rate = d / np.maximum(T[:, 1:] - T[:, :-1], 1e-3)
    k = np.add.reduce(step, axis=1)
    res[:, 1] = np.where(k >= 4, _masked_sd(rate, step, np.maximum(k, 1.0)), np.nan)
    if M == N:
        return res
    out = np.full((N, len(FEATURES)), np.nan)
    out[ok] = res
    return out


def kinematic_features(hist: Sequence[Sample]) -> dict[str, float]:
    """One window's features by name (``kinematic_features_batch`` of one); empty when the
    window is too short."""
    row = kinematic_features_batch([hist])[0].tolist()
    return {name: v for name, v in zip(FEATURES, row, strict=True) if not math.isnan(v)}


def _kinematic_loglik(feats: dict[str, float]) -> list[float]:
    """``kinematic_loglik_batch`` of one track's features by name."""
    row = np.array([[feats.get(name, math.nan) for name in FEATURES]])
    out: list[float] = kinematic_loglik_batch(row)[0].tolist()
    return out

"""The fastest speed a track has been seen to fly, known well enough to rule out a bird.

Issue 19, session 11 (branch ``sprint``). A multirotor that races in at 35 m/s, brakes to a
hover and sprints again (night_launch s13 H0) reads as a bird for 20-40 s: the classifier's
speed average forgets in about ten frames and falls to a bird's 10 m/s in the stop, and
the kinematic window holds the 0 -> 35 m/s swing. Yet a bird flies 8-23 m/s through the
air (mean airspeeds of 138 species, Alerstam et al. 2007, PLoS Biology 5(8) e197); a track
once *measured* well above that is not a bird, whatever it does afterwards.

"Measured" is the point: a new radar track's speed across the beam is a guess for 10-20 s
(the velocity's largest sd, ``kinematics.velocity_sd``, is 6-9 m/s at 2-4 km), so the
speed estimate alone proves nothing. The radial component is measured from the first plot
(Doppler, sd about 0.5 m/s), and the horizontal speed is at least the velocity's component
along any direction. ``speed_floor`` is therefore the larger of two lower bounds, each
``REACH_K`` standard deviations below its estimate: the component along the best-known
direction (the eigenvector of the smaller eigenvalue of the horizontal velocity
covariance), and the speed itself with the worst direction's sd. Traced on night_launch
s13 H0 at 3.7 km (t = 37-38 s, before the stop): speed 35.6 m/s, largest sd 9.4-9.9, best
sd 0.41-0.47, component 35.4-35.6 m/s: floor 34.6 m/s (34.2 at ``REACH_K`` 3).

The peak (``reach_update``) is the floor held for ``REACH_RUN`` measured (not coasted)
frames running, so that one plot of another object cannot set it; it never decreases.

**A bird does not stop in the air** (issue 19, session 19, branch dogleg). Below a bird's top
speed the peak says nothing for the rest of a track's life: a bird may fly 20 m/s and later 12.
But not within seconds, and not down to a hover: a flapping bird's speed swings by about
+-15 % over cycles of tens of seconds (``sim.kinematics``, after the bird-radar literature).
A launched multirotor that climbs at 20-24 m/s, stops at the top of its climb, turns and
flies on (night_launch's launch dog-leg) drags the classifier's speed average from 20-24 m/s
down to a bird's 10-15 m/s for 20-30 s (session 18 trace: s239 H0 12.8-15.4 m/s against
20.2, about 2 nats for the bird), while the speed it was measured to fly (its floor, mostly
the Doppler component) is seconds old. So the floors of the last ``HOLD_S`` are kept as a
sliding-window maximum (``recent_update``), and the bird's speed evidence is read at the
larger of now and that recent floor (``held_peak``, ``bird_penalty``): a steady bird's floor
lies ``REACH_K`` sd under its own speed and adds nothing; a bird that turns across the beam
keeps its speed, which the held floor tells more truly than the filter's lagging estimate.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

# Fastest mean airspeed among 138 species (Alerstam et al. 2007): above it, the speed
# memory speaks against the bird. A floor is already REACH_K sd below the estimate.
BIRD_TOP_MPS = 23.0
# REACH_K: one-sided 99.87 % per frame (Gaussian). The peak is the *largest* floor of a
# track's life, so the bound is looked at again and again. Taking a bird's velocity error
# to decorrelate in about 10 s (an assumption: the filter's memory), a 4-minute track gives
# ~25 fresh looks: at 2 sd (2.3 % a look) ~44 % odds of a false peak, at 3 sd ~3 % (a union
# bound, as threat.climb takes one for its sequential test). Session 14 (warn4): birds_night
# s79 track 8 coasted 7 s (velocity sd 11.7 m/s), took a plot of another bird 260 m away,
# read 38.3 m/s with sd 6.8 and held a 2-sd floor of 24.7-26.7 m/s for three frames: "not a
# bird" for the rest of its life, an advisory at 4.7 km. The drone this memory was built
# for (night_launch s13 H0) had a floor of 34.6 at 2 sd along its Doppler direction (sd
# 0.41-0.47), 34.2 at 3 sd. threat.climb keeps FLOOR_K's 2 sd for its held floor.
FLOOR_K = 2.0
REACH_K = 3.0
REACH_RUN = 3  # frames running: one plot of another object moves the estimate for one or two
# How long a measured floor below BIRD_TOP_MPS is held (s): a launch dog-leg's stop and the
# filter's re-learning of the sprint after it last 20-30 s (session 18 trace), half the
# longest flapping cycle a bird's speed swings over (20-60 s, ``sim.kinematics``).
HOLD_S = 30.0

# (time s, floor m/s) of full runs, floors strictly decreasing: a sliding-window maximum
Recent = tuple[tuple[float, float], ...]


def speed_floor(ve: float, vn: float, P: F64) -> float:
    """A lower bound (m/s, >= 0) on the horizontal speed of velocity (``ve``, ``vn``) with
    covariance ``P`` (6, 6; the velocity's horizontal block is ``P[3:5, 3:5]``): the larger
    of |v . u| - REACH_K sd_min (``u`` the unit eigenvector of the smaller eigenvalue,
    sd_min its root) and |v| - REACH_K sd_max, since |v| >= |v . u| for every unit ``u``."""
    a, b, d = float(P[3, 3]), float(P[3, 4]), float(P[4, 4])
    # eigenvalues of the symmetric 2x2 block: (a + d) / 2 -+ sqrt(((a - d) / 2)^2 + b^2)
    half, r = 0.5 * (a + d), math.sqrt(0.25 * (a - d) ** 2 + b * b)
    lo, hi = max(half - r, 0.0), max(half + r, 0.0)
    # eigenvector of ``lo``: (A - lo I) u = 0 -> u = (b, lo - a), or (lo - d, b) when that
    # one is (numerically) zero; a diagonal block with a == d has every direction alike
    ue, un = (b, lo - a) if abs(b) + abs(lo - a) >= abs(lo - d) + abs(b) else (lo - d, b)
    norm = math.hypot(ue, un)
    comp = abs(ve * ue + vn * un) / norm if norm > 0.0 else 0.0
    along = comp - REACH_K * math.sqrt(lo)
    whole = math.hypot(ve, vn) - REACH_K * math.sqrt(hi)
    return max(along, whole, 0.0)


def reach_update(
    run: tuple[float, ...], peak: float, floor: float
) -> tuple[tuple[float, ...], float]:
    """One measured frame's ``floor`` into the last ``REACH_RUN`` floors ``run`` and the
    ``peak``: the peak becomes the least floor of a full run when that is higher."""
    run = (*run, floor)[-REACH_RUN:]
    if len(run) == REACH_RUN:
        peak = max(peak, min(run))
    return run, peak


def recent_update(recent: Recent, t: float, run: tuple[float, ...] | None) -> Recent:
    """The floors of the last ``HOLD_S`` at time ``t``: entries older than that dropped, and
    a full ``run``'s least floor (``reach_update``'s, None for a coasted frame, which measured
    nothing) added, dropping the earlier ones it exceeds. Its first entry is the maximum."""
    kept = [(tt, f) for tt, f in recent if tt >= t - HOLD_S]
    if run is not None and len(run) == REACH_RUN:
        m = min(run)
        kept = [(tt, f) for tt, f in kept if f > m]
        kept.append((t, m))
    return tuple(kept)


def recent_merge(a: Recent, b: Recent) -> Recent:
    """Two tracks' recent floors as one sliding-window maximum: an entry is kept unless a
    later one (of either) is at least as high."""
    merged = sorted(a + b)
    return tuple(e for i, e in enumerate(merged) if all(f < e[1] for _, f in merged[i + 1 :]))


def held_peak(peak: float, recent: Recent) -> float:
    """The speed the bird's evidence is read at, at least: the life's ``peak`` when it is
    above a bird's top speed, else the largest floor of the last ``HOLD_S`` (0 if none)."""
    held = recent[0][1] if recent else 0.0
    return max(held, peak) if peak >= BIRD_TOP_MPS else held


def bird_penalty(peak: F64, now: F64, mu: F64, sd: F64, drone: int = 0, bird: int = 2) -> F64:
    """Per track, the log-likelihood to take from the bird (>= 0): how much the multirotor's
    speed evidence over the bird's, ``ln N(s; mu_d, sd_d^2) - ln N(s; mu_b, sd_b^2)``, is
    larger at the ``peak`` floor (``held_peak``: the life's above ``BIRD_TOP_MPS``, else the
    last ``HOLD_S``'s) than at the speed the classifier reads ``now`` (0 for a peak of 0 or
    one not above ``now``).
    ``mu``, ``sd``: the class speed models.

    The memory replaces the speed's evidence for the drone-versus-bird question by the larger
    of now and then; the multirotor's (the broad model) is the smaller of the two drone
    classes' at a high speed, and taking it from the bird alone leaves multirotor versus
    fixed wing to the current speed."""

    def llr(s: F64) -> F64:
        zd, zb = (s - mu[drone]) / sd[drone], (s - mu[bird]) / sd[bird]
        out: F64 = -0.5 * zd * zd + 0.5 * zb * zb + math.log(sd[bird] / sd[drone])
        return out

    gain = np.maximum(llr(peak) - llr(now), 0.0)
    # only a peak above the speed read now: below a bird's mean speed the bird's likelihood
    # rises again as the speed falls, and a lower bound under the speed read says nothing
    out: F64 = np.where((peak > 0.0) & (peak > now), gain, 0.0)
    return out

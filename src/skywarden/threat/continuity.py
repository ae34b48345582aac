"""Track continuity in classification: a re-acquired object keeps its class evidence.

Why (issue 19, harder birds_night s12 track 333): a bird tracked for 65 s (P(drone) 0.02,
its kinematic window and memory -5.4 nats for the drone) coasted through three missed plots;
the tracker dropped it and started a new track from the next plots, at the same place and
velocity. The new track began with nothing but the prior, one -10 dBsm plot and an 18.8 m/s
speed, read as a drone (P(drone) 0.77-0.88) and was warned 3 s after it was confirmed. Its
object had told the classifier for a minute that it was a bird. The tracker cannot always keep
one track through a gap (a bird that turns while unseen leaves the gate of its track), but the
threat layer can see that a new track continues a lost one and hand it the lost one's
evidence, as ``threat.launch`` already hands on a drone's launch point (``LaunchConfig``
``stitch_s``).

The test is a reachable-set gate across the gap. The lost track's last *measured* state
(``x_o``, ``P_o`` at ``t_o``; its coasted frames are the filter's straight-line guesses) and the
new track's state (``x_n``, ``P_n`` at ``t_n``, ``tau = t_n - t_o``):

- position: an object flying at speed ``s_o`` is, after ``tau``, within ``s_o tau`` of where
  it was whatever it did meanwhile (a turn is what loses a track: the bird of s12 track 84
  turned 105 degrees in 4 s while unseen, and the coasted track flew on 130 m beside it), so
  ``|p_n - p_o| <= s_o tau + K sigma`` with ``sigma^2`` the largest eigenvalue of the two
  position covariances' sum;
- speed: a turn keeps the speed, so ``| s_n - s_o | <= K sqrt(sv_o^2 + sv_n^2) + A tau`` with
  ``sv`` each velocity's largest sd (``threat.kinematics.velocity_sd``) and ``A`` a bird's or a
  cruising drone's change of speed per second.

The new track's state is the one it had when first shown (``Classifier._continuity``): the
gap is the time neither track measured the object. A lost track is known only when its track
is dropped, up to ``HANDOVER_S`` after its last plot; gating the new track's state of that
moment against the allowance ``A (t_n - t_o)`` counted seconds in which the new track was
measuring its own object (session 12 trace, harder night_launch s2 track 174: a 5.7 m/s bird
passed as the continuation of a 31 m/s drone once the allowance had grown to 20 m/s).

- height (session 16, radar3d_site s133 track 39): the horizontal reach above lets a
  28 m/s drone's ``s_o tau`` cover a height change no drone or bird flies, so
  ``|u_n - u_o| <= max(|vu_o|, W) tau + K sigma_u`` with ``W`` (``CLIMB_MPS``) a fast climb
  or descent and ``sigma_u^2`` the two height variances' sum. s133: hostile H0's track was
  last measured at 17 m as the drone reached the residence (and ended there); 8 s later a new
  track on a bird circling at 193 m above it, 217 m away in all (176 m of it height, the
  heights known to 3 m), passed the 3-D reach (237 m at 29.7 m/s) and the speed test (12.7 vs
  29.7 m/s: 3 sd plus 2 m/s^2 over 8 s allow 24 m/s), inherited the drone's 153 RCS plots and
  speed and was alerted inside the residence. 176 m in 8 s is 22 m/s vertically. Taken only
  when both tracks' heights were measured (a sensor that measures height contributed to
  each: a plots-only XY track holds its height at 0, ``tracking.initiation``).

- plot RCS (session 19, multisensor_attack s236 H0): the reach and speed tests cannot tell a
  bird lost at the coverage edge from a drone that appears where it was lost (6.1 +- 5.2 vs
  19.8 +- 9.7 m/s over a 9 s gap pass), but their radar cross-sections can: the drone's two
  plots read -7.1 dBsm, the bird's 78 plots -24.7. Each object has one mean RCS and each plot
  fluctuates about it (``PLOT_RCS_SD_DB``), so the mean of one object's ``n`` plots in dB has
  sd ``s / sqrt(n)`` and two tracks of the same object differ by
  ``| m_n - m_o | <= K s sqrt(1 / n_o + 1 / n_n)``. Symmetric in the two tracks, and taken
  only when both have an RCS plot (the new track's plots up to the hand-over: all of them its
  own object's). s236: 17.6 dB against 3 x 5.6 x sqrt(1/2 + 1/78) = 12.0 refused. The
  mean of ``n`` plots is skewed toward deep fades for small ``n`` (10 log10 of an exponential
  variable has a long low tail): a single plot falls more than 3 sd below its object's mean
  with probability 0.012, above it almost never.

``K`` = 3. The same reach as ``threat.launch`` uses to hand a drone's launch point on
(``stitch_s`` 15 s, ``stitch_m`` 200 m), measured here from the last plot rather than fixed.

Hand-over only when exactly one lost track passes (two lost tracks near a new one: which one
it continues is a guess, and a wrong guess gives one object another's class), only within
``HANDOVER_S`` of the loss, once per lost track, and never between tracks holding two
different cooperative identities (two objects). The risk, said plainly: a drone that appears
within seconds where a bird's track was lost, at a compatible position and velocity, starts
with the bird's evidence; its own evidence then has to outweigh it (the kinematic memory is
capped, ``threat.kinematics.MEMORY_CAP``, and a drone's steady flight repays it within a
block or two).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from skywarden.core.track import TrackState
from skywarden.threat.kinematics import velocity_sd

HANDOVER_S = 10.0  # a lost track hands its evidence on this long after its last plot
GATE_K = 3.0  # sigmas
SPEED_CHANGE_MPS2 = 2.0  # A: how fast a bird or a cruising drone changes its speed
# W: a fast climb or descent, above a small multirotor's (threat.climb.DRONE_CLIMB_SD: 0-6
# m/s; the simulated drones climb 4-5 and descend 6) and far above a bird's sustained climb
# (1-2 m/s, threat.climb); not fitted (s133's bird sat 22 m/s of height change away)
CLIMB_MPS = 8.0
# s: the sd of one plot's RCS about its object's mean, dB. Swerling I: the power is
# exponential, and 10 log10 of an exponential variable has sd (10 / ln 10) pi / sqrt(6) =
# 5.57 dB (``sim.sensors``: each plot exponential in power plus ``rcs_noise_db`` 1 dB, sqrt(
# 5.57^2 + 1) = 5.66); the classifier's ``threat.classify.RCS_FLUCT_DB`` (5.6), not fitted
PLOT_RCS_SD_DB = 5.6
RCS_GATE_K = GATE_K  # sigmas (a name of its own so that a trace can switch the test off)


@dataclass(frozen=True)
class RcsSample:
    """A track's radar plots' RCS: how many (``n``, > 0) and their sum in dBsm."""

    n: int
    sum_db: float

    @property
    def mean_db(self) -> float:
        return self.sum_db / self.n


def rcs_z(a: RcsSample, b: RcsSample) -> float:
    """How many sds apart two tracks' mean plot RCS are, were they one object's plots:
    ``| m_a - m_b | / (s sqrt(1 / n_a + 1 / n_b))`` (module docstring)."""
    return abs(a.mean_db - b.mean_db) / (PLOT_RCS_SD_DB * math.sqrt(1.0 / a.n + 1.0 / b.n))


def rcs_consistent(a: RcsSample | None, b: RcsSample | None) -> bool:
    """Whether two tracks' plot RCS may be one object's (True when either has none)."""
    return a is None or b is None or rcs_z(a, b) <= RCS_GATE_K


T = TypeVar("T")


def _largest_sd(C: np.ndarray) -> float:
    """The square root of the largest eigenvalue of a symmetric covariance."""
    return math.sqrt(max(float(np.linalg.eigvalsh(0.5 * (C + C.T))[-1]), 0.0))


def continues(old: TrackState, new: TrackState, heights: bool = True) -> bool:
    """Whether ``new`` may continue the lost track ``old`` (its last measured state): within
    ``HANDOVER_S`` after it, no two different cooperative identities, and inside the
    reachable-set gate of the module docstring (its height part only when ``heights``: both
    tracks' heights were measured)."""
    tau = new.t - old.t
    if not 0.0 <= tau <= HANDOVER_S:
        return False
    if old.identity is not None and new.identity is not None and old.identity != new.identity:
        return False
    xo, xn = np.asarray(old.x, dtype=float), np.asarray(new.x, dtype=float)
    so, sn = math.hypot(xo[3], xo[4]), math.hypot(xn[3], xn[4])
    sigma = _largest_sd(np.asarray(old.P, dtype=float)[:3, :3] + np.asarray(new.P)[:3, :3])
    if float(np.linalg.norm(xn[:3] - xo[:3])) > so * tau + GATE_K * sigma:
        return False
    if heights:
        su = math.sqrt(max(float(old.P[2, 2]) + float(new.P[2, 2]), 0.0))
        if abs(xn[2] - xo[2]) > max(abs(xo[5]), CLIMB_MPS) * tau + GATE_K * su:
            return False
    sv = math.hypot(velocity_sd(old.P), velocity_sd(new.P))
    return abs(sn - so) <= GATE_K * sv + SPEED_CHANGE_MPS2 * tau


def _heights(old: TrackState, new: TrackState, height_sensors: Collection[str] | None) -> bool:
    """Whether both tracks' heights were measured (``take_many``'s ``height_sensors``)."""
    if height_sensors is None:
        return True
    return any(s in height_sensors for s in old.sensors) and any(
        s in height_sensors for s in new.sensors
    )


@dataclass
class LostTracks(Generic[T]):
    """Tracks lost in the last ``HANDOVER_S``: each one's last measured state and what it
    knew (``payload``: the classifier's evidence)."""

    items: list[tuple[TrackState, T]] = field(default_factory=list)

    def add(self, state: TrackState, payload: T) -> None:
        self.items.append((state, payload))

    def expire(self, t: float) -> None:
        """Forget the tracks whose last plot is more than ``HANDOVER_S`` before ``t``."""
        if any(t - it[0].t > HANDOVER_S for it in self.items):
            self.items = [it for it in self.items if t - it[0].t <= HANDOVER_S]

    def take(
        self,
        new: TrackState,
        appeared_t: float,
        height_sensors: Collection[str] | None = None,
        rcs: RcsSample | None = None,
        rcs_of: Callable[[T], RcsSample | None] | None = None,
    ) -> T | None:
        """``take_many`` of one track."""
        return self.take_many([(new, appeared_t)], height_sensors, [rcs], rcs_of)[0]

    def take_many(
        self,
        news: Sequence[tuple[TrackState, float]],
        height_sensors: Collection[str] | None = None,
        rcs_new: Sequence[RcsSample | None] | None = None,
        rcs_of: Callable[[T], RcsSample | None] | None = None,
    ) -> list[T | None]:
        """For each (new track, the time it appeared), in order, the payload of the one lost
        track it continues (``continues``; removed: a lost track hands on once), or None when
        none or several pass. Only tracks lost (last plot) before the new one appeared: one
        that was still measured after is another object. ``height_sensors``: the sensors that
        measure a height; the gate's height part is taken for a pair only when each track
        has one among its ``sensors`` (None: heights taken as measured). ``rcs_new``: each
        new track's plot RCS, and ``rcs_of`` a lost one's from its payload: a pair is
        refused when both have one and they differ (``rcs_consistent``); None: not tested.

        A scene of clutter loses and starts hundreds of tracks a scan (stress_N1000_C5000):
        the gate's necessary part (the reach with the covariances' trace, an upper bound of
        their largest eigenvalue) is taken over all lost tracks at once, and the exact test
        only for the few that pass it."""
        out: list[T | None] = [None] * len(news)
        items = self.items
        if not items or not news:
            return out
        olds = [st for st, _ in items]
        t_o = np.array([o.t for o in olds])
        X = np.array([np.asarray(o.x, dtype=float)[:6] for o in olds])
        tr_o = np.array([float(np.trace(np.asarray(o.P, dtype=float)[:3, :3])) for o in olds])
        s_o = np.hypot(X[:, 3], X[:, 4])
        t_n = np.array([n.t for n, _ in news])
        appeared = np.array([a for _, a in news])
        Xn = np.array([np.asarray(n.x, dtype=float)[:3] for n, _ in news])
        tr_n = np.array([float(np.trace(np.asarray(n.P, dtype=float)[:3, :3])) for n, _ in news])
        tau = t_n[:, None] - t_o[None, :]  # (new, lost)
        dist = np.sqrt(((Xn[:, None, :] - X[None, :, :3]) ** 2).sum(axis=2))
        near = (
            (tau >= 0.0)
            & (tau <= HANDOVER_S)
            & (t_o[None, :] <= appeared[:, None])
            & (dist <= s_o[None, :] * tau + GATE_K * np.sqrt(tr_o[None, :] + tr_n[:, None]))
        )
        taken: set[int] = set()
        for j in np.flatnonzero(near.any(axis=1)).tolist():
            new = news[j][0]
            hits = [
                i
                for i in np.flatnonzero(near[j]).tolist()
                if i not in taken
                and continues(olds[i], new, _heights(olds[i], new, height_sensors))
                and (
                    rcs_new is None
                    or rcs_of is None
                    or rcs_consistent(rcs_of(items[i][1]), rcs_new[j])
                )
            ]
            if len(hits) == 1:
                taken.add(hits[0])
                out[j] = items[hits[0]][1]
        if taken:
            self.items = [it for i, it in enumerate(items) if i not in taken]
        return out

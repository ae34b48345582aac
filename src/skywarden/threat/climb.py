"""A sustained climb no bird flies, measured from a radar's own plots (issue 19, session 12).

Why: a drone launched near the site (night_launch) takes off from the ground and climbs at
its full rate (4-6 m/s for small multirotors) to 50-130 m, flying in toward the site at
20-23 m/s with a bird's radar cross-section (-22..-27 dBsm). Its speed is a fast bird's, its
RCS a bird's, so P(drone) sits at 0.4-0.7 through the climb; then it stops to turn onto its
offset leg and the stop reads bird-like for 20-40 s (docs/WARNING_POLICY.md, sessions 10-12;
night_launch s24, s31, s32, s41, s43 traced). The climb is the evidence a real radar gives
at once: birds climb slowly. Migrants tracked by radar climb at rates that fall with body
mass, below about 1-2 m/s even for small passerines (Hedenstroem & Alerstam 1992, J. Exp.
Biol. 164:19-38: climbing rate is limited by the power margin over level flight), while a
multirotor climbs and descends at several m/s whenever it changes height.

Not the tracker's vertical velocity: a young radar track's height estimate lags a climb by
tens of metres and its vertical velocity has an sd of 2.5-3 m/s (the filter's process
noise). The plots' heights (``u = z_s + r sin(el)``, variance ``sin^2(el) sigma_r^2 +
(r cos(el))^2 sigma_el^2``) are fitted by a weighted least-squares line over the last
``WINDOW_S`` (``kinematics.WINDOW_S``): slope ``c`` with variance ``1 / sum w (t - tbar)^2``
(``w = 1 / var``), the estimate of a constant climb and its honest uncertainty (at 2 km and
0.012 rad, 25 m a plot: 1.5 m/s over 15 plots).

The evidence is the likelihood ratio of a climb rate under a drone's ``N(0,
DRONE_CLIMB_SD^2)`` and a bird's ``N(0, BIRD_CLIMB_SD^2)``, read at a *lower bound* of the
track's climb rate: ``ln N(f; 0, sd_d^2) - ln N(f; 0, sd_b^2)`` (positive above 1.57 m/s),
``f = c - FLOOR_K sd`` (``threat.reach``'s bound: 2 sd, one-sided 97.7 %). It is remembered
as ``threat.reach`` remembers a speed, because the launch climb ends before the stop and the
offset leg that read as a bird: the least floor of ``threat.reach.REACH_RUN`` recomputes
running, kept at its maximum over the track's life (``threat.reach.reach_update``, the same
rule). One-sided: only a *climb* and only against the bird (the drone classes and the
aircraft keep their evidence; multirotor versus fixed wing stays with the other features);
level flight says nothing here (drones cruise level too) and a descent is cheap for a bird
(gliding, landing). Capped at ``CLIMB_CAP``.
The heights must lie on a line (the weighted residual below the chi-square 99 % point: a
plot of another object, or a climb that levelled off within the window, is no constant
climb). Fitted over the last ``WINDOW_S`` and over the whole record (``HISTORY_S``),
whichever bound is higher: a 25 s climb at 4 km (50 m of height noise a plot) is a 3 sd
slope over its length and under 2 sd over 15 s.

Why a bound held for a run and not the fitted slope's likelihood ratio each frame: a track
is looked at every 2 s; the ratio of the fitted slope (noise included) exceeded 1 nat at
some moment for 96 of 304 and 98 of 393 bird tracks of birds_night s11 and harder s9 (their
slopes' noise is as stated: z-scores sd 1.03), where the held floor exceeded 1.57 m/s for 1
of 304 and 5 of 393 tracks (docs/WARNING_POLICY.md, session 12).

Sequential (session 13): the held floor comes late for a climb at 1.3-1.6 km (night_launch
s41 H0: 1.7 nats at t=53, the end of an 18 s climb straight in, while the ratio of the
fitted slope read 2-3 nats from t=48), and a current ratio over a sliding window is the
many-looks test above. A test that may be looked at every 2 s without paying for it is a
likelihood ratio over a *growing* segment of plots: under the bird's own null (a constant
climb drawn from ``N(0, BIRD_CLIMB_SD^2)``) the segment's Bayes factor is a martingale in the
plots, so the chance it ever reaches ``e^x`` within a segment is at most ``e^-x`` (Ville's
inequality), however often it is read. The segment restarts when its evidence is not for
the drone or its heights are no line (``segment_update``: Page's CUSUM, Page 1954), so a
level bird's segments restart every few seconds, while a climb's segment grows with it and
its evidence with the cube of its length. A bird track is looked at in many segments, and
Ville's bound holds for each: the evidence is taken less ``ln`` of the number of segments
the track has had (a union bound over them), so a launch climb, seen in a young track's
first segment, keeps it whole, and a bird minutes old pays ``ln 30``. Measured on the bird
tracks of birds_night s11 (304) and harder s9 (393): the penalty ever above 1 nat on 61 and
63 of them without the union bound, on 5 and 7 with it (the sliding 15 s window's ratio: 96
and 98). The penalty on the bird is the larger of the held floor's and the current
segment's; the segment's is not remembered (the climb's end restarts it: the floor
remembers).

Remembered, and not restarted before it can speak (session 15, branch ``warn5``). Two
things kept a launch climb seen at 2-3 km from counting (night_launch s73 H0: 16 -> 109 m
over t = 51-73 at 2.6 km, 31 m of height noise a plot; the earlier code's penalty 0 throughout, its
segments restarted at t = 60 and 71). (1) Page's restart fired at the segment's first look:
with 8 plots the slope's variance (3.7^2 at t = 60) dwarfs both priors, and the Bayes factor
of *any* slope is then negative (the Occam factor ``-0.5 ln((9 + v) / (1 + v))``), a
5 m/s climb's included, so the climb's first plots were thrown away, and again at the next
look. A segment that is not restarted is still a martingale under the bird (Ville holds for
it as it grows); the restart only keeps old level flight from diluting a later climb. So a
segment is restarted for want of evidence only once its slope is known to the bird's own
climb spread (variance at most ``BIRD_CLIMB_SD^2``) or it has filled the height record
(``HISTORY_S`` less ``MIN_SPAN_S``: beyond that it would slide, the many-looks test); no line
still restarts it at once. s73 H0: 2.85 nats at t = 73. (2) The segment's evidence was read
now only, and a launch climb's segment loses it when the drone levels off or stops, just
before the stop-and-sprint that reads as a bird. Ville's inequality bounds the chance that
the segment's factor *ever* reaches ``e^x``, so its largest value (less ``ln segments`` as
before) is as sound evidence as its current one: it is remembered (``climb_seq_peak``), as
the held floor is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from skywarden.threat.kinematics import WINDOW_S
from skywarden.threat.reach import FLOOR_K

# (t, height m, its variance m^2) of one radar's plots
ClimbSample = tuple[float, float, float]
BIRD_CLIMB_SD = 1.0  # m/s: sustained climb of migrating birds (Hedenstroem & Alerstam 1992)
DRONE_CLIMB_SD = 3.0  # m/s: a multirotor's climb and descent rates span 0-6 m/s
CLIMB_CAP = 3.0  # nats: about one strong current feature (the speed at a fast drone's)
HISTORY_S = 2.0 * WINDOW_S  # the plot heights kept: a launch climb lasts 10-30 s
MIN_PLOTS = 8  # at least 6 degrees of freedom for the line's residual check
MIN_SPAN_S = 6.0  # a slope over less is mostly the plots' noise
LINE_QUANTILE_Z = 2.326  # the standard normal's 99 % point (Wilson-Hilferty below)


def plot_height(
    t: float, r: float, el: float, var_r: float, var_el: float, z_s: float
) -> ClimbSample:
    """(t, height above the site's ENU origin, its variance) of a radar plot at range ``r``
    m and elevation ``el`` rad from a sensor at height ``z_s``, by first-order propagation
    (as ``core.observation`` places a plot: no earth curvature)."""
    s, c = math.sin(el), math.cos(el)
    return (t, z_s + r * s, s * s * var_r + (r * c) ** 2 * var_el)


def _long_enough(samples: Sequence[ClimbSample]) -> bool:
    """At least ``MIN_PLOTS`` plots over at least ``MIN_SPAN_S``: enough for a slope and its
    line check."""
    return len(samples) >= MIN_PLOTS and samples[-1][0] - samples[0][0] >= MIN_SPAN_S


def climb_fit(samples: Sequence[ClimbSample]) -> tuple[float, float] | None:
    """(slope m/s, its variance) of the weighted least-squares line through the heights
    against time, or None: fewer than ``MIN_PLOTS`` plots, a span under ``MIN_SPAN_S``, or
    a weighted residual above the chi-square(n - 2) 99 % point (``chi2_k,0.99 ~ k (1 -
    2/(9k) + z sqrt(2/(9k)))^3``, Wilson and Hilferty 1931): the heights are no line."""
    if not _long_enough(samples):
        return None
    n = len(samples)
    w = [1.0 / max(v, 1e-6) for _, _, v in samples]
    sw = sum(w)
    tbar = sum(wi * s[0] for wi, s in zip(w, samples, strict=True)) / sw
    ubar = sum(wi * s[1] for wi, s in zip(w, samples, strict=True)) / sw
    stt = sum(wi * (s[0] - tbar) ** 2 for wi, s in zip(w, samples, strict=True))
    if stt <= 0.0:
        return None
    stu = sum(wi * (s[0] - tbar) * (s[1] - ubar) for wi, s in zip(w, samples, strict=True))
    slope = stu / stt
    chi = sum(
        wi * (s[1] - ubar - slope * (s[0] - tbar)) ** 2 for wi, s in zip(w, samples, strict=True)
    )
    k = n - 2
    q = 2.0 / (9.0 * k)
    if chi > k * (1.0 - q + LINE_QUANTILE_Z * math.sqrt(q)) ** 3:
        return None
    return slope, 1.0 / stt


def _log_norm0(x: float, var: float) -> float:
    """``ln N(x; 0, var)`` up to ``-ln sqrt(2 pi)``."""
    return -0.5 * x * x / var - 0.5 * math.log(var)


def _llr(c: float, v: float) -> float:
    """The drone's climb evidence over the bird's for a slope ``c`` with variance ``v``."""
    return _log_norm0(c, DRONE_CLIMB_SD**2 + v) - _log_norm0(c, BIRD_CLIMB_SD**2 + v)


def fits(samples: Sequence[ClimbSample]) -> list[tuple[float, float]]:
    """The line fits (``climb_fit``) over the last ``WINDOW_S`` and over the whole record
    (``HISTORY_S``) that pass the line check: a long climb is measured better over its
    whole length, and a climb that ended within the record is no line there, but may be one
    over the shorter window."""
    if not samples:
        return []
    t_end = samples[-1][0]
    recent = [x for x in samples if x[0] >= t_end - WINDOW_S]
    out = [f for f in (climb_fit(recent), climb_fit(samples)) if f is not None]
    if len(recent) == len(samples) and out:
        out = out[:1]
    return out


def climb_floor(samples: Sequence[ClimbSample]) -> float:
    """A lower bound (m/s, >= 0) on the climb rate: the largest ``c - FLOOR_K sd`` of the
    fits (``fits``), as ``threat.reach.speed_floor`` bounds a speed."""
    return max([c - FLOOR_K * math.sqrt(v) for c, v in fits(samples)] + [0.0])


def segment_update(
    samples: Sequence[ClimbSample], after: float, segments: int = 1
) -> tuple[float, float]:
    """One look of the sequential climb test (module docstring, "Sequential"): (the
    segment's new start, the bird's current penalty >= 0, at most ``CLIMB_CAP``) for the
    plot heights ``samples`` of the segment of plots after time ``after``, the track's
    ``segments``-th.

    The penalty is the log Bayes factor of the segment's constant climb, the drone's ``N(0,
    DRONE_CLIMB_SD^2)`` over the bird's ``N(0, BIRD_CLIMB_SD^2)`` (``_llr`` of the fitted
    slope and its variance: the intercept and the residual are the same under both), for a
    climb only, less ``ln segments``: the union bound over the segments the track has been
    looked at in (each reaches ``e^x`` with chance at most ``e^-x`` under the bird, so one
    of ``N`` does with at most ``N e^-x``). The segment restarts after its last plot (Page's
    CUSUM rule) when its evidence is not for the drone (level or descending flight, a slope
    no steeper than its noise) once its slope is known to ``BIRD_CLIMB_SD`` or it fills the
    height record, or at once when the heights are no line (a climb that levelled off,
    another object's plot); a segment too short to fit waits for more plots."""
    seg = [x for x in samples if x[0] > after]
    fit = climb_fit(seg)
    if fit is None:
        if _long_enough(seg):
            return seg[-1][0], 0.0  # long enough, but no line
        return after, 0.0
    c, v = fit
    ev = _llr(c, v) if c > 0.0 else 0.0
    if ev <= 0.0:
        if v > BIRD_CLIMB_SD**2 and seg[-1][0] - seg[0][0] < HISTORY_S - MIN_SPAN_S:
            # undecided: a slope known worse than a bird's climb spread reads against any
            # climb (the Occam factor), so the segment grows on (module docstring)
            return after, 0.0
        return seg[-1][0], 0.0
    return after, min(max(ev - math.log(segments), 0.0), CLIMB_CAP)


def bird_penalty(peak: float) -> float:
    """The log-likelihood to take from the bird (>= 0, at most ``CLIMB_CAP``) for a climb
    ``peak`` floor: the drone's climb evidence over the bird's for a climb at that rate
    measured exactly, ``ln N(peak; 0, sd_d^2) - ln N(peak; 0, sd_b^2)``, positive above
    1.57 m/s."""
    return min(max(_llr(peak, 0.0), 0.0), CLIMB_CAP) if peak > 0.0 else 0.0

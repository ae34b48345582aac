"""Doppler steadiness of a young radar track, as class evidence (issue 19, branch multi).

Why: a new radar track knows its radial speed from the Doppler at once, but learns the speed
across the beam only over 8-12 s (a 2.4 km target, 0.01 rad azimuth noise: 24 m a plot).
Until the kinematic window (``threat.kinematics``) holds ``WINDOW_S`` of samples whose
velocity is known, it has either no evidence (after ``learnt_cut``) or the filter's settling,
and a silent drone with a bird's RCS stays near P(drone) 0.3-0.6 for 20-30 s after
confirmation (multisensor_attack s14, s34, s38 H0 and s40 H1, traced in
docs/WARNING_POLICY.md). The plots' own radial speeds do not wait for the filter: their
fluctuation about a straight line in time says how steadily the object flies, measured from
the first plot.

The statistic: the residual sum of squares ``S`` of a least-squares line through the last
``n`` radial speeds of one radar (its geometric drift over ``WINDOW_S`` is nearly linear: for
a constant velocity the second derivative of the radial speed is about ``3 v_t^2 v_r / r^2``,
under 0.01 m/s^3 at 2 km). With each plot's radial noise ``sigma`` (the sensor's R) and the
object's own fluctuation ``f`` about the line, ``S / (sigma^2 + f^2) ~ chi^2(n - 2)``, so
``ln p(S | f) = -(k/2) ln(sigma^2 + f^2) - S / (2 (sigma^2 + f^2))`` up to a constant the
same for every class (k = n - 2).

What ``f`` a class shows depends on the aspect: a speed fluctuation ``s`` shows along the
line of sight (``s cos a``), a heading wander ``h`` (rad) across it, as ``h v_t`` with
``v_t`` the speed across the line of sight: ``f^2 = (s cos a)^2 + (h v_t)^2``. The per-class
``s`` and ``h`` are the kinematic window's medians (``threat.kinematics.KINEMATICS``: speed
sd and one second of turn-rate sd) with their log-sds, each class a log-normal about its
median, integrated by Gauss-Hermite quadrature (drones: the steady / manoeuvring mixture).
The bird's ``h`` is not the window's filtered turn-rate sd (0.1 rad/s, smoothed by the
tracker) but the wander of its true heading about a straight course over the window:
the public files' birds turn by 0.25 rad per second (sd; ``sim.families``), a random walk
whose departure from a line over 6-15 s is 0.16-0.25 rad: ``BIRD_HEADING_RAD``. ``v_t`` is
the track's estimated tangential speed, a lower bound while the filter still learns it (it
starts near 0), so an object whose cross-beam speed is not yet known gets little evidence
either way.

A bird's speed changes slowly (wingbeat cycles of tens of seconds in the simulator; gliding
phases in life), so over a short window much of it is a trend the line absorbs: the bird's
speed term is ``BIRD_SPEED_SD``, not the window's 1.2 m/s, and a bird flying along the line
of sight, whose heading wander the Doppler cannot see, reads nearly like a drone: the
evidence then stays near 0 instead of speaking for the drone.

Weighed like one kinematic feature (``KINEMATIC_WEIGHT``), capped at ``DOPPLER_CAP`` nats, and
added to the window's evidence in full until the kinematic memory holds its first block
(``threat.evidence.doppler_ll``), then handed over to the window over ``RAMP_S``
(``handover_weight``): from then on the window reads the same steadiness. The hand-over
was a switch until session 19; the term's end then moved P(drone) by 0.2-0.4 in one
recompute, both ways (multisensor_attack s206 H1 0.91 -> 0.69, s300 H0 0.80 -> 0.42: late
warnings; harder birds_night s67 T75, a bird, 0.50 -> 0.81: a false alert).
It speaks for the drone only when the residual is what a *steady* drone would leave
(below the chi-square 99 % point under the steady term's median): a series spoilt by a
wrongly associated plot, or an object whose radial speed jumps, is not steady flight,
and the drone's manoeuvring term must not turn it into evidence for the drone. And only
where a bird's heading wander would show at all: its median ``BIRD_HEADING_RAD v_t`` at
least the plots' radial noise ``sigma``. Nearer the line of sight the steady radial speeds
are a bird's as much as a drone's (the speed terms, 0.5 against 0.3 m/s, differ by less than
the noise), yet they read +0.2 nats for the drone: enough to lift a drone-sized bird flying
at the radar (harder radar3d_site s12 track 5, -15 dBsm, 8 m/s, v_t 0.3-1 m/s, plots
0.5 m/s) from P(drone) 0.66-0.69 to 0.71-0.73 for 4 s, and warned (session 12, branch
falsealert). Evidence for the bird (a wander seen) still counts there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from skywarden.threat.kinematics import KINEMATIC_WEIGHT, KINEMATICS, N_CLASSES

# (t, radial speed m/s, its variance m^2/s^2) of one radar's plots
DopplerSample = tuple[float, float, float]
MIN_PLOTS = 6  # k = 4 degrees of freedom at least: fewer say little and swing widely
DOPPLER_CAP = 2.0  # nats, either way: about what one steady kinematic window says
# A bird's speed fluctuation about a straight line over a few seconds (m/s): see above.
BIRD_SPEED_SD = 0.5
BIRD_HEADING_RAD = 0.2  # a bird's heading wander about a straight course (see above)
STEADY_QUANTILE_Z = 2.326  # the standard normal's 99 % point (Wilson-Hilferty below)
# The hand-over to the window (issue 19, session 19, branch dopend): once the kinematic
# memory holds its first block the term's weight falls linearly from 1 to 0 over
# RAMP_S of track time, instead of at once. Its series spans WINDOW_S of plots, so one
# window's length is the time the window and the memory take to read a whole series of
# their own after the switch (see ``handover_weight``).
RAMP_S = 15.0
# Gauss-Hermite nodes and weights (probabilists', normalised) for E[g(X)], X ~ N(0, 1).
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(7)
_GH_W = _GH_W / _GH_W.sum()
BIRD = 2
AIRCRAFT = 3


def _components(k: int) -> list[tuple[float, float, float, float, float]]:
    """Class ``k``'s (weight, speed median, speed log-sd, heading median rad, heading log-sd)
    terms: the kinematic window's speed_sd and turn_sd mixtures paired term by term (steady
    with steady, manoeuvring with manoeuvring); the bird's speed median is
    ``BIRD_SPEED_SD``."""
    sp, tu = KINEMATICS["speed_sd"][k], KINEMATICS["turn_sd"][k]
    out = []
    for (w, s, ls), (_, h, lh) in zip(sp, tu, strict=True):
        if k == BIRD:
            s, h = BIRD_SPEED_SD, BIRD_HEADING_RAD
        out.append((w, s, ls, h, lh))
    return out


_COMPONENTS = {k: _components(k) for k in range(N_CLASSES) if k != AIRCRAFT}


def residual(samples: Sequence[DopplerSample]) -> tuple[float, int, float]:
    """(S, k, sigma^2): the residual sum of squares of the least-squares line through the
    radial speeds against time, its degrees of freedom ``n - 2`` and the plots' mean radial
    variance."""
    t = np.array([s[0] for s in samples])
    r = np.array([s[1] for s in samples])
    var = float(np.mean([s[2] for s in samples]))
    tc = t - t.mean()
    # slope = sum(tc (r - mean r)) / sum(tc^2) (ordinary least squares)
    den = float(np.dot(tc, tc))
    slope = float(np.dot(tc, r - r.mean())) / den if den > 0 else 0.0
    res = r - r.mean() - slope * tc
    return float(np.dot(res, res)), len(samples) - 2, var


def _class_loglik(S: float, k: int, var: float, cos_a: float, v_t: float, cls: int) -> float:
    """``ln E_f[p(S | f)]`` for class ``cls``: the chi-square density of the residual under
    ``f^2 = (s cos a)^2 + (h v_t)^2``, ``s`` and ``h`` log-normal (quadrature over each
    term's log-sd, the two taken as one draw: a wandering object wanders in both)."""
    total = -math.inf
    for w, s_med, s_ls, h_med, h_ls in _COMPONENTS[cls]:
        for x, gw in zip(_GH_X.tolist(), _GH_W.tolist(), strict=True):
            s = s_med * math.exp(s_ls * x)
            h = h_med * math.exp(h_ls * x)
            v = var + (s * cos_a) ** 2 + (h * v_t) ** 2
            lp = math.log(w * gw) - 0.5 * k * math.log(v) - S / (2.0 * v)
            total = max(total, lp) + math.log1p(math.exp(-abs(total - lp)))
    return total


def doppler_loglik(
    samples: Sequence[DopplerSample], radial: float, speed: float
) -> list[float] | None:
    """Per class (``threat.evidence.CLASSES`` order) the Doppler steadiness evidence relative
    to the bird (bird and aircraft 0), ``KINEMATIC_WEIGHT`` times the log-likelihood ratio
    capped at ``DOPPLER_CAP``; None with fewer than ``MIN_PLOTS`` plots. ``radial`` and
    ``speed``: the track's estimated radial and total speed now (m/s), for the aspect."""
    if len(samples) < MIN_PLOTS:
        return None
    S, k, var = residual(samples)
    v_t = math.sqrt(max(speed * speed - radial * radial, 0.0))
    cos_a = min(abs(radial) / speed, 1.0) if speed > 0 else 1.0
    bird = _class_loglik(S, k, var, cos_a, v_t, BIRD)
    # a bird's heading wander shows in the radial speeds only across the beam: where its
    # median (BIRD_HEADING_RAD v_t) is below the plots' own noise, steady radial speeds are
    # what a bird leaves too, and they say nothing for the drone
    visible = (BIRD_HEADING_RAD * v_t) ** 2 >= var
    out = [0.0] * N_CLASSES
    for c in (0, 1):
        d = KINEMATIC_WEIGHT * (_class_loglik(S, k, var, cos_a, v_t, c) - bird)
        if d > 0 and not (visible and _steady(S, k, var, cos_a, v_t, c)):
            d = 0.0
        out[c] = min(DOPPLER_CAP, max(-DOPPLER_CAP, d))
    return out


def _steady(S: float, k: int, var: float, cos_a: float, v_t: float, cls: int) -> bool:
    """Whether ``S`` lies below the chi-square(k) 99 % point under class ``cls``'s steady
    term at its median: ``chi2_k,0.99 ~ k (1 - 2/(9k) + z sqrt(2/(9k)))^3`` (Wilson and
    Hilferty 1931)."""
    _, s, _, h, _ = _COMPONENTS[cls][0]
    v = var + (s * cos_a) ** 2 + (h * v_t) ** 2
    c = 2.0 / (9.0 * k)
    return S / v <= k * (1.0 - c + STEADY_QUANTILE_Z * math.sqrt(c)) ** 3


def handover_weight(since_s: float) -> float:
    """The Doppler term's weight ``since_s`` seconds of track time after the kinematic
    memory took its first block: ``w = clip(1 - since_s / RAMP_S, 0, 1)``.

    Why a ramp, not a switch: the term and the window read the same flight from two sides
    (the plots' raw radial speeds; the filter's velocity, still learning across the beam
    for 8-12 s after a track starts and read through a velocity sd of about 1 m/s after
    that), and neither reading is replaced by the other in one recompute. When the first
    block enters the memory the window may read the same steadiness weaker (s206 H1:
    window +0.7 nats against the Doppler's +1.4) or stronger; a switch turned the
    difference into a step of P(drone). A ramp over one window's length lets the two
    differ without a step: the same rule whichever class the term speaks for."""
    return min(1.0, max(0.0, 1.0 - since_s / RAMP_S))

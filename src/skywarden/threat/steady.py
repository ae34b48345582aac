"""Speed held over a minute, as class evidence for the steady classes (issue 19, session 18).

Why: the kinematic window (``threat.kinematics``, 15 s) reads a steady flight through the
tracker's noise. A small drone holding 20 m/s at 2-4 km has a velocity sd of 1.0-1.3 m/s,
so its 15 s window reads a speed sd of 0.3-0.6 m/s where a bird's median is 1.2, and says
only +0.1..+1.2 nats for the drone: multisensor_attack s233 H0 and radar3d_site s126 H1
(-25 dBsm, no RF) sat at P(drone) 0.35-0.80 for 90-100 s (docs/WARNING_POLICY.md,
session 18, branch steady). A 15 s window cannot tell a steady flight from a bird caught
between two beats of its speed: a bird's speed swings by about 15 % over cycles of 20-60 s
(``sim.kinematics.flapping_birds``; flap-gliding and bounding flight), so over 15 s part of
a swing shows, over a minute all of it.

The statistic: the coefficient of variation ``cv`` (sd / mean) of the track's horizontal
speed over the last ``LONG_S``, one sample every ``LONG_STEP_S`` from the frames whose
velocity is known (not coasted, ``sv`` at most ``KNOWN_SV_MPS``). Measured on main's
tracks (one track-sample every 2 s with a span of at least 45 s; birds: the residence seeds 5 and
99 and birds_night s231-232, 119 tracks; hostile drones: multisensor s233, radar3d s126,
12 tracks): birds 1 / 5 / 50 % at cv 0.039 / 0.056 / 0.099; hostile drones 0.009 / 0.010 /
0.020 (the tracker's noise, 0.3-0.6 m/s at 20 m/s); aircraft 0.005-0.008. Per class a
log-normal: bird median ``BIRD_CV`` (log-sd ``BIRD_CV_LOG_SD``), a steady flyer
``STEADY_CV`` (``STEADY_CV_LOG_SD``).

One-sided, like the kinematic memory the other way: it speaks only *for* the steady classes
(drones and aircraft, relative to the bird), never against them: a drone that changes speed
is read by the window already, and a bird's steady minute must cost at most
``STEADY_CAP``. Steady birds exist (the residence's soaring raptor glides at one speed and
circles: its heading speaks for the bird; a migrant of the residence held cv 0.035 for a
minute): so the term is weighed like one kinematic feature and capped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from skywarden.threat.kinematics import BIRD, KINEMATIC_WEIGHT, N_CLASSES

LONG_S = 60.0  # the span read, s
LONG_STEP_S = 2.0  # one sample per this much track time
LONG_MIN_SPAN_S = 45.0  # at least this span of known-velocity samples ...
LONG_MIN_N = 15  # ... and this many of them
LONG_MIN_MPS = 5.0  # a slower mean speed: the ratio is the noise's (hover, a crawl)
BIRD_CV, BIRD_CV_LOG_SD = 0.095, 0.4
STEADY_CV, STEADY_CV_LOG_SD = 0.025, 0.5
STEADY_CAP = 1.0  # nats, for the steady classes against the bird
# drones and aircraft: every class but the bird (threat.evidence.CLASSES order)
STEADY_CLASSES = tuple(c for c in range(N_CLASSES) if c != BIRD)

# (t, horizontal speed m/s) of the frames whose velocity is known
SpeedSample = tuple[float, float]


def _log_lognormal(x: float, median: float, log_sd: float) -> float:
    z = math.log(x / median) / log_sd
    return -0.5 * z * z - math.log(log_sd)


def steady_loglik(samples: Sequence[SpeedSample]) -> list[float] | None:
    """Per class (``threat.evidence.CLASSES`` order) the held speed's evidence relative to
    the bird: ``KINEMATIC_WEIGHT`` times the log-likelihood ratio of ``cv`` under a steady
    flyer and a bird, for the steady classes, floored at 0 and capped at ``STEADY_CAP``;
    bird 0. None while the samples span less than ``LONG_MIN_SPAN_S`` or number fewer than
    ``LONG_MIN_N``, or their mean speed is under ``LONG_MIN_MPS``."""
    n = len(samples)
    if n < LONG_MIN_N or samples[-1][0] - samples[0][0] < LONG_MIN_SPAN_S:
        return None
    mean = sum(s for _, s in samples) / n
    if mean < LONG_MIN_MPS:
        return None
    var = sum((s - mean) ** 2 for _, s in samples) / n
    cv = max(math.sqrt(var) / mean, 1e-3)
    d = _log_lognormal(cv, STEADY_CV, STEADY_CV_LOG_SD) - _log_lognormal(
        cv, BIRD_CV, BIRD_CV_LOG_SD
    )
    v = min(STEADY_CAP, max(0.0, KINEMATIC_WEIGHT * d))
    return [v if c in STEADY_CLASSES else 0.0 for c in range(N_CLASSES)]

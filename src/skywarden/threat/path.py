"""Path steadiness from the tracker's own motion modes, as class evidence (issue 19, session 17).

Why: the kinematic window (``threat.kinematics``) reads the *filtered* velocity in m/s, so at
2-4 km, where the velocity across the beam is known to 1-1.5 m/s only, a drone holding its
leg to a few tenths of a m/s reads a speed fluctuation of 0.4-0.5 m/s and a climb fluctuation
of 0.5-1.5 m/s (the filter's noise), and the window says +0.6..+1.0 nats where a near one
says +2; after a new track's learning the window is cut and says nothing for 6-15 s. The
tracker's interacting-multiple-model filter asks the same question of the *plots*, each
weighed by its own measurement noise: its mode probability is the posterior that the
object flies the quiet constant-velocity model (``tracking.motion.default_models``: a
velocity wander of 0.3 m/s per second) rather than the manoeuvre model (3 m/s per second),
from the innovations of every plot (range to 4 m, Doppler to 0.5 m/s). It is known from the
track's first seconds and does not wait for the window.

Measured (session 17, branch young; main's code on radar3d_site s104, s126, multisensor_attack
s149 and birds_night s127): hostile drones on a leg hold the manoeuvre mode's probability
at 0.002-0.007 from 10 s after confirmation (5-95 %, 11 tracks at ages 10-45 s); birds
(wandering 0.25 rad/s, flapping +-15 %) sit at 0.97 (median), with 11-17 % of them under 0.1
(birds flying near the line of sight, or slowly at long range, whose wander the plots do not
show).

Likelihood: the mode probability ``mu`` (of the manoeuvre mode) is the posterior of a filter
whose modes are a priori equally likely (``p_stay`` the same for both: stationary 1/2), so
the plots' likelihood ratio of quiet to manoeuvre is ``(1 - mu) / mu``. A class whose object
flies the quiet model with probability ``q`` then has ``p(plots | class) ~ q (1 - mu) + (1 -
q) mu``. ``q`` per class (``STEADY_SHARE``): drones the kinematic window's steady share
(``KINEMATICS``: 0.75 multirotor, 0.8 fixed wing, 0.9 aircraft); birds 0.25, more than the
simulated birds' 11-17 % on purpose: migrants and commuting birds fly straight (the heading
persistence's reason, ``threat.heading``). So the term is bounded whatever ``mu``: at most
``ln(0.75 / 0.25)`` between multirotor and bird, times ``KINEMATIC_WEIGHT`` (it reads the same
flight as the window): +-0.66 nats. A current term (recomputed each frame from the track's
state, never accumulated): a steady bird reads +0.66 for the drone and no more, however long
it flies.

Only for a two-mode filter (the default quiet + manoeuvre); a track with other modes (turns,
hover, one model) gets nothing from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from skywarden.threat.kinematics import KINEMATIC_WEIGHT, N_CLASSES

F64 = NDArray[np.float64]

# Per class (drone, fixed-wing drone, bird, aircraft): the share of objects the quiet model
# explains (see the module docstring).
STEADY_SHARE = (0.75, 0.8, 0.25, 0.9)
_Q = np.array(STEADY_SHARE)


def path_loglik(mode_probs: Sequence[Sequence[float]]) -> F64:
    """Per track and class, ``KINEMATIC_WEIGHT * ln(q_c (1 - mu) + (1 - q_c) mu)`` with
    ``mu`` the manoeuvre mode's probability (the second of two modes); 0 for a track whose
    filter has not exactly two modes. (N, N_CLASSES)."""
    out = np.zeros((len(mode_probs), N_CLASSES))
    for i, mp in enumerate(mode_probs):
        if len(mp) != 2:
            continue
        mu = min(max(float(mp[1]), 0.0), 1.0)
        if not math.isfinite(mu):
            continue
        out[i] = KINEMATIC_WEIGHT * np.log(_Q * (1.0 - mu) + (1.0 - _Q) * mu)
    return out

"""The horizontal-speed evidence of a track: class speed models read through the error of
the classifier's own speed average.

Issue 19, session 13 (branch ``warn2``). The classifier's speed (``Classifier._observe_state``)
is an exponentially forgetting average of the tracker's horizontal speed, each frame weighed
by ``w = 1 / (sv^2 + SPEED_SD_FLOOR^2)`` (``sv`` the velocity's largest sd). Until this
session the class models scored it as if it were exact, ``ln N(avg; mu_c, sd_c^2)``. Through
a multirotor's 5-10 s stop the velocity sd is 4-6 m/s, and an average read to 9-15 m/s there
is scored against the bird's narrow N(11, 4^2) as sharply as a settled one.

**The estimate's variance.** With forgetting ``a``, the average is ``sum_k c_k s_k / sum_k
c_k``, ``c_k = m_k w_k``, where the masses ``m_k`` (``a^n`` for the first frame, ``(1 - a)
a^j`` after) sum to 1 and ``speed_w = sum_k m_k w_k``. The frames' errors ``e_k`` (sd
``sv_k``) are a Kalman filter's, strongly correlated frame to frame, so take the worst case
over every correlation (Cauchy-Schwarz, then Jensen):
``var <= (sum c_k sv_k / sum c_k)^2 <= sum c_k sv_k^2 / sum c_k
= sum m_k (1 - w_k SPEED_SD_FLOOR^2) / speed_w = 1 / speed_w - SPEED_SD_FLOOR^2``
(equality for fully correlated errors of one sd). Independent errors would give about
``(1 - a) / (1 + a)`` of it, a twentieth; the bound is the honest one for a filter's
velocity, and it needs no state beyond ``speed_w``. A settled track (``sv`` ~ 0.5) has a
variance of about 0.25 m^2/s^2, nothing beside the models' 4-25 m/s; a stop read with ``sv``
5 m/s has ~25. The likelihood of the estimate is the class density convolved with it:
``N(avg; mu_c, sd_c^2 + var)``.

**A multirotor hovers.** The multirotor's model (class 0) is one broad N(12, 12^2), which
already puts 0-3 m/s 1 sd from its mean; N(28, 9^2) is the fixed wing's. Optionally
(``DRONE_HOVER``) it is a mixture instead: a hover or loiter component (GNSS position hold
drifts under 1 m/s, station keeping in wind 1-3 m/s) beside a cruise component. Birds
barely hover (minimum-power speeds 5-10 m/s; hovering kestrels are a daytime exception), so
a hover is drone evidence where the speed is known well enough to see it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

# Horizontal speed, m/s: birds cruise 6-20 m/s; multirotors hover to 25+; fixed-wing drones
# 15-40; manned aircraft near a site 30-120. (mean, sd) per class, classify.CLASSES order.
SPEED_MODEL = {0: (12.0, 12.0), 1: (28.0, 9.0), 2: (11.0, 4.0), 3: (60.0, 25.0)}
SPEED_MU, SPEED_SD = (np.array([SPEED_MODEL[k][i] for k in range(4)]) for i in (0, 1))
# The tracker's velocity noise floor (m/s, a few tenths): the speed average's weights are
# 1 / (sv^2 + SPEED_SD_FLOOR^2), so that a settled track's frames weigh alike.
SPEED_SD_FLOOR = 0.5
# Convolve the class models with the average's own error (``estimate_var``)
USE_ESTIMATE_VAR = True
# The multirotor's mixture (class index, hover mean, sd, weight, cruise mean, sd), or None
# for its one Gaussian of SPEED_MODEL
DRONE_HOVER: tuple[int, float, float, float, float, float] | None = None


def estimate_var(speed_w: float) -> float:
    """The speed average's error variance, m^2/s^2: its bound ``1 / speed_w -
    SPEED_SD_FLOOR^2`` (module docstring), 0 without a weight (or when not used)."""
    if not USE_ESTIMATE_VAR or speed_w <= 0.0:
        return 0.0
    return max(1.0 / speed_w - SPEED_SD_FLOOR**2, 0.0)


def loglik(x: F64, var: F64) -> F64:
    """``ln p_c(x)`` up to ``-ln sqrt(2 pi)`` per track and class, (N, 4), of speed averages
    ``x`` (N, 1) with error variances ``var`` (N, 1): each class Gaussian widened by ``var``,
    the multirotor's a hover-plus-cruise mixture when ``DRONE_HOVER`` is set."""
    sd = np.sqrt(SPEED_SD**2 + var)
    ll: F64 = -0.5 * ((x - SPEED_MU) / sd) ** 2 - np.log(sd)
    if DRONE_HOVER is not None:
        k, mu_h, sd_h, w_h, mu_c, sd_c = DRONE_HOVER
        v, s = var[:, 0], x[:, 0]
        sh, sc = np.sqrt(sd_h**2 + v), np.sqrt(sd_c**2 + v)
        hover = np.log(w_h) - 0.5 * ((s - mu_h) / sh) ** 2 - np.log(sh)
        cruise = np.log(1.0 - w_h) - 0.5 * ((s - mu_c) / sc) ** 2 - np.log(sc)
        ll[:, k] = np.logaddexp(hover, cruise)
    return ll

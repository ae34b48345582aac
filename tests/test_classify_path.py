"""Issue 19, session 17: path steadiness from the tracker's quiet / manoeuvre mode
probability (``threat.path``): a far track whose plots fit the quiet model is more likely a
drone than one the manoeuvre model explains, by a bounded amount, from its first frame."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.core.site import Site
from skywarden.core.track import TrackState, TrackStatus
from skywarden.threat.classify import Classifier
from skywarden.threat.kinematics import KINEMATIC_WEIGHT
from skywarden.threat.path import STEADY_SHARE, path_loglik

EMPTY_SITE = Site("path", GeoOrigin(0.0, 0.0), ())
# a young far track: 20 m/s, its velocity known to ~1.2 m/s across the beam
P0 = np.diag([900.0, 900.0, 900.0, 1.44, 1.44, 1.0])


def _p_drone(mode_probs: tuple[float, ...]) -> list[float]:
    """P(drone) (both drone classes) of one track flying 16 m/s straight for 8 s with a
    bird-sized mean RCS (-25 dBsm over 10 plots: no aircraft), every frame with
    ``mode_probs``."""
    clf = Classifier(EMPTY_SITE)
    ev = clf._get("1")
    ev.rcs_n, ev.rcs_sum = 10, -250.0
    out = []
    for k in range(8):
        x = np.array([16.0 * k, 3000.0, 80.0, 16.0, 0.0, 0.0])
        tr = TrackState("1", float(k), x, P0, TrackStatus.CONFIRMED, hits=k + 2)
        (shown,) = clf.annotate([replace(tr, mode_probs=mode_probs)], float(k))
        p = shown.class_probs
        out.append(p["drone"] + p["drone_fixed_wing"])
    return out


def test_plots_the_quiet_model_explains_speak_for_the_drone_from_the_first_frame() -> None:
    """The same track, the same frames: quiet (manoeuvre mode 0.003, a drone on its leg in
    radar3d_site s104/s126) is more a drone than wandering (0.97, a bird's median), on
    every frame; without a mode probability (no IMM) it sits between."""
    quiet = _p_drone((0.997, 0.003))
    wander = _p_drone((0.03, 0.97))
    none = _p_drone(())
    for q, w, n in zip(quiet, wander, none, strict=True):
        assert q > n > w


def test_the_path_term_is_bounded_and_even_at_one_half() -> None:
    """Whatever the mode probability, multirotor over bird stays within
    KINEMATIC_WEIGHT ln(q_drone / q_bird) (0.66 nats): a steady bird gets no more than that,
    however long it flies; a probability of 1/2 (a long coast) says nothing."""
    cap = KINEMATIC_WEIGHT * math.log(STEADY_SHARE[0] / STEADY_SHARE[2])
    mus = np.linspace(0.0, 1.0, 101)
    ll = path_loglik([(1.0 - m, m) for m in mus])
    d = ll[:, 0] - ll[:, 2]
    assert np.all(np.abs(d) <= cap + 1e-12)
    assert math.isclose(d[0], cap) and math.isclose(d[-1], -cap)
    assert np.all(np.diff(d) < 0)  # the more the manoeuvre mode, the less a drone
    assert abs(d[50]) < 1e-12
    # a filter with other than two modes (turns, hover) or none: no evidence
    assert not np.any(path_loglik([(), (0.5, 0.3, 0.2), (1.0,)]))

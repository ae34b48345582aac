"""Re-linking a track broken where the object turned: the gap bridged from both ends (issue 21).

Night-launch seed 35's H1 turned back at a 3 s break in its radar track; carried forward from
the first piece alone the whole turn lay on that piece's end velocity, the two pieces missed
the link gate, and the drone's take-off piece (called bird for part of it) stayed apart.
"""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking.smoother import Smoothed, link_score, smooth

R = np.eye(3) * 15.0**2


def _piece(t0: float, t1: float, p0: np.ndarray, v: np.ndarray, seed: int) -> Smoothed:
    """A radar-tracked piece flying ``v`` from ``p0`` at ``t0``, one plot a second."""
    rng = np.random.default_rng(seed)
    ts = np.arange(t0, t1 + 1e-9)
    dets = [
        Detection(float(t), "r", MeasurementKind.XYZ, p0 + v * (t - t0) + rng.normal(0, 15.0, 3), R)
        for t in ts
    ]
    x0 = np.concatenate([p0, v])
    return smooth(dets, x0, np.diag([100.0**2] * 3 + [10.0**2] * 3))


def test_a_turn_back_at_a_four_second_break_is_joined() -> None:
    east, west = np.array([20.0, 0.0, 0.0]), np.array([-20.0, 0.0, 0.0])
    a = _piece(0.0, 60.0, np.array([0.0, 0.0, 80.0]), east, 1)
    end = np.array([1200.0, 0.0, 80.0])  # it turns back here at t = 60; seen again at 64
    b = _piece(64.0, 120.0, end + west * 4.0, west, 2)
    d2 = link_score(a, b)
    # carried from A alone to B's start: 160 m apart, d^2 19.6 against a gate of 16.3; from
    # both ends to the gap's middle 80 m, d^2 6.7
    assert d2 is not None and d2 < 10.0
    # a piece starting 250 m to the side of the turn is not the same drone
    c = _piece(64.0, 120.0, end + west * 4.0 + np.array([0.0, 250.0, 0.0]), west, 3)
    assert link_score(a, c) is None
    # and a straight flight through a gap still links, as before
    s = _piece(64.0, 120.0, end + east * 4.0, east, 4)
    assert link_score(a, s) is not None


def test_a_joined_gap_is_bridged_by_the_cubic_through_both_ends() -> None:
    """Between two smoothed states with no detection, ``state_at`` is the CV smoother's mean:
    the cubic through both ends, not the earlier state carried on (which, across a turn,
    runs away from where the later piece begins and jumps back at its first plot)."""
    east, west = np.array([20.0, 0.0, 0.0]), np.array([-20.0, 0.0, 0.0])
    a = _piece(0.0, 60.0, np.array([0.0, 0.0, 80.0]), east, 1)
    b = _piece(70.0, 120.0, np.array([1100.0, 0.0, 80.0]), west, 2)
    dets = [*a.used, *b.used]
    joined = smooth(dets, a.X[0], np.diag([100.0**2] * 3 + [10.0**2] * 3))
    k = int(np.searchsorted(joined.t, 70.0))
    assert joined.t[k - 1] == 60.0 and joined.t[k] == 70.0  # the gap: no state inside it
    # continuous into the later piece's first state (carried on, it ended 264 m past it)
    x_end, _ = joined.state_at(70.0 - 1e-6)
    assert float(np.linalg.norm(x_end[:3] - joined.X[k, :3])) < 1.0
    # and exact for a straight flight: half way, half way between, at the same speed
    x_mid, _ = smooth(
        [*a.used, *_piece(70.0, 120.0, np.array([1400.0, 0.0, 80.0]), east, 3).used],
        a.X[0],
        np.diag([100.0**2] * 3 + [10.0**2] * 3),
    ).state_at(65.0)
    assert abs(float(x_mid[0]) - 1300.0) < 20.0 and abs(float(x_mid[3]) - 20.0) < 2.0

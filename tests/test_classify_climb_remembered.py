"""Issue 19, session 15 (branch warn5): a launch climb seen at 2-3 km counts, and is
remembered. The sequential climb test (``threat.climb.segment_update``) no longer restarts a
segment whose slope is still too noisy to speak (its Bayes factor is then negative for any
climb: the Occam factor), and its largest penalty is kept (``climb_seq_peak``: Ville's
inequality bounds the chance it *ever* reaches a level, so its largest value is as sound as
its current one). night_launch s73 H0: 16 -> 109 m over 22 s at 2.6 km, penalty 0 on main."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

import test_classify_climb as base
from skywarden.threat import climb
from skywarden.threat.evidence import TrackEvidence, climb_update


def _looks(samples: list[climb.ClimbSample]) -> list[float]:
    """The bird's climb penalty after each look, one every 2 plots (the classifier's 2 s
    recompute), over the last ``climb.HISTORY_S`` of plots as the classifier keeps them."""
    ev = TrackEvidence()
    out = []
    for end in range(climb.MIN_PLOTS, len(samples) + 1, 2):
        ev.heights = deque(samples[max(0, end - int(climb.HISTORY_S)) : end])
        climb_update(ev)
        out.append(ev.climb_pen)
    return out


def test_a_climb_at_two_and_a_half_km_is_not_restarted_before_it_can_speak(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 4.5 m/s climb over 22 plots at 2.6 km (31 m of height noise a plot): the bird's
    penalty at the end averages over 2 nats in 100 draws and passes 1 nat in at least 85
    (main, restarting at the first look: 1.39 and 53)."""
    monkeypatch.setattr(base, "RANGE_M", 2600.0)
    last = [_looks(base._plots(4.5, 22, s))[-1] for s in range(100)]
    assert float(np.mean(last)) > 2.0
    assert sum(p > 1.0 for p in last) >= 85
    assert max(last) <= climb.CLIMB_CAP


def test_the_sequential_penalty_is_remembered_after_the_climb_levels_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same climb, then 20 s of level flight, whose plots dilute the segment's slope:
    the penalty never falls, and at the end it is above the held floor's alone by more than
    1 nat on average over 40 draws (main: it falls with the segment's evidence)."""
    monkeypatch.setattr(base, "RANGE_M", 2600.0)
    ends, floors = [], []
    for s in range(40):
        plots = base._plots(4.5, 22, s)
        t_end, u_end, _ = plots[-1]
        level = base._plots(0.0, 20, 1000 + s)
        plots += [(t_end + 1.0 + t, u_end + u - level[0][1], v) for t, u, v in level]
        pens = _looks(plots)
        assert pens == sorted(pens)  # never falls
        ev = TrackEvidence()
        for end in range(climb.MIN_PLOTS, len(plots) + 1, 2):
            ev.heights = deque(plots[max(0, end - int(climb.HISTORY_S)) : end])
            climb_update(ev)
        ends.append(ev.climb_pen)
        floors.append(climb.bird_penalty(ev.climb_peak))
    assert float(np.mean(ends)) > float(np.mean(floors)) + 1.0


def test_a_level_bird_at_two_and_a_half_km_seldom_reads_a_climb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flapping bird at constant height at 2.6 km, 120 plots looked at 57 times, its
    penalty now remembered: above 1 nat in under 5 % of 200 draws (8; main, not remembered:
    3 ever), never 2 nats."""
    monkeypatch.setattr(base, "RANGE_M", 2600.0)
    ends = [_looks(base._plots(0.0, 120, s, wobble_m=2.5))[-1] for s in range(200)]
    assert sum(p > 1.0 for p in ends) < 10
    assert max(ends) < 2.0

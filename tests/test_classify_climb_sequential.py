"""Issue 19, session 13: the sequential climb test (``threat.climb.segment_update``): the
Bayes factor of a growing segment of plot heights, restarted by Page's rule, read every 2 s
as the classifier reads it (``_climb_update``)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

import test_classify_climb as base
from skywarden.threat import climb
from skywarden.threat.classify import _climb_update, _Evidence


def _looked(samples: list[climb.ClimbSample]) -> list[_Evidence]:
    """The classifier's evidence after each look, one every 2 plots (its 2 s recompute)."""
    ev = _Evidence()
    out = []
    for end in range(climb.MIN_PLOTS, len(samples) + 1, 2):
        ev.heights = deque(samples[:end])
        _climb_update(ev)
        out.append(_Evidence(climb_pen=ev.climb_pen, climb_peak=ev.climb_peak))
    return out


def test_a_climb_at_one_and_a_half_km_speaks_before_its_floor_is_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 5 m/s climb at 1.4 km (night_launch s41 H0's range), 12 plots: the bird's penalty
    averages over 1.2 nats (the held floor alone: about 0.4) and is never above the cap."""
    monkeypatch.setattr(base, "RANGE_M", 1400.0)
    last = [_looked(base._plots(5.0, 12, s))[-1] for s in range(60)]
    pens = [e.climb_pen for e in last]
    floors = [climb.bird_penalty(e.climb_peak) for e in last]
    assert float(np.mean(pens)) > 1.2 > 0.6 > float(np.mean(floors))
    assert max(pens) <= climb.CLIMB_CAP


def test_a_level_bird_looked_at_every_2_s_seldom_reads_a_climb() -> None:
    """A flapping bird at constant height at 1.8 km, 120 plots looked at 57 times: its
    penalty passes 1 nat at some look in under a quarter of 200 draws, 2 nats in under 5 %
    (Ville's bound for one segment, e^-x, is 37 % and 14 %)."""
    peaks = [
        max(e.climb_pen for e in _looked(base._plots(0.0, 120, s, wobble_m=2.5)))
        for s in range(200)
    ]
    assert sum(p > 1.0 for p in peaks) < 50
    assert sum(p > 2.0 for p in peaks) < 10


def test_the_segment_restarts_when_the_climb_levels_off() -> None:
    """20 plots of a 5 m/s climb at 1.8 km, then 20 level: at the end the segment's evidence
    is gone (the heights are no line, then a level one), the held floor's remains."""
    plots = base._plots(5.0, 20, 3)
    t_end, u_end, _ = plots[-1]
    level = base._plots(0.0, 20, 4)
    plots += [(t_end + 1.0 + t, u_end + u - level[0][1], v) for t, u, v in level]
    ev = _Evidence()
    for end in range(climb.MIN_PLOTS, len(plots) + 1, 2):
        ev.heights = deque(plots[max(0, end - int(climb.HISTORY_S)) : end])
        _climb_update(ev)
    assert ev.climb_seg_t > t_end
    _, seq = climb.segment_update(ev.heights, ev.climb_seg_t)
    assert seq == 0.0
    assert math.isclose(ev.climb_pen, climb.bird_penalty(ev.climb_peak)) and ev.climb_pen > 0.0

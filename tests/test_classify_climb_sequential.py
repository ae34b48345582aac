"""Issue 19, session 13: the sequential climb test (``threat.climb.segment_update``): the
Bayes factor of a growing segment of plot heights, restarted by Page's rule, read every 2 s
as the classifier reads it (``threat.evidence.climb_update``)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

import test_classify_climb as base
from skywarden.threat import climb
from skywarden.threat.evidence import TrackEvidence, climb_update


def _looked(samples: list[climb.ClimbSample]) -> list[TrackEvidence]:
    """The classifier's evidence after each look, one every 2 plots (its 2 s recompute)."""
    ev = TrackEvidence()
    out = []
    for end in range(climb.MIN_PLOTS, len(samples) + 1, 2):
        ev.heights = deque(samples[:end])
        climb_update(ev)
        out.append(TrackEvidence(climb_pen=ev.climb_pen, climb_peak=ev.climb_peak))
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
    penalty passes 1 nat at some look in under 5 % of 200 draws and never reaches 2 nats
    (without the union bound over its segments: 33 and 5 of the 200)."""
    birds = [_looked(base._plots(0.0, 120, s, wobble_m=2.5)) for s in range(200)]
    peaks = [max(e.climb_pen for e in looks) for looks in birds]
    assert sum(p > 1.0 for p in peaks) < 10
    assert max(peaks) < 2.0


def test_a_track_pays_for_the_segments_it_was_looked_at_in() -> None:
    """The same climbing segment as a track's first and as its tenth: the tenth's penalty is
    ``ln 10`` less (a union bound over the segments), never below 0."""
    plots = [(float(t), 20.0 + 5.0 * t, 600.0) for t in range(16)]  # 5 m/s, 24 m a plot
    _, first = climb.segment_update(plots, -math.inf, 1)
    _, tenth = climb.segment_update(plots, -math.inf, 10)
    assert climb.CLIMB_CAP > first > math.log(10.0)
    assert math.isclose(tenth, first - math.log(10.0))
    _, late = climb.segment_update(plots, -math.inf, 1000)
    assert late == 0.0


def test_the_segment_restarts_when_the_climb_levels_off() -> None:
    """20 plots of a 5 m/s climb at 1.8 km, then 20 level: at the end the segment's evidence
    is gone (the heights are no line, then a level one); the penalty is the larger of the
    held floor's and the largest the sequential test reached (remembered since session 15,
    ``climb_seq_peak``)."""
    plots = base._plots(5.0, 20, 3)
    t_end, u_end, _ = plots[-1]
    level = base._plots(0.0, 20, 4)
    plots += [(t_end + 1.0 + t, u_end + u - level[0][1], v) for t, u, v in level]
    ev = TrackEvidence()
    for end in range(climb.MIN_PLOTS, len(plots) + 1, 2):
        ev.heights = deque(plots[max(0, end - int(climb.HISTORY_S)) : end])
        climb_update(ev)
    assert ev.climb_seg_t > t_end
    _, seq = climb.segment_update(ev.heights, ev.climb_seg_t)
    assert seq == 0.0
    assert ev.climb_seq_peak > 0.0
    assert ev.climb_pen == max(climb.bird_penalty(ev.climb_peak), ev.climb_seq_peak)

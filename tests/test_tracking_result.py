"""The tracker's result value: what one report did, handed explicitly to the later stages."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from skywarden.tracking.result import Assignment, TrackerResult
from skywarden.tracking.tracker import Tracker
from support.plots import PLOTS, xy


def test_result_tells_births_confirmations_assignments_and_deletions() -> None:
    trk = Tracker([PLOTS])
    rng = np.random.default_rng(2)
    results: list[TrackerResult] = []
    for k in range(30):
        t = float(k)
        dets = [xy(t, 10 * t, 5.0)] if k < 15 else []  # one target, gone after 15 s
        dets += [xy(t, *rng.uniform(-4000, 4000, 2)) for _ in range(3)]
        results.append(trk.process(t, "p", dets))
    born = [tid for r in results for tid in r.born]
    confirmed = [tid for r in results for tid in r.confirmed]
    deleted = [tid for r in results for tid in r.deleted]
    assert len(confirmed) >= 1 and set(confirmed) <= set(born)
    target = confirmed[0]
    assert target in deleted  # it left: deleted after coasting
    assert len(set(born)) == len(born) and len(set(deleted)) == len(deleted)
    alive = {s.id for s in trk.tracks()}
    assert alive == set(born) - set(deleted)
    hits = [a for r in results for a in r.assignments if a.track_id == target]
    assert hits and all(isinstance(a, Assignment) for a in hits)
    assert all(abs(a.detection.z[1] - 5.0) < 1e-9 for a in hits)  # only the target's plots
    r = results[10]
    assert r.accepted and r.detections == 4 and 1 <= r.used <= r.detections
    assert r.unused == r.detections - r.used
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.used = 0  # type: ignore[misc]


def test_a_refused_report_says_so_and_changes_nothing() -> None:
    trk = Tracker([PLOTS])
    trk.process(5.0, "p", [xy(5.0, 0.0, 0.0)])
    late = trk.process(4.0, "p", [xy(4.0, 0.0, 0.0)])
    unknown = trk.process(6.0, "nope", [])
    assert not late.accepted and not unknown.accepted
    assert late.assignments == () and late.born == ()
    assert trk.stats()["rejected.time_backwards"] == 1

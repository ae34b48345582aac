"""The deleter role: misses by coverage or by period, the lifecycle, duplicates merged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.counters import Counters
from skywarden.core.observation import MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.bank import CONFIRMED, NewTracks, TrackBank
from skywarden.tracking.deleter import Deleter, ScoreDeleter, merge_duplicates
from skywarden.tracking.management import ManagementConfig
from skywarden.tracking.merge import DuplicateResolver, MergeConfig
from skywarden.tracking.report import Look, validate
from skywarden.tracking.sensor_model import SensorModel, sensor_model

PLOTS = SensorSpec(
    "p",
    SensorKind.PLOTS,
    MeasurementKind.XY,
    np.zeros(3),
    {"x_m": 5.0, "y_m": 5.0},
    pd=0.9,
    update_s=1.0,
    area_m=((-1000.0, 1000.0), (-1000.0, 1000.0)),
)
SM = sensor_model(PLOTS)


def look(sm: SensorModel, t: float, complete: bool = True) -> Look:
    d, Z, R, SP, coop = validate([], sm, None, Counters())
    return Look(t, sm, d, Z, R, SP, coop, np.zeros(0), Z[:, :0], complete, True,
                np.zeros(0, dtype=np.int64))  # fmt: skip


def bank(*xs: float, score: float = 10.0) -> TrackBank:
    b = TrackBank(1, np.ones(1))
    k = len(xs)
    x = np.zeros((k, 6))
    x[:, 0] = xs
    b.add(NewTracks(x, np.tile(np.eye(6), (k, 1, 1)), np.zeros(k), np.full(k, score),
                    [None] * k, ["p"] * k))  # fmt: skip
    b.status[:] = CONFIRMED
    return b


def none(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def test_a_track_in_coverage_not_updated_is_missed_one_outside_is_not() -> None:
    b = bank(0.0, 500.0, 5000.0)
    updated = np.array([True, False, False])
    d: Deleter = ScoreDeleter(ManagementConfig())
    keep = d.delete(b, look(SM, 1.0), updated, none(3))
    assert keep.all()
    assert b.score.tolist() == pytest.approx([10.0, 10.0 + math.log(0.1), 10.0])


def test_a_soft_updated_track_already_holds_its_miss() -> None:
    b = bank(500.0)
    ScoreDeleter(ManagementConfig()).delete(b, look(SM, 1.0), none(1), np.ones(1, dtype=bool))
    assert b.score[0] == 10.0


def test_object_by_object_reports_miss_a_track_only_after_a_whole_period() -> None:
    b = bank(500.0)
    b.t_first[:] = -5.0
    d = ScoreDeleter(ManagementConfig())
    d.delete(b, look(SM, 0.0, complete=False), none(1), none(1))
    d.delete(b, look(SM, 0.5, complete=False), none(1), none(1))
    assert b.score[0] == 10.0  # half a period: no evidence yet
    d.delete(b, look(SM, 1.0, complete=False), none(1), none(1))
    assert b.score[0] == pytest.approx(10.0 + math.log(0.1))


def test_a_track_whose_score_falls_is_deleted() -> None:
    b = bank(500.0, score=ManagementConfig().confirm_score)
    b.score_max[:] = 30.0
    keep = ScoreDeleter(ManagementConfig()).delete(b, look(SM, 1.0), none(1), none(1))
    assert not keep[0]


def test_merge_duplicates_keeps_the_older_number_and_the_better_state() -> None:
    cfg = MergeConfig()
    merger = DuplicateResolver(cfg)
    b = bank(100.0, 100.5, 800.0)
    b.P[1] *= 0.25  # the younger track has the better estimate
    older, _, far = b.uid.tolist()
    merged = 0
    for _ in range(cfg.merge_scans + 2):
        xc, Pc = b.x[:, 0], b.P[:, 0]
        merged += merge_duplicates(b, merger, xc, Pc)
        if merged:
            break
    assert merged == 1
    assert b.uid.tolist() == [older, far]
    assert b.P[0, 0, 0, 0] == pytest.approx(0.25)


def test_a_tracker_no_sensor_reports_to_drops_its_tracks_after_max_coast() -> None:
    """A silent site (every sensor quiet) must not keep its last picture for ever."""
    from skywarden.tracking.tracker import Tracker

    tr = Tracker([PLOTS])
    tr.bank = bank(0.0, 500.0)  # two confirmed tracks, last updated at t = 0
    uids = sorted(map(str, tr.bank.uid.tolist()))
    coast = tr.cfg.management.max_coast_s
    assert tr.expire(coast - 1.0).deleted == ()
    assert len(tr.tracks()) == 2
    assert sorted(tr.expire(coast + 1.0).deleted) == uids
    assert tr.tracks() == []

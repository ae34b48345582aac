"""Gating, association, management and the tracker's handling of bad and late input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.association import GNNAssociator
from skywarden.tracking.bank import COASTING, CONFIRMED, TENTATIVE
from skywarden.tracking.gating import chi2_gate, spatial_candidates
from skywarden.tracking.initiation import triangulate
from skywarden.tracking.management import ManagementConfig, manage
from skywarden.tracking.tracker import Tracker

PLOTS = SensorSpec(
    "p",
    SensorKind.PLOTS,
    MeasurementKind.XY,
    np.zeros(3),
    {"x_m": 5.0, "y_m": 5.0},
    pd=0.9,
    clutter_per_scan=5,
    area_m=((-5000.0, 5000.0), (-5000.0, 5000.0)),
)


def xy(t: float, x: float, y: float) -> Detection:
    return Detection(t, "p", MeasurementKind.XY, np.array([x, y]), PLOTS.R(), np.zeros(3))


def test_chi2_gate_values() -> None:
    assert chi2_gate(2, 0.99) == pytest.approx(9.2103, rel=1e-4)
    assert chi2_gate(4, 0.999) == pytest.approx(18.4668, rel=1e-4)


def test_spatial_candidates_only_nearby_pairs() -> None:
    tracks = np.array([[0.0, 0.0], [1000.0, 0.0]])
    dets = np.array([[5.0, 0.0], [990.0, 3.0], [5000.0, 0.0]])
    ti, dj = spatial_candidates(tracks, np.array([20.0, 20.0]), dets)
    assert sorted(zip(ti.tolist(), dj.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_gnn_is_globally_optimal_not_greedy() -> None:
    # greedy would give t0-d0 (cost -10) leaving t1 with nothing; optimal: t0-d1, t1-d0
    ti = np.array([0, 0, 1])
    dj = np.array([0, 1, 0])
    cost = np.array([-10.0, -9.0, -8.0])
    ta, da = GNNAssociator().associate(ti, dj, cost, 2, 2)
    assert sorted(zip(ta.tolist(), da.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_gnn_leaves_unlikely_pairs_unassigned() -> None:
    ta, _ = GNNAssociator().associate(np.array([0]), np.array([0]), np.array([2.0]), 1, 1)
    assert ta.shape[0] == 0


def test_sprt_thresholds_and_transitions() -> None:
    cfg = ManagementConfig(alpha=1e-3, beta=0.1)
    assert cfg.confirm_score == pytest.approx(math.log(0.9 / 1e-3))
    status = np.array([TENTATIVE, TENTATIVE, CONFIRMED, CONFIRMED], dtype=np.int8)
    score = np.array([cfg.confirm_score + 0.1, -5.0, 25.0, 10.0])
    score_max = np.array([0.0, 0.0, 25.0, 25.0])
    t_upd = np.array([10.0, 10.0, 10.0, 10.0])
    keep = manage(
        status,
        score,
        score_max,
        t_upd,
        np.array([1, 0, 0, 0], bool),
        np.array([0, 1, 1, 1], bool),
        10.0,
        cfg,
    )
    assert keep.tolist() == [True, False, True, False]  # last fell > delete_drop below max
    assert status[0] == CONFIRMED and status[2] == COASTING


def test_triangulation_crossing_and_refusals() -> None:
    s1, s2 = np.array([0.0, 0.0, 0.0]), np.array([1000.0, 0.0, 0.0])
    res = triangulate(s1, math.radians(45), 0.01, s2, math.radians(-45), 0.01)
    assert res is not None
    p, P = res
    assert p == pytest.approx([500.0, 500.0])
    assert np.linalg.eigvalsh(P).min() > 0
    assert triangulate(s1, 0.0, 0.01, s2, 0.0, 0.01) is None  # parallel
    assert triangulate(s1, math.radians(-45), 0.01, s2, math.radians(45), 0.01) is None  # behind


def test_tracker_confirms_a_straight_target_and_keeps_one_identity() -> None:
    trk = Tracker([PLOTS])
    rng = np.random.default_rng(1)
    ids = set()
    for k in range(20):
        t = float(k)
        trk.process(t, "p", [xy(t, 100 + 10 * t + rng.normal(0, 5), -200 + rng.normal(0, 5))])
        conf = trk.tracks(confirmed_only=True)
        ids.update(tr.id for tr in conf)
    final = trk.tracks(confirmed_only=True)
    assert len(final) == 1 and len(ids) == 1
    assert final[0].x[0] == pytest.approx(290, abs=15)
    assert final[0].x[3] == pytest.approx(10, abs=2)


def test_tracker_rejects_bad_input_and_keeps_going() -> None:
    trk = Tracker([PLOTS])
    trk.process(5.0, "p", [xy(5.0, 0, 0)])
    trk.process(4.0, "p", [xy(4.0, 0, 0)])  # time going backwards
    trk.process(6.0, "nope", [])  # unknown sensor
    nan = Detection(6.0, "p", MeasurementKind.XY, np.array([math.nan, 1.0]), PLOTS.R())
    trk.process(6.0, "p", [nan, xy(6.0, 10, 0)])
    s = trk.stats()
    assert s["rejected.time_backwards"] == 1
    assert s["rejected.unknown_sensor"] == 1
    assert s["rejected.not_finite"] == 1
    assert s["accepted.reports"] == 2
    assert len(trk.tracks()) >= 1


def test_late_report_within_window_is_used_in_order() -> None:
    from skywarden.runtime.ordering import ReorderBuffer

    buf = ReorderBuffer(window_s=1.0)
    out = []
    for t_arr, t_meas in [(0.0, 0.0), (1.0, 1.0), (1.2, 0.5), (2.5, 2.0), (4.0, 3.5)]:
        buf.push(t_meas, t_meas)
        out.extend(buf.release(t_arr))
    out.extend(buf.flush())
    assert out == sorted(out)
    assert 0.5 in out

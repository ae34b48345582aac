"""Gating, association, management and the tracker's handling of bad and late input."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.association import (
    MAX_EXACT_EVENTS,
    OptimalAssigner,
    clusters,
    jpda_marginals,
    small_assignment,
)
from skywarden.tracking.bank import COASTING, CONFIRMED, TENTATIVE
from skywarden.tracking.gating import chi2_gate, spatial_candidates
from skywarden.tracking.initiation import triangulate
from skywarden.tracking.initiator import TwoPointInitiator
from skywarden.tracking.management import ManagementConfig, manage, young_coast_limit
from skywarden.tracking.tracker import Tracker, TrackerConfig
from support.plots import PLOTS, xy


def test_chi2_gate_values() -> None:
    assert chi2_gate(2, 0.99) == pytest.approx(9.2103, rel=1e-4)
    assert chi2_gate(4, 0.999) == pytest.approx(18.4668, rel=1e-4)


def test_chi2_gate_matches_scipy_quantiles() -> None:
    from scipy.stats import chi2

    for m in range(1, 7):
        for p in (0.9, 0.99, 0.9995, 0.999999):
            assert chi2_gate(m, p) == pytest.approx(float(chi2.ppf(p, m)), rel=1e-9)


@pytest.mark.parametrize("brute_limit", [0, 20_000])
@pytest.mark.parametrize("k", [2, 3])
def test_grid_candidates_equal_a_kd_tree_query(
    k: int, brute_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The numpy grid (and the small-problem distance matrix) return exactly the pairs
    scipy's k-d tree finds, for mixed radii (including tracks wider than the grid cell)."""
    from scipy.spatial import cKDTree

    from skywarden.tracking import gating

    monkeypatch.setattr(gating, "BRUTE_FORCE_PAIRS", brute_limit)

    rng = np.random.default_rng(7 + k)
    for _ in range(30):
        n, d = int(rng.integers(1, 150)), int(rng.integers(1, 400))
        tp = rng.uniform(-2000, 2000, (n, k))
        dp = rng.uniform(-2000, 2000, (d, k))
        r = rng.exponential(60.0, n)
        ti, dj = spatial_candidates(tp, r, dp)
        got = list(zip(ti.tolist(), dj.tolist(), strict=True))
        lists = cKDTree(dp).query_ball_point(tp, r)
        want = {(i, j) for i, js in enumerate(lists) for j in js}
        assert len(got) == len(set(got))
        assert set(got) == want


def test_small_assignment_is_optimal() -> None:
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(1, 7))
        m = int(rng.integers(n, 13))
        C = rng.normal(size=(n, m))
        C[rng.random((n, m)) < 0.3] = 1e9  # forbidden pairs, as the associator builds them
        col = small_assignment(C.tolist())
        r, c = linear_sum_assignment(C)
        assert len(set(col)) == n
        assert C[np.arange(n), col].sum() == pytest.approx(C[r, c].sum(), abs=1e-9)


def test_clusters_are_connected_components() -> None:
    # t0-d0-t1-d1 chain, t2-d2 alone, t3-d3 and t3-d4
    ti = np.array([0, 1, 1, 2, 3, 3])
    dj = np.array([0, 0, 1, 2, 3, 4])
    n, lab = clusters(ti, dj, 4, 5)
    assert n == 3
    assert lab[0] == lab[1] == lab[2] != lab[3] != lab[4]
    assert lab[4] == lab[5]


def _brute_force_jpda(
    pairs: list[tuple[int, int]], llr: np.ndarray, lm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Marginals by listing every feasible joint event of the whole problem."""
    nt = len(lm)
    cand = {i: [k for k, (a, _) in enumerate(pairs) if a == i] for i in range(nt)}
    pm, mm, z = np.zeros(len(pairs)), np.zeros(nt), 0.0
    for ev in itertools.product(*[[-1, *cand[i]] for i in range(nt)]):
        ds = [pairs[p][1] for p in ev if p >= 0]
        if len(ds) != len(set(ds)):
            continue
        w = math.exp(sum(llr[p] if p >= 0 else lm[i] for i, p in enumerate(ev)))
        z += w
        for i, p in enumerate(ev):
            if p >= 0:
                pm[p] += w
            else:
                mm[i] += w
    return pm / z, mm / z


def test_jpda_marginals_equal_full_enumeration() -> None:
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(300):
        nt, nd = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        pairs = [(i, j) for i in range(nt) for j in range(nd) if rng.random() < 0.45]
        if not pairs:
            continue
        ti = np.array([p[0] for p in pairs])
        dj = np.array([p[1] for p in pairs])
        llr = rng.normal(0.0, 3.0, len(pairs))
        lm = np.log(rng.uniform(0.05, 0.5, nt))
        _, _, beta, beta0 = jpda_marginals(ti, dj, llr, lm, nt, nd)
        want, want0 = _brute_force_jpda(pairs, llr, lm)
        assert np.allclose(beta, want) and np.allclose(beta0, want0)
        checked += 1
    assert checked > 200


def test_jpda_large_cluster_uses_a_proper_approximation() -> None:
    # 8 tracks all gating the same 8 detections: 9^8 events > MAX_EXACT_EVENTS
    nt = nd = 8
    assert (nd + 1) ** nt > MAX_EXACT_EVENTS
    ti = np.repeat(np.arange(nt), nd)
    dj = np.tile(np.arange(nd), nt)
    llr = -0.5 * (ti - dj) ** 2 + 3.0  # each track prefers "its" detection
    _, _, beta, beta0 = jpda_marginals(ti, dj, llr, np.full(nt, math.log(0.1)), nt, nd)
    per_track = np.bincount(ti, weights=beta, minlength=nt) + beta0
    assert np.allclose(per_track, 1.0)
    assert ((beta >= 0) & (beta <= 1)).all()
    B = beta.reshape(nt, nd)
    assert (B.argmax(axis=1) == np.arange(nt)).all()  # each track's own plot ranks first


def test_tracker_jpda_follows_a_target_in_clutter() -> None:
    trk = Tracker([PLOTS], TrackerConfig(association="jpda"))
    rng = np.random.default_rng(5)
    ids = set()
    for k in range(25):
        t = float(k)
        dets = [xy(t, 100 + 10 * t + rng.normal(0, 5), -200 + rng.normal(0, 5))]
        dets += [xy(t, *rng.uniform(-5000, 5000, 2)) for _ in range(5)]
        if k % 2:  # a clutter plot inside its gate every other scan
            dets.append(xy(t, 100 + 10 * t + rng.uniform(-15, 15), -200 + rng.uniform(-15, 15)))
        trk.process(t, "p", dets)
        if k >= 5:  # once settled: one track, one identity
            ids.update(tr.id for tr in trk.tracks(confirmed_only=True) if abs(tr.x[1] + 200) < 50)
    near = [tr for tr in trk.tracks(confirmed_only=True) if abs(tr.x[1] + 200) < 50]
    assert len(near) == 1 and len(ids) == 1
    assert near[0].x[0] == pytest.approx(340, abs=15)


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
    ta, da = OptimalAssigner().associate(ti, dj, cost, 2, 2)
    assert sorted(zip(ta.tolist(), da.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_gnn_leaves_unlikely_pairs_unassigned() -> None:
    ta, _ = OptimalAssigner().associate(np.array([0]), np.array([0]), np.array([2.0]), 1, 1)
    assert ta.shape[0] == 0


def test_sprt_thresholds_and_transitions() -> None:
    cfg = ManagementConfig(alpha=1e-3, beta=0.1)
    assert cfg.confirm_score == pytest.approx(math.log(0.9 / 1e-3))
    status = np.array([TENTATIVE, TENTATIVE, CONFIRMED, CONFIRMED], dtype=np.int64)
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


def test_young_track_leaving_coverage_dies_sooner_than_an_established_one() -> None:
    cfg = ManagementConfig()
    status = np.array([CONFIRMED, CONFIRMED], dtype=np.int64)
    score = np.array([cfg.confirm_score + 0.5, 28.0])
    score_max = score.copy()
    t_upd = np.array([0.0, 0.0])
    none = np.zeros(2, bool)  # outside coverage: neither updated nor missed
    keep = manage(status, score, score_max, t_upd, none, none, cfg.young_max_coast_s + 0.5, cfg)
    assert keep.tolist() == [False, True]
    keep = manage(status, score, score_max, t_upd, none, none, cfg.max_coast_s + 0.5, cfg)
    assert keep.tolist() == [False, False]


def test_young_track_seen_every_other_scan_survives_the_gap_between_its_plots() -> None:
    """Harder multisensor_attack s67 H2 (session 18): plots at t=109 and 111, the next at 115.
    A fixed 3 s coast deleted the two-plot track at 114; held to its own plot rate (one every
    2 s: ln(1/beta) x 2 = 6 s) it lives. A track seen every second keeps the 3 s limit."""
    cfg = ManagementConfig()
    status = np.array([CONFIRMED, CONFIRMED], dtype=np.int64)
    score = np.full(2, cfg.confirm_score + 0.5)
    score_max = score.copy()
    t_first = np.array([109.0, 110.0])
    t_upd = np.array([111.0, 111.0])
    hits = np.array([2, 2], dtype=np.int64)
    limit = young_coast_limit(t_first, t_upd, hits, cfg)
    assert limit.tolist() == pytest.approx([2.0 * math.log(1.0 / cfg.beta), cfg.young_max_coast_s])
    none = np.zeros(2, bool)
    keep = manage(status, score, score_max, t_upd, none, none, 114.5, cfg, None, limit)
    assert keep.tolist() == [True, False]
    slow = young_coast_limit(np.array([0.0]), np.array([30.0]), np.array([2]), cfg)
    assert slow.tolist() == [cfg.max_coast_s]  # never longer than an established track's
    one = young_coast_limit(np.array([5.0]), np.array([5.0]), np.array([1]), cfg)
    assert one.tolist() == [cfg.young_max_coast_s]


def test_tentative_drop_counts_evidence_from_its_initial_score() -> None:
    cfg = ManagementConfig()
    status = np.array([TENTATIVE, TENTATIVE], dtype=np.int64)
    score0 = np.array([-4.0, 0.0])  # a birth in clutter starts below the lower threshold
    score = score0.copy()
    updated = np.zeros(2, bool)
    keep = manage(status, score, score.copy(), np.zeros(2), updated, updated, 0.0, cfg, score0)
    assert keep.tolist() == [True, True]
    score += math.log(0.1)  # one miss at Pd 0.9 is not enough to drop either...
    score += math.log(0.1)  # ...two are
    keep = manage(status, score, score.copy(), np.zeros(2), updated, updated, 1.0, cfg, score0)
    assert keep.tolist() == [False, False]


def test_births_after_startup_need_more_evidence_than_objects_present_at_start() -> None:
    """A plot in a sensor's first scans may be an object already there (L0 = 0); later, new
    objects are births, rare against the sensor's clutter (L0 = ln(births / clutter))."""
    trk = Tracker([PLOTS])
    trk.process(0.0, "p", [xy(0.0, 0.0, 0.0)])
    trk.process(10.0, "p", [xy(10.0, 3000.0, 0.0)])
    assert isinstance(trk.initiator, TwoPointInitiator)
    pend = trk.initiator.pending["p"]  # one-plot candidates wait outside the bank (pending)
    s0 = dict(zip(np.round(pend.x[:, 0]).astype(int).tolist(), pend.score0.tolist(), strict=True))
    assert s0[3000] == pytest.approx(math.log(0.5 / PLOTS.clutter_per_scan))
    trk.process(11.0, "p", [xy(11.0, 3005.0, 0.0)])  # its second plot makes it a track
    (tr,) = trk.tracks()
    assert tr.hits == 2 and trk.bank.score0[0] == pytest.approx(s0[3000])


def test_pending_plots_and_one_plot_tentatives_give_the_same_tracks() -> None:
    """Two-point initiation outside the bank is a speed-up, not a different tracker."""
    rng = np.random.default_rng(9)
    scans = []
    for k in range(40):
        t = float(k)
        dets = [xy(t, -2000 + 15 * t + rng.normal(0, 5), 300 + rng.normal(0, 5))]
        dets += [xy(t, 1000 + rng.normal(0, 5), -1000 + 8 * t + rng.normal(0, 5))]
        dets += [xy(t, *rng.uniform(-5000, 5000, 2)) for _ in range(int(rng.poisson(5)))]
        scans.append((t, dets))
    finals = []
    for pending in (True, False):
        trk = Tracker([PLOTS], TrackerConfig(pending_plots=pending))
        for t, dets in scans:
            trk.process(t, "p", dets)
        finals.append(sorted((round(tr.x[0]), round(tr.x[1])) for tr in trk.tracks(True)))
    assert finals[0] == finals[1] and len(finals[0]) == 2


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
    from skywarden.runtime.engine.ordering import ReorderBuffer

    buf = ReorderBuffer(window_s=1.0)
    out = []
    for t_arr, t_meas in [(0.0, 0.0), (1.0, 1.0), (1.2, 0.5), (2.5, 2.0), (4.0, 3.5)]:
        buf.push(t_meas, t_meas)
        out.extend(buf.release(t_arr))
    out.extend(buf.flush())
    assert out == sorted(out)
    assert 0.5 in out


def _patch_run(map_on: bool, seed: int) -> tuple[int, int]:
    """A crossing target plus even clutter, and a 500 m patch of dense clutter (20 plots per
    scan: 300x the data sheet's average density) the sheet does not know about."""
    from skywarden.tracking.clutter_map import ClutterMapConfig

    spec = SensorSpec(
        "p",
        SensorKind.PLOTS,
        MeasurementKind.XY,
        np.zeros(3),
        {"x_m": 10.0, "y_m": 10.0},
        pd=0.9,
        clutter_per_scan=25,
        area_m=((-5000.0, 5000.0), (-5000.0, 5000.0)),
    )
    trk = Tracker([spec], TrackerConfig(clutter_map=ClutterMapConfig(enabled=map_on)))
    rng = np.random.default_rng(seed)
    false_scans = true_scans = 0
    for k in range(120):
        t = float(k)
        tx, ty = -3000.0 + 20.0 * t, 2000.0
        pts = [(tx + rng.normal(0, 10), ty + rng.normal(0, 10))] if rng.random() < 0.9 else []
        pts += [tuple(rng.uniform(-5000, 5000, 2)) for _ in range(5)]
        pts += [tuple(rng.uniform(1000, 1500, 2)) for _ in range(20)]
        dets = [
            Detection(t, "p", MeasurementKind.XY, np.array(p), spec.R(), np.zeros(3)) for p in pts
        ]
        trk.process(t, "p", dets)
        for tr in trk.tracks(confirmed_only=True):
            if abs(tr.x[0] - tx) < 100 and abs(tr.x[1] - ty) < 100:
                true_scans += 1
            else:
                false_scans += 1
    return false_scans, true_scans


def test_clutter_map_learns_a_dense_patch_the_data_sheet_does_not_know() -> None:
    for seed in (1, 2):
        false_off, true_off = _patch_run(False, seed)
        false_on, true_on = _patch_run(True, seed)
        assert true_on >= 110 and true_off >= 110  # the real target: tracked either way
        assert false_on < 0.1 * false_off, (false_on, false_off)


def test_clutter_map_ratio_is_the_gamma_poisson_posterior_mean() -> None:
    from skywarden.tracking.clutter_map import ClutterMap, ClutterMapConfig
    from skywarden.tracking.sensor_model import sensor_model

    cfg = ClutterMapConfig(memory_scans=1e9, prior_scans=10.0)  # no forgetting: plain counts
    cmap = ClutterMap(sensor_model(PLOTS), cfg)
    e = cmap.expected[0]
    assert cmap.log_ratio(np.array([0]))[0] == pytest.approx(0.0)
    for _ in range(30):
        cmap.observe(np.array([0, 0, 0]))  # 3 unexplained plots per scan in cell 0
    want = (10.0 * e + 90.0) / (40.0 * e)
    assert cmap.log_ratio(np.array([0]))[0] == pytest.approx(math.log(min(want, cfg.max_ratio)))
    assert cmap.log_ratio(np.array([5]))[0] == pytest.approx(math.log(10.0 / 40.0))


def test_duplicates_merge_after_consecutive_passes_keeping_the_older_number() -> None:
    from skywarden.tracking.merge import DuplicateResolver, MergeConfig

    res = DuplicateResolver(MergeConfig(merge_scans=3))
    uid = np.array([7, 3, 9])
    t_first = np.array([5.0, 1.0, 2.0])
    P = np.repeat(np.diag([25.0, 25.0, 25.0, 4.0, 4.0, 4.0])[None], 3, axis=0)
    ident = np.array([None, None, None], dtype=object)
    x = np.array([[0, 0, 50, 10, 0, 0], [3, -2, 51, 10, 0.5, 0], [2000, 0, 50, 0, 10, 0.0]])
    assert res.check(uid, t_first, x, P, ident) == []
    assert res.check(uid, t_first, x, P, ident) == []
    assert res.check(uid, t_first, x, P, ident) == [(1, 0)]  # uid 3 (older) keeps, 7 goes


def test_crossing_tracks_and_two_identities_are_not_merged() -> None:
    from skywarden.tracking.merge import DuplicateResolver, MergeConfig

    res = DuplicateResolver(MergeConfig(merge_scans=3))
    uid = np.array([1, 2])
    t_first = np.zeros(2)
    P = np.repeat(np.diag([25.0, 25.0, 25.0, 4.0, 4.0, 4.0])[None], 2, axis=0)
    none = np.array([None, None], dtype=object)
    together = np.array([[0, 0, 50, 10, 0, 0], [1, 1, 50, 10, 0, 0.0]])
    apart = np.array([[0, 0, 50, 10, 0, 0], [0, 0, 50, -10, 0, 0.0]])  # crossing: velocities
    for x in (together, together, apart, together, together):
        assert res.check(uid, t_first, x, P, none) == []  # the streak restarted
    two = np.array(["rid:A", "rid:B"], dtype=object)
    for _ in range(5):
        assert res.check(uid, t_first, together, P, two) == []


def _radar_like(update_s: float = 1.0) -> SensorSpec:
    return SensorSpec(
        "p",
        SensorKind.PLOTS,
        MeasurementKind.XY,
        np.zeros(3),
        {"x_m": 5.0, "y_m": 5.0},
        update_s=update_s,
        pd=0.9,
        clutter_per_scan=1,
        area_m=((-5000.0, 5000.0), (-5000.0, 5000.0)),
    )


@pytest.mark.parametrize("complete", [True, False])
def test_object_by_object_reports_do_not_count_as_misses_of_the_others(complete: bool) -> None:
    """A sensor that sends one message per object (SAPIENT, ASTERIX) plus empty status
    messages: as whole scans each message would be a miss for every other track and the
    three tracks would die; as object-by-object reports they live."""
    spec = _radar_like()
    trk = Tracker([spec])
    starts = [(-1000.0, 0.0), (0.0, 1000.0), (1000.0, -500.0)]
    for k in range(30):
        for n, (x0, y0) in enumerate(starts):
            t = k + 0.2 * n
            d = Detection(t, "p", MeasurementKind.XY, np.array([x0 + 5 * k, y0]), spec.R())
            trk.process(t, "p", [d], complete_scan=complete)
        trk.process(k + 0.7, "p", [], complete_scan=complete)  # a status report
    alive = trk.tracks(confirmed_only=True)
    if complete:
        assert len(alive) < 3  # the misconception this guards against
    else:
        assert len(alive) == 3
        assert {tr.hits for tr in alive} == {30}


def test_object_by_object_sensor_still_drops_a_vanished_object() -> None:
    spec = _radar_like()
    trk = Tracker([spec])
    for k in range(40):
        t = float(k)
        pts = [(0.0 + 5 * k, 0.0)] + ([(1000.0, 1000.0)] if k < 15 else [])
        for n, p in enumerate(pts):
            d = Detection(t + 0.1 * n, "p", MeasurementKind.XY, np.array(p), spec.R())
            trk.process(t + 0.1 * n, "p", [d], complete_scan=False)
        if k == 14:
            assert len(trk.tracks(confirmed_only=True)) == 2
    alive = trk.tracks(confirmed_only=True)
    assert len(alive) == 1 and abs(alive[0].x[1]) < 50


def test_remote_id_track_takes_the_serial_when_its_transmitter_sends_it() -> None:
    """Location messages keyed by the transmitter's MAC first, the serial once the Basic ID
    message arrives: one track, and it ends up carrying the serial."""
    rid = SensorSpec(
        "rid", SensorKind.REMOTE_ID, MeasurementKind.POSITION_ID, np.zeros(3), {"pos_m": 3.0}
    )
    trk = Tracker([rid])
    for k in range(10):
        t = float(k)
        ident = "mac:udp:aa:bb" if k < 4 else "1588E040445AC004418"
        z = np.array([100.0 + 5 * k, 50.0, 40.0, 5.0, 0.0, 0.0])
        d = Detection(
            t,
            "rid",
            MeasurementKind.POSITION_ID,
            z,
            rid.R(),
            identity=ident,
            attrs={"transmitter": "udp:aa:bb"},
        )
        trk.process(t, "rid", [d], complete_scan=False)
    tracks = trk.tracks(confirmed_only=True)
    assert len(tracks) == 1
    assert tracks[0].identity == "1588E040445AC004418"
    assert tracks[0].hits == 10


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.integers(0, 49), max_size=60))
def test_unique_rows_is_np_unique(rows: list[int]) -> None:
    """The marking shortcut for a scan's candidate rows returns what np.unique returns."""
    from skywarden.tracking.report import unique_rows as _unique_rows

    r = np.asarray(rows, dtype=np.int64)
    u, inv = _unique_rows(r, 50)
    u_ref, inv_ref = np.unique(r, return_inverse=True)
    assert np.array_equal(u, u_ref) and np.array_equal(inv, inv_ref.ravel())


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.sampled_from([0.5, 1.0, 1.0, 2.0, 3.25]), min_size=1, max_size=80))
def test_step_matrices_for_mixed_steps_are_each_rows_own(steps: list[float]) -> None:
    """Rows with different time steps get each their own step's F, Q and transition matrix,
    whichever way the distinct steps were grouped (few rows or many)."""
    from skywarden.tracking import imm
    from skywarden.tracking.motion import full_models

    models = full_models()
    dt = np.asarray(steps)
    got = imm._step_matrices(dt, models, 0.99)
    for i, s in enumerate(steps):
        want = imm._one_step(s, models, 0.99)
        for g, w in zip(got, want, strict=True):
            # one shared step comes back unstacked, (M, ...); mixed steps one per row
            assert np.array_equal(g if g.ndim == w.ndim else g[i], w)


def test_bank_columns_write_through_after_a_snapshot_round_trip() -> None:
    """The bank's named columns are views of its packed arrays; a restored bank (pipeline
    snapshots go through ``core.statecodec``; pickle too, for copies) must keep them views,
    or a score update would be lost on the next row drop."""
    import pickle

    from skywarden.core import statecodec

    trk = Tracker([PLOTS], TrackerConfig(pending_plots=False))
    trk.process(0.0, "p", [xy(0.0, 0.0, 0.0), xy(0.0, 500.0, 0.0)])
    for bank in (
        pickle.loads(pickle.dumps(trk.bank)),
        statecodec.decode(statecodec.encode(trk.bank, b"TEST"), b"TEST"),
    ):
        _check_bank_views(trk, bank)


def _check_bank_views(trk: Tracker, bank: Any) -> None:
    bank.score[0] += 5.0
    bank.keep(np.array([True, False]))
    assert bank.n == 1 and bank.score[0] == trk.bank.score[0] + 5.0
    assert np.shares_memory(bank.score, bank.f) and np.shares_memory(bank.uid, bank.i)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 1e4))
def test_merge_position_bound_never_exceeds_the_full_distance(seed: int, scale: float) -> None:
    """The duplicate check rejects pairs by |dp|^2 / tr(S_pp) before solving: that bound must
    never exceed the full 6-D Mahalanobis distance, or a duplicate could be missed."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(6, 6)) * rng.uniform(0.01, 10.0, size=6)
    S = A @ A.T + np.eye(6) * 1e-3
    dx = rng.normal(size=6) * scale
    d2 = float(dx @ np.linalg.solve(S, dx))
    bound = float((dx[:3] ** 2).sum() / np.trace(S[:3, :3]))
    assert bound <= d2 * (1.0 + 1e-9)

"""Ballistic rounds: the flight model against closed forms, the batch fit against known
flights, the tracker on synthetic radar plots (rounds, birds, clutter), and the impact
warning only where the round will land."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec, Site, ZoneKind, ZoneSpec
from skywarden.threat.assess import ThreatLevel
from skywarden.threat.impact import ImpactWarner, incoming_text
from skywarden.tracking.ballistic import (
    G0,
    BallisticConfig,
    Fit,
    fit,
    ground_point,
    propagate,
    radar_h,
)
from skywarden.tracking.ballistic_tracker import BallisticTracker

SIGMA = {"range_m": 6.0, "az_rad": 0.004, "el_rad": 0.004, "radial_mps": 1.0}
S = np.array([0.0, 0.0, 10.0])
R = np.diag([6.0**2, 0.004**2, 0.004**2, 1.0])


def radar(update_s: float = 0.5) -> SensorSpec:
    return SensorSpec(
        "wlr", SensorKind.RADAR, MeasurementKind.RANGE_AZ_EL_RADIAL, S, SIGMA,
        update_s=update_s, max_range_m=10000.0,
    )  # fmt: skip


ZONE = ZoneSpec("residence", ZoneKind.PROTECTED, (0.0, 0.0), 150.0, None, -math.inf, 300.0)


def flight(p0: list[float], v0: list[float], k: float, t0: float, t1: float, dt: float):
    """(times, states (N, 7)) of a round, integrated at 10 ms: 50 times finer than the
    tracker's 0.5 s step. RK4's step error ~ (k |v| h)^5 is below float rounding there; the
    states of every flight here agree with a 1 ms integration to 6e-11 m (session 16: the
    1 ms truth cost 1.5 s of CPU a flight, a tenth of this file's run)."""
    x = np.array([[*p0, *v0, k]], dtype=float)
    out, ts, t = [], [], t0
    while t <= t1 + 1e-9:
        out.append(x[0].copy())
        ts.append(t)
        x = propagate(x, dt, 0.01)
        t += dt
        if x[0, 2] < 0:
            break
    return np.array(ts), np.array(out)


def plots(states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    Z = radar_h(states, S)
    return Z + rng.normal(0.0, 1.0, Z.shape) * np.sqrt(np.diag(R))


def test_vacuum_flight_is_the_parabola() -> None:
    x0 = np.array([[100.0, -50.0, 0.0, 120.0, 80.0, 250.0, 0.0]])
    t = 17.3
    x = propagate(x0, t, 0.5)[0]
    want = x0[0, :3] + x0[0, 3:6] * t - np.array([0.0, 0.0, 0.5 * G0 * t * t])
    assert x[:3] == pytest.approx(want, abs=1e-6)
    assert x[5] == pytest.approx(250.0 - G0 * t, abs=1e-9)
    # and back again
    assert propagate(propagate(x0, t, 0.5), -t, 0.5)[0] == pytest.approx(x0[0], abs=1e-6)


def test_drag_slows_the_round_and_shortens_its_range() -> None:
    cfg = BallisticConfig()
    cov = np.eye(7) * 1e-6
    pts = {}
    for k in (0.0, 1.9e-4):
        th = np.array([0.0, 0.0, 1.0, 0.0, 150.0, 270.0, k])
        gp = ground_point(Fit(0.0, th, cov, 0.0, 1), +1.0, cfg)
        assert gp is not None
        pts[k] = gp[0]
    # vacuum range 2 v_h v_v / g
    assert pts[0.0][1] == pytest.approx(2 * 150.0 * 270.0 / G0, rel=2e-3)
    assert pts[1.9e-4][1] < 0.7 * pts[0.0][1]
    assert pts[1.9e-4][3] < pts[0.0][3]


def test_fit_recovers_the_flight_its_impact_and_its_origin() -> None:
    rng = np.random.default_rng(5)
    k = 1.9e-4
    ts, X = flight([-570.0, 3744.0, 0.0], [-37.0, 150.0, 272.0], k, 0.0, 60.0, 0.5)
    impact_true = X[-1, :2]  # last state before the ground: within one step of the impact
    obs = slice(4, 30)  # tracked from 2 s to 15 s after launch
    Z = plots(X[obs], rng)
    t_ref = float(ts[obs][-1])
    theta0 = X[obs][-1].copy()
    theta0[:3] += [80.0, -60.0, 40.0]
    theta0[3:6] += [15.0, -10.0, 20.0]
    theta0[6] = 1.2e-4
    cfg = BallisticConfig(iterations=8)
    f = fit(ts[obs], Z, R, S, theta0, t_ref, cfg)
    assert f.chi2 / f.dof < 2.0
    err = f.theta - X[obs][-1]
    sd = np.sqrt(np.diag(f.cov))
    assert np.all(np.abs(err) < 4 * sd)
    imp = ground_point(f, +1.0, cfg)
    org = ground_point(f, -1.0, cfg)
    assert imp is not None and org is not None
    assert math.dist(imp[0][:2], impact_true) < 60.0
    assert math.dist(org[0][:2], (-570.0, 3744.0)) < 30.0
    assert org[0][3] == pytest.approx(0.0, abs=0.5)
    # the impact covariance is not wildly off: the error is within 4 sigma of (e, n)
    d = imp[0][:2] - impact_true
    assert float(d @ np.linalg.solve(imp[1][:2, :2], d)) < 16.0


def test_origin_of_a_fit_ending_below_ground_is_found_back_through_the_climb() -> None:
    th = np.array([0.0, 1000.0, -2.0, 0.0, 150.0, -200.0, 0.0])  # just past its impact
    gp = ground_point(Fit(30.0, th, np.eye(7), 0.0, 1), -1.0, BallisticConfig())
    assert gp is not None
    assert gp[0][3] < 30.0 - 10.0  # seconds before, not "now"
    # vacuum: -2 + 200 tau - g tau^2 / 2 = 0 going back tau seconds: the launch at vz = +200
    tau = 30.0 - gp[0][3]
    assert tau == pytest.approx((200.0 + math.sqrt(200.0**2 - 2 * G0 * 2.0)) / G0, abs=0.05)
    assert gp[0][1] == pytest.approx(1000.0 - 150.0 * tau, abs=5.0)


def run_tracker(sensor: SensorSpec, objects: list[tuple[np.ndarray, np.ndarray]], seed: int):
    """Feed the tracker plots of ``objects`` (times, states) plus 12 clutter plots a scan."""
    rng = np.random.default_rng(seed)
    bt = BallisticTracker([sensor])
    t_all = sorted({float(t) for ts, _ in objects for t in ts})
    seen: list = []
    for t in t_all:
        dets = []
        for ts, X in objects:
            i = np.flatnonzero(np.isclose(ts, t))
            if i.size and rng.random() < 0.9:
                z = plots(X[i], rng)[0]
                dets.append(Detection(t, sensor.id, sensor.measures, z, R, S))
        for _ in range(12):
            z = np.array([rng.uniform(300, 9500), rng.uniform(0, 6.28), rng.uniform(0, 0.3),
                          rng.normal(0, 6)])  # fmt: skip
            dets.append(Detection(t, sensor.id, sensor.measures, z, R, S))
        bt.process(t, sensor.id, dets)
        seen.append((t, bt.tracks(t)))
    return seen


def test_tracker_follows_a_mortar_and_a_rocket_and_ignores_birds() -> None:
    mortar = flight([-570.0, 3744.0, 0.0], [-37.0, 150.0, 272.0], 1.9e-4, 10.0, 60.0, 0.5)
    rocket = flight([-4697.0, -6662.0, 0.0], [125.0, 330.0, 152.0], 8.8e-5, 20.0, 60.0, 0.5)
    ts = np.arange(0.0, 60.0, 0.5)
    bird = (ts, np.array([[300 + 10 * t, 800.0, 80.0, 10.0, 0.0, 0.0, 0.0] for t in ts]))
    seen = run_tracker(radar(), [mortar, rocket, bird], seed=3)
    ids: dict[str, set[str]] = {}
    for t, trs in seen:
        for b in trs:
            near = [
                name
                for name, (tt, X) in (("mortar", mortar), ("rocket", rocket))
                if np.any(np.isclose(tt, t))
                and np.linalg.norm(X[np.isclose(tt, t)][0, :3] - b.x[:3]) < 100.0
            ]
            assert near, f"ballistic track {b.id} at {t} follows no round"
            assert b.object_class == near[0]
            ids.setdefault(near[0], set()).add(b.id)
    assert set(ids) == {"mortar", "rocket"}
    assert all(len(v) == 1 for v in ids.values())  # one track each, no breaks
    # confirmed within 3 s of launch
    first = {n: min(t for t, trs in seen for b in trs if b.id in ids[n]) for n in ids}
    assert first["mortar"] <= 13.0 and first["rocket"] <= 23.0


def test_slow_radar_gets_no_ballistic_initiation() -> None:
    mortar = flight([-570.0, 3744.0, 0.0], [-37.0, 150.0, 272.0], 1.9e-4, 0.0, 40.0, 1.0)
    seen = run_tracker(radar(update_s=1.0), [mortar], seed=4)
    assert not any(trs for _, trs in seen)


def test_impact_warns_only_the_zone_it_will_land_in() -> None:
    site = Site("s", GeoOrigin(33.0, 44.0), (radar(),), (ZONE,), ())
    warner = ImpactWarner(site)
    C = np.diag([60.0**2, 40.0**2])
    assert warner.probability(np.array([20.0, -30.0]), C, ZONE) > 0.9
    assert warner.probability(np.array([900.0, 0.0]), C, ZONE) == 0.0
    p_edge = warner.probability(np.array([150.0, 0.0]), C, ZONE)
    assert 0.3 < p_edge < 0.6
    assert incoming_text(12.7) == "incoming: take cover, 12 s"

    mortar = flight([-570.0, 3744.0, 0.0], [21.5, -155.5, 272.0], 1.9e-4, 0.0, 50.0, 0.5)
    elsewhere = flight([-3000.0, 3000.0, 0.0], [80.0, -10.0, 300.0], 1.9e-4, 0.0, 50.0, 0.5)
    seen = run_tracker(radar(), [mortar, elsewhere], seed=6)
    warned, shown = set(), set()
    for t, trs in seen:
        for a in warner.assess(trs, t):
            b = next(x for x in trs if x.id == a.track_id)
            landing = "zone" if b.impact and math.hypot(*b.impact.enu[:2]) < 400 else "away"
            shown.add(landing)
            if a.level >= ThreatLevel.WARNING:
                assert a.zone_id == "residence"
                assert landing == "zone"
                assert any(r.startswith("incoming: take cover") for r in a.reasons)
                warned.add(a.track_id)
    assert shown == {"zone", "away"} and len(warned) == 1


def test_three_d_plots_of_a_cat048_radar_are_tracked_too() -> None:
    """Plots converted to ENU about their radar (ASTERIX CAT048 with 3-D height): no range
    rate, a covariance per plot growing with range."""
    xyz = SensorSpec(
        "wlr48", SensorKind.RADAR, MeasurementKind.XYZ, S, {"x_m": 10.0, "y_m": 10.0, "z_m": 10.0},
        update_s=0.5, max_range_m=10000.0,
    )  # fmt: skip
    ts, X = flight([-570.0, 3744.0, 0.0], [21.5, -155.5, 272.0], 1.9e-4, 0.0, 50.0, 0.5)
    rng = np.random.default_rng(9)
    bt = BallisticTracker([xyz])
    first = None
    errs = []
    for t, x in zip(ts, X, strict=True):
        dets = []
        for p in [x[:3], *rng.uniform([-5000, -5000, 0], [5000, 5000, 2000], (12, 3))]:
            sd = max(6.0, 0.004 * float(np.linalg.norm(p - S)))
            Rk = np.eye(3) * sd * sd
            dets.append(
                Detection(float(t), "wlr48", MeasurementKind.XYZ, p + rng.normal(0, sd, 3), Rk, S)
            )
        bt.process(float(t), "wlr48", dets)
        trs = bt.tracks(float(t))
        if trs:
            assert len(trs) == 1 and trs[0].object_class == "mortar"
            first = float(t) if first is None else first
            if trs[0].impact is not None:
                errs.append((float(t) - first, math.dist(trs[0].impact.enu[:2], X[-1, :2])))
    assert first is not None and first <= 3.0
    assert max(e for dt, e in errs if dt >= 10.0) < 100.0

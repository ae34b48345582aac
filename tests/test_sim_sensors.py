"""Statistical checks of the simulator's sensor models against their configured values.

Each test measures a rate, a noise standard deviation or a clutter count over thousands of
trials and checks it against an exact confidence interval at a two-sided level of 1e-4
(Clopper-Pearson for proportions, chi-square for variances, Garwood for Poisson counts): a
correct model fails one such check about once in ten thousand runs, and the runs are
seeded, so the suite is deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from skywarden.sim import parse_scenario, simulate
from skywarden.sim.run import SimRun
from skywarden.sim.sensors import radar_pd

ALPHA = 1e-4


def binom_ci(k: int, n: int) -> tuple[float, float]:
    lo = stats.beta.ppf(ALPHA / 2, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(1 - ALPHA / 2, k + 1, n - k) if k < n else 1.0
    return float(lo), float(hi)


def std_ci(s: float, n: int) -> tuple[float, float]:
    """Interval for sigma given a sample std ``s`` (known zero mean: n degrees of freedom)."""
    lo = s * math.sqrt(n / stats.chi2.ppf(1 - ALPHA / 2, n))
    hi = s * math.sqrt(n / stats.chi2.ppf(ALPHA / 2, n))
    return lo, hi


def poisson_ci(k: int) -> tuple[float, float]:
    lo = stats.chi2.ppf(ALPHA / 2, 2 * k) / 2 if k > 0 else 0.0
    hi = stats.chi2.ppf(1 - ALPHA / 2, 2 * k + 2) / 2
    return float(lo), float(hi)


def hover(oid: str, pos: list[float], **kw: Any) -> dict[str, Any]:
    return {"id": oid, "type": "multirotor", "start_enu_m": pos, "start_speed_mps": 0.0, **kw}


def ring(n: int, r: float, u: float, prefix: str = "D", **kw: Any) -> list[dict[str, Any]]:
    out = []
    for k in range(n):
        a = 2 * math.pi * k / n
        out.append(hover(f"{prefix}{k:02d}", [r * math.sin(a), r * math.cos(a), u], **kw))
    return out


def scenario(sensors: list[dict[str, Any]], objects: list[dict[str, Any]], dur: float = 200.0):
    return parse_scenario(
        {
            "name": "stat",
            "duration_s": dur,
            "sim_dt_s": 0.5,
            "origin": {"lat": 33.3128, "lon": 44.3615, "alt_m": 34.0},
            "sensors": sensors,
            "objects": objects,
        }
    )


def truth_at(run: SimRun, t: float) -> dict[str, np.ndarray]:
    X = run.world.at(t)
    return {oid: X[j] for j, oid in enumerate(run.world.ids)}


RADAR: dict[str, Any] = {
    "id": "radar",
    "kind": "radar",
    "position_enu_m": [0.0, 0.0, 10.0],
    "sigma": {"range_m": 5.0, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6},
    "max_range_m": 3000.0,
    "pd": {"drone": 0.7, "bird": 0.6, "aircraft": 0.95},
    "clutter_per_scan": 12.0,
    "clutter_regions": [{"center_enu_m": [500, 500], "radius_m": 100, "per_scan": 3.0}],
}


def test_radar_fixed_pd_noise_and_clutter() -> None:
    run = simulate(scenario([RADAR], ring(40, 1200.0, 80.0)), seed=11)
    hits = trials = clutter = scans = 0
    res: dict[str, list[float]] = {"range": [], "az": [], "el": [], "radial": []}
    for rep in run.reports():
        scans += 1
        tr = truth_at(run, rep.t)
        trials += len(tr)
        for d, src in zip(rep.detections, rep.sources, strict=True):
            if src is None:
                clutter += 1
                continue
            hits += 1
            rel = tr[src][:3] - np.array([0.0, 0.0, 10.0])
            r = float(np.linalg.norm(rel))
            az = math.atan2(rel[0], rel[1]) % (2 * math.pi)
            el = math.asin(rel[2] / r)
            res["range"].append(d["range_m"] - r)
            res["az"].append((d["az_rad"] - az + math.pi) % (2 * math.pi) - math.pi)
            res["el"].append(d["el_rad"] - el)
            res["radial"].append(d["radial_mps"])  # hovering: true radial speed 0
    assert scans == 200
    lo, hi = binom_ci(hits, trials)
    assert lo <= 0.7 <= hi, (hits / trials, lo, hi)
    for key, sig in (("range", 5.0), ("az", 0.01), ("el", 0.015), ("radial", 0.6)):
        v = np.asarray(res[key])
        s = float(np.sqrt(np.mean(v**2)))
        lo, hi = std_ci(s, len(v))
        assert lo <= sig <= hi, (key, s, lo, hi)
    lo, hi = poisson_ci(clutter)
    assert lo <= 15.0 * scans <= hi, (clutter / scans, lo / scans, hi / scans)


def test_radar_equation_pd_matches_swerling_one() -> None:
    sensor = {
        **RADAR,
        "pd_model": "radar_equation",
        "snr_ref_db": 13.0,
        "ref_range_m": 2500.0,
        "ref_rcs_dbsm": -20.0,
        "clutter_per_scan": 0.0,
        "clutter_regions": [],
    }
    objs = ring(30, 2000.0, 60.0, "N", rcs_dbsm=-20.0) + ring(
        30, 2800.0, 120.0, "F", rcs_dbsm=-18.0
    )
    sc = scenario([sensor], objs)
    run = simulate(sc, seed=5)
    counts = {"N": 0, "F": 0}
    for rep in run.reports():
        for src in rep.sources:
            assert src is not None
            counts[src[0]] += 1
    model = sc.sensors[0]
    for prefix, r, u, rcs in (("N", 2000.0, 60.0, -20.0), ("F", 2800.0, 120.0, -18.0)):
        slant = math.hypot(r, u - 10.0)
        pd = float(radar_pd(model, np.array([slant]), np.array([rcs]))[0])
        lo, hi = binom_ci(counts[prefix], 30 * 200)
        assert lo <= pd <= hi, (prefix, counts[prefix] / 6000, pd)
    assert 0.3 < float(radar_pd(model, np.array([2800.0]), np.array([-18.0]))[0]) < 0.7


def test_radar_coverage_limits() -> None:
    objs = [
        hover("close", [10.0, 10.0, 20.0]),  # inside min range
        hover("far", [3500.0, 0.0, 80.0]),  # beyond max range
        hover("steep", [20.0, 20.0, 400.0]),  # above the elevation limit
        hover("ok", [800.0, 0.0, 60.0]),
    ]
    sensor = {**RADAR, "clutter_per_scan": 0.0, "clutter_regions": [], "el_max_rad": 1.0}
    run = simulate(scenario([sensor], objs, dur=50.0), seed=1)
    seen = {s for rep in run.reports() for s in rep.sources}
    assert seen == {"ok"}


def test_line_of_sight_over_the_horizon() -> None:
    from skywarden.sim.sensors import line_of_sight

    # 10 m mast: radio horizon ~13 km; a target at 30 km must be above ~ 25 m... and more
    ok = line_of_sight(10.0, np.array([5.0, 200.0]), np.array([30000.0, 30000.0]))
    assert list(ok) == [False, True]


def _angle_sensor(kind: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": kind,
        "kind": kind,
        "position_enu_m": [0.0, 0.0, 5.0],
        "sigma": {"az_rad": 0.03, "el_rad": 0.05} if kind != "rf" else {"az_rad": 0.035},
        **kw,
    }


def _bearing_residuals(
    run: SimRun, with_el: bool
) -> tuple[dict[str, int], list[float], list[float]]:
    counts: dict[str, int] = {}
    daz: list[float] = []
    del_: list[float] = []
    sp = np.array([0.0, 0.0, 5.0])
    for rep in run.reports():
        tr = truth_at(run, rep.t)
        for d, src in zip(rep.detections, rep.sources, strict=True):
            if src is None:
                continue
            counts[src[0]] = counts.get(src[0], 0) + 1
            rel = tr[src][:3] - sp
            az = math.atan2(rel[0], rel[1]) % (2 * math.pi)
            daz.append((d["az_rad"] - az + math.pi) % (2 * math.pi) - math.pi)
            if with_el:
                del_.append(d["el_rad"] - math.asin(rel[2] / np.linalg.norm(rel)))
    return counts, daz, del_


def test_rf_hears_only_emitters() -> None:
    objs = ring(20, 1500.0, 60.0, "E", rf={"protocol": "OcuSync-2"}) + ring(20, 1400.0, 60.0, "S")
    sensor = _angle_sensor("rf", max_range_m=5000.0, pd=0.9, clutter_per_scan=0.5)
    run = simulate(scenario([sensor], objs), seed=3)
    counts, daz, _ = _bearing_residuals(run, False)
    assert set(counts) == {"E"}
    lo, hi = binom_ci(counts["E"], 20 * 200)
    assert lo <= 0.9 <= hi
    lo, hi = std_ci(float(np.sqrt(np.mean(np.square(daz)))), len(daz))
    assert lo <= 0.035 <= hi
    clutter = sum(s is None for rep in run.reports() for s in rep.sources)
    lo, hi = poisson_ci(clutter)
    assert lo <= 0.5 * 200 <= hi
    protos = {d["protocol"] for rep in run.reports() for d in rep.detections}
    assert protos == {"OcuSync-2", "wifi"}


def test_acoustic_hears_drones_not_birds() -> None:
    birds = {"id": "B", "type": "migration", "count": 10, "half_width_m": 200, "alt_median_m": 60}
    objs = [*ring(20, 250.0, 40.0, "D"), birds]
    sensor = _angle_sensor("acoustic", max_range_m=400.0, pd={"drone": 0.8, "aircraft": 0.9})
    run = simulate(scenario([sensor], objs, dur=100.0), seed=4)
    counts, daz, del_ = _bearing_residuals(run, True)
    assert set(counts) == {"D"}
    lo, hi = binom_ci(counts["D"], 20 * 100)
    assert lo <= 0.8 <= hi
    for v, sig in ((daz, 0.03), (del_, 0.05)):
        lo, hi = std_ci(float(np.sqrt(np.mean(np.square(v)))), len(v))
        assert lo <= sig <= hi


def test_camera_pd_falls_with_range_and_labels() -> None:
    objs = ring(20, 400.0, 50.0, "N") + ring(20, 700.0, 80.0, "F")
    sensor = _angle_sensor(
        "camera", max_range_m=2000.0, pd=0.9, range_half_m=700.0, class_accuracy=0.8
    )
    run = simulate(scenario([sensor], objs), seed=6)
    counts, daz, del_ = _bearing_residuals(run, True)
    for prefix, r, u in (("N", 400.0, 50.0), ("F", 700.0, 80.0)):
        slant = math.hypot(r, u - 5.0)
        pd = 0.9 / (1.0 + (slant / 700.0) ** 4)
        lo, hi = binom_ci(counts[prefix], 20 * 200)
        assert lo <= pd <= hi, (prefix, counts[prefix] / 4000, pd)
    for v, sig in ((daz, 0.03), (del_, 0.05)):
        lo, hi = std_ci(float(np.sqrt(np.mean(np.square(v)))), len(v))
        assert lo <= sig <= hi
    right = sum(d["class"] == "drone" for rep in run.reports() for d in rep.detections)
    n = sum(len(rep.detections) for rep in run.reports())
    lo, hi = binom_ci(right, n)
    assert lo <= 0.8 <= hi


@pytest.mark.parametrize("kind", ["remote_id", "adsb"])
def test_cooperative_dropouts_and_noise(kind: str) -> None:
    emit = {"remote_id": "RID0001"} if kind == "remote_id" else {"adsb": {"icao": "abc123"}}
    objs = [hover("C", [300.0, 200.0, 50.0], **emit), hover("X", [100.0, 100.0, 50.0])]
    sensor = {
        "id": kind,
        "kind": kind,
        "position_enu_m": [0.0, 0.0, 5.0],
        "sigma": {"pos_m": 4.0, "vel_mps": 0.5},
        "pd": 0.85,
        "max_range_m": 3000.0,
    }
    run = simulate(scenario([sensor], objs, dur=1000.0), seed=8)
    k = 0
    dx: list[float] = []
    for rep in run.reports():
        for d, src in zip(rep.detections, rep.sources, strict=True):
            assert src == "C"
            k += 1
            dx += [d["x"] - 300.0, d["y"] - 200.0, d["z"] - 50.0]
            assert d["id"] == ("RID0001" if kind == "remote_id" else "abc123")
    lo, hi = binom_ci(k, 1000)
    assert lo <= 0.85 <= hi
    lo, hi = std_ci(float(np.sqrt(np.mean(np.square(dx)))), len(dx))
    assert lo <= 4.0 <= hi


def test_latency_jitter_and_outages() -> None:
    sensor = {**RADAR, "latency_s": 0.4, "jitter_s": 0.2, "outages": [[50, 70], [120, 121]]}
    run = simulate(scenario([sensor], ring(3, 500.0, 50.0), dur=150.0), seed=2)
    reps = list(run.reports())
    ts = [r.t for r in reps]
    assert not any(50 <= t < 70 for t in ts) and 120.0 not in ts
    assert len(ts) == 150 - 20 - 1
    lat = np.array([r.arrival_t - r.t for r in reps])
    assert lat.min() >= 0.4 - 1e-9 and lat.max() <= 0.6 + 1e-9
    # uniform jitter: the mean latency is 0.5 within its sampling error (sd 0.2/sqrt(12 n))
    se = 0.2 / math.sqrt(12 * len(lat))
    assert abs(lat.mean() - 0.5) <= 4 * se
    arr = [r.arrival_t for r in run.reports(order="arrival")]
    assert arr == sorted(arr)

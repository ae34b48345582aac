"""Other seeds of the ``ballistic_night`` family, to measure the ballistic tracker on more than
the one public file.

usage: gen_ballistic_night.py PUBLIC.scenario.jsonl OUT_DIR --seeds 1 2 3 4 5

The sensors, zones and origin come from the public file's header; everything else is drawn
from the seed: nine rounds (rockets 330-390 m/s, mortar bombs 160-320 m/s at high angle), four
aimed inside the first protected zone and five elsewhere in the city (0.4-3 km from it),
fired from 1.5-8 km, at times spread over the run; twenty birds, one helicopter, one hostile
drone flying at the site, and uniform clutter. The flight model is independent of the
tracker's on purpose: drag ``k rho(u)/rho0 |v| v`` with the air density falling with height
(scale height 9 km) and a per-round ``k``, integrated at 10 ms; each round is aimed by
bisection on its elevation. Writes NAME.scenario.jsonl and NAME.truth.jsonl in the skybench/1
format (shared/bench/FORMAT.md).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

G = 9.80665
DT_SIM = 0.01


def _flight(p0: np.ndarray, v0: np.ndarray, k: float) -> list[tuple[float, np.ndarray]]:
    """(time since launch, [p, v]) every 10 ms until the round reaches the ground."""
    x = np.concatenate([p0, v0]).astype(float)
    out = [(0.0, x.copy())]
    t = 0.0

    def f(y: np.ndarray) -> np.ndarray:
        v = y[3:]
        rho = math.exp(-max(y[2], 0.0) / 9000.0)
        a = -k * rho * np.linalg.norm(v) * v
        a[2] -= G
        return np.concatenate([v, a])

    while True:
        k1 = f(x)
        k2 = f(x + 0.5 * DT_SIM * k1)
        k3 = f(x + 0.5 * DT_SIM * k2)
        k4 = f(x + DT_SIM * k3)
        y = x + DT_SIM / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += DT_SIM
        if y[2] <= 0.0:
            frac = x[2] / (x[2] - y[2])
            out.append((t - DT_SIM + frac * DT_SIM, x + frac * (y - x)))
            return out
        out.append((t, y))
        x = y


def _range_of(speed: float, el: float, k: float) -> float:
    fl = _flight(np.zeros(3), np.array([0.0, speed * math.cos(el), speed * math.sin(el)]), k)
    return float(fl[-1][1][1])


def _aim(speed: float, k: float, rng_m: float, high: bool) -> float | None:
    """Elevation that reaches ``rng_m`` (low- or high-angle branch), or None."""
    # the range is unimodal in elevation: find its peak, then bisect on one branch
    els = np.radians(np.arange(5.0, 86.0, 2.5))
    rs = [_range_of(speed, e, k) for e in els]
    i = int(np.argmax(rs))
    if rs[i] < rng_m:
        return None
    lo, hi = (els[i], math.radians(87.0)) if high else (math.radians(0.5), els[i])
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        r = _range_of(speed, mid, k)
        if (r > rng_m) != high:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _round(rng: np.random.Generator, target: np.ndarray, i: int, t0: float) -> dict[str, Any]:
    while True:
        mortar = rng.random() < 0.5
        speed = rng.uniform(160, 320) if mortar else rng.uniform(330, 390)
        k = rng.uniform(1.5e-4, 2.3e-4) if mortar else rng.uniform(0.7e-4, 1.1e-4)
        dist = rng.uniform(1500, 8000)
        el = _aim(speed, k, dist, high=mortar)
        if el is None:
            continue
        bearing = rng.uniform(0, 2 * math.pi)  # from the target back to the launcher
        launch = target + dist * np.array([math.sin(bearing), math.cos(bearing)])
        if np.linalg.norm(launch) > 9500:
            continue
        d = -np.array([math.sin(bearing), math.cos(bearing)])
        v0 = np.array([*(speed * math.cos(el) * d), speed * math.sin(el)])
        fl = _flight(np.array([launch[0], launch[1], 0.0]), v0, k)
        cls = "mortar" if mortar else "rocket"
        return {"id": f"{cls[0].upper()}{i}", "class": cls, "t0": t0, "flight": fl}


def _walker(rng: np.random.Generator, n: int, dur: float, dt: float) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        p = np.array([*rng.uniform(-3000, 3000, 2), rng.uniform(30, 200)])
        sp = rng.uniform(7, 17)
        h = rng.uniform(0, 2 * math.pi)
        rows = []
        for _k in range(int(dur / dt)):
            h += rng.normal(0, 0.05)
            v = np.array([sp * math.sin(h), sp * math.cos(h), rng.normal(0, 0.5)])
            rows.append(np.concatenate([p, v]))
            p = p + v * dt
        out.append(np.array(rows))
    return out


def generate(header: dict[str, Any], seed: int, out_dir: Path) -> str:
    rng = np.random.default_rng(seed)
    name = f"ballistic_night_s{seed}"
    dur = float(header.get("duration_s", 240))
    radar = next(s for s in header["sensors"] if s["measures"] == "range_az_el_radial")
    dt = float(radar["update_s"])
    zone = next(z for z in header["zones"] if z["kind"] == "protected")
    centre = np.array(zone["center_enu_m"], dtype=float)
    zr = float(zone["radius_m"])
    rounds = []
    times = np.sort(rng.uniform(20, dur - 60, 9))
    kinds = rng.permutation([True] * 4 + [False] * 5)  # aimed at the zone or elsewhere
    for i, (t0, at_zone) in enumerate(zip(times, kinds, strict=True)):
        if at_zone:
            r, a = zr * 0.7 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        else:
            r, a = rng.uniform(400, 3000), rng.uniform(0, 2 * math.pi)
        target = centre + r * np.array([math.sin(a), math.cos(a)])
        rounds.append(_round(rng, target, i, float(round(t0 * 2) / 2)))
    birds = _walker(rng, 20, dur, dt)
    heli_p = np.array([-6000.0, rng.uniform(-2000, 2000), 300.0])
    heli_v = np.array([50.0, rng.uniform(-5, 5), 0.0])
    drone_start = rng.uniform(2500, 3800)
    drone_dir = rng.uniform(0, 2 * math.pi)
    dp0 = centre - drone_start * np.array([math.sin(drone_dir), math.cos(drone_dir)])
    pd = radar["pd"]
    sig = radar["sigma"]
    s = np.array(radar["position_enu_m"], dtype=float)
    max_r = float(radar["max_range_m"])
    scen = [dict(header, name=name, seed=seed, description=f"generated seed {seed}")]
    truth = []
    for step in range(int(dur / dt)):
        t = round(step * dt, 3)
        objs: list[tuple[dict[str, Any], np.ndarray, float]] = []
        for b_i, b in enumerate(birds):
            row = {"id": f"B{b_i:02d}", "class": "bird", "hostile": False}
            objs.append((row, b[step], pd["bird"]))
        hp = np.concatenate([heli_p + heli_v * t, heli_v])
        objs.append(({"id": "A0", "class": "aircraft", "hostile": False}, hp, pd["aircraft"]))
        to = np.array([*centre, 15.0]) - np.array([*dp0, 120.0])
        tt = float(np.linalg.norm(to)) / 28.0  # the drone flies at the site at 28 m/s
        if t <= tt + 20.0:
            frac = min(t / tt, 1.0)
            p = np.array([*dp0, 120.0]) + frac * to
            v = to / tt if t < tt else np.zeros(3)
            row = {"id": "H0", "class": "drone", "hostile": True}
            objs.append((row, np.concatenate([p, v]), pd["drone"]))
        for rd in rounds:
            fl = rd["flight"]
            tau = t - rd["t0"]
            if tau < 0 or tau > fl[-1][0]:
                continue
            j = min(round(tau / DT_SIM), len(fl) - 1)
            ip = fl[-1][1]
            row = {
                "id": rd["id"],
                "class": rd["class"],
                "hostile": True,
                "impact_enu_m": [round(float(ip[0]), 4), round(float(ip[1]), 4)],
                "impact_t": round(rd["t0"] + fl[-1][0], 4),
                "launch_enu_m": [round(float(fl[0][1][0]), 4), round(float(fl[0][1][1]), 4)],
            }
            objs.append((row, fl[j][1], pd[rd["class"]]))
        dets = []
        for row, x, p_d in objs:
            truth.append(
                {
                    "t": t,
                    **{
                        k: v
                        for k, v in row.items()
                        if k not in ("impact_enu_m", "impact_t", "launch_enu_m")
                    },
                    "friendly": False,
                    **{
                        k: round(float(v), 4)
                        for k, v in zip(["x", "y", "z", "vx", "vy", "vz"], x, strict=True)
                    },
                    **{
                        k: v
                        for k, v in row.items()
                        if k in ("impact_enu_m", "impact_t", "launch_enu_m")
                    },
                }
            )
            dv = x[:3] - s
            rr = float(np.linalg.norm(dv))
            if rr > max_r or rng.random() > p_d:
                continue
            rcs = {"bird": -24, "aircraft": 5, "drone": -17, "mortar": -17, "rocket": -13}
            dets.append(
                {
                    "range_m": round(rr + rng.normal(0, sig["range_m"]), 4),
                    "az_rad": round(
                        (math.atan2(dv[0], dv[1]) + rng.normal(0, sig["az_rad"])) % (2 * math.pi), 4
                    ),
                    "el_rad": round(math.asin(dv[2] / rr) + rng.normal(0, sig["el_rad"]), 4),
                    "radial_mps": round(
                        float(dv @ x[3:6]) / rr + rng.normal(0, sig["radial_mps"]), 4
                    ),
                    "rcs_dbsm": round(rcs[row["class"]] + rng.normal(0, 4), 4),
                }
            )
        for _ in range(rng.poisson(radar.get("clutter_per_scan", 0))):
            dets.append(
                {
                    "range_m": round(rng.uniform(300, max_r), 4),
                    "az_rad": round(rng.uniform(0, 2 * math.pi), 4),
                    "el_rad": round(rng.uniform(0.0, 0.35), 4),
                    "radial_mps": round(rng.normal(0, 6), 4),
                    "rcs_dbsm": round(rng.normal(-15, 10), 4),
                }
            )
        rng.shuffle(dets)  # type: ignore[arg-type]
        scen.append({"type": "detections", "t": t, "sensor": radar["id"], "detections": dets})
    (out_dir / f"{name}.scenario.jsonl").write_text("".join(json.dumps(r) + "\n" for r in scen))
    (out_dir / f"{name}.truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in truth))
    return name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("public")
    ap.add_argument("out_dir")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    a = ap.parse_args()
    with open(a.public) as f:
        header = json.loads(f.readline())
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for seed in a.seeds:
        print(generate(header, seed, out))


if __name__ == "__main__":
    main()

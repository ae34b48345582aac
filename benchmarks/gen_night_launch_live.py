"""Other seeds of the ``night_launch`` family, to measure the live launch estimate of drone
tracks on more than the one public file.

usage: gen_night_launch_live.py PUBLIC.scenario.jsonl OUT_DIR --seeds 1 2 3 4 5

Sensors, zones, whitelist and origin come from the public header. Drawn from the seed: three
hostile drones that take off from the ground (two 1.5-4.5 km from the site, inside radar
coverage, one 5.5-7 km away, beyond it), climb at 2-4 m/s to 40-90 m, fly a dog-leg and run
in to the protected zone at 15-25 m/s; one of them is remotely piloted and heard by the RF
direction finders from take-off; twenty birds; uniform radar clutter. The remote ID receiver
hears nothing (the site's own drone stays on the ground). Truth carries each hostile drone's
launch point. skybench/1 format (shared/bench/FORMAT.md).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def _drone_path(
    rng: np.random.Generator, start: np.ndarray, target: np.ndarray, dt: float
) -> list[np.ndarray]:
    """States [e, n, u, ve, vn, vu] every ``dt`` from take-off to 10 s after reaching target."""
    climb = rng.uniform(2.0, 4.0)
    alt = rng.uniform(40.0, 90.0)
    speed = rng.uniform(15.0, 25.0)
    to = target - start
    heading = math.atan2(to[0], to[1]) + rng.choice([-1.0, 1.0]) * math.radians(rng.uniform(25, 50))
    leg_s = rng.uniform(30.0, 60.0)
    p = np.array([start[0], start[1], 0.0])
    out: list[np.ndarray] = []
    t = 0.0
    arrived = None
    while arrived is None or t < arrived + 10.0:
        if p[2] < alt and t < alt / climb:  # climb out over the take-off point, drifting
            v = np.array([1.0 * math.sin(heading), 1.0 * math.cos(heading), climb])
        elif t < alt / climb + leg_s:  # the dog-leg
            v = np.array([speed * math.sin(heading), speed * math.cos(heading), 0.0])
        else:  # run in, descending to 15 m
            d = np.array([target[0] - p[0], target[1] - p[1], 15.0 - p[2]])
            dist = float(np.linalg.norm(d[:2]))
            if dist < 20.0 and arrived is None:
                arrived = t
            v = np.zeros(3) if dist < 20.0 else d / max(float(np.linalg.norm(d)), 1e-6) * speed
        out.append(np.concatenate([p, v]))
        p = p + v * dt
        t += dt
        if t > 590.0:
            break
    return out


def generate(header: dict[str, Any], seed: int, out_dir: Path) -> str:
    rng = np.random.default_rng(seed)
    name = f"night_launch_s{seed}"
    dur = float(header.get("duration_s", 600))
    radar = next(s for s in header["sensors"] if s["measures"] == "range_az_el_radial")
    rfs = [s for s in header["sensors"] if s["measures"] == "az"]
    others = [s for s in header["sensors"] if s is not radar and s not in rfs]
    dt = float(radar["update_s"])
    zone = next(z for z in header["zones"] if z["kind"] == "protected")
    centre = np.array(zone["center_enu_m"], dtype=float)
    s = np.array(radar["position_enu_m"], dtype=float)
    max_r = float(radar["max_range_m"])
    sig = radar["sigma"]
    pd = radar["pd"]
    drones = []
    for i, (lo, hi) in enumerate(((1500, 4500), (1500, 4500), (5500, 7000))):
        r, a = rng.uniform(lo, hi), rng.uniform(0, 2 * math.pi)
        start = centre + r * np.array([math.sin(a), math.cos(a)])
        t0 = float(round(rng.uniform(10, 150)))
        drones.append((f"H{i}", t0, start, _drone_path(rng, start, centre, dt)))
    piloted = f"H{int(rng.integers(0, 3))}"
    birds = []
    for _ in range(20):
        p = np.array([*rng.uniform(-3000, 3000, 2), rng.uniform(30, 200)])
        sp, h = rng.uniform(7, 17), rng.uniform(0, 2 * math.pi)
        rows = []
        for _k in range(int(dur / dt)):
            h += rng.normal(0, 0.05)
            v = np.array([sp * math.sin(h), sp * math.cos(h), rng.normal(0, 0.3)])
            rows.append(np.concatenate([p, v]))
            p = p + v * dt
        birds.append(rows)
    scen: list[dict[str, Any]] = [dict(header, name=name, seed=seed, description=f"seed {seed}")]
    truth: list[dict[str, Any]] = []
    keys = ("x", "y", "z", "vx", "vy", "vz")
    for step in range(int(dur / dt)):
        t = round(step * dt, 3)
        objs: list[tuple[dict[str, Any], np.ndarray, float]] = []
        for b_i, rows in enumerate(birds):
            objs.append(
                ({"id": f"B{b_i:02d}", "class": "bird", "hostile": False}, rows[step], pd["bird"])
            )
        for did, t0, start, path in drones:
            k = round((t - t0) / dt)
            if 0 <= k < len(path):
                row = {
                    "id": did,
                    "class": "drone",
                    "hostile": True,
                    "launch_enu_m": [round(float(start[0]), 4), round(float(start[1]), 4)],
                }
                objs.append((row, path[k], pd["drone"]))
        dets = []
        rf_dets: dict[str, list[dict[str, float]]] = {x["id"]: [] for x in rfs}
        for row, x, p_d in objs:
            base = {k: v for k, v in row.items() if k != "launch_enu_m"}
            vals = {k: round(float(v), 4) for k, v in zip(keys, x, strict=True)}
            extra = {"launch_enu_m": row["launch_enu_m"]} if "launch_enu_m" in row else {}
            truth.append({"t": t, **base, "friendly": False, **vals, **extra})
            dv = x[:3] - s
            rr = float(np.linalg.norm(dv))
            if row["id"] == piloted:
                for rf in rfs:
                    q = x[:3] - np.array(rf["position_enu_m"], dtype=float)
                    if np.linalg.norm(q) <= rf.get("max_range_m", 9000) and rng.random() < rf["pd"]:
                        az = (math.atan2(q[0], q[1]) + rng.normal(0, rf["sigma"]["az_rad"])) % (
                            2 * math.pi
                        )
                        rf_dets[rf["id"]].append({"az_rad": round(az, 4)})
            if rr > max_r or x[2] <= 0.5 or rng.random() > p_d:
                continue
            rcs = -24.0 if row["class"] == "bird" else -17.0
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
                    "rcs_dbsm": round(rcs + rng.normal(0, 4), 4),
                }
            )
        for _ in range(rng.poisson(radar.get("clutter_per_scan", 0))):
            dets.append(
                {
                    "range_m": round(rng.uniform(300, max_r), 4),
                    "az_rad": round(rng.uniform(0, 2 * math.pi), 4),
                    "el_rad": round(rng.uniform(0.0, 0.3), 4),
                    "radial_mps": round(rng.normal(0, 6), 4),
                    "rcs_dbsm": round(rng.normal(-20, 8), 4),
                }
            )
        order = rng.permutation(len(dets))
        scen.append(
            {
                "type": "detections",
                "t": t,
                "sensor": radar["id"],
                "detections": [dets[i] for i in order],
            }
        )
        for rf in rfs:
            scen.append(
                {"type": "detections", "t": t, "sensor": rf["id"], "detections": rf_dets[rf["id"]]}
            )
        for o in others:
            scen.append({"type": "detections", "t": t, "sensor": o["id"], "detections": []})
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

"""More seeds of the ``night_launch`` family: checks ``skywarden investigate`` off the public file.

Reads the public scenario's header (sensors, their sigmas, detection probabilities, ranges,
clutter, zones, whitelist) and draws a new night: three hostile drones taking off 1.5-4.5 km
away inside radar coverage (two) and 5.5-7 km away beyond it (one, remotely piloted: its
control link is heard by the RF direction finders from take-off), each climbing at 3 m/s to a
cruise height, flying a dog-leg and running in low to the protected site; 20 birds
wandering; the site's own whitelisted drone patrolling with Remote ID and an RF link.
The geometry is drawn from the seed, not copied from the public file. Not part of the
product: a test bench for the investigation.

    python benchmarks/gen_night_launch.py ../shared/bench/night_launch.scenario.jsonl \
        --seed 7 --out /tmp/nl7     # -> /tmp/nl7.scenario.jsonl, /tmp/nl7.truth.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

Obj = dict[str, Any]


def _hostile(rng: np.random.Generator, name: str, r_lo: float, r_hi: float, t0: float) -> Obj:
    brg = rng.uniform(0, 2 * math.pi)
    r = rng.uniform(r_lo, r_hi)
    launch = np.array([r * math.sin(brg), r * math.cos(brg)])
    side = rng.choice([-1.0, 1.0])
    perp = np.array([launch[1], -launch[0]]) / r
    w1 = launch * rng.uniform(0.55, 0.75) + perp * side * rng.uniform(0.15, 0.35) * r
    w2 = launch / r * rng.uniform(1500, 2000)
    return {
        "id": name,
        "t0": t0,
        "launch": launch,
        "legs": [w1, w2, np.zeros(2)],
        "speed": rng.uniform(18, 28),
        "cruise": rng.uniform(40, 85),
        "rf": False,
    }


def _drone_states(h: Obj, dt: float = 1.0) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(t, position, velocity) every dt from take-off until it reaches the site."""
    p = np.array([h["launch"][0], h["launch"][1], 3.0])
    t = h["t0"]
    out = []
    legs = list(h["legs"])
    for _ in range(3000):
        target = legs[0]
        d = target - p[:2]
        dist = float(np.hypot(*d))
        low = len(legs) == 1  # run-in: down to 15 m
        z_goal = 15.0 if low else h["cruise"]
        vz = float(np.clip((z_goal - p[2]) / dt, -3.0, 3.0))
        vh = d / max(dist, 1e-9) * h["speed"]
        v = np.array([vh[0], vh[1], vz])
        out.append((t, p.copy(), v))
        if dist < h["speed"] * dt:
            legs.pop(0)
            if not legs:
                break
        p = p + v * dt
        t += dt
    return out


def _bird(rng: np.random.Generator, duration: int) -> list[tuple[float, np.ndarray, np.ndarray]]:
    p = np.array([*rng.uniform(-3000, 3000, 2), rng.uniform(30, 180)])
    v = np.array([*rng.normal(0, 5, 2), 0.0])
    out = []
    for t in range(duration):
        v[:2] += rng.normal(0, 0.8, 2)
        sp = float(np.hypot(*v[:2]))
        if sp > 12:
            v[:2] *= 12 / sp
        v[2] = float(np.clip(v[2] + rng.normal(0, 0.3), -1.5, 1.5))
        if p[2] < 25 or p[2] > 200:
            v[2] = abs(v[2]) if p[2] < 25 else -abs(v[2])
        out.append((float(t), p.copy(), v.copy()))
        p = p + v
    return out


def _patrol(duration: int) -> list[tuple[float, np.ndarray, np.ndarray]]:
    sq = [np.array(c, float) for c in ((300, -300), (300, 300), (-300, 300), (-300, -300))]
    p = np.array([200.0, -290.0, 60.0])
    out, k = [], 0
    for t in range(int(duration * 0.5)):
        d = sq[k] - p[:2]
        if np.hypot(*d) < 8:
            k = (k + 1) % 4
            d = sq[k] - p[:2]
        v = np.array([*(d / np.hypot(*d) * 8.0), 0.0])
        out.append((float(t), p.copy(), v))
        p = p + v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("public", help="the public night_launch.scenario.jsonl (its header)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True, help="output prefix")
    a = ap.parse_args()
    with open(a.public, encoding="utf-8") as f:
        header = json.loads(f.readline())
    rng = np.random.default_rng(a.seed)
    duration = int(header["duration_s"])
    radar = next(s for s in header["sensors"] if s["kind"] == "radar")
    rmax = float(radar["max_range_m"])
    hostiles = [
        _hostile(rng, "H0", 1500, 0.9 * rmax, float(rng.integers(10, 40))),
        _hostile(rng, "H1", 1500, 0.9 * rmax, float(rng.integers(40, 90))),
        _hostile(rng, "H2", rmax + 500, 7000, float(rng.integers(60, 120))),
    ]
    hostiles[2]["rf"] = True
    objs: list[tuple[str, str, bool, bool, list[tuple[float, np.ndarray, np.ndarray]], Obj]] = []
    for h in hostiles:
        objs.append((h["id"], "drone", True, False, _drone_states(h), h))
    for i in range(20):
        objs.append((f"B{i:02d}", "bird", False, False, _bird(rng, duration), {}))
    wl = header.get("whitelist", [{}])[0].get("remote_id", "FRIEND")
    objs.append(("F0", "drone", False, True, _patrol(duration), {"rf": True, "rid": wl}))

    at: dict[float, list[tuple[str, str, np.ndarray, np.ndarray, Obj]]] = {}
    truth_lines = []
    for oid, cls, hostile, friendly, states, meta in objs:
        for t, p, v in states:
            at.setdefault(t, []).append((oid, cls, p, v, meta))
            row: dict[str, Any] = {
                "t": t,
                "id": oid,
                "class": cls,
                "hostile": hostile,
                "friendly": friendly,
                "x": round(float(p[0]), 4),
                "y": round(float(p[1]), 4),
                "z": round(float(p[2]), 4),
                "vx": round(float(v[0]), 4),
                "vy": round(float(v[1]), 4),
                "vz": round(float(v[2]), 4),
            }
            if hostile:
                row["launch_enu_m"] = [round(float(x), 4) for x in meta["launch"]]
            truth_lines.append(row)
    truth_lines.sort(key=lambda r: (r["t"], r["id"]))

    header = dict(header, name=f"night_launch_seed{a.seed}", seed=a.seed)
    lines = [header]
    for t in range(duration):
        here = at.get(float(t), [])
        for s in header["sensors"]:
            pos = np.array(s["position_enu_m"], float)
            sig = s["sigma"]
            pd = s.get("pd", 1.0)
            dets: list[dict[str, Any]] = []
            for _oid, cls, p, v, meta in here:
                d = p - pos
                rng_m = float(np.linalg.norm(d))
                pd_o = pd.get(cls, 0.8) if isinstance(pd, dict) else float(pd)
                if s.get("max_range_m") and rng_m > s["max_range_m"]:
                    continue
                if rng.random() > pd_o:
                    continue
                az = math.atan2(d[0], d[1]) % (2 * math.pi)
                el = math.atan2(d[2], math.hypot(d[0], d[1]))
                if s["kind"] == "radar":
                    dets.append(
                        {
                            "range_m": round(rng_m + rng.normal(0, sig["range_m"]), 4),
                            "az_rad": round((az + rng.normal(0, sig["az_rad"])) % (2 * math.pi), 4),
                            "el_rad": round(el + rng.normal(0, sig["el_rad"]), 4),
                            "radial_mps": round(
                                float(d @ v) / rng_m + rng.normal(0, sig["radial_mps"]), 4
                            ),
                            "rcs_dbsm": round(
                                float(rng.normal(-20 if cls == "drone" else -25, 4)), 4
                            ),
                        }
                    )
                elif s["kind"] == "rf" and meta.get("rf"):
                    dets.append(
                        {"az_rad": round((az + rng.normal(0, sig["az_rad"])) % (2 * math.pi), 4)}
                    )
                elif s["kind"] == "remote_id" and meta.get("rid"):
                    n = sig["pos_m"]
                    dets.append(
                        {
                            "id": meta["rid"],
                            **{
                                k: round(float(p[i] + rng.normal(0, n)), 4)
                                for i, k in enumerate("xyz")
                            },
                            **{k: round(float(v[i]), 4) for i, k in enumerate(("vx", "vy", "vz"))},
                        }
                    )
            if s["kind"] == "radar":
                for _ in range(rng.poisson(s.get("clutter_per_scan", 0))):
                    dets.append(
                        {
                            "range_m": round(float(rng.uniform(100, rmax)), 4),
                            "az_rad": round(float(rng.uniform(0, 2 * math.pi)), 4),
                            "el_rad": round(float(rng.uniform(-0.01, 0.3)), 4),
                            "radial_mps": round(float(rng.uniform(-12, 12)), 4),
                            "rcs_dbsm": round(float(rng.normal(-22, 8)), 4),
                        }
                    )
                rng.shuffle(dets)  # type: ignore[arg-type]
            lines.append(
                {"type": "detections", "t": float(t), "sensor": s["id"], "detections": dets}
            )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scen = out.with_name(out.name + ".scenario.jsonl")
    tru = out.with_name(out.name + ".truth.jsonl")
    scen.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    tru.write_text("".join(json.dumps(x) + "\n" for x in truth_lines), encoding="utf-8")
    print(scen, tru)


if __name__ == "__main__":
    main()

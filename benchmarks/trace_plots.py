"""What the sensors reported of one truth object, second by second (issue 19, session 18).

A drone first tracked long after it entered radar coverage was either not detected (no
plot near it: the radar equation's Pd, the Doppler notch, no RF) or detected and not
tracked; a track that changes objects shows as plots of one object ending where another's
begin. For one truth object of a skybench/1 file this prints, for every scan between
``--from`` and ``--to``: the object's range from the site origin, height and ground speed,
then per radar the plot nearest the object (its 3-D distance, plot RCS, and the plot's
radial speed against the truth's, as seen from that radar) or ``--`` with the object's range
from the radar when no plot lies within ``--radius`` m, and per RF direction finder the
bearing residuals (plot minus truth, rad) within ``--bearing`` rad, or ``--``. Nothing is
tracked: this reads the scenario and the truth only.

    .venv/bin/python benchmarks/trace_plots.py F.scenario.jsonl F.truth.jsonl H1 \
        --from 80 --to 115
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def _truth(path: str, oid: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return sorted((r for r in rows if r.get("id") == oid), key=lambda r: float(r["t"]))


def _at(rows: list[dict[str, Any]], t: float) -> tuple[float, float, float, dict[str, Any]]:
    """The object at ``t``: the nearest truth row carried by its velocity."""
    r = min(rows, key=lambda x: abs(float(x["t"]) - t))
    dt = t - float(r["t"])
    return r["x"] + r["vx"] * dt, r["y"] + r["vy"] * dt, r["z"] + r["vz"] * dt, r


def _radar(
    scan: dict[str, Any],
    pos: list[float],
    obj: tuple[float, float, float],
    vel: tuple[float, float, float],
    radius: float,
) -> str:
    dx, dy, dz = (obj[i] - pos[i] for i in range(3))
    rng = math.sqrt(dx * dx + dy * dy + dz * dz)
    best: tuple[float, dict[str, Any]] | None = None
    for det in scan["detections"]:
        ra, az, el = det["range_m"], det["az_rad"], det["el_rad"]
        p = (
            pos[0] + ra * math.cos(el) * math.sin(az),
            pos[1] + ra * math.cos(el) * math.cos(az),
            pos[2] + ra * math.sin(el),
        )
        d = math.dist(p, obj)
        if best is None or d < best[0]:
            best = (d, det)
    if best is None or best[0] > radius:
        return f"{scan['sensor']} -- (range {rng:.0f})"
    d, det = best
    vr = (dx * vel[0] + dy * vel[1] + dz * vel[2]) / rng
    rcs = det.get("rcs_dbsm", math.nan)
    return (
        f"{scan['sensor']} d={d:.0f} rcs={rcs:.1f}"
        f" vr={det.get('radial_mps', math.nan):+.1f}/{vr:+.1f}"
    )


def _rf(
    scan: dict[str, Any], pos: list[float], obj: tuple[float, float, float], window: float
) -> str:
    az = math.atan2(obj[0] - pos[0], obj[1] - pos[1])
    res = [(det["az_rad"] - az + math.pi) % (2 * math.pi) - math.pi for det in scan["detections"]]
    near = [x for x in res if abs(x) <= window]
    return f"{scan['sensor']} " + (",".join(f"{x:+.3f}" for x in near) if near else "--")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("truth")
    ap.add_argument("object", help="truth id, e.g. H1")
    ap.add_argument("--from", dest="t0", type=float, default=0.0)
    ap.add_argument("--to", dest="t1", type=float, default=math.inf)
    ap.add_argument("--radius", type=float, default=150.0, help="m: a radar plot this near")
    ap.add_argument("--bearing", type=float, default=0.15, help="rad: an RF residual this small")
    a = ap.parse_args()
    rows = _truth(a.truth, a.object)
    if not rows:
        raise SystemExit(f"no truth object {a.object}")
    lo, hi = max(a.t0, float(rows[0]["t"])), min(a.t1, float(rows[-1]["t"]))
    sensors: dict[str, dict[str, Any]] = {}
    lines: dict[int, list[str]] = {}
    with open(a.scenario, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d.get("type") == "header":
                sensors = {s["id"]: s for s in d["sensors"]}
                continue
            t = float(d.get("t", -1.0))
            s = sensors.get(d.get("sensor", ""))
            if s is None or not lo <= t <= hi:
                continue
            x, y, z, r = _at(rows, t)
            pos = s["position_enu_m"]
            if s["kind"] == "radar":
                out = _radar(d, pos, (x, y, z), (r["vx"], r["vy"], r["vz"]), a.radius)
            elif s["kind"] == "rf":
                out = _rf(d, pos, (x, y, z), a.bearing)
            else:
                continue
            lines.setdefault(round(t), []).append(out)
    for k in sorted(lines):
        x, y, z, r = _at(rows, float(k))
        head = (
            f"t={k} range={math.hypot(x, y):.0f} z={z:.0f} speed={math.hypot(r['vx'], r['vy']):.1f}"
        )
        print(head + " | " + " | ".join(lines[k]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

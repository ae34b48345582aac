"""Which track warned (or failed to warn) whom: the detail behind ``score.py``'s warning numbers.

``score.py`` gives each hostile drone's ``warning_s`` and ``warning_limit_s`` and a count of
``false_alert_tracks``; tracing a miss (``benchmarks/trace_warning.py``) needs the times and
the track ids. For one tracked skybench file this prints, per hostile drone: when it entered
a protected zone, when it entered radar coverage, the latest alert time that meets the 80 %
bar (``t_in - 0.8 * limit``), its first alert (time, track, zone, level) and the tracks that
followed it (id, first and last second assigned); then every false-alert track: its alerts
and the truth objects it was assigned to (none: it never came within the cut-off of one).

The assignment is ``score.py``'s, made by ``runtime.offline.metrics`` (``tracks_at``,
``assign``: the optimal one per truth time under ``min(d, c)``, pairs closer than c,
confirmed tracks of the newest snapshot at most 1.5 s older extrapolated by their
velocity); rounds with an impact point are left out (drones only). The warning and
limit it prints are checked equal to ``score.py``'s on the files it was run on (docs: BENCH.md
"Session 17, branch survey").

    .venv/bin/python benchmarks/warning_detail.py F.scenario.jsonl F.truth.jsonl F.tracks.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from typing import Any

from skywarden.runtime.offline.metrics import assign, tracks_at


def _jsonl(path: str) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def _in_zone(z: dict[str, Any], r: dict[str, Any]) -> bool:
    if r["z"] > z.get("ceiling_m", 1e9):
        return False
    if "polygon_enu_m" in z:
        x, y, inside = r["x"], r["y"], False
        pts = z["polygon_enu_m"]
        for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside
    cx, cy = z["center_enu_m"]
    return math.hypot(r["x"] - cx, r["y"] - cy) <= z["radius_m"]


def detail(scenario: str, truth: str, tracks: str, c: float = 100.0) -> dict[str, Any]:
    with open(scenario) as f:
        header = json.loads(f.readline())
    dims = 2 if header["sensors"][0].get("measures") == "xy" else 3
    zones = [z for z in header.get("zones", []) if z.get("kind") == "protected"]
    radars = [
        s for s in header["sensors"] if s["kind"] in ("radar", "plots") and "max_range_m" in s
    ]
    by_t: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in _jsonl(truth):
        if "id" in r:
            by_t[float(r["t"])].append(r)
    out = _jsonl(tracks)
    alerts = sorted((r for r in out if r.get("type") == "alert"), key=lambda a: a["t"])
    snaps = sorted((s for s in out if "tracks" in s), key=lambda s: s["t"])
    snap_t = [float(s["t"]) for s in snaps]
    spans: dict[str, list[list[Any]]] = defaultdict(list)  # truth id -> [[t0, track, t1]]
    held: dict[str, set[str]] = defaultdict(set)  # track -> truth ids assigned to it
    entry: dict[str, float] = {}
    cover: dict[str, float] = {}
    for t in sorted(by_t):
        rows = by_t[t]
        for r in rows:
            if not r.get("hostile") or "impact_enu_m" in r:
                continue
            if r["id"] not in entry and any(_in_zone(z, r) for z in zones):
                entry[r["id"]] = t
            if r["id"] not in cover and any(
                math.dist((r["x"], r["y"], r["z"]), s["position_enu_m"]) <= s["max_range_m"]
                for s in radars
            ):
                cover[r["id"]] = t
        trk = tracks_at(snaps, snap_t, t, dims)
        for i, j, _ in assign(rows, trk, dims, c):
            tid, kid = rows[i]["id"], trk[j][0]
            held[kid].add(tid)
            sp = spans[tid]
            if sp and sp[-1][1] == kid:
                sp[-1][2] = t
            else:
                sp.append([t, kid, t])
    drones = {}
    for tid, t_in in sorted(entry.items()):
        follow = {s[1] for s in spans[tid]}
        first = next(
            (a for a in alerts if str(a.get("track")) in follow and a["t"] <= t_in + 30), None
        )
        t_cov = cover.get(tid) if cover.get(tid, math.inf) <= t_in else None
        lim = None if t_cov is None else round(t_in - t_cov, 1)
        drones[tid] = {
            "t_in": t_in,
            "t_cover": t_cov,
            "bar_t": None if lim is None else round(t_in - 0.8 * lim, 1),
            "warning_s": None if first is None else round(t_in - first["t"], 1),
            "limit_s": lim,
            "first_alert": first,
            "tracks": spans[tid],
        }
    alertable = {
        r["id"]
        for rows in by_t.values()
        for r in rows
        if r["class"] == "drone" and not r.get("friendly")
    }
    ok_tracks = {k for k, ids in held.items() if ids & alertable}
    false = []
    for k in sorted({str(a.get("track")) for a in alerts} - ok_tracks, key=lambda x: (len(x), x)):
        false.append(
            {
                "track": k,
                "alerts": [a for a in alerts if str(a.get("track")) == k],
                "assigned_to": sorted(held.get(k, ())),
            }
        )
    return {"drones": drones, "false_alert_tracks": false}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("truth")
    ap.add_argument("tracks")
    ap.add_argument("--json", action="store_true", help="print the JSON object only")
    a = ap.parse_args()
    d = detail(a.scenario, a.truth, a.tracks)
    if a.json:
        print(json.dumps(d))
        return 0
    for tid, v in d["drones"].items():
        fa = v["first_alert"]
        first = "none" if fa is None else f"t={fa['t']} T{fa['track']} {fa['zone']} {fa['level']}"
        spans = ", ".join(f"T{k} {t0:g}-{t1:g}" for t0, k, t1 in v["tracks"])
        print(
            f"{tid}: in zone t={v['t_in']:g}, coverage t={v['t_cover']}, bar t<={v['bar_t']},"
            f" warning {v['warning_s']}/{v['limit_s']} s; first alert {first}; tracks {spans}"
        )
    for f in d["false_alert_tracks"]:
        als = "; ".join(f"t={x['t']} {x['zone']} {x['level']}" for x in f["alerts"][:4])
        print(
            f"false alert T{f['track']}: {als} ({len(f['alerts'])} alerts);"
            f" assigned to {', '.join(f['assigned_to']) or 'no truth object'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

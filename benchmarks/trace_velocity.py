"""A track's velocity against the truth through a drone's sprint after a stop (issue 19).

Runs a skybench/1 file through the engine (as ``skywarden track``) and, for each hostile drone
whose truth stops (horizontal speed under ``--stop-mps`` for at least ``--stop-s`` s) and
then moves off, follows the nearest track (within ``--radius`` m) through the first
``--span`` s of the move. Per second it prints the truth speed, the track's speed, the
horizontal velocity error split along and across the radar's line of sight (the radar at the
site origin), the track's horizontal velocity sd (worst direction, as ``threat.kinematics``
reads it) and its sd across the line of sight, the probabilities of the modes and the
normalised error squared of the horizontal velocity (NEES, 2 on average for a consistent
filter). A summary row per sprint gives the means over the first and second halves.

    PYTHONPATH=src .venv/bin/python benchmarks/trace_velocity.py F.scenario.jsonl \
        F.truth.jsonl [--ids H0,H1] [--span 20] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np

from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.offline.bench_io import engine_steps
from skywarden.sensors.skybench import SkybenchReader
from skywarden.threat.kinematics import velocity_sd

Row = dict[str, Any]


def _truth(path: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("hostile"):
                out[r["id"]].append(r)
    return out


def sprints(rows: list[Row], stop_mps: float, stop_s: float, span: float) -> list[float]:
    """Times a drone moves off after a stop of at least ``stop_s`` s."""
    out: list[float] = []
    stopped_since: float | None = None
    for r in rows:
        sp = math.hypot(r["vx"], r["vy"])
        if sp < stop_mps:
            stopped_since = r["t"] if stopped_since is None else stopped_since
        else:
            moved = stopped_since is not None and r["t"] - stopped_since >= stop_s
            if moved and (not out or r["t"] - out[-1] > span):
                out.append(float(r["t"]))
            stopped_since = None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("truth")
    ap.add_argument("--ids", default="")
    ap.add_argument("--span", type=float, default=20.0)
    ap.add_argument("--stop-mps", type=float, default=2.0)
    ap.add_argument("--stop-s", type=float, default=3.0)
    ap.add_argument("--radius", type=float, default=300.0)
    ap.add_argument("--quiet", action="store_true", help="summary rows only")
    a = ap.parse_args()
    truth = _truth(a.truth)
    ids = [i for i in a.ids.split(",") if i] or sorted(truth)
    windows: list[tuple[str, float]] = []
    by_t: dict[str, dict[float, Row]] = {}
    for i in ids:
        by_t[i] = {float(r["t"]): r for r in truth[i]}
        windows += [(i, t0) for t0 in sprints(truth[i], a.stop_mps, a.stop_s, a.span)]
    if not windows:
        print("no sprint after a stop")
        return 0
    t_end = max(t0 for _, t0 in windows) + a.span
    reader = SkybenchReader.open(a.scenario)
    eng = Engine(reader.site, None, records=False)
    pipe = eng.pipeline
    rec: dict[tuple[str, float], list[tuple[float, ...]]] = defaultdict(list)
    try:
        for t, _, _ in engine_steps(reader, eng):
            if t > t_end:
                break
            live = [(i, t0) for i, t0 in windows if t0 <= t < t0 + a.span]
            if not live:
                continue
            tracks = pipe.tracker.tracks(confirmed_only=False)
            for i, t0 in live:
                r = by_t[i].get(float(t))
                if r is None or not tracks:
                    continue
                p = np.array([r["x"], r["y"], r["z"]])
                d, tr = min(
                    ((float(np.linalg.norm(x.x[:3] - p)), x) for x in tracks),
                    key=lambda e: e[0],
                )
                if d > a.radius:
                    continue
                u = p[:2] / max(float(np.linalg.norm(p[:2])), 1e-6)  # line of sight (e, n)
                c = np.array([-u[1], u[0]])  # across it
                ev = tr.x[3:5] - np.array([r["vx"], r["vy"]])
                Pv = tr.P[3:5, 3:5]
                nees = float(ev @ np.linalg.solve(Pv, ev))
                row = (
                    t - t0,
                    math.hypot(r["vx"], r["vy"]),
                    math.hypot(*tr.x[3:5].tolist()),
                    float(ev @ u),
                    float(ev @ c),
                    velocity_sd(tr.P),
                    math.sqrt(float(c @ Pv @ c)),
                    1.0 - tr.mode_probs[0] if len(tr.mode_probs) > 1 else math.nan,
                    nees,
                    float(int(tr.id)) if tr.id.isdigit() else math.nan,
                )
                rec[(i, t0)].append(row)
                if not a.quiet:
                    print(
                        f"{i} t0={t0:5.0f} +{row[0]:4.0f} true={row[1]:5.1f} est={row[2]:5.1f}"
                        f" err_los={row[3]:+6.1f} err_x={row[4]:+6.1f} sv={row[5]:4.1f}"
                        f" sd_x={row[6]:4.1f} mu={'/'.join(f'{m:.2f}' for m in tr.mode_probs)}"
                        f" nees={row[8]:6.1f} T{tr.id}",
                        flush=True,
                    )
    finally:
        reader.close()
    half = a.span / 2.0
    print(
        "| drone | t0 | half | n | mean abs(speed err) | rms vel err | rms err across"
        " | mean sv | mean sd across | mean NEES |"
    )
    for (i, t0), rows in sorted(rec.items()):
        for name, lo, hi in (("1st", 0.0, half), ("2nd", half, a.span)):
            rs = np.array([x for x in rows if lo <= x[0] < hi])
            if rs.shape[0] == 0:
                continue
            spe = np.abs(rs[:, 2] - rs[:, 1]).mean()
            rms = math.sqrt(float((rs[:, 3] ** 2 + rs[:, 4] ** 2).mean()))
            rmsx = math.sqrt(float((rs[:, 4] ** 2).mean()))
            print(
                f"| {i} | {t0:.0f} | {name} | {rs.shape[0]} | {spe:.2f} | {rms:.2f} | {rmsx:.2f}"
                f" | {rs[:, 5].mean():.2f} | {rs[:, 6].mean():.2f} | {rs[:, 8].mean():.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

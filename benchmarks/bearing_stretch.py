"""How well a drone heard on RF alone is placed before any plot fixes it: three estimates.

    .venv/bin/python benchmarks/bearing_stretch.py NL.scenario.jsonl NL.live.jsonl [--id H2]

Runs the investigation (as ``skywarden investigate``), takes the retrospective track that
follows the truth object (median 3-D error under 200 m over the times it exists, the longest
such), and over its bearing-only stretch (first trace to its first plot) prints the median 3-D
error and the share of times within c = 100 m of: the smoothed record; each report's own
crossing of the two direction finders' bearings (2-D, the first-pair-of-crossings estimate;
no height, which favours it); the live output's nearest confirmed track (``NL.live.jsonl``,
``skywarden track``). Written for issue 21 (H2 of night_launch seeds 15 and 17, first tracked
later by the retrospective output than live): see docs/investigation.md, session 10.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.core.observation import Detection
from skywarden.runtime.investigate.rerun import RetroTrack, investigate_run, tap_scenario

C_M = 100.0


def _rows(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _follower(tracks: Sequence[RetroTrack], truth: dict[float, np.ndarray]) -> RetroTrack | None:
    best: tuple[int, RetroTrack] | None = None
    for r in tracks:
        ts = [t for t in truth if r.first_t <= t <= r.last_t]
        if not ts:
            continue
        e = statistics.median(
            float(np.linalg.norm(r.smoothed.state_at(t)[0][:3] - truth[t])) for t in ts
        )
        if e < 200.0 and (best is None or len(ts) > best[0]):
            best = (len(ts), r)
    return None if best is None else best[1]


def _crossing(a: Detection, b: Detection) -> np.ndarray | None:
    """Where two bearing lines cross (2-D), or None when they do not in front of both."""
    pa, pb = np.asarray(a.sensor_pos, float)[:2], np.asarray(b.sensor_pos, float)[:2]
    ua = np.array([np.sin(a.z[0]), np.cos(a.z[0])])
    ub = np.array([np.sin(b.z[0]), np.cos(b.z[0])])
    try:
        lam = np.linalg.solve(np.column_stack([ua, -ub]), pb - pa)
    except np.linalg.LinAlgError:
        return None
    return pa + lam[0] * ua if lam[0] > 0 and lam[1] > 0 else None


def _summary(err: list[float]) -> str:
    if not err:
        return "none"
    share = sum(e < C_M for e in err) / len(err)
    return f"median {statistics.median(err):.0f} m, {share:.0%} within {C_M:.0f} m (n {len(err)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("live")
    ap.add_argument("--id", default="H2")
    a = ap.parse_args()
    truth = {
        float(r["t"]): np.array([r["x"], r["y"], r["z"]], float)
        for r in _rows(a.scenario.replace(".scenario.", ".truth."))
        if r.get("id") == a.id
    }
    tap = tap_scenario(a.scenario)
    r = _follower(investigate_run(tap, tap.pipe.site).tracks, truth)
    if r is None:
        print(f"{Path(a.scenario).name} {a.id}: no retrospective track follows it")
        return
    sm = r.smoothed
    t0 = r.first_t
    fix = min((d.t for d in sm.used if d.kind.fixes_position), default=r.last_t)
    bearings: dict[float, dict[str, Detection]] = {}
    for d in sm.used:
        if not d.kind.fixes_position:
            bearings.setdefault(d.t, {})[d.sensor_id] = d
    times = [t for t in sorted(truth) if t0 <= t < fix]
    e_sm = [float(np.linalg.norm(sm.state_at(t)[0][:3] - truth[t])) for t in times]
    e_cross = []
    for t in times:
        b = bearings.get(t, {})
        if len(b) == 2:
            p = _crossing(*b.values())
            e_cross.append(1e4 if p is None else float(np.linalg.norm(p - truth[t][:2])))
    snaps = {float(s["t"]): s["tracks"] for s in _rows(a.live) if "tracks" in s}
    e_live = []
    for t in times:
        ds = [
            float(np.linalg.norm(np.array([x["x"], x["y"], x.get("z", 0.0)]) - truth[t]))
            for x in snaps.get(t, [])
            if x.get("confirmed", True)
        ]
        e_live.append(min(ds, default=1e4))
    print(
        f"{Path(a.scenario).name} {a.id} bearing-only {t0:.0f}-{fix:.0f} s: smoothed "
        f"{_summary(e_sm)}; crossing {_summary(e_cross)}; live {_summary(e_live)}"
    )


if __name__ == "__main__":
    main()

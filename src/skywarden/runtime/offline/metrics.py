"""The project's own benchmark metrics: GOSPA and identity switches (FORMAT.md definitions).

GOSPA with p = 1, alpha = 2 and cut-off c (Rahmathullah, Garcia-Fernandez & Svensson,
"Generalized optimal sub-pattern assignment metric", FUSION 2017, eq. 2): the optimal
assignment of truths to tracks under the cost ``min(d, c)``; assigned pairs closer than c
contribute d (localisation), every unassigned truth or track c/2 (missed, false). Each truth
time is compared with the newest snapshot at most 1.5 s older, extrapolated by the track's
velocity. ``tests/test_bench_metrics.py`` cross-checks these numbers against ``score.py``.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class GospaResult:
    gospa: float
    loc: float
    missed: float
    false: float
    id_switches: int
    times: int


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [json.loads(x) for x in f if x.strip()]


def tracks_at(
    snaps: Sequence[dict[str, Any]], snap_t: Sequence[float], t: float, dims: int
) -> list[tuple[str, np.ndarray]]:
    """The confirmed tracks of the newest snapshot at most 1.5 s older than truth time ``t``
    (``snaps`` sorted by time, ``snap_t`` their times), each (id, position in ``dims``
    dimensions) extrapolated to ``t`` by its velocity; [] when there is none."""
    k = bisect.bisect_right(snap_t, t + 1e-6) - 1
    trk: list[tuple[str, np.ndarray]] = []
    if k >= 0 and t - snap_t[k] <= 1.5:
        dt = t - snap_t[k]
        for tr in snaps[k]["tracks"]:
            if tr.get("confirmed", True) is False:
                continue
            p = np.array(
                [
                    tr["x"] + tr.get("vx", 0.0) * dt,
                    tr["y"] + tr.get("vy", 0.0) * dt,
                    tr.get("z", 0.0) + tr.get("vz", 0.0) * dt,
                ]
            )[:dims]
            trk.append((str(tr["id"]), p))
    return trk


def assign(
    rows: Sequence[dict[str, Any]], trk: Sequence[tuple[str, np.ndarray]], dims: int, c: float
) -> list[tuple[int, int, float]]:
    """The optimal assignment of truth ``rows`` to tracks ``trk`` under ``min(d, c)``: the
    pairs (row index, track index, distance) closer than ``c``."""
    T = np.array([[r["x"], r["y"], r["z"]][:dims] for r in rows], float).reshape(-1, dims)
    X = np.array([p for _, p in trk], float).reshape(-1, dims)
    if not (T.shape[0] and X.shape[0]):
        return []
    D = np.linalg.norm(T[:, None, :] - X[None, :, :], axis=2)
    r, q = linear_sum_assignment(np.minimum(D, c))
    return [(i, j, float(D[i, j])) for i, j in zip(r, q, strict=True) if D[i, j] < c]


def evaluate(scenario: Path, truth: Path, tracks: Path, c: float = 100.0) -> GospaResult:
    header = _jsonl(scenario)[0] if scenario.stat().st_size < 50_000_000 else {}
    dims = 2 if header.get("sensors", [{}])[0].get("measures") == "xy" else 3
    by_t: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in _jsonl(truth):
        by_t[float(r["t"])].append(r)
    snaps = sorted((s for s in _jsonl(tracks) if "tracks" in s), key=lambda s: s["t"])
    snap_t = [float(s["t"]) for s in snaps]
    tot = loc = mis = fal = 0.0
    last_track: dict[str, str] = {}
    switches = 0
    for t in sorted(by_t):
        rows = by_t[t]
        trk = tracks_at(snaps, snap_t, t, dims)
        pairs = assign(rows, trk, dims, c)
        n, m = len(rows), len(trk)
        lt = sum(d for _, _, d in pairs)
        ms = c / 2 * (n - len(pairs))
        fs = c / 2 * (m - len(pairs))
        tot, loc, mis, fal = tot + lt + ms + fs, loc + lt, mis + ms, fal + fs
        for i, j, _ in pairs:
            tid, kid = rows[i]["id"], trk[j][0]
            if tid in last_track and last_track[tid] != kid:
                switches += 1
            last_track[tid] = kid
    n_t = max(len(by_t), 1)
    return GospaResult(tot / n_t, loc / n_t, mis / n_t, fal / n_t, switches, len(by_t))

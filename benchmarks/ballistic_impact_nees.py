"""Is the impact ellipse honest? NEES, along-range bias and zone probability of every
ballistic track's predicted impact, by the track's age, against the truth.

Reads the truth of generated ``ballistic_night`` files (``gen_ballistic_night.py``) and the
``tracks.jsonl`` that ``skywarden track`` wrote for them (``OUT/s{seed}.tracks.jsonl``). Each
ballistic track is matched to the round nearest to it at its first frame. From the 95 %
ellipse ``[a, b, deg]`` the impact covariance is ``C = a^2/k2 u u' + b^2/k2 w w'``
(``k2 = chi2_2(0.95) = 5.991``, ``u`` the major axis' direction from north). Per frame:

- NEES ``e' C^-1 e`` with ``e`` = truth impact - predicted impact: for an honest Gaussian
  its mean is 2 (two dof) and 5 % of frames exceed 5.991 (Bar-Shalom, Li & Kirubarajan 2001,
  §5.4);
- the signed error along the line of fire (launch -> impact, + long) and across it;
- ``P(zone)`` as ``threat/impact.py`` computes it (5 m sigma floor), with 20,000 samples;
- separability: for rounds landing in the zone, the largest ``P`` reached while a warning
  would still give 70 % of ``warning_limit_s``; for the others, the largest ``P`` ever.

    python benchmarks/ballistic_impact_nees.py GENDIR OUTDIR 1 2 3 ...
"""

from __future__ import annotations

import collections
import json
import sys
from typing import Any

import numpy as np

K2 = 5.991464547107979
ZONE_R = 150.0  # the public header's protected zone: radius 150 m about the origin
BINS = ((0.0, 0.1), (0.4, 0.6), (0.9, 1.1), (1.4, 2.1), (2.4, 5.1), (5.4, 10.1), (10.4, 1e9))


def _lines(path: str) -> list[Any]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def _truth(path: str) -> tuple[dict[float, dict[str, Any]], dict[str, Any]]:
    at: dict[float, dict[str, Any]] = collections.defaultdict(dict)
    info: dict[str, Any] = {}
    for d in _lines(path):
        if "impact_enu_m" in d:
            at[d["t"]][d["id"]] = np.array([d["x"], d["y"], d["z"]])
            info[d["id"]] = (np.array(d["impact_enu_m"]), np.array(d["launch_enu_m"]), d["class"])
    return at, info


def rows(gen: str, out: str, seeds: list[str]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    S = rng.standard_normal((20000, 2))
    res = []
    for s in seeds:
        at, info = _truth(f"{gen}/ballistic_night_s{s}.truth.jsonl")
        limits = _lines(f"{out}/s{s}.score.json")[0]["warning_limit_s"]
        match: dict[str, str] = {}
        first: dict[str, float] = {}
        for d in _lines(f"{out}/s{s}.tracks.jsonl"):
            for tr in d.get("tracks", []):
                if "impact_enu_m" not in tr:
                    continue
                tid = tr["id"]
                if tid not in match:
                    cand = at.get(d["t"], {})
                    if not cand:
                        continue
                    p = np.array([tr["x"], tr["y"], tr["z"]])
                    match[tid] = min(cand, key=lambda r: float(np.linalg.norm(cand[r] - p)))
                    first[tid] = d["t"]
                rid = match[tid]
                imp, lau, cls = info[rid]
                mu = np.array(tr["impact_enu_m"])
                a, b, deg = tr["impact_ellipse_m"]
                th = np.radians(deg)
                u = np.array([np.sin(th), np.cos(th)])
                w = np.array([u[1], -u[0]])
                C = (a * a / K2) * np.outer(u, u) + (b * b / K2) * np.outer(w, w)
                e = imp - mu
                L = np.linalg.cholesky(C + 25.0 * np.eye(2))
                X = mu + S @ L.T
                fire = (imp - lau) / np.linalg.norm(imp - lau)
                res.append(
                    {
                        "seed": s,
                        "track": tid,
                        "round": rid,
                        "class": cls,
                        "age": d["t"] - first[tid],
                        "err": float(np.linalg.norm(e)),
                        "along": float(-e @ fire),
                        "across": float(-e @ np.array([-fire[1], fire[0]])),
                        "nees": float(e @ np.linalg.solve(C + 1e-6 * np.eye(2), e)),
                        "p_zone": float((np.einsum("ni,ni->n", X, X) <= ZONE_R**2).mean()),
                        "in_zone": bool(np.linalg.norm(imp) <= ZONE_R),
                        "limit": limits.get(rid),
                        "to_impact": _impact_t(gen, s, rid) - d["t"],
                    }
                )
    return res


_IMPACT_T: dict[tuple[str, str], float] = {}


def _impact_t(gen: str, seed: str, rid: str) -> float:
    if (seed, rid) not in _IMPACT_T:
        for d in _lines(f"{gen}/ballistic_night_s{seed}.truth.jsonl"):
            if "impact_t" in d:
                _IMPACT_T[(seed, d["id"])] = float(d["impact_t"])
    return _IMPACT_T[(seed, rid)]


def main() -> None:
    gen, out, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
    rs = rows(gen, out, seeds)
    age = np.array([r["age"] for r in rs])
    nees = np.array([r["nees"] for r in rs])
    err = np.array([r["err"] for r in rs])
    print("age (s)       frames  NEES mean  median  >5.99 (0.05)  median error (m)")
    for lo, hi in BINS:
        m = (age >= lo) & (age < hi)
        if m.any():
            print(
                f"{lo:4.1f}-{min(hi, 99):5.1f} {m.sum():9d} {nees[m].mean():10.2f}"
                f" {np.median(nees[m]):7.2f} {np.mean(nees[m] > K2):13.3f}"
                f" {np.median(err[m]):12.1f}"
            )
    print("along-range error (+ long), mean / median, by class and age:")
    for cls in ("rocket", "mortar"):
        for lo, hi in ((0, 1.1), (1.4, 3.1), (3.4, 6.1), (6.4, 12.1), (12.4, 1e9)):
            sel = [r["along"] for r in rs if r["class"] == cls and lo <= r["age"] < hi]
            if sel:
                mean, med = np.mean(sel), np.median(sel)
                print(f"  {cls} {lo:4.1f}-{min(hi, 99):5.1f} s: {mean:7.1f} / {med:7.1f} m")
    best: dict[tuple[str, str], float] = collections.defaultdict(float)
    worst: dict[tuple[str, str], float] = collections.defaultdict(float)
    for r in rs:
        key = (r["seed"], r["round"])
        if r["in_zone"]:
            if r["limit"] is not None and r["to_impact"] >= 0.7 * r["limit"] - 1e-6:
                best[key] = max(best[key], r["p_zone"])
        else:
            worst[key] = max(worst[key], r["p_zone"])
    lo_in = sorted(best.items(), key=lambda kv: kv[1])[:5]
    hi_out = sorted(worst.items(), key=lambda kv: -kv[1])[:5]
    print(
        "rounds in the zone, largest P(zone) while 70 % of the warning is still possible, lowest:"
    )
    print("  ", [(f"s{k[0]} {k[1]}", round(v, 3)) for k, v in lo_in], f"of {len(best)}")
    print("rounds elsewhere, largest P(zone) ever, highest:")
    print("  ", [(f"s{k[0]} {k[1]}", round(v, 3)) for k, v in hi_out], f"of {len(worst)}")
    print("frames of rounds elsewhere with P(zone) >= 0.05:")
    for r in rs:
        if not r["in_zone"] and r["p_zone"] >= 0.05:
            print(
                f"  s{r['seed']} {r['track']} {r['round']} age {r['age']:.1f} s"
                f" error {r['err']:.0f} m"
                f" NEES {r['nees']:.2f} P {r['p_zone']:.3f} {r['to_impact']:.1f} s to impact"
            )


if __name__ == "__main__":
    main()

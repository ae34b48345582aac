"""Trace one truth object through the tracker, the classifier and the warning policy (issue 19).

Why a drone was warned late is always one of: detected late, tracked late (tentative, lost,
restarted), classified late (which term held P(drone) down), or held by a policy rule. This
runs a skybench/1 file through the same pipeline as ``skywarden track`` (the engine, step by
step) and prints, every ``--every`` seconds while the object exists, its range from the site
origin, height and speed, then each track (tentative ones included) within ``--radius`` of it:

    T<id> <status> d=<distance m> sc=<track score> h=<hits> v=<track speed>
    Pd / pb           P(drone) (both drone classes) and P(bird)
    sp, rcs=<mean>/<n> the classifier's speed average and mean plot RCS (dBsm) over n plots
    rf=<hits>/<scans>:<term>  RF hits, scans that could have heard it, drone-bird log-ratio
    kin=<mr>/<fw>     kinematic window + heading persistence, multirotor / fixed wing - bird
    (win= dop=/n      of which the window alone and the Doppler steadiness (multirotor -
     held=/n)         bird) over its n plots, and the held speed (threat.steady) over its
                      n speed samples
    feat=<mr>/<fw>    every current term (RCS, speed, kinematics), multirotor / fixed wing - bird
    lp                accumulated log-prior and hints, multirotor - bird
    ssd tsd csd       the window's speed, turn-rate and climb fluctuation; hd heading term
    cl                the sustained climb's penalty on the bird (threat.climb, nats)
    sv                the track's horizontal velocity sd (m/s, worst direction)
    L=<level> <reasons>   the policy's level and why (quieted, held, or the rule that fired)

    .venv/bin/python benchmarks/trace_warning.py F.scenario.jsonl F.truth.jsonl H0 \
        [--from 100] [--to 200] [--every 2]

The files come from ``skywarden simulate family:NAME --seed N --out DIR`` (``harder:NAME``
for the harder world); ``score.py`` gives each hostile drone's warning and its limit.
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
from skywarden.threat import heading
from skywarden.threat.classify import Classifier
from skywarden.threat.evidence import evidence_rows, kin_row
from skywarden.threat.kinematics import kinematic_features, velocity_sd


def _truth(path: str) -> dict[float, dict[str, dict[str, Any]]]:
    out: dict[float, dict[str, dict[str, Any]]] = defaultdict(dict)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if "id" in r:
                out[float(r["t"])][r["id"]] = r
    return out


def _follow(rows: dict[str, dict[str, Any]], obj: str, tracks: Any) -> dict[str, Any] | None:
    """The truth row to centre on: ``obj`` itself, or for ``T<id>`` the truth object nearest
    that track (a false alert is traced from its track: which object was it, and when)."""
    if not obj.startswith("T") or obj in rows:
        return rows.get(obj)
    tr = next((x for x in tracks if str(x.id) == obj[1:]), None)
    if tr is None or not rows:
        return None
    p = tuple(tr.x[:3].tolist())
    return min(rows.values(), key=lambda r: math.dist(p, (r["x"], r["y"], r["z"])))


def _terms(clf: Classifier, tid: str) -> str:
    ev = clf._ev.get(tid)
    if ev is None:
        return ""
    rows = evidence_rows([ev])
    feat = Classifier._feature_loglik([ev], rows)[0]
    rf = Classifier._rf_loglik([ev])[0] if (ev.rf_scans or ev.rf_hits) else np.zeros(4)
    kin = kin_row(ev)
    kf = kinematic_features(ev.hist)
    hd = heading.class_loglik(ev.head_alpha) if ev.head_alpha is not None else [0.0] * 4
    rcs = ev.rcs_sum / ev.rcs_n if ev.rcs_n else math.nan
    nan = math.nan
    dop = ev.dop_ll or [0.0] * 4
    win = ev.kin_ll or [0.0] * 4
    held = ev.held_ll or [0.0] * 4
    return (
        f" sp={ev.speed_avg or 0.0:4.1f} rcs={rcs:5.1f}/{ev.rcs_n}"
        f" rf={ev.rf_hits}/{ev.rf_scans}:{rf[0] - rf[2]:+.1f}"
        f" kin={kin[0] - kin[2]:+.1f}/{kin[1] - kin[2]:+.1f}"
        f" (win={win[0] - win[2]:+.1f} dop={dop[0] - dop[2]:+.1f}/{len(ev.dop)}"
        f" held={held[0] - held[2]:+.1f}/{len(ev.held)})"
        f" feat={feat[0] - feat[2]:+.1f}/{feat[1] - feat[2]:+.1f}"
        f" lp={ev.log_post[0] - ev.log_post[2]:+.1f}"
        f" ssd={kf.get('speed_sd', nan):.2f} tsd={kf.get('turn_sd', nan):.3f}"
        f" csd={kf.get('climb_sd', nan):.2f} hd={hd[0] - hd[2]:+.1f}"
        f" cl={ev.climb_pen:.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("truth")
    ap.add_argument("object", help="truth id, e.g. H0, or T<track id> to follow a track")
    ap.add_argument("--from", dest="t0", type=float, default=0.0)
    ap.add_argument("--to", dest="t1", type=float, default=math.inf)
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--radius", type=float, default=400.0)
    a = ap.parse_args()
    truth = _truth(a.truth)
    reader = SkybenchReader.open(a.scenario)
    eng = Engine(reader.site, None, records=False)
    pipe = eng.pipeline
    last = -math.inf
    try:
        for t, _, frames in engine_steps(reader, eng):
            if t > a.t1:
                break  # nothing more to print: the rest of the file is not run
            r = _follow(truth.get(t, {}), a.object, pipe.tracker.tracks(confirmed_only=False))
            if r is None or not a.t0 <= t <= a.t1 or t - last < a.every - 1e-6 or not frames:
                continue
            last = t
            pos = (r["x"], r["y"], r["z"])
            near = sorted(
                (math.dist(tuple(tr.x[:3].tolist()), pos), tr)
                for tr in pipe.tracker.tracks(confirmed_only=False)
            )
            shown = {tr.id: tr for tr in frames[-1].tracks}
            levels = {x.track_id: x for x in frames[-1].assessments}
            line = (
                f"t={t:6.1f} {r['id']}:{r['class'][:5]}"
                f" rng={math.hypot(r['x'], r['y']):6.0f} z={r['z']:4.0f}"
                f" spd={math.hypot(r['vx'], r['vy']):4.1f} |"
            )
            for d, tr in near[:3]:
                if d > a.radius:
                    break
                line += (
                    f" T{tr.id} {tr.status.name[:4]} d={d:4.0f} sc={tr.score:4.1f} h={tr.hits}"
                    f" v={math.hypot(*tr.x[3:5].tolist()):4.1f} sv={velocity_sd(tr.P):.1f}"
                )
                cls = shown.get(tr.id)
                if cls is not None:
                    p = cls.class_probs
                    pd = p.get("drone", 0.0) + p.get("drone_fixed_wing", 0.0)
                    line += f" Pd={pd:.2f} pb={p.get('bird', 0.0):.2f}" + _terms(
                        pipe.classifier, tr.id
                    )
                lv = levels.get(tr.id)
                if lv is not None:
                    line += f" L={lv.level.name} {'; '.join(lv.reasons)}"
                line += " |"
            print(line, flush=True)
    finally:
        reader.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every ``threat.continuity`` hand-over of a tracked file, each end matched to its nearest
truth object (issue 19, session 16).

A hand-over gives a new track a lost track's class evidence; one between two different
objects (radar3d_site s133: a drone's to a bird's) is how the evidence of one object
alerts on another. This runs ``skywarden track`` on a skybench/1 file with the hand-over
logged (the lost track's last measured state, the new track's first shown state), and
prints per hand-over the two tracks, their nearest truth objects (and distances), the gap
``tau``, the 3-D distance, the height change and its sd, the old vertical speed and the two
horizontal speeds with their sds; then the count, and how many were between different truth
objects. Session 19 (branch handrcs): also each pair's plot-RCS distance in sds
(``continuity.rcs_z``, ``rcs`` column) and, at the end, how many of the same-object and of the
different-object hand-overs the RCS test refuses (z > ``RCS_GATE_K``); ``--no-rcs`` switches
the test off (main's hand-overs, to count what the test would refuse):

    .venv/bin/python benchmarks/trace_handovers.py F.scenario.jsonl F.truth.jsonl \
        OUT.tracks.jsonl [--no-rcs] [--pairs]

``--pairs``: also every lost-new pair within twice the reach, once, at its first test (``PAIR``
lines: truth same or different, each test's distance over its allowance: above 1 refuses).
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from skywarden.core.track import TrackState
from skywarden.threat import continuity
from skywarden.threat.kinematics import velocity_sd


def _nearest(truth: dict[float, list[dict[str, Any]]], times: Any, st: TrackState) -> str:
    tt = float(times[int(np.argmin(np.abs(times - st.t)))])
    p = np.asarray(st.x, dtype=float)[:3]
    best = min(truth[tt], key=lambda r: math.dist((r["x"], r["y"], r["z"]), p))
    return f"{best['id']}({math.dist((best['x'], best['y'], best['z']), p):.0f}m)"


def main(argv: Sequence[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    scenario, truth_path, out = args
    k_rcs = continuity.RCS_GATE_K
    if "--no-rcs" in argv:
        continuity.RCS_GATE_K = math.inf
    log_pairs = "--pairs" in argv
    truth: dict[float, list[dict[str, Any]]] = defaultdict(list)
    with open(truth_path) as f:
        for line in f:
            r = json.loads(line)
            if "id" in r:
                truth[round(float(r["t"]), 1)].append(r)
    times = np.array(sorted(truth))
    counts = [0, 0, 0, 0]  # hand-overs, between different objects, RCS-refused same / different
    orig = continuity.LostTracks.take_many

    seen: set[tuple[str, str]] = set()

    def pairs(items: Any, news: Any, args: Any) -> None:
        """Each (lost, new) pair near enough to matter (twice the reach), once, at its first
        test: truth same or not, and each test's margin (reach, height, speed: the distance
        over its allowance; RCS: z over ``k_rcs``), so that the tests' shapes can be read
        on true and false pairs alike."""
        hs = args[0] if args else None
        rcs_new = args[1] if len(args) > 1 else None
        rcs_of = args[2] if len(args) > 2 else None
        for j, (new, appeared) in enumerate(news):
            xn = np.asarray(new.x, dtype=float)
            for old, pay in items:
                tau = new.t - old.t
                if (old.id, new.id) in seen or not 0.0 <= tau <= continuity.HANDOVER_S:
                    continue
                if old.t > appeared:
                    continue
                xo = np.asarray(old.x, dtype=float)
                so, sn = math.hypot(xo[3], xo[4]), math.hypot(xn[3], xn[4])
                Ps = np.asarray(old.P, dtype=float)[:3, :3] + np.asarray(new.P)[:3, :3]
                reach = so * tau + continuity.GATE_K * continuity._largest_sd(Ps)
                d = float(np.linalg.norm(xn[:3] - xo[:3]))
                if d > 2.0 * reach + 50.0:
                    continue
                seen.add((old.id, new.id))
                a, b = _nearest(truth, times, old), _nearest(truth, times, new)
                su = math.sqrt(max(float(old.P[2, 2]) + float(new.P[2, 2]), 0.0))
                hz = (
                    abs(xn[2] - xo[2])
                    / (max(abs(xo[5]), continuity.CLIMB_MPS) * tau + continuity.GATE_K * su)
                    if continuity._heights(old, new, hs)
                    else 0.0
                )
                sv = math.hypot(velocity_sd(old.P), velocity_sd(new.P))
                sp = abs(sn - so) / (continuity.GATE_K * sv + continuity.SPEED_CHANGE_MPS2 * tau)
                ra = rcs_of(pay) if rcs_of is not None else None
                rb = rcs_new[j] if rcs_new is not None else None
                z = continuity.rcs_z(ra, rb) if ra is not None and rb is not None else math.nan
                same = "SAME" if a.split("(")[0] == b.split("(")[0] else "DIFF"
                print(
                    f"PAIR T{old.id}->T{new.id} {same}"
                    f" tau={tau:.1f} reach={d / reach:.2f} height={hz:.2f} speed={sp:.2f}"
                    f" so={so:.1f} sn={sn:.1f} sv={sv:.1f} rcs={z / k_rcs:.2f}"
                    f" n={ra.n if ra else 0}/{rb.n if rb else 0}"
                )

    def take_many(self: Any, news: Any, *args: Any) -> Any:
        items = list(self.items)
        if log_pairs:
            pairs(items, news, args)
        got = orig(self, news, *args)
        rcs_new = args[1] if len(args) > 1 else None
        rcs_of = args[2] if len(args) > 2 else None
        for j, ((new, _), pay) in enumerate(zip(news, got, strict=True)):
            if pay is None:
                continue
            old = next(st for st, p in items if p is pay)
            xo, xn = np.asarray(old.x, dtype=float), np.asarray(new.x, dtype=float)
            a, b = _nearest(truth, times, old), _nearest(truth, times, new)
            other = a.split("(")[0] != b.split("(")[0]
            counts[0] += 1
            counts[1] += other
            ra = rcs_of(pay) if rcs_of is not None else None
            rb = rcs_new[j] if rcs_new is not None else None
            z = continuity.rcs_z(ra, rb) if ra is not None and rb is not None else math.nan
            if z > k_rcs:
                counts[3 if other else 2] += 1
            print(
                f"T{old.id}->T{new.id} {a}->{b} t_o={old.t:.1f} tau={new.t - old.t:.1f} "
                f"d={float(np.linalg.norm(xn[:3] - xo[:3])):.0f} dz={xn[2] - xo[2]:.0f} "
                f"sz={math.sqrt(old.P[2, 2] + new.P[2, 2]):.0f} vzo={xo[5]:.1f} "
                f"so={math.hypot(xo[3], xo[4]):.1f}+-{velocity_sd(old.P):.1f} "
                f"sn={math.hypot(xn[3], xn[4]):.1f}+-{velocity_sd(new.P):.1f} "
                f"rcs={ra.mean_db if ra else math.nan:.1f}/{ra.n if ra else 0}->"
                f"{rb.mean_db if rb else math.nan:.1f}/{rb.n if rb else 0} z={z:.2f}"
                + (" SAME" if not other else " DIFF")
            )
        return got

    continuity.LostTracks.take_many = take_many  # type: ignore[method-assign]
    from skywarden.threat import classify

    inherit = classify.inherit

    def inherit_logged(ev: Any, old: Any) -> None:
        # the two tracks' RCS samples: the new track's own plots and the lost track's
        mn = ev.rcs_sum / ev.rcs_n if ev.rcs_n else float("nan")
        mo = old.rcs_sum / old.rcs_n if old.rcs_n else float("nan")
        print(f"  rcs new n={ev.rcs_n} mean={mn:.1f} old n={old.rcs_n} mean={mo:.1f}")
        inherit(ev, old)

    classify.inherit = inherit_logged  # type: ignore[assignment]
    from skywarden.cli.main import main as cli

    cli(["track", scenario, "-o", out])
    print(
        f"{counts[0]} hand-overs, {counts[1]} between different truth objects; RCS z > {k_rcs:g}:"
        f" {counts[2]} of the {counts[0] - counts[1]} same,"
        f" {counts[3]} of the {counts[1]} different"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

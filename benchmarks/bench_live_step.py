"""CPU per message of the live pipeline path, offline: the engine fed one-detection messages.

What ``bench_ingest`` measures end to end, minus HTTP and the journal: ``--sensors`` JSON
camera sensors (``reports`` object by object) each send one-detection messages (``--batch``
of one sensor at one measurement time, as ``bench_ingest``'s HTTP clients post them), ``--rate``
messages/s of site time in all, about ``--targets`` objects in the air (straight flight,
3 m noise); the engine is ticked every ``--tick`` s with ``--lag`` reorder window, exactly
as ``skywarden run`` drives it (``Engine.feed`` of an ``Inbound`` per message, a
``TickRecord`` per tick, ``drain`` of the records). CPU is ``time.process_time`` (other
load on the machine does not count), the median of ``--runs`` passes.

    .venv/bin/python benchmarks/bench_live_step.py [--profile out.prof]
    .venv/bin/python benchmarks/bench_live_step.py --ab OLD_SRC   # old vs new, alternating

``--ab OLD_SRC`` runs this file in child processes, ``PYTHONPATH=OLD_SRC`` against this
checkout's ``src``, alternating, and prints each side's median and the ratio; the two sides
must produce the same frames (a digest of every frame's tracks is compared).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def one_pass(a: argparse.Namespace) -> tuple[float, int, str, int]:
    """(CPU s, messages, digest of the frames, frames) of one pass over fresh engine state."""
    from ingest_load import ORIGIN, Targets, json_message

    from skywarden.core.inbound import Inbound
    from skywarden.core.site import parse_site
    from skywarden.runtime.engine.engine import Engine
    from skywarden.sensors.json_detections import parse_json_detections

    site = parse_site(
        {
            "name": "live-step",
            "origin": ORIGIN,
            "sensors": [
                {
                    "id": f"cam-{k:02d}",
                    "kind": "camera",
                    "measures": "xyz",
                    "position_enu_m": [0, 0, 10],
                    "sigma": {"x_m": 4, "y_m": 4, "z_m": 6},
                }
                for k in range(a.sensors)
            ],
        }
    )
    t0 = 1_000_000.0
    targets = Targets(a.targets, t0)
    n = int(a.duration * a.rate)
    msgs = []
    for i in range(n):
        k = i // a.batch  # a sensor's batch: ``--batch`` messages measured at one time
        sid = f"cam-{k % a.sensors:02d}"
        t = t0 + k * a.batch / a.rate
        line = json_message(sid, t, *targets.enu(i % a.targets, t))
        rep = parse_json_detections(line, site.sensor_map[sid], site.origin)
        msgs.append(Inbound(sid, "json", t, line, rep.detections))
    engine = Engine(site)
    kept = []
    next_tick = t0 + a.tick
    prof = cProfile.Profile() if a.profile else None
    c0 = time.process_time()
    if prof:
        prof.enable()
    for m in msgs:
        while m.received_t >= next_tick:
            kept += engine.tick(next_tick - a.lag)
            engine.drain()
            engine.drain_events()
            next_tick += a.tick
        engine.feed(m)
    cpu = time.process_time() - c0
    if prof:
        prof.disable()
        prof.dump_stats(a.profile)
    h = hashlib.sha256()
    for f in kept:  # outside the timed part
        h.update(
            repr([(tr.id, tr.status.value, tr.x.round(6).tolist()) for tr in f.tracks]).encode()
        )
        h.update(repr([(e.kind, e.alert.id) for e in f.events]).encode())
    return cpu, n, h.hexdigest(), len(kept)


def child(a: argparse.Namespace) -> None:
    runs = []
    digest = ""
    for _ in range(a.runs):
        cpu, n, digest, frames = one_pass(a)
        runs.append(cpu / n * 1e6)
    print(
        json.dumps(
            {
                "us_per_msg": round(statistics.median(runs), 1),
                "runs": [round(r, 1) for r in runs],
                "messages": n,
                "frames": frames,
                "digest": digest,
            }
        ),
        flush=True,
    )


def ab(a: argparse.Namespace, argv: list[str]) -> None:
    """Old vs new in child processes, alternating; medians and the ratio old/new."""
    i = argv.index("--ab")
    base = argv[:i] + argv[i + 2 :]
    env0 = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    sides = {"old": a.ab, "new": str(ROOT / "src")}
    res: dict[str, list[float]] = {"old": [], "new": []}
    digests: dict[str, set[str]] = {"old": set(), "new": set()}
    for _ in range(a.rounds):
        for name, src in sides.items():
            out = subprocess.run(
                [sys.executable, __file__, *base, "--runs", "1"],
                env={**env0, "PYTHONPATH": src},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            res[name].append(r["us_per_msg"])
            digests[name].add(r["digest"])
    old, new = statistics.median(res["old"]), statistics.median(res["new"])
    print(
        json.dumps(
            {
                "old_us_per_msg": old,
                "new_us_per_msg": new,
                "ratio_old_over_new": round(old / new, 2),
                "old_runs": res["old"],
                "new_runs": res["new"],
                "same_frames": digests["old"] == digests["new"] and len(digests["new"]) == 1,
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        ),
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sensors", type=int, default=8)
    p.add_argument("--targets", type=int, default=50)
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        help="messages of one sensor and time (bench_ingest http: 8)",
    )
    p.add_argument("--rate", type=float, default=5000.0, help="messages per second of site time")
    p.add_argument("--duration", type=float, default=3.0, help="s of site time")
    p.add_argument("--tick", type=float, default=0.1)
    p.add_argument("--lag", type=float, default=0.1)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", help="write a cProfile of one pass to this file")
    p.add_argument("--ab", metavar="OLD_SRC", help="compare against this src directory")
    p.add_argument("--rounds", type=int, default=5, help="--ab: alternations")
    a = p.parse_args()
    if a.ab:
        ab(a, sys.argv[1:])
    else:
        child(a)


if __name__ == "__main__":
    main()

"""One pooled site's worker cost per report, offline: what ``bench_cluster`` spends per report
in a worker, without NATS in the way, so the per-report CPU can be profiled and compared.

Per raw report the worker decodes the raw bytes and feeds the site's engine
(``SiteEngine``: the record machine); every ``--flush`` of site time a tick record steps it
(tracker, classifier, threat, alerts, once per distinct detection time) and the frame is
encoded; every ``--snapshot`` seconds the site state is encoded. This replays a
``bench_cluster`` site (same scenario, 5 sensors at 1 Hz, 20 objects) through exactly those
calls and prints CPU ms per report, per stage.

    .venv/bin/python benchmarks/bench_site_step.py --duration 120 [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cluster import scenario  # noqa: E402

from skywarden.core.inbound import Inbound  # noqa: E402
from skywarden.runtime.cluster import codec  # noqa: E402
from skywarden.runtime.cluster.feed import sim_reports  # noqa: E402
from skywarden.runtime.cluster.site_engine import OutFrame, SiteEngine  # noqa: E402
from skywarden.runtime.cluster.snapshot import SiteState, dump_state  # noqa: E402
from skywarden.runtime.cluster.worker import site_from_registry  # noqa: E402
from skywarden.sim import simulate  # noqa: E402
from skywarden.store.records import TickRecord  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--sites", type=int, default=3, help="distinct seeds, run one after another")
    ap.add_argument("--snapshot", type=float, default=30.0)
    ap.add_argument(
        "--flush", type=float, default=0.5, help="reports stepped together per this much time"
    )
    ap.add_argument("--profile", help="write a cProfile of the stepping to this file")
    ap.add_argument("--dump", help="write every frame (one JSON line each) to this file")
    a = ap.parse_args()
    sc = scenario(a.duration + 5)
    jobs = []
    for i in range(a.sites):
        run = simulate(sc, 100 + i)
        raws = [
            codec.encode_raw(
                f"site-{i}",
                Inbound(r.scan.sensor_id, "sim", 0.0, r.payload, r.scan.detections),
                r.scan.t,
            )
            for r in sim_reports(run, a.duration)
        ]
        jobs.append((site_from_registry(json.dumps({"v": 1, "header": run.header}).encode()), raws))
    stage = {"decode": 0.0, "step": 0.0, "encode": 0.0, "snapshot": 0.0}
    n = 0
    dump = open(a.dump, "wb") if a.dump else None  # noqa: SIM115
    digest = hashlib.sha256()  # of every frame: a speed-up must not change what is published
    prof = cProfile.Profile() if a.profile else None
    cpu0 = time.process_time()
    for site, raws in jobs:
        eng = SiteEngine("site", "w0", SiteState.new(site))
        next_snap = a.snapshot
        batches: list[list[tuple[int, bytes]]] = []
        t_end = -1.0
        for seq, data in enumerate(raws, 1):
            t = json.loads(data)["t"]
            if t > t_end:
                batches.append([])
                t_end = t + a.flush
            batches[-1].append((seq, data))
        seq = 0
        for batch in batches:
            if prof:
                prof.enable()
            c0 = time.process_time()
            reps = [codec.decode_raw(data) for _, data in batch]
            c1 = time.process_time()
            for rep in reps:
                seq += 1
                eng.take(seq, rep, True, 0.0)
            t = max(r.t for r in reps)
            seq += 1
            eng.take(seq, TickRecord(t), False)
            out = eng.take_outbox()
            c2 = time.process_time()
            for o in out:
                if isinstance(o, OutFrame):
                    data = codec.encode_frame("site", "w0", o.frame, o.raw, 0.0, o.upto)
                    digest.update(data)
                    if dump:
                        dump.write(data + b"\n")
                else:
                    digest.update(repr((o.event, o.record.track_id, o.record.level)).encode())
            c3 = time.process_time()
            if t >= next_snap:
                dump_state(eng.state)
                next_snap = t + a.snapshot
            c4 = time.process_time()
            if prof:
                prof.disable()
            stage["decode"] += c1 - c0
            stage["step"] += c2 - c1
            stage["encode"] += c3 - c2
            stage["snapshot"] += c4 - c3
            n += len(batch)
    total = time.process_time() - cpu0
    if dump:
        dump.close()
    if prof and a.profile:
        prof.dump_stats(a.profile)
    out = {
        "reports": n,
        "cpu_ms_per_report": round(1000 * total / n, 3),
        **{f"{k}_ms": round(1000 * v / n, 3) for k, v in stage.items()},
        "frames_sha256": digest.hexdigest()[:16],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Scale-out benchmark: N simulated sites through a pool of ``skywarden worker`` processes.

Not a unit test (nothing here asserts a speed). Run::

    .venv/bin/python benchmarks/bench_cluster.py --sites 200 --workers 2 --duration 60

What it does: starts its own ``nats-server`` (JetStream, temporary store, free loopback
port), two (``--workers``) worker processes, registers ``--sites`` sites, and feeds every
site in real time with 5 sensors at 1 Hz seeing 20 objects (14 small drones, 6 birds; the
residence site's radar, RF direction finder, acoustic array, camera and Remote ID receiver,
all at 1 Hz). The site traffic comes from ``--distinct`` simulated runs (different seeds)
reused across sites, so generating 200 runs does not dominate. A central picture in this
process consumes every frame. Measured over the steady window (after ``--warmup`` s):

- offered and delivered report rates (reports/s acknowledged by JetStream, reports/s that
  reached the central picture), the backlog at the end;
- report-to-central latency: wall time the central picture applied the frame covering a
  report minus the time the feeder stamped it when publishing (median, p90, p99);
- CPU seconds per second of the workers, the nats-server and this process (feeder+central),
  per site.

Results are appended to ``docs/bench_cluster.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nats
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from nats_helpers import single_server  # noqa: E402
from skywarden.core.inbound import Inbound  # noqa: E402
from skywarden.runtime.cluster.central import CentralFeed, CentralPicture  # noqa: E402
from skywarden.runtime.cluster.feed import (  # noqa: E402
    Acked,
    JetStreamIngestPort,
    SimReport,
    register_site,
    sim_reports,
)
from skywarden.runtime.cluster.topology import (  # noqa: E402
    WORKERS_BUCKET,
    TopologyConfig,
    ensure_topology,
)
from skywarden.sim import parse_scenario, simulate  # noqa: E402

SENSORS = ("radar-1", "rf-west", "acoustic-1", "eoir-1", "rid-1")
HZ = os.sysconf("SC_CLK_TCK")


def scenario(duration_s: float) -> Any:
    d = yaml.safe_load((ROOT / "src/skywarden/sim/scenarios/residence.yaml").read_text())
    d["name"] = "site20"
    d["duration_s"] = duration_s
    sensors = [dict(s) for s in d["sensors"] if s["id"] in SENSORS]
    for s in sensors:
        s["update_s"] = 1.0
    d["sensors"] = sensors
    d["objects"] = [
        {
            "id": "T",
            "type": "traffic",
            "count": 14,
            "class": "drone",
            "half_width_m": 2000,
            "alt_min_m": 30,
            "alt_max_m": 300,
            "speed_min_mps": 5,
            "speed_max_mps": 25,
        },
        {
            "id": "B",
            "type": "traffic",
            "count": 6,
            "class": "bird",
            "half_width_m": 2000,
            "alt_min_m": 20,
            "alt_max_m": 200,
            "speed_min_mps": 6,
            "speed_max_mps": 15,
            "heading_wander_dps": 3,
        },
    ]
    return parse_scenario(d, source="bench_cluster")


def cpu_s(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / HZ


def stop_processes(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    """Terminate the workers still running, wait up to 30 s for each, kill what is left: a
    benchmark never leaves processes behind (shared by the failover benchmark)."""
    procs = list(procs)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def feed_site(
    port: JetStreamIngestPort, reps: list[SimReport], start: float, stop_at: float
) -> None:
    loop = asyncio.get_running_loop()
    t0 = reps[0].scan.t
    for r in reps:
        at = start + (r.scan.t - t0)
        if at > stop_at:
            return
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        s = r.scan
        await port.submit_report(
            Inbound(s.sensor_id, "sim", time.time(), r.payload, s.detections), s.t
        )


async def bench(a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_cluster_"))
    srv = single_server(tmp)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        total_s = a.warmup + a.duration + 5
        sc = scenario(total_s + 5)
        runs = [simulate(sc, 100 + i) for i in range(a.distinct)]
        reps = [sim_reports(r) for r in runs]
        per_site_rate = len(reps[0]) / (total_s + 5)
        nc = await nats.connect(srv.url, max_reconnect_attempts=-1)
        js = nc.jetstream(timeout=10)
        await ensure_topology(js, TopologyConfig(lease_ttl_s=a.lease_ttl))
        for i in range(a.workers):
            cmd = [
                sys.executable,
                "-m",
                "skywarden.cli.main",
                "worker",
                "--nats",
                srv.url,
                "--id",
                f"w{i}",
                "--lease-ttl",
                str(a.lease_ttl),
                "--flush",
                str(a.flush),
                "--snapshot-every",
                str(a.snapshot),
            ]
            log = (tmp / f"w{i}.log").open("wb")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        kv = await js.key_value(WORKERS_BUCKET)
        for _ in range(120):
            try:
                if len(await kv.keys()) == a.workers:
                    break
            except Exception:
                pass
            await asyncio.sleep(0.5)
        sites = [f"site-{i:04d}" for i in range(a.sites)]
        for i, s in enumerate(sites):
            await register_site(js, s, runs[i % a.distinct].header, region=f"r{i % 4}")
        picture = CentralPicture()
        cnc = await nats.connect(srv.url, max_reconnect_attempts=-1)
        central = CentralFeed(cnc.jetstream(timeout=10), picture)
        await central.start()
        await asyncio.sleep(3 * a.lease_ttl)  # let the pool claim every site
        acked = Acked()
        loop = asyncio.get_running_loop()
        start = loop.time() + 1.0
        end = start + a.warmup + a.duration
        tasks = [
            asyncio.create_task(
                feed_site(
                    JetStreamIngestPort(js, s, acked, timeout_s=10),
                    reps[i % a.distinct],
                    start + (i % 10) * 0.1,
                    end,
                )
            )
            for i, s in enumerate(sites)
        ]
        await asyncio.sleep(start + a.warmup - loop.time())
        pids = [p.pid for p in procs] + [srv.proc.pid if srv.proc else 0, os.getpid()]
        cpu0 = [cpu_s(p) for p in pids]
        acked0 = sum(len(v) for v in acked.seqs.values())
        seen0 = sum(v.reports for v in picture.sites.values())
        lat_from = len(picture.latencies)
        w0 = time.time()
        await asyncio.gather(*tasks)
        w1 = time.time()
        cpu1 = [cpu_s(p) for p in pids]
        acked1 = sum(len(v) for v in acked.seqs.values())
        seen1 = sum(v.reports for v in picture.sites.values())
        lat = list(picture.latencies)[lat_from:]
        wall = w1 - w0
        drain_deadline = time.time() + 60
        while time.time() < drain_deadline:
            if sum(v.reports for v in picture.sites.values()) >= acked1:
                break
            await asyncio.sleep(0.5)
        drained_s = time.time() - w1
        seen_end = sum(v.reports for v in picture.sites.values())
        worker_cpu = sum(
            c1 - c0 for c0, c1 in zip(cpu0[: a.workers], cpu1[: a.workers], strict=True)
        )
        res = {
            "sites": a.sites,
            "workers": a.workers,
            "sensors_per_site": len(SENSORS),
            "objects_per_site": 20,
            "window_s": round(wall, 1),
            "offered_per_s": round(a.sites * per_site_rate, 1),
            "acked_per_s": round((acked1 - acked0) / wall, 1),
            "central_per_s": round((seen1 - seen0) / wall, 1),
            "backlog_at_end": acked1 - seen1,
            "drained_after_s": round(drained_s, 1),
            "all_reached_central": seen_end >= acked1,
            "latency_median_s": round(statistics.median(lat), 3) if lat else None,
            "latency_p90_s": round(pct(lat, 0.90), 3),
            "latency_p99_s": round(pct(lat, 0.99), 3),
            "worker_cpu_per_s": round(worker_cpu / wall, 3),
            "worker_cpu_ms_per_site_s": round(1000 * worker_cpu / wall / a.sites, 2),
            "nats_cpu_per_s": round((cpu1[-2] - cpu0[-2]) / wall, 3),
            "feeder_central_cpu_per_s": round((cpu1[-1] - cpu0[-1]) / wall, 3),
            "raw_bytes": (await js.stream_info("SKYWARDEN_RAW")).state.bytes,
            "raw_msgs": (await js.stream_info("SKYWARDEN_RAW")).state.messages,
            "out_bytes": (await js.stream_info("SKYWARDEN_SITES")).state.bytes,
            "out_msgs": (await js.stream_info("SKYWARDEN_SITES")).state.messages,
            "snapshot_bucket_bytes": (await js.stream_info("KV_sw_snapshots")).state.bytes,
            "frames": picture.counters.get("frames"),
            "cores": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        await central.stop()
        await cnc.close()
        await nc.close()
        return res
    finally:
        stop_processes(procs)
        srv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--distinct", type=int, default=8)
    ap.add_argument("--lease-ttl", type=float, default=15.0)
    ap.add_argument("--flush", type=float, default=0.5)
    ap.add_argument("--snapshot", type=float, default=30.0)
    ap.add_argument("--out", default=str(ROOT / "docs/bench_cluster.md"))
    a = ap.parse_args()
    res = asyncio.run(bench(a))
    print(json.dumps(res, indent=1))
    cmd = " ".join(["benchmarks/bench_cluster.py", *sys.argv[1:]])
    out = Path(a.out)
    if not out.exists():
        out.write_text(
            "# Scale-out benchmark results\n\nAppended by `benchmarks/bench_cluster.py`.\n"
        )
    with out.open("a") as f:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        f.write(f"\n## {a.sites} sites, {a.workers} workers ({when})\n\n")
        f.write(
            f"`.venv/bin/python {cmd}` on {platform.machine()}, {os.cpu_count()} cores "
            f"(load average {res['load_avg_1m']} at the end; the machine is shared).\n\n"
        )
        f.write("| metric | value |\n|---|---|\n")
        for k, v in res.items():
            f.write(f"| {k} | {v} |\n")


if __name__ == "__main__":
    main()

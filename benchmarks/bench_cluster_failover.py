"""Failure benchmark: kill the NATS node that leads the lease bucket, then kill a worker.

Not a unit test (nothing here asserts a time). Run::

    .venv/bin/python benchmarks/bench_cluster_failover.py --sites 30 --workers 2

A three-node JetStream cluster (R3 streams and buckets, free loopback ports), ``--workers``
``skywarden worker`` processes, ``--sites`` sites fed in real time (5 sensors at 1 Hz, 20
objects each, as ``bench_cluster.py``), and a central picture in this process that records
when each site's frames arrive (this process's monotonic clock). Then:

1. **Node kill.** Before the workers start, the raw stream's leader is stepped down until
   the node leading ``KV_sw_leases`` leads it too (``colocated``); after ``--warmup`` s
   that node is SIGKILLed. Measured over ``--observe`` s: the longest gap between two
   frames of any site (stored or shown), the same counting provisional coasted frames too
   (``with_provisional``), the seconds until each of the two streams has a new leader
   (polled), and the leases lost (the workers' ``lease_lost`` counters before and after,
   from their heartbeats).
2. **Worker kill.** The killed node is restarted; after ``--settle`` s one worker is
   SIGKILLed. Measured: for each of its sites, seconds from the kill to the first frame
   published by another worker; and the 1-minute load average at that moment.
3. **Exactly once.** After feeding stops and the pool drains: every acknowledged raw
   sequence is covered by exactly one frame, and no alert transition (alert id, event) was
   stored twice.

Results are printed as JSON and appended to ``docs/bench_cluster.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import nats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cluster import feed_site, pct, scenario, stop_processes  # noqa: E402

from nats_helpers import cluster3, read_stream  # noqa: E402
from skywarden.runtime.cluster import codec  # noqa: E402
from skywarden.runtime.cluster.central import CentralFeed, CentralPicture  # noqa: E402
from skywarden.runtime.cluster.feed import Acked, JetStreamIngestPort, register_site  # noqa: E402
from skywarden.runtime.cluster.topology import (  # noqa: E402
    LEASES_BUCKET,
    RAW_STREAM,
    SITES_STREAM,
    WORKERS_BUCKET,
    TopologyConfig,
    ensure_topology_retrying,
)
from skywarden.sim import simulate  # noqa: E402


class Arrivals(CentralPicture):
    """The central picture, plus the monotonic arrival times of each site's frames."""

    def __init__(self) -> None:
        super().__init__()
        self.frames_at: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.coast_at: dict[str, list[float]] = defaultdict(list)  # provisional frames

    def apply(self, subject: str, data: bytes, live: bool = False) -> bool:
        changed = super().apply(subject, data, live)
        parts = subject.split(".")
        if changed and len(parts) == 4 and parts[3] == "tracks":
            v = self.sites.get(parts[2])
            if v is not None and v.frame is not None:
                self.frames_at[parts[2]].append((time.monotonic(), v.frame.worker))
        elif changed and len(parts) == 4 and parts[3] == "coast":
            self.coast_at[parts[2]].append(time.monotonic())
        return changed


def max_gap(times: list[float], t0: float, t1: float) -> float:
    xs = [t for t in times if t0 <= t <= t1]
    edges = [t0, *xs, t1]
    return max(b - a for a, b in itertools.pairwise(edges))


def takeover_parts(log: Path, since_wall: float, victim_sites: list[str]) -> dict[str, Any]:
    """From a survivor's log: when it claimed each of the victim's sites and when it had
    restored it (seconds after the kill, from the log's wall-clock stamps; the restore ends
    before the first frame) and the restore parts its runners timed
    (``SiteRunner.timing``: snapshot get, decode, last frame, subscribe, caught up, first
    frame, each from the runner's start), as medians and maxima over the sites."""
    claims: list[float] = []
    restored: list[float] = []
    parts: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines():
        stamp = line[:23]
        try:
            at = time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + int(stamp[20:]) / 1e3
        except ValueError:
            continue
        if at < since_wall:
            continue
        words = line.split()
        if "claimed site" in line and words[words.index("site") + 1].rstrip(":") in victim_sites:
            claims.append(at - since_wall)
        elif "took site" in line and words[words.index("site") + 1].rstrip(":") in victim_sites:
            restored.append(at - since_wall)
        elif (
            "restore_timing" in line and words[words.index("site") + 1].rstrip(":") in victim_sites
        ):
            body = json.loads(line.split("restore_timing", 1)[1])
            for k, v in body.items():
                if isinstance(v, int | float):
                    parts[k].append(float(v))
    out: dict[str, Any] = {"claimed": len(claims)}
    if claims:
        out["claim_after_kill_s"] = {
            "median": round(pct(claims, 0.5), 2),
            "max": round(max(claims), 2),
        }
    if restored:
        out["restored_after_kill_s"] = {
            "median": round(pct(restored, 0.5), 2),
            "max": round(max(restored), 2),
        }
    for k, v in sorted(parts.items()):
        out[k] = {"median": round(pct(v, 0.5), 3), "max": round(max(v), 3)}
    return out


async def leader_of(js: Any, stream: str) -> str | None:
    try:
        info = await js.stream_info(stream)
    except Exception:  # electing, or the server asked is gone
        return None
    return str(info.cluster.leader) if info.cluster and info.cluster.leader else None


async def colocate(nc: Any, js: Any, stream: str, with_stream: str, tries: int = 12) -> bool:
    """Step ``stream``'s leader down until it is the node leading ``with_stream`` (each
    step-down hands leadership to another peer at once, no election timeout), so that one
    kill takes both: the case of issue 24 (the lease bucket and the raw stream)."""
    for _ in range(tries):
        want = await leader_of(js, with_stream)
        have = await leader_of(js, stream)
        if want is not None and have == want:
            return True
        if have is not None:
            with contextlib.suppress(Exception):
                await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", b"", timeout=5)
        await asyncio.sleep(2.0)
    return False


async def elected(
    js: Any, stream: str, killed: str, t0: float, limit: float = 30.0
) -> float | None:
    """Seconds from ``t0`` (monotonic) until ``stream`` has a leader other than ``killed``."""
    while time.monotonic() - t0 < limit:
        leader = await leader_of(js, stream)
        if leader is not None and leader != killed:
            return time.monotonic() - t0
        await asyncio.sleep(0.1)
    return None


async def counters(js: Any, tries: int = 30) -> dict[str, dict[str, int]]:
    """Each worker's counters from its heartbeat (retried while the bucket elects)."""
    for _ in range(tries):
        try:
            kv = await js.key_value(WORKERS_BUCKET)
            out = {}
            for k in await kv.keys():
                hb = json.loads((await kv.get(k)).value or b"{}")
                out[k] = hb.get("counters", {})
            return out
        except Exception:
            await asyncio.sleep(1.0)
    return {}


async def bench(a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_failover_"))
    servers = cluster3(tmp)
    urls = [s.url for s in servers]
    by_name = {s.name: s for s in servers}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    res: dict[str, Any] = {"sites": a.sites, "workers": a.workers, "lease_ttl_s": a.lease_ttl}
    try:
        total = a.warmup + a.observe + a.settle + a.observe + 10
        sc = scenario(total + 10)
        runs = [simulate(sc, 200 + i) for i in range(a.distinct)]
        from skywarden.runtime.cluster.feed import sim_reports

        reps = [sim_reports(r) for r in runs]
        opts = {"servers": urls, "max_reconnect_attempts": -1, "reconnect_time_wait": 0.2}
        nc = await nats.connect(**opts)
        js = nc.jetstream(timeout=10)
        await ensure_topology_retrying(
            js, TopologyConfig(replicas=3, lease_ttl_s=a.lease_ttl), give_up_s=60
        )
        colocated = await colocate(nc, js, RAW_STREAM, f"KV_{LEASES_BUCKET}")
        for i in range(a.workers):
            cmd = [
                sys.executable, "-m", "skywarden.cli.main", "worker", "--nats", ",".join(urls),
                "--id", f"w{i}", "--lease-ttl", str(a.lease_ttl), "--replicas", "3",
                "--flush", str(a.flush), "--snapshot-every", str(a.snapshot),
            ]  # fmt: skip
            log = (tmp / f"w{i}.log").open("wb")
            procs[f"w{i}"] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        sites = [f"site-{i:03d}" for i in range(a.sites)]
        for i, s in enumerate(sites):
            await register_site(js, s, runs[i % a.distinct].header, region="r")
        picture = Arrivals()
        cnc = await nats.connect(**opts)
        central = CentralFeed(cnc.jetstream(timeout=10), picture, nc=None if a.stored_only else cnc)
        await central.start()
        await asyncio.sleep(3 * a.lease_ttl)
        acked = Acked()
        loop = asyncio.get_running_loop()
        start = loop.time() + 1.0
        end = start + total
        feeders = [
            asyncio.create_task(
                feed_site(
                    JetStreamIngestPort(js, s, acked, timeout_s=2.0, retry_for_s=120),
                    reps[i % a.distinct],
                    start + (i % 10) * 0.1,
                    end,
                )
            )
            for i, s in enumerate(sites)
        ]
        await asyncio.sleep(a.warmup)

        # 1. the node leading the lease bucket
        leader = (await js.stream_info(f"KV_{LEASES_BUCKET}")).cluster.leader
        raw_leader = (await js.stream_info(RAW_STREAM)).cluster.leader
        sites_leader = (await js.stream_info(SITES_STREAM)).cluster.leader
        central_on = cnc.connected_url.port if cnc.connected_url else None
        central_on = next((s.name for s in servers if s.port == central_on), None)
        before = await counters(js)
        t_kill = time.monotonic()
        by_name[str(leader)].kill()
        quick = nc.jetstream(timeout=0.5)  # polls: a request lost to the dead node is retried
        elections = await asyncio.gather(
            elected(quick, RAW_STREAM, str(leader), t_kill),
            elected(quick, f"KV_{LEASES_BUCKET}", str(leader), t_kill),
        )
        await asyncio.sleep(max(0.0, a.observe - (time.monotonic() - t_kill)))
        t_end = time.monotonic()
        after = await counters(js)
        gaps = {s: max_gap([t for t, _ in picture.frames_at[s]], t_kill, t_end) for s in sites}
        shown = {  # counting the provisional (coasted) frames too
            s: max_gap(
                sorted([t for t, _ in picture.frames_at[s]] + picture.coast_at[s]), t_kill, t_end
            )
            for s in sites
        }
        lost = {
            w: after.get(w, {}).get("lease_lost", 0) - before.get(w, {}).get("lease_lost", 0)
            for w in after
        }
        res["node_kill"] = {
            "killed": leader,
            "raw_stream_leader_was": raw_leader,
            "colocated": colocated,
            "new_leader_after_s": {
                "raw": None if elections[0] is None else round(elections[0], 2),
                "leases": None if elections[1] is None else round(elections[1], 2),
            },
            "sites_stream_leader_was": sites_leader,
            "central_connected_to": central_on,
            "max_frame_gap_s": round(max(gaps.values()), 2),
            "median_site_max_gap_s": round(pct(list(gaps.values()), 0.5), 2),
            "sites_gap_over_5s": sum(g > 5 for g in gaps.values()),
            "with_provisional": {
                "max_frame_gap_s": round(max(shown.values()), 2),
                "median_site_max_gap_s": round(pct(list(shown.values()), 0.5), 2),
                "sites_gap_over_5s": sum(g > 5 for g in shown.values()),
                "coasted_frames": sum(len(picture.coast_at[s]) for s in sites),
            },
            "leases_lost": lost,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        await asyncio.to_thread(by_name[str(leader)].start)
        await asyncio.sleep(a.settle)

        # 2. a worker
        victim = "w0"
        owned = [
            s for s in sites if picture.sites[s].frame and picture.sites[s].frame.worker == victim
        ]  # type: ignore[union-attr]
        t_kill = time.monotonic()
        t_kill_wall = time.time()
        load = os.getloadavg()[0]
        procs[victim].kill()
        procs[victim].wait()
        await asyncio.sleep(a.observe)
        takeover = {}
        for s in owned:
            after_kill = [t for t, w in picture.frames_at[s] if t > t_kill and w != victim]
            takeover[s] = (after_kill[0] - t_kill) if after_kill else None
        done = [v for v in takeover.values() if v is not None]
        res["worker_kill"] = {
            "sites_of_victim": len(owned),
            "taken_over": len(done),
            "takeover_median_s": round(pct(done, 0.5), 2) if done else None,
            "takeover_max_s": round(max(done), 2) if done else None,
            "load_avg_1m_at_kill": round(load, 2),
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
            "survivors": {
                w: takeover_parts(tmp / f"{w}.log", t_kill_wall, owned)
                for w in procs
                if w != victim
            },
        }
        await asyncio.gather(*feeders)

        # 3. exactly once
        n_acked = sum(len(v) for v in acked.seqs.values())
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if sum(v.reports for v in picture.sites.values()) >= n_acked:
                break
            await asyncio.sleep(1.0)
        frames = await read_stream(js, SITES_STREAM, "skywarden.site.*.tracks")
        covered = Counter(q for _, _, d in frames for q in codec.decode_frame(d).raw_seqs)
        acked_seqs = [q for v in acked.seqs.values() for q in v]
        alerts = await read_stream(js, SITES_STREAM, "skywarden.site.*.alerts")
        decoded = [codec.decode_alert(d) for _, _, d in alerts]
        # one transition = (site, alert, its number among the alert's transitions): an alert
        # may be reclassified or escalated more than once, each a transition of its own
        transitions = Counter((a_.site, a_.record.alert_id, a_.n) for a_ in decoded)
        twice = [
            {"site": a_.site, "alert": a_.record.alert_id, "n": a_.n, "event": a_.event,
             "track": a_.record.track_id, "level": a_.record.level, "t": a_.record.t,
             "worker": a_.worker}
            for a_ in decoded if transitions[(a_.site, a_.record.alert_id, a_.n)] > 1
        ]  # fmt: skip
        res["exactly_once"] = {
            "acked_reports": len(acked_seqs),
            "never_covered": sum(covered[q] == 0 for q in acked_seqs),
            "covered_twice": sum(covered[q] > 1 for q in acked_seqs),
            "alert_transitions": len(transitions),
            "alert_transitions_twice": sum(n > 1 for n in transitions.values()),
            "twice": twice[:10],
        }
        res["cores"] = os.cpu_count()
        await central.stop()
        await cnc.close()
        await nc.close()
        return res
    finally:
        stop_processes(procs.values())
        for s in servers:
            s.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lease-ttl", type=float, default=6.0)
    ap.add_argument("--warmup", type=float, default=25.0)
    ap.add_argument("--observe", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=15.0)
    ap.add_argument("--distinct", type=int, default=6)
    ap.add_argument("--flush", type=float, default=0.5)
    ap.add_argument("--snapshot", type=float, default=5.0)
    ap.add_argument(
        "--stored-only",
        action="store_true",
        help="central reads only the stream consumers (no core subscription for the picture)",
    )
    ap.add_argument("--out", default=str(ROOT / "docs/bench_cluster.md"))
    a = ap.parse_args()
    res = asyncio.run(bench(a))
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "a") as f:
            f.write(
                f"\n### Failure run {time.strftime('%Y-%m-%d %H:%M')} "
                f"(`bench_cluster_failover.py --sites {a.sites} --workers {a.workers} "
                f"--lease-ttl {a.lease_ttl}{' --stored-only' if a.stored_only else ''}`)\n\n"
                f"```json\n{json.dumps(res, indent=1)}\n```\n"
            )


if __name__ == "__main__":
    main()

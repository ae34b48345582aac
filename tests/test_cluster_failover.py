"""Pooled mode against a real nats-server: two ``skywarden worker`` processes share four
sites; one is SIGKILLed mid-stream; the other takes its sites over from their snapshots and
every accepted report appears exactly once in the tracks history."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nats

from nats_helpers import eventually, read_stream, require_nats_server, single_server
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.feed import (
    Acked,
    JetStreamIngestPort,
    feed_reports,
    register_site,
    sim_reports,
)
from skywarden.runtime.cluster.leases import owner_of
from skywarden.runtime.cluster.topology import (
    LEASES_BUCKET,
    SITES_STREAM,
    TopologyConfig,
    ensure_topology,
)
from skywarden.sim import load_scenario, simulate

SITES = ("alpha", "bravo", "charlie", "delta")
TTL = 4.0


def _worker(url: str, wid: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "skywarden.cli.main", "worker", "--nats", url, "--id", wid]
    cmd += ["--lease-ttl", str(TTL), "--snapshot-every", "1", "--flush", "0.2"]
    with log.open("wb") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)


async def _owners(js: object) -> dict[str, str]:
    kv = await js.key_value(LEASES_BUCKET)  # type: ignore[attr-defined]
    out = {}
    for s in SITES:
        try:
            e = await kv.get(s)
            out[s] = owner_of(e.value or b"")
        except Exception:
            pass
    return out


def test_sigkilled_worker_hands_over_without_loss_or_duplicate(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    scen = load_scenario("residence")
    runs = {s: simulate(scen, 10 + i) for i, s in enumerate(SITES)}
    reports = {s: sim_reports(r, until_s=80.0) for s, r in runs.items()}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig(lease_ttl_s=TTL))
        for s, r in runs.items():
            await register_site(js, s, r.header)
        for wid in ("w1", "w2"):
            procs[wid] = _worker(srv.url, wid, tmp_path / f"{wid}.log")
        owners = await eventually(
            lambda: _owners(js),
            lambda o: len(o) == 4 and Counter(o.values()) == {"w1": 2, "w2": 2},
            30,
            "both workers to hold two sites each",
        )
        acked = Acked()
        ports = {s: JetStreamIngestPort(js, s, acked) for s in SITES}
        feed = asyncio.gather(*(feed_reports(ports[s], reports[s], speed=6.0) for s in SITES))
        # mid-stream: waited for by what was fed, not by a fixed sleep (a slow machine feeds
        # less in the same seconds), and the victim has stored a frame of each of its sites;
        # 6x (13 s for 80 s of site time) leaves a starved victim time to store its frames
        # before the feed ends (at 8x the feed ended first in one of six runs under load)
        total = sum(len(r) for r in reports.values())
        await eventually(
            lambda: asyncio.sleep(0, sum(len(v) for v in acked.seqs.values())),
            lambda n: n >= total // 3,
            60,
            "a third of the reports acknowledged",
        )
        victim = "w1"
        victim_sites = sorted(s for s, w in owners.items() if w == victim)

        async def framed_by_victim() -> set[str]:
            msgs = await read_stream(js, SITES_STREAM, "skywarden.site.*.tracks")
            frames = [codec.decode_frame(d) for _, _, d in msgs]
            return {f.site for f in frames if f.worker == victim}

        await eventually(
            framed_by_victim, lambda s: set(victim_sites) <= s, 30, "the victim's frames stored"
        )
        assert not feed.done(), "the kill must happen mid-stream"
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        # a functional wait, not a timing test: how fast the take-over is (about 1.25 TTL
        # plus the replay on an idle machine) is measured by benchmarks/bench_cluster_failover
        # (takeover_median_s, takeover_max_s); a 15 s deadline and a 10 s bound here failed
        # on a 2-core machine under load (the survivor process starved of CPU)
        await eventually(
            lambda: _owners(js),
            lambda o: all(o.get(s) == "w2" for s in SITES),
            90,
            "the survivor to lease every site",
        )
        await feed
        last = {s: max(acked.seqs[s]) for s in SITES}

        async def covered() -> dict[str, int]:
            msgs = await read_stream(js, SITES_STREAM, "skywarden.site.*.tracks")
            top: dict[str, int] = {}
            for _, _, data in msgs:
                f = codec.decode_frame(data)
                top[f.site] = max([top.get(f.site, 0), *f.raw_seqs])
            return top

        # the survivor replays the victim's tail for two sites besides its own two: on a
        # starved machine that took over 60 s (under two busy loops and a load of 17)
        try:
            await eventually(
                covered, lambda c: all(c.get(s) == last[s] for s in SITES), 180, "frames"
            )
        except AssertionError as e:  # the survivor's own account of why, with the timeout
            log = (tmp_path / "w2.log").read_text()[-3000:]
            raise AssertionError(f"{e}\nlast acknowledged {last}\nw2.log:\n{log}") from None
        frames = [
            codec.decode_frame(d)
            for _, _, d in await read_stream(js, SITES_STREAM, "skywarden.site.*.tracks")
        ]
        for s in SITES:
            seen = [q for f in frames if f.site == s for q in f.raw_seqs]
            dup = [q for q, n in Counter(seen).items() if n > 1]
            assert not dup, f"{s}: raw sequences in two frames: {dup[:10]}"
            assert sorted(seen) == sorted(acked.seqs[s]), f"{s}: frames do not cover the reports"
            assert len(seen) == len(reports[s])
        for s in victim_sites:  # the victim's sites were tracked by both, in that order
            by = [f.worker for f in frames if f.site == s]
            assert by[0] == victim and by[-1] == "w2" and "w1" not in by[by.index("w2") :]
            assert any(f.tracks for f in frames if f.site == s and f.worker == "w2")
        # the survivor restored a snapshot and replayed only the tail, not the whole stream
        health = [
            json.loads(d)
            for _, _, d in await read_stream(js, SITES_STREAM, "skywarden.site.*.health")
        ]
        for s in victim_sites:
            h = [x for x in health if x["site"] == s and x["worker"] == "w2"][-1]
            assert h["counters"].get("restored") == 1, h
            assert h["counters"].get("replayed", 0) < len(reports[s]) / 2, h
        alerts = [
            codec.decode_alert(d)
            for _, _, d in await read_stream(js, SITES_STREAM, "skywarden.site.*.alerts")
        ]
        ids = Counter(a.msg_id for a in alerts)
        assert all(n == 1 for n in ids.values())
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        srv.stop()
    logs = {w: (tmp_path / f"{w}.log").read_text() for w in procs}
    assert "Traceback" not in logs["w2"], logs["w2"][-3000:]

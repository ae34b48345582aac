"""A three-node JetStream cluster with R3 streams: SIGKILL one node (a replica of the raw
stream; other streams and KV buckets may have their leader on it) while sites are being fed;
no acknowledged report is lost and the central picture keeps updating."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import nats

from nats_helpers import cluster3, eventually, read_stream, require_nats_server
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.central import CentralFeed, CentralPicture
from skywarden.runtime.cluster.feed import (
    Acked,
    JetStreamIngestPort,
    feed_reports,
    register_site,
    sim_reports,
)
from skywarden.runtime.cluster.topology import (
    LEASES_BUCKET,
    RAW_STREAM,
    SITES_BUCKET,
    SITES_STREAM,
    SNAPSHOTS_BUCKET,
    WORKERS_BUCKET,
    TopologyConfig,
    ensure_topology,
)
from skywarden.runtime.cluster.worker import Worker, WorkerConfig
from skywarden.sim import load_scenario, simulate

SITES = ("north", "south")


def test_r3_cluster_survives_losing_a_node(tmp_path: Path) -> None:
    require_nats_server()
    servers = cluster3(tmp_path)
    urls = [s.url for s in servers]
    scen = load_scenario("residence")
    runs = {s: simulate(scen, 30 + i) for i, s in enumerate(SITES)}
    reports = {s: sim_reports(r, until_s=48.0) for s, r in runs.items()}

    async def main() -> None:
        opts = {"servers": urls, "max_reconnect_attempts": -1, "reconnect_time_wait": 0.2}
        nc = await nats.connect(**opts)
        js = nc.jetstream(timeout=5.0)
        # first as a process started without --replicas would (one copy), then with R3: the
        # streams and the KV buckets must all end up with three copies, never left at one
        topo1 = TopologyConfig(lease_ttl_s=4.0)
        await eventually(lambda: ensure_topology(js, topo1), lambda _: True, 30, "R1 topology")
        topo = TopologyConfig(replicas=3, lease_ttl_s=4.0)
        await eventually(lambda: ensure_topology(js, topo), lambda _: True, 30, "R3 topology")
        for bucket in (SITES_BUCKET, LEASES_BUCKET, WORKERS_BUCKET, SNAPSHOTS_BUCKET):
            kv_info = await js.stream_info(f"KV_{bucket}")
            assert kv_info.config.num_replicas == 3, bucket
        # and a later R1 process never lowers them
        await eventually(lambda: ensure_topology(js, topo1), lambda _: True, 30, "R1 again")
        assert (await js.stream_info(f"KV_{LEASES_BUCKET}")).config.num_replicas == 3
        for s, r in runs.items():
            await register_site(js, s, r.header, region="test")
        info = await js.stream_info(RAW_STREAM)
        assert info.config.num_replicas == 3 and len(info.cluster.replicas or []) == 2

        stop = asyncio.Event()
        wnc = await nats.connect(**opts)
        w = Worker(wnc, WorkerConfig("w1", lease_ttl_s=4.0), urls=urls)
        worker = asyncio.create_task(w.run(stop))
        picture = CentralPicture()
        cnc = await nats.connect(**opts)
        central = CentralFeed(cnc.jetstream(timeout=5.0), picture)
        await central.start()

        await eventually(lambda: asyncio.sleep(0, w.owned()), lambda o: len(o) == 2, 30, "claims")
        for name in (RAW_STREAM, SITES_STREAM):  # the worker's own (R1) defaults kept R3
            assert (await js.stream_info(name)).config.num_replicas == 3, name
        acked = Acked()
        ports = {s: JetStreamIngestPort(js, s, acked, retry_for_s=60) for s in SITES}
        feed = asyncio.gather(*(feed_reports(ports[s], reports[s], speed=4.0) for s in SITES))
        total = sum(len(r) for r in reports.values())
        await eventually(
            lambda: asyncio.sleep(0, sum(len(v) for v in acked.seqs.values())),
            lambda n: n >= total // 3,
            40,
            "a third of the reports acknowledged",
        )
        assert not feed.done(), "the kill must happen mid-stream"
        leader = (await js.stream_info(RAW_STREAM)).cluster.leader
        victim = next(s for s in servers if s.name != leader)  # a replica of every R3 stream
        victim.kill()
        # what each site's picture held at the kill: it must move on after it (how many frames
        # the worker makes of the backlog after the stream's new election depends on the
        # machine's speed: a count such as "4 more frames" is no property of the cluster)
        at_kill = {
            s: (v.frames, v.frame.covers_to if v.frame else float("-inf"))
            for s, v in ((s, picture.site(s)) for s in SITES)
        }
        # the tracks the view shows after the kill, observed while reports flow: a silent site
        # ages its tracks out (``Tracker.expire``), so a view sampled once at the end shows
        # none when the read-backs below took a slow machine longer than the coast time
        with_tracks: set[str] = set()

        async def watch_view() -> None:
            while True:
                with_tracks.update(
                    v["site"] for v in picture.view(region="test")["sites"] if v["tracks"]
                )
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch_view())
        await feed
        assert sum(len(v) for v in acked.seqs.values()) == sum(len(r) for r in reports.values())
        await eventually(
            lambda: asyncio.sleep(0, {s: picture.site(s).reports for s in SITES}),
            lambda n: all(n[s] == len(acked.seqs[s]) for s in SITES),
            60,
            "the central picture to cover every acknowledged report",
        )
        watcher.cancel()
        assert with_tracks == set(SITES), f"tracks shown after the kill only for {with_tracks}"
        for s in SITES:  # kept updating: new frames for every site, covering later reports
            v = picture.site(s)
            assert v.frame is not None and v.frames > at_kill[s][0], s
            assert v.frame.covers_to > at_kill[s][1], (s, v.frame.covers_to, at_kill[s][1])
        info = await js.stream_info(RAW_STREAM)
        raw = await eventually(  # the stream may still be electing after the kill
            lambda: read_stream(js, RAW_STREAM, "skywarden.site.*.raw.*"),
            lambda _: True,
            30,
            "reading the raw stream back",
        )
        reports_stored = [q for q, subj, _ in raw if not subj.endswith("._ctl")]  # not ticks
        assert len(reports_stored) == sum(len(v) for v in acked.seqs.values())
        assert info.cluster.leader and info.cluster.leader != victim.name

        stored = await eventually(  # the stream may still be electing after the kill
            lambda: read_stream(js, SITES_STREAM, "skywarden.site.*.tracks"),
            lambda _: True,
            30,
            "reading the frames back",
        )
        frames = [codec.decode_frame(d) for _, _, d in stored]
        for s in SITES:
            seen = Counter(q for f in frames if f.site == s for q in f.raw_seqs)
            assert all(n == 1 for n in seen.values()), f"{s}: a report in two frames"
            assert sorted(seen) == sorted(acked.seqs[s]), f"{s}: acknowledged report missing"
            # the frame of the last reports (site time, not wall time: later silent ticks
            # legitimately coast the tracks out) shows tracks
            last = max((f for f in frames if f.site == s and f.raw_seqs), key=lambda f: f.t)
            assert last.tracks, f"{s}: no tracks in the frame of its last reports"
        view = picture.view(region="test")
        assert {v["site"] for v in view["sites"]} == set(SITES)
        assert picture.view(site="north")["sites"][0]["site"] == "north"

        stop.set()
        await worker
        await central.stop()
        for c in (nc, wnc, cnc):
            await c.close()

    try:
        asyncio.run(main())
    finally:
        for s in servers:
            s.stop()

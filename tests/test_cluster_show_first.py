"""Frames are shown before they are stored (issue 24): while the output stream cannot store
anything, a pooled site keeps stepping and its frames reach the live subject; once the stream
is back, the stored history catches up in order, every report in exactly one stored frame.

The outage is real: the ``SKYWARDEN_SITES`` stream is deleted on a real nats-server (a core
subscriber on the tracks subject makes the runner's publishes time out, as during a leader
election, instead of failing with "no responders") and re-created later."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from nats.aio.msg import Msg

from nats_helpers import eventually, read_stream, require_nats_server, single_server
from skywarden.core.clock import WallClock
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.feed import Acked, JetStreamIngestPort, feed_reports, sim_reports
from skywarden.runtime.cluster.site_runner import SiteRunner
from skywarden.runtime.cluster.topology import (
    SITES_STREAM,
    SNAPSHOTS_BUCKET,
    TopologyConfig,
    ensure_topology,
    live_subject,
    out_subject,
)
from skywarden.sim import load_scenario, simulate

SITE = "show1"


def test_frames_are_shown_while_the_output_stream_is_down(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    run = simulate(load_scenario("residence"), 3)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig())
        await js.delete_stream(SITES_STREAM)
        shown: list[codec.SiteFrame] = []

        async def on_live(msg: Msg) -> None:
            shown.append(codec.decode_frame(msg.data))

        async def swallow(msg: Msg) -> None:  # interest, no reply: publishes time out
            pass

        await nc.subscribe(live_subject(SITE, "tracks"), cb=on_live)
        blocker = await nc.subscribe(out_subject(SITE, "tracks"), cb=swallow)
        kv = await js.key_value(SNAPSHOTS_BUCKET)
        runner = SiteRunner(
            js, kv, SITE, run.site, "w1", WallClock().now, flush_s=0.1, live=nc, snapshot_s=1.0
        )
        await runner.start()
        acked = Acked()
        reports = sim_reports(run, until_s=20.0)
        await feed_reports(JetStreamIngestPort(js, SITE, acked), reports, speed=None)
        seqs = acked.seqs[SITE]
        # every report shown, in two frames or more, nothing stored: stepping did not wait for
        # the store. Waited for, not sampled: a slow machine may read the whole burst before
        # its first tick (one frame covering it all); the silent ticks that follow are frames
        # of their own, shown while the first one still is not stored.
        await eventually(
            lambda: asyncio.sleep(0, [f.covers_to for f in shown]),
            lambda c: len(c) >= 2 and max(c) >= max(seqs),
            20,
            "every report shown, two frames or more",
        )
        assert runner.published == 0
        await eventually(  # the store is really being retried, as in an election
            lambda: asyncio.sleep(0, runner.counters.get("publish_retry")),
            lambda n: n >= 2,
            20,
            "publish retries",
        )
        assert runner.published == 0
        assert runner.counters.get("snapshots") == 0  # a snapshot waits for its frames
        await blocker.unsubscribe()
        await ensure_topology(js, TopologyConfig())  # the stream is back, empty
        await eventually(
            lambda: asyncio.sleep(0, runner.published), lambda p: p >= max(seqs), 30, "stored"
        )
        await runner.stop(snapshot=True)
        stored = [
            codec.decode_frame(d)
            for _, _, d in await read_stream(js, SITES_STREAM, out_subject(SITE, "tracks"))
        ]
        got = [q for f in stored for q in f.raw_seqs]
        assert sorted(got) == sorted(seqs) and len(got) == len(set(got))
        # the stored history is the shown one, in order (the store retried, never re-made)
        shown_upto = [f.covers_to for f in shown]
        stored_upto = [f.covers_to for f in stored]
        assert stored_upto[: len(shown_upto)] == shown_upto[: len(stored_upto)]
        assert runner.counters.get("snapshots") >= 1 and not runner.fenced.is_set()
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()

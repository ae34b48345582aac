"""While a site's raw stream cannot store (issue 24: the node leading it was killed and the
stream elects a leader), no report can be acknowledged and no tick journaled, so no frame can
be made; the worker shows the last frame coasted instead, marked provisional, on the live
subject only, and changes nothing that a replay or the exactly-once accounting depends on.

The outage is real: ``SKYWARDEN_RAW`` is deleted on a real nats-server and a core subscriber
on the site's control subject makes the runner's tick publishes time out, as in an election.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from nats.aio.msg import Msg

from nats_helpers import eventually, read_stream, require_nats_server, single_server
from skywarden.core.clock import WallClock
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.central import CentralPicture
from skywarden.runtime.cluster.feed import Acked, JetStreamIngestPort, feed_reports, sim_reports
from skywarden.runtime.cluster.site_runner import SiteRunner
from skywarden.runtime.cluster.topology import (
    RAW_STREAM,
    SITES_STREAM,
    SNAPSHOTS_BUCKET,
    TopologyConfig,
    control_subject,
    ensure_topology,
    live_subject,
    out_subject,
)
from skywarden.runtime.engine.pipeline import Frame
from skywarden.sim import load_scenario, simulate

SITE = "coast1"


def test_the_last_frame_is_coasted_while_the_raw_stream_cannot_store(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    run = simulate(load_scenario("residence"), 3)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await ensure_topology(js, TopologyConfig())
        shown: list[codec.SiteFrame] = []
        coasted: list[codec.SiteFrame] = []

        async def on_live(msg: Msg) -> None:
            f = codec.decode_frame(msg.data)
            (coasted if msg.subject.endswith(".coast") else shown).append(f)

        async def swallow(msg: Msg) -> None:  # interest, no reply: publishes time out
            pass

        await nc.subscribe(live_subject(SITE, "*"), cb=on_live)
        kv = await js.key_value(SNAPSHOTS_BUCKET)
        runner = SiteRunner(
            js, kv, SITE, run.site, "w1", WallClock().now, flush_s=0.1, live=nc, coast_s=0.5
        )
        await runner.start()
        acked = Acked()
        reports = sim_reports(run, until_s=40.0)
        await feed_reports(JetStreamIngestPort(js, SITE, acked), reports, speed=None)
        last_seq = max(acked.seqs[SITE])
        await eventually(
            lambda: asyncio.sleep(0, runner.published), lambda p: p >= last_seq, 30, "stored"
        )
        # the raw stream goes away: ticks time out, nothing new can be stepped
        await js.delete_stream(RAW_STREAM)
        await nc.subscribe(control_subject(SITE), cb=swallow)
        await eventually(
            lambda: asyncio.sleep(0, runner.counters.get("tick_failed")),
            lambda n: n >= 1,
            30,
            "a tick that could not be stored",
        )
        n_shown, covered, ticks = len(shown), runner.state.covered, runner.counters.get("ticks")
        base = shown[-1]
        # coasts shown before now came from gaps of a loaded machine, each of the frame then
        # last shown; the outage's coasts are those from here on
        n_coasted = len(coasted)
        await eventually(
            lambda: asyncio.sleep(0, len(coasted)),
            lambda n: n >= n_coasted + 3,
            30,
            "coasted frames",
        )
        assert len(shown) == n_shown  # no real frame could be made
        assert runner.state.covered == covered and runner.counters.get("ticks") == ticks
        stored = await read_stream(js, SITES_STREAM, out_subject(SITE, "tracks"))
        assert all(not codec.decode_frame(d).provisional for _, _, d in stored)
        for c in coasted[n_coasted:]:
            assert c.provisional and c.raw == () and c.covers_to == base.covers_to
            assert [t.track_id for t in c.tracks] == [t.track_id for t in base.tracks]
        ts = [c.t for c in coasted[n_coasted:]]
        assert ts == sorted(ts) and ts[0] > base.t
        assert base.tracks  # the scenario has tracks to move
        for b, c in zip(base.tracks, coasted[-1].tracks, strict=True):  # at their velocity
            dt = coasted[-1].t - b.t
            for i in range(3):
                assert abs(c.x[i] - (b.x[i] + b.x[i + 3] * dt)) < 1e-6
        assert runner.counters.get("coasted") >= 3
        await runner.stop(snapshot=False)
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()


def _frame(t: float, upto: int) -> bytes:
    return codec.encode_frame("s1", "w1", Frame(t, (), (), ()), [(upto, 1.0)], 0.0, upto)


def test_central_shows_a_coasted_frame_until_a_real_one_arrives() -> None:
    pic = CentralPicture()
    live, stored = "skywarden.live.s1.coast", "skywarden.site.s1.tracks"
    assert not pic.apply(live, codec.coast_frame(_frame(1.0, 5), 1.0, 0.0))  # nothing to coast
    assert pic.apply(stored, _frame(1.0, 5))
    assert pic.apply(live, codec.coast_frame(_frame(1.0, 5), 1.5, 0.0))
    assert pic.view()["sites"][0]["provisional"] and pic.view()["sites"][0]["t"] == 2.5
    assert not pic.apply(live, codec.coast_frame(_frame(1.0, 5), 1.0, 0.0))  # older
    assert not pic.apply(live, _frame(9.0, 5))  # a frame that is not provisional
    assert pic.sites["s1"].frames == 1 and pic.counters.get("frames") == 1  # never counted
    assert pic.apply(stored, _frame(2.0, 6))  # a real frame replaces it
    assert not pic.view()["sites"][0]["provisional"] and pic.view()["sites"][0]["t"] == 2.0
    assert not pic.apply(live, codec.coast_frame(_frame(1.0, 5), 9.0, 0.0))  # an old base

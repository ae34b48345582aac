"""Edge mode against real servers: a hub (JetStream domain ``hub``) and an edge site's
leaf node (its own domain). The hub is SIGKILLed; the edge keeps tracking and alerting into
its local stream; after the hub returns, everything the edge stored reaches the central
picture through the mirror."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from nats_helpers import eventually, hub_and_edge, require_nats_server
from skywarden.runtime.cluster.central import CentralFeed, CentralPicture
from skywarden.runtime.cluster.edge import EdgeSite
from skywarden.runtime.cluster.feed import SimReport, sim_reports
from skywarden.runtime.cluster.topology import (
    EDGE_STREAM,
    TopologyConfig,
    edge_mirror_name,
    ensure_edge_mirror,
    ensure_topology,
)
from skywarden.sim import load_scenario, simulate
from skywarden.store.journal import Journal, open_journal
from skywarden.store.records import AlertRecord, TrackRecord
from support.postgres import drop_postgres_schema, fresh_postgres_url, postgres_base_url

SITE, DOMAIN = "palace", "edge-palace"


async def _track(edge: EdgeSite, reports: list[SimReport], t_from: float, t_to: float) -> int:
    """Feed the edge (as fast as it goes), one step per second of sensor time."""
    frames = 0
    nxt = t_from + 1.0
    for r in reports:
        if not t_from <= r.scan.t < t_to:
            continue
        if r.scan.t >= nxt:
            frames += (await edge.flush()) is not None
            nxt += 1.0
        edge.ingest(r.scan, edge.wall())
    frames += (await edge.flush()) is not None
    return frames


def _journal(tmp_path: Path) -> tuple[Journal, str | None]:
    """The central store: PostgreSQL when the loopback server is there, else SQLite."""
    base, _why = postgres_base_url()
    if base is None:
        return open_journal(str(tmp_path / "central.db")), None
    url = fresh_postgres_url(base)
    return open_journal(url), url


def test_edge_buffers_through_a_link_loss(tmp_path: Path) -> None:
    require_nats_server()
    journal, pg_url = _journal(tmp_path)
    hub, edge_srv = hub_and_edge(tmp_path, DOMAIN)
    run = simulate(load_scenario("residence"), 5)
    reports = sim_reports(run, until_s=140.0)

    async def main() -> None:
        enc = await nats.connect(edge_srv.url)
        edge = EdgeSite(enc.jetstream(), SITE, run.site)
        await edge.start()
        opts = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.2}
        hnc = await nats.connect(hub.url, **opts)
        hjs = hnc.jetstream()
        await ensure_topology(hjs, TopologyConfig())
        await eventually(
            lambda: ensure_edge_mirror(hjs, SITE, DOMAIN), lambda _: True, 20, "mirror"
        )
        picture = CentralPicture()
        feed = CentralFeed(hjs, picture)
        await feed.start(edges=[SITE])

        n1 = await _track(edge, reports, 0.0, 40.0)
        await eventually(
            lambda: asyncio.sleep(0, picture.site(SITE).frames),
            lambda n: n == n1,
            30,
            "frames before the cut",
        )
        await feed.stop()
        await hnc.close()
        hub.kill()  # the link is down: central is gone

        alerts_before = edge.counters.get("alerts")
        n2 = await _track(edge, reports, 40.0, 120.0)
        assert n2 > 60
        assert edge.counters.get("alerts") > alerts_before, "no alert raised while cut off"
        local = await enc.jetstream().stream_info(EDGE_STREAM)
        assert local.state.messages >= n1 + n2  # stored at the edge, acknowledged locally

        hub.start()  # the link returns
        hnc = await nats.connect(hub.url, **opts)
        hjs = hnc.jetstream()
        n3 = await _track(edge, reports, 120.0, 141.0)
        total = n1 + n2 + n3
        picture = CentralPicture(journal)
        feed = CentralFeed(hjs, picture)
        await eventually(lambda: feed.start(edges=[SITE]), lambda _: True, 20, "central again")
        await eventually(
            lambda: asyncio.sleep(0, picture.site(SITE).frames),
            lambda n: n == total,
            60,
            "every edge frame in the central picture",
        )
        v = picture.site(SITE)
        assert len(v.alerts) > 0 and picture.counters.get("alerts") == edge.counters.get("alerts")
        assert v.reports == len(reports)
        assert v.frame is not None and v.frame.t >= 139.0 and v.frame.tracks
        mirror = await hjs.stream_info(edge_mirror_name(SITE))
        assert (
            mirror.state.messages == (await enc.jetstream().stream_info(EDGE_STREAM)).state.messages
        )
        await feed.stop()  # flushes the journal
        recs = list(journal.records())
        alerts = [r for r in recs if isinstance(r, AlertRecord)]
        tracks = [r for r in recs if isinstance(r, TrackRecord)]
        assert len(alerts) == edge.counters.get("alerts")
        assert tracks and {r.source for r in tracks} == {SITE}
        assert journal.verify().ok
        await hnc.close()
        await enc.close()

    try:
        asyncio.run(main())
    finally:
        edge_srv.stop()
        hub.stop()
        journal.close()
        if pg_url:
            drop_postgres_schema(pg_url)

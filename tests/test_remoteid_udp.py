"""Remote ID live UDP link: real sockets on loopback, garbage between valid datagrams."""

from __future__ import annotations

import asyncio
import socket

from adapters_helpers import MemoryIngest, wait_for
from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.core.inbound import Inbound
from skywarden.sensors.links.health import SensorHealth, SensorStats
from skywarden.sensors.links.remoteid_udp import RemoteIdUdpLink
from skywarden.sensors.remoteid_track import RemoteIdPipeline

BASIC = bytes.fromhex("0222313233343536373839303132333435363738393000000000")[:25]
LOC = bytes.fromhex("12262416 0a42bf241b6ed1b4b6 9808ac087008 6b53 150e0200".replace(" ", ""))


def test_udp_feed_journals_accepted_datagrams_and_survives_garbage() -> None:
    async def run() -> tuple[list[Inbound], SensorHealth]:
        ingest = MemoryIngest()
        stats = SensorStats("rid-udp", "remoteid_udp", "127.0.0.1:0", 100.0)
        pl = RemoteIdPipeline(GeoOrigin(45.539, -122.966, 0.0), "rid-udp")
        link = RemoteIdUdpLink(pl, ManualClock(100.0), ingest, stats)
        port = await link.start()
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        pack = bytes([0xF2, 25, 2]) + BASIC + LOC
        for d in (b"\xff\x00garbage", pack, b"", bytes([0x12]) * 30, pack):
            tx.sendto(d, ("127.0.0.1", port))
            await wait_for(lambda d=d: stats.counters.get("link.datagrams") > 0)
        await wait_for(
            lambda: len(ingest.detections) >= 2 and stats.counters.get("link.datagrams") >= 5
        )
        tx.close()
        await link.stop()
        return ingest.messages, stats.snapshot(100.0)

    msgs, health = asyncio.run(run())
    dets = [d for m in msgs for d in m.detections]
    assert len(dets) == 2 and len(msgs) == 2  # the garbage was not journaled
    assert all(m.source == "remoteid" and m.sensor_id == "rid-udp" for m in msgs)
    assert dets[0].identity == "12345678901234567890" and dets[0].t == 100.0
    assert health.accepted == 2 and health.detections == 2
    assert health.rejected_total >= 2, health.rejected
    assert health.state == "stopped"

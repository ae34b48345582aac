"""Remote ID live UDP link: real sockets on loopback, garbage between valid datagrams."""

from __future__ import annotations

import asyncio
import socket

from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection
from skywarden.sensors.links.remoteid_udp import serve_remoteid_udp
from skywarden.sensors.remoteid_track import RemoteIdPipeline

BASIC = bytes.fromhex("0222313233343536373839303132333435363738393000000000")[:25]
LOC = bytes.fromhex("12262416 0a42bf241b6ed1b4b6 9808ac087008 6b53 150e0200".replace(" ", ""))


def test_udp_feed_decodes_and_survives_garbage() -> None:
    async def run() -> tuple[list[Detection], RemoteIdPipeline]:
        got: list[Detection] = []
        pl = RemoteIdPipeline(GeoOrigin(45.539, -122.966, 0.0), "rid-udp")
        clock = ManualClock(100.0)
        tr = await serve_remoteid_udp("127.0.0.1", 0, pl, clock, got.append)
        port = tr.get_extra_info("sockname")[1]
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        pack = bytes([0xF2, 25, 2]) + BASIC + LOC
        for d in (b"\xff\x00garbage", pack, b"", bytes([0x12]) * 30, pack):
            tx.sendto(d, ("127.0.0.1", port))
            for _ in range(50):
                await asyncio.sleep(0.01)
                if pl.counters.get("link.datagrams") and len(got) >= (2 if d is pack else 0):
                    break
        for _ in range(100):
            if len(got) >= 2 and pl.counters.get("link.datagrams") >= 5:
                break
            await asyncio.sleep(0.01)
        tx.close()
        tr.close()
        return got, pl

    got, pl = asyncio.run(run())
    assert len(got) == 2
    assert got[0].identity == "12345678901234567890" and got[0].t == 100.0
    rejected = {k: v for k, v in pl.counters.snapshot().items() if k.startswith("rejected.")}
    assert sum(rejected.values()) >= 2, pl.counters.snapshot()

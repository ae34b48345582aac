"""Remote ID into the running service: the real Parrot Anafi capture's F3411 messages, sent as
a receiver bridge would (one UDP datagram per message or pack, paced as captured), become a
track at ``GET /api/tracks`` carrying the drone's serial number, with its operator position
in the journaled detections."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from live_helpers import running_service
from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.sensors.remoteid import BasicId, Location, decode_message, flatten
from skywarden.sensors.remoteid_frames import capture_payloads
from skywarden.store.records import RawMessage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "remoteid"
SERIAL = "1588E040445AC004418"
PLAY_S = 6.0
SITE = """
name = "rid-live"
[origin]
lat = 47.2
lon = 8.73
alt_m = 500.0
[[sensors]]
id = "rid-1"
kind = "remote_id"
measures = "position_id"
position_enu_m = [0, 0, 2]
sigma = {pos_m = 5.0, vel_mps = 1.0}
update_s = 1.0
[sensors.link]
protocol = "remoteid_udp"
host = "127.0.0.1"
port = 0
"""


def _has_basic_id_and_location(data: bytes) -> bool:
    try:
        msgs = flatten(decode_message(data))
    except InputRejected:
        return False
    return any(isinstance(m, BasicId) for m in msgs) and any(isinstance(m, Location) for m in msgs)


def test_parrot_capture_over_udp_becomes_a_track_with_its_serial(tmp_path: Path) -> None:
    capture = DATA / "parrot_anafi4_real.pcapng"
    if not capture.exists():
        pytest.skip(f"shared data absent: {capture}")
    payloads = list(capture_payloads(capture.read_bytes(), Counters()))
    # start where the receiver first hears a Basic ID (the serial) together with a position:
    # a track born from MAC-keyed positions keeps that identity (see the report / README)
    first = next(i for i, (_, p) in enumerate(payloads) if _has_basic_id_and_location(p.data))
    t0 = payloads[first][0]
    payloads = [(t - t0, p.data) for t, p in payloads[first:] if t - t0 <= PLAY_S]

    async def scenario() -> None:
        async with running_service(SITE, tmp_path) as svc:
            port = svc.source.links.bound_ports["rid-1"]
            loop = asyncio.get_running_loop()
            start = loop.time()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                for dt, data in payloads:
                    await asyncio.sleep(max(0.0, dt - (loop.time() - start)))
                    tx.sendto(data, ("127.0.0.1", port))
                tx.sendto(b"\xf0\x19\x05short pack", ("127.0.0.1", port))
            tracks = await svc.poll(
                "/api/tracks?confirmed_only=true",
                lambda b: any(t["identity"] == SERIAL for t in b),
            )
            (tr,) = [t for t in tracks if t["identity"] == SERIAL]
            assert tr["sensors"] == ["rid-1"]
            assert (
                abs(tr["position"]["lat"] - 47.2) < 0.05
                and abs(tr["position"]["lon"] - 8.73) < 0.05
            )
        h = svc.source.sensor_health()["rid-1"]
        raws = [r for r in svc.journal.records(kinds=["raw"]) if isinstance(r, RawMessage)]
        svc.journal.close()
        assert h.accepted == len(raws) == len(payloads) and h.rejected_total >= 1
        dets = [d for r in raws for d in r.parsed["detections"]]
        assert len(dets) >= 40 and h.detections == len(dets)
        assert {r.format for r in raws} == {"remoteid"}

    asyncio.run(scenario())

"""SAPIENT TCP server on loopback with real client sockets."""

from __future__ import annotations

import asyncio
import struct

from sapient_helpers import NODE, OTHER, SKY, detection_latlon, registration, status
from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import Detection
from skywarden.sensors.links.sapient_server import SapientServer
from skywarden.sensors.sapient import SapientMessage, SapientSessions, frame, split_frames


async def _read_one(reader: asyncio.StreamReader) -> SapientMessage:
    (n,) = struct.unpack("<I", await reader.readexactly(4))
    msg = SapientMessage()
    msg.ParseFromString(await reader.readexactly(n))
    return msg


async def _scenario() -> None:
    got: list[tuple[str, list[Detection], float]] = []
    server = SapientServer(
        SapientSessions(GeoOrigin(51.0, -1.0), SKY),
        lambda sid, dets, t: got.append((sid, dets, t)),
        ManualClock(1000.0),
    )
    port = await server.start()
    try:
        # an unregistered node: its detection is refused, nothing delivered
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w2.write(frame(detection_latlon(node=OTHER)))
        await w2.drain()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(registration()))
        await writer.drain()
        ack = await _read_one(reader)
        assert ack.registration_ack.acceptance and ack.destination_id == NODE
        # garbage inside a valid frame, then valid traffic on the same connection
        writer.write(struct.pack("<I", 3) + b"\xff\xff\xff")
        data = frame(status()) + frame(detection_latlon())
        writer.write(data[:7])
        await writer.drain()
        writer.write(data[7:])
        await writer.drain()
        for _ in range(500):
            if got and server.stats().get("rejected.unregistered_node"):
                break
            await asyncio.sleep(0.01)
        ((sid, dets, t_recv),) = got
        assert sid == f"sapient-{NODE}" and t_recv == 1000.0
        assert dets[0].class_hint == "drone"
        stats = server.stats()
        assert stats["rejected.unregistered_node"] == 1
        assert stats["rejected.bad_protobuf"] == 1
        assert stats["accepted.detection_report"] == 1
        (health,) = [h for h in server.health() if h.node_id == NODE]
        assert health.registered and health.last_report_t == 1000.0 and health.accepted == 3
        # an absurd length closes only that connection
        w2.write(struct.pack("<I", 0xFFFFFFF0))
        await w2.drain()
        assert await r2.read() == b""
        assert server.stats()["rejected.bad_length"] == 1
        writer.close()
    finally:
        await server.stop()


def test_tcp_registered_delivered_unregistered_refused() -> None:
    asyncio.run(_scenario())


def test_split_frames_reexported_for_links() -> None:
    assert split_frames(b"") == ([], b"")

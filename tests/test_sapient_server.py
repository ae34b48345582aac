"""SAPIENT TCP server on loopback with real client sockets: journal before acknowledge."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import json_format

from adapters_helpers import MemoryIngest, wait_for
from sapient_helpers import NODE, OTHER, SKY, detection_latlon, registration, status
from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.sapient_server import SapientServer
from skywarden.sensors.sapient import SapientMessage, SapientSessions, frame, split_frames


async def _read_one(reader: asyncio.StreamReader) -> SapientMessage:
    (n,) = struct.unpack("<I", await asyncio.wait_for(reader.readexactly(4), 5))
    msg = SapientMessage()
    msg.ParseFromString(await reader.readexactly(n))
    return msg


async def _scenario() -> None:
    ingest = MemoryIngest()
    server = SapientServer(SapientSessions(GeoOrigin(51.0, -1.0), SKY), ingest, ManualClock(1000.0))
    port = await server.start()
    try:
        # an unregistered node: its detection is refused, nothing journaled
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w2.write(frame(detection_latlon(node=OTHER)))
        await w2.drain()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(registration()))
        await writer.drain()
        ack = await _read_one(reader)
        assert ack.registration_ack.acceptance and ack.destination_id == NODE
        # the registration was journaled before its acknowledgement was written
        assert [m.source for m in ingest.messages] == ["sapient"]
        # garbage inside a valid frame, then valid traffic on the same connection
        writer.write(struct.pack("<I", 3) + b"\xff\xff\xff")
        data = frame(status()) + frame(detection_latlon())
        writer.write(data[:7])
        await writer.drain()
        writer.write(data[7:])
        await writer.drain()
        await wait_for(
            lambda: ingest.detections and server.stats().get("rejected.unregistered_node")
        )
        (det,) = ingest.detections
        sid = f"sapient-{NODE}"
        assert [m.sensor_id for m in ingest.messages] == [sid] * 3
        assert ingest.messages[-1].received_t == 1000.0
        assert ingest.messages[-1].payload == detection_latlon().SerializeToString()
        assert det.class_hint == "drone" and det.sensor_id == sid  # type: ignore[attr-defined]
        stats = server.stats()
        assert stats["rejected.unregistered_node"] == 1
        assert stats["rejected.bad_protobuf"] == 1
        assert stats["accepted.detection_report"] == 1
        (health,) = [h for h in server.health() if h.node_id == NODE]
        assert health.registered and health.last_report_t == 1000.0 and health.accepted == 3
        # an absurd length closes only that connection
        w2.write(struct.pack("<I", 0xFFFFFFF0))
        await w2.drain()
        # ... after an Error for each refusal: the early detection, then the length
        bodies, rest = split_frames(await asyncio.wait_for(r2.read(), 5))
        errors = [SapientMessage.FromString(b) for b in bodies]
        assert rest == b"" and [e.WhichOneof("content") for e in errors] == ["error"] * 2
        assert errors[0].error.error_message[0].startswith("unregistered_node")
        assert errors[0].error.packet == detection_latlon(node=OTHER).SerializeToString()
        assert errors[1].error.error_message[0].startswith("bad_length")
        assert server.stats()["rejected.bad_length"] == 1
        # a node that drops its connection must register again
        writer.close()
        await wait_for(lambda: not server.sessions.nodes[NODE].registered)
        r3, w3 = await asyncio.open_connection("127.0.0.1", port)
        w3.write(frame(detection_latlon(n=5)))
        w3.write(frame(registration()))
        await w3.drain()
        assert (await _read_one(r3)).error.error_message[0].startswith("unregistered_node")
        assert (await _read_one(r3)).registration_ack.acceptance
        assert server.stats()["rejected.unregistered_node"] == 2
        w3.close()
    finally:
        await server.stop()


def test_tcp_registered_journaled_then_acked_unregistered_refused() -> None:
    asyncio.run(_scenario())


async def _journal_refuses() -> None:
    ingest = MemoryIngest()
    ingest.fail = True
    server = SapientServer(SapientSessions(GeoOrigin(51.0, -1.0), SKY), ingest, ManualClock(5.0))
    port = await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(registration()))
        await writer.drain()
        # no acknowledgement: the connection is closed instead, and the node is not registered
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert server.stats()["journal_failed"] == 1
        assert not server.sessions.nodes[NODE].registered
        writer.close()
    finally:
        await server.stop()


def test_no_ack_when_the_journal_refuses() -> None:
    asyncio.run(_journal_refuses())


async def _listed_only() -> None:
    ingest = MemoryIngest()
    stats = {NODE: SensorStats("radar-s", "sapient", "x", 7.0)}
    sessions = SapientSessions(GeoOrigin(51.0, -1.0), SKY, {NODE: ("radar-s", np.zeros(3))})
    server = SapientServer(sessions, ingest, ManualClock(7.0), node_stats=stats)
    port = await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(registration(node=OTHER)) + frame(registration()))
        await writer.drain()
        refused = await _read_one(reader)  # the unlisted node is told why, by name
        assert refused.destination_id == OTHER and not refused.registration_ack.acceptance
        assert refused.registration_ack.ack_response_reason[0].startswith("unlisted_node")
        ack = await _read_one(reader)
        assert ack.destination_id == NODE and ack.registration_ack.acceptance
        assert server.stats()["rejected.unlisted_node"] == 1
        writer.write(frame(detection_latlon()))
        await writer.drain()
        await wait_for(lambda: ingest.detections)
        (h,) = server.sensor_health(8.0)
        assert h.sensor_id == "radar-s" and h.registered and h.accepted == 2 and h.detections == 1
        assert ingest.messages[-1].sensor_id == "radar-s"
        writer.close()
    finally:
        await server.stop()


def test_only_the_nodes_listed_in_the_site_are_served() -> None:
    asyncio.run(_listed_only())


def test_split_frames_reexported_for_links() -> None:
    assert split_frames(b"") == ([], b"")


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "sapient" / "invalid"


def _invalid_bodies() -> list[bytes]:
    """The DSTL harness's invalid messages that protobuf can carry (the rest are JSON-only)."""
    out = []
    for p in sorted(CORPUS.glob("*.json")):
        try:
            msg = json_format.Parse(p.read_text(encoding="utf-8"), SapientMessage())
        except json_format.ParseError:
            continue
        out.append(msg.SerializeToString())
    return out


async def _corpus_on_one_connection(bodies: list[bytes]) -> None:
    ingest = MemoryIngest()
    server = SapientServer(SapientSessions(GeoOrigin(51.0, -1.0), SKY), ingest, ManualClock(9.0))
    port = await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(registration()))
        await writer.drain()
        assert (await _read_one(reader)).registration_ack.acceptance
        valid = 0
        for i, body in enumerate(bodies):
            writer.write(struct.pack("<I", len(body)) + body)
            if i % 10 == 9:  # valid traffic between the invalid messages, same connection
                writer.write(frame(detection_latlon(n=100 + valid)))
                valid += 1
        writer.write(frame(detection_latlon(n=100 + valid)))
        valid += 1
        await writer.drain()
        await wait_for(lambda: len(ingest.detections) == valid, 10)
        stats = server.stats()
        rejected = sum(v for k, v in stats.items() if k.startswith("rejected."))
        assert rejected == len(bodies), stats
        assert stats["accepted.detection_report"] == valid
        assert server.sessions.nodes[NODE].registered  # the connection never dropped
        writer.close()
    finally:
        await server.stop()


def test_every_invalid_corpus_message_refused_and_valid_traffic_keeps_flowing() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"shared data absent: {CORPUS}")
    bodies = _invalid_bodies()
    assert len(bodies) >= 150
    asyncio.run(_corpus_on_one_connection(bodies))

"""SAPIENT server under hostile or broken peers, with real sockets on loopback.

A node that re-registers on a new connection while its old one is still open takes over
(the old one is closed); silent connections are closed after the idle timeout; accepted
sockets carry TCP keepalive; and every refusal is answered as BSI Flex 335 v2.0 says
(RegistrationAck refused, TaskAck REJECTED, Error with the refused packet) and counted.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sapient_msg.bsi_flex_335_v2_0 import registration_pb2, task_ack_pb2, task_pb2

from adapters_helpers import MemoryIngest, wait_for
from sapient_helpers import NODE, OTHER, SKY, ULIDS, _msg, detection_latlon, registration, status
from skywarden.core.clock import ManualClock
from skywarden.core.geo import GeoOrigin
from skywarden.core.link_options import SapientLiveness
from skywarden.sensors.links.sapient_server import SapientServer
from skywarden.sensors.sapient import SapientMessage, SapientSessions, frame

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
TIME_UNITS_MILLISECONDS = registration_pb2.Registration.TIME_UNITS_MILLISECONDS


async def _read_one(reader: asyncio.StreamReader) -> SapientMessage:
    (n,) = struct.unpack("<I", await asyncio.wait_for(reader.readexactly(4), 5))
    return SapientMessage.FromString(await asyncio.wait_for(reader.readexactly(n), 5))


async def _send(conn: Conn, *msgs: SapientMessage | bytes) -> None:
    for m in msgs:
        conn[1].write(m if isinstance(m, bytes) else frame(m))
    await conn[1].drain()


@asynccontextmanager
async def _server(liveness: SapientLiveness | None = None) -> AsyncIterator[SapientServer]:
    ingest = MemoryIngest()
    srv = SapientServer(
        SapientSessions(GeoOrigin(51.0, -1.0), SKY), ingest, ManualClock(50.0),
        liveness=liveness,
    )  # fmt: skip
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def _connect(srv: SapientServer) -> Conn:
    return await asyncio.open_connection("127.0.0.1", srv.port)


def _task(task_id: str = ULIDS[9]) -> SapientMessage:
    m = _msg(NODE, 104.0)
    m.task.task_id = task_id
    m.task.control = task_pb2.Task.CONTROL_START
    return m


def _error_msg() -> SapientMessage:
    m = _msg(NODE, 105.0)
    m.error.packet = b"\x01"
    m.error.error_message.append("the node did not like something")
    return m


async def _takeover() -> None:
    async with _server() as srv:
        old = await _connect(srv)
        await _send(old, registration())
        assert (await _read_one(old[0])).registration_ack.acceptance
        # the link is lost without a FIN reaching us: the old socket stays open here, and the
        # node, reconnecting, registers again on a new connection
        new = await _connect(srv)
        await _send(new, registration(t=110.0))
        ack = await _read_one(new[0])
        assert ack.registration_ack.acceptance and ack.destination_id == NODE
        assert await asyncio.wait_for(old[0].read(), 5) == b""  # the old one was closed
        await _send(new, detection_latlon(t=111.0))
        await wait_for(lambda: len(srv.ingest.detections) == 1)  # type: ignore[attr-defined]
        node = srv.sessions.nodes[NODE]
        assert node.registered and srv.stats()["takeovers"] == 1
        assert "rejected.wrong_connection" not in srv.stats()
        new[1].close()


def test_reregistration_on_a_new_connection_takes_over() -> None:
    asyncio.run(_takeover())


async def _idle() -> None:
    async with _server(SapientLiveness(keepalive_s=7, idle_timeout_s=0.4)) as srv:
        quiet = await _connect(srv)
        fast = registration()  # promises a status report every 100 ms
        fast.registration.status_definition.status_interval.units = TIME_UNITS_MILLISECONDS
        fast.registration.status_definition.status_interval.value = 100
        await _send(quiet, fast)
        assert (await _read_one(quiet[0])).registration_ack.acceptance
        slow_node = await _connect(srv)  # promises one every 5 s: kept for 3 x 5 s
        await _send(slow_node, registration(node=OTHER))
        assert (await _read_one(slow_node[0])).registration_ack.acceptance
        chatty = await _connect(srv)
        # a partial frame is not a message: it does not keep a connection alive
        await _send(chatty, struct.pack("<I", 100) + b"\x00" * 10)
        # the quiet connection is closed, and its node must register again
        assert await asyncio.wait_for(quiet[0].read(), 10) == b""
        assert await asyncio.wait_for(chatty[0].read(), 10) == b""
        assert srv.stats()["idle_timeouts"] == 2
        assert not srv.sessions.nodes[NODE].registered
        # a node that keeps reporting faster than the timeout stays connected
        live = await _connect(srv)
        await _send(live, registration(t=200.0))
        assert (await _read_one(live[0])).registration_ack.acceptance
        for k in range(8):
            await _send(live, status(t=201.0 + k))
            await asyncio.sleep(0.15)
        assert srv.sessions.nodes[NODE].registered and srv.stats()["idle_timeouts"] == 2
        assert srv.stats()["accepted.status_report"] == 8
        assert srv.sessions.nodes[OTHER].registered  # silent 1.6 s, well inside its 15 s
        live[1].close()
        slow_node[1].close()


def test_silent_connections_are_closed_after_the_idle_timeout() -> None:
    asyncio.run(_idle())


async def _keepalive() -> None:
    async with _server(SapientLiveness(keepalive_s=12, idle_timeout_s=0)) as srv:
        conn = await _connect(srv)
        await _send(conn, registration())
        await _read_one(conn[0])
        (server_side,) = srv._writers.values()
        sock = server_side.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 12
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 4
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        conn[1].close()
    async with _server(SapientLiveness(keepalive_s=0, idle_timeout_s=0)) as srv:
        conn = await _connect(srv)
        await _send(conn, registration())
        await _read_one(conn[0])
        (server_side,) = srv._writers.values()
        sock = server_side.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        conn[1].close()


def test_accepted_sockets_carry_tcp_keepalive() -> None:
    asyncio.run(_keepalive())


async def _refusals() -> None:
    async with _server() as srv:
        conn = await _connect(srv)
        r = conn[0]
        # a report before registration: an Error carrying the refused packet
        await _send(conn, detection_latlon())
        err = await _read_one(r)
        assert err.WhichOneof("content") == "error" and err.destination_id == NODE
        assert err.node_id == SKY and err.error.packet == detection_latlon().SerializeToString()
        assert err.error.error_message[0].startswith("unregistered_node")
        # a registration that breaks an ICD rule: RegistrationAck refused, with the reason
        bad_reg = registration()
        bad_reg.registration.icd_version = "BSI Flex 335 v1.0"
        await _send(conn, bad_reg)
        ack = await _read_one(r)
        assert not ack.registration_ack.acceptance and ack.destination_id == NODE
        assert ack.registration_ack.ack_response_reason[0].startswith("wrong_icd_version")
        # an effector node: refused by the session rules, answered the same way
        await _send(conn, registration(node_type=14))  # NODE_TYPE_JAMMER
        ack = await _read_one(r)
        assert not ack.registration_ack.acceptance
        assert "effector" in ack.registration_ack.ack_response_reason[0]
        await _send(conn, registration())
        assert (await _read_one(r)).registration_ack.acceptance
        # a Task: skywarden takes none, TaskAck REJECTED by the Task's id
        await _send(conn, _task())
        tack = await _read_one(r)
        assert tack.WhichOneof("content") == "task_ack"
        assert tack.task_ack.task_id == ULIDS[9]
        assert tack.task_ack.task_status == task_ack_pb2.TaskAck.TASK_STATUS_REJECTED
        assert tack.task_ack.reason[0].startswith("task_not_accepted")
        # a Task whose id is not a ULID cannot be acknowledged by id: an Error
        await _send(conn, _task("not-a-ulid"))
        err = await _read_one(r)
        assert err.error.error_message[0].startswith("bad_ulid")
        # garbage inside a valid frame: an Error without a destination (no node id in it)
        garbage = b"\xff\xfe\xfd\x00"
        await _send(conn, struct.pack("<I", len(garbage)) + garbage)
        err = await _read_one(r)
        assert err.error.packet == garbage and not err.HasField("destination_id")
        assert err.error.error_message[0].startswith("bad_protobuf")
        # an Error from the node is counted, never answered (two nodes would loop);
        # the next reply is the one for the message after it
        await _send(conn, _error_msg(), struct.pack("<I", 1) + b"\xff")
        err = await _read_one(r)
        assert err.error.packet == b"\xff"
        # and valid traffic still flows on the same connection
        await _send(conn, detection_latlon(t=120.0))
        await wait_for(lambda: len(srv.ingest.detections) == 1)  # type: ignore[attr-defined]
        stats = srv.stats()
        assert stats["replies.error"] == 4
        assert stats["replies.registration_refused"] == 2
        assert stats["replies.task_rejected"] == 1
        assert stats["rejected.task_not_accepted"] == 1
        assert stats["accepted.error"] == 1
        assert stats["replies.registration_ack"] == 1
        conn[1].close()


def test_every_refusal_is_answered_as_the_icd_says_and_counted() -> None:
    asyncio.run(_refusals())


async def _broken_prefix() -> None:
    async with _server() as srv:
        conn = await _connect(srv)
        # one write: two whole messages, then a length prefix nothing can resync from
        await _send(conn, frame(registration()) + frame(detection_latlon()) + b"\0\0\0\0")
        ack = await _read_one(conn[0])
        assert ack.registration_ack.acceptance  # the whole messages before it were handled
        err = await _read_one(conn[0])
        assert err.error.error_message[0].startswith("bad_length")
        assert await asyncio.wait_for(conn[0].read(), 5) == b""  # then the link closed
        assert len(srv.ingest.detections) == 1  # type: ignore[attr-defined]
        assert srv.stats()["rejected.bad_length"] == 1


def test_messages_before_a_broken_length_prefix_are_still_handled() -> None:
    asyncio.run(_broken_prefix())

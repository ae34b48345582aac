"""SAPIENT TCP server: edge nodes connect, register, and stream reports (asyncio).

Framing and every rule live in :mod:`skywarden.sensors.sapient`; this module only moves
bytes. Per connection, per chunk read: ``split_frames`` -> ``parse_message`` ->
``SapientSessions`` for each frame; every accepted message becomes an
:class:`~skywarden.core.inbound.Inbound` (payload = the protobuf body, detections = what it
carried), the chunk's messages go to the ingest port in one ``submit``, and only when that
returns (journaled) are the replies (``RegistrationAck``) written back. If the journal
refuses, nothing is acknowledged and the connection is closed (the node reconnects and
registers again). A malformed or refused message is counted (``rejected.<reason>``, per node
and in total) and the connection keeps flowing; only a broken length prefix (no way to
resynchronise) closes the connection.

Refusals are answered as the ICD says (:mod:`skywarden.sensors.sapient_replies`): a
refused Registration gets ``RegistrationAck`` with ``acceptance = false`` and the reason, a
Task ``TaskAck`` REJECTED, anything else malformed or not allowed an ``Error`` carrying the
refused bytes; a broken length prefix gets an ``Error`` before the close. Each reply is
counted (``replies.<kind>``) next to ``rejected.<reason>``, and written in order with the
acknowledgements, after the chunk's accepted messages were journaled.

Takeover: a node that registers on a new connection while still registered on an old one
(a half-open socket after a link loss) takes over; the old connection is closed
(``takeovers``). Liveness (``SapientLiveness``): TCP keepalive on every accepted socket
(probes after ``keepalive_s`` idle, 3 probes ``keepalive_s / 3`` apart), and a connection
that delivers no complete message for ``idle_timeout_s`` is closed (``idle_timeouts``); its
node must register again. A node sends StatusReports at the interval it registered, so a
live node is never that silent: for a node that declared a slower status interval, its
connection's timeout is stretched to three of its intervals.

Which nodes may speak: with ``node_stats`` (node UUID -> that sensor's tally), only the
listed nodes are served; anything from another node is refused as ``unlisted_node``. A node
that disconnects is no longer registered: it must register again on its new connection.

Health per node (``health()`` / ``sensor_health(now)``): registered, last report receive
time, rate, accepted/rejected counts. The receive time comes from the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skywarden.core import config_fields as f
from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.errors import ConfigError, InputRejected
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.core.link_options import SAPIENT_KEYS, SapientLiveness, parse_sapient_liveness
from skywarden.core.site import Site
from skywarden.core.types import Vec
from skywarden.sensors.links.health import SensorHealth, SensorStats
from skywarden.sensors.links.registry import (
    LinkConfig,
    LinkContext,
    LinkKind,
    Member,
    Started,
    by_endpoint,
    register,
)
from skywarden.sensors.sapient import (
    MessageKind,
    ParsedMessage,
    SapientSessions,
    frame,
    parse_message,
    split_frames_upto,
)
from skywarden.sensors.sapient_replies import refusal, reply_kind

log = logging.getLogger(__name__)
SOURCE = "sapient"
_READ_BYTES = 65536


@dataclass(frozen=True)
class NodeHealth:
    node_id: str
    sensor_id: str
    registered: bool
    last_report_t: float | None
    accepted: int
    rejected: dict[str, int]


class SapientServer:
    """Accepts SAPIENT node connections on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        sessions: SapientSessions,
        ingest: IngestPort,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        node_stats: Mapping[str, SensorStats] | None = None,
        liveness: SapientLiveness | None = None,
    ) -> None:
        self.sessions = sessions
        self.liveness = liveness or SapientLiveness()
        self.ingest = ingest
        self.clock = clock
        self.host, self.port = host, port
        self.counters = Counters()
        self._listed = node_stats is not None
        self._per_node: dict[str, SensorStats] = dict(node_stats or {})
        self._server: asyncio.Server | None = None
        self._conn_ids = itertools.count(1)
        self._tasks: set[asyncio.Future[None]] = set()
        self._writers: dict[int, asyncio.StreamWriter] = {}

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        for st in self._per_node.values():
            st.state, st.registered = "listening", False
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers.values()):
                w.transport.abort()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        for st in self._per_node.values():
            st.state = "stopped"

    def stats(self) -> dict[str, int]:
        return self.counters.snapshot()

    def health(self) -> list[NodeHealth]:
        out = []
        for node_id, node in self.sessions.nodes.items():
            st = self._per_node.get(node_id)
            c = st.counters.snapshot() if st else {}
            rejected = {k.split(".", 1)[1]: v for k, v in c.items() if k.startswith("rejected.")}
            out.append(
                NodeHealth(
                    node_id,
                    self.sessions.sensor_id(node_id),
                    node.registered,
                    node.last_report_t,
                    c.get("journaled", 0),
                    rejected,
                )
            )
        return out

    def sensor_health(self, now: float) -> list[SensorHealth]:
        """One snapshot per node this server knows (the listed ones, or every one seen)."""
        out = []
        for node_id, st in self._per_node.items():
            node = self.sessions.nodes.get(node_id)
            st.registered = bool(node and node.registered)
            if self._server is not None and st.last_report_t is not None:
                st.state = "registered" if st.registered else "unregistered"
            out.append(st.snapshot(now))
        return out

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn_id = next(self._conn_ids)
        self._writers[conn_id] = writer
        self.counters.inc("connections")
        self._keepalive(writer)
        loop = asyncio.get_running_loop()
        last_message = loop.time()
        buf = b""
        try:
            while True:
                idle = self._idle_timeout(conn_id)
                wait = None if idle is None else last_message + idle - loop.time()
                if wait is not None and wait <= 0:
                    self.counters.inc("idle_timeouts")
                    break
                try:
                    chunk = await asyncio.wait_for(reader.read(_READ_BYTES), wait)
                except TimeoutError:
                    self.counters.inc("idle_timeouts")
                    break
                if not chunk:
                    break
                buf += chunk
                bodies, buf, broken = split_frames_upto(buf)
                if bodies:
                    last_message = loop.time()
                if not await self._chunk(bodies, conn_id, writer):
                    break
                if broken is not None:  # no sync marker to recover from: answer, then close
                    self.counters.inc(f"rejected.{broken.reason}")
                    self._send(writer, self._refuse(buf[:64], broken, None, None))
                    with contextlib.suppress(Exception):
                        await writer.drain()
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.pop(conn_id, None)
            self._release(conn_id)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _chunk(self, bodies: list[bytes], conn_id: int, writer: asyncio.StreamWriter) -> bool:
        """Handle one read's complete messages; False when the connection must close."""
        batch: list[Inbound] = []
        replies: list[bytes] = []
        superseded: list[int] = []
        for body in bodies:
            inbound, out, old = self._handle(body, conn_id)
            if inbound is not None:
                batch.append(inbound)
            replies.extend(out)
            if old is not None:
                superseded.append(old)
        if batch and not await self._journal(batch):
            return False  # not journaled: acknowledge nothing, drop the link
        for reply in replies:
            writer.write(reply)
        await writer.drain()
        for old in superseded:
            self._close_superseded(old)
        return True

    def _idle_timeout(self, conn_id: int) -> float | None:
        """Seconds of silence after which this connection is closed (None: never).

        The configured timeout, stretched to three status intervals of a node registered on
        this connection when it promised a slower status rate than that.
        """
        idle = self.liveness.idle_timeout_s
        if idle <= 0:
            return None
        for node in self.sessions.nodes.values():
            if node.registered and node.conn_id == conn_id and node.status_interval_s:
                idle = max(idle, min(3.0 * node.status_interval_s, 86_400.0))
        return idle

    def _close_superseded(self, conn_id: int) -> None:
        old = self._writers.pop(conn_id, None)
        if old is not None:
            self.counters.inc("takeovers")
            old.transport.abort()  # half-open or not, that link no longer speaks for the node

    def _keepalive(self, writer: asyncio.StreamWriter) -> None:
        """TCP keepalive on an accepted socket: finds a peer that vanished without a FIN."""
        ka = self.liveness.keepalive_s
        sock = writer.get_extra_info("socket")
        if ka <= 0 or sock is None:
            return
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for name, value in (
                ("TCP_KEEPIDLE", ka),
                ("TCP_KEEPINTVL", max(1.0, ka / 3)),
                ("TCP_KEEPCNT", 3),
            ):
                opt = getattr(socket, name, None)  # Linux names; absent elsewhere
                if opt is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, opt, max(1, int(value)))

    def _send(self, writer: asyncio.StreamWriter, reply: bytes | None) -> None:
        if reply is not None:
            writer.write(reply)

    async def _journal(self, batch: list[Inbound]) -> bool:
        try:
            await self.ingest.submit(batch)
        except Exception:
            log.exception(
                "SAPIENT: the journal refused %d message(s); not acknowledged", len(batch)
            )
            self.counters.inc("journal_failed", len(batch))
            for inb in batch:
                for node_id, st in self._per_node.items():
                    if self.sessions.sensor_id(node_id) == inb.sensor_id:
                        st.counters.inc("journal_failed")
            return False
        return True

    def _release(self, conn_id: int) -> None:
        """The connection is gone: its nodes must register again to be heard."""
        for node in self.sessions.nodes.values():
            if node.conn_id == conn_id:
                node.registered, node.conn_id = False, None
                self.counters.inc("disconnected_nodes")

    def handle_body(self, body: bytes, conn_id: int) -> tuple[Inbound | None, list[bytes]]:
        """One message body -> (what to journal, framed replies); counts (the testable step)."""
        inbound, replies, _ = self._handle(body, conn_id)
        return inbound, replies

    def _handle(self, body: bytes, conn_id: int) -> tuple[Inbound | None, list[bytes], int | None]:
        """``handle_body`` plus the connection a re-registration took the node from."""
        t_recv = self.clock.now()
        pm: ParsedMessage | None = None
        try:
            pm = parse_message(body, t_recv)
            if self._listed and pm.node_id not in self._per_node:
                raise InputRejected("unlisted_node", f"node {pm.node_id} is not in the site")
            outcome = self.sessions.handle(pm, conn_id)
        except InputRejected as e:
            self._count(pm.node_id if pm else None, f"rejected.{e.reason}")
            return None, self._replies(self._refuse(body, e, pm, t_recv)), None
        except Exception:  # a parser bug must not stop the stream: count it, keep going
            log.exception("SAPIENT message from %s raised", pm.node_id if pm else "?")
            self._count(pm.node_id if pm else None, "rejected.internal_error")
            err = InputRejected("internal_error", "the message could not be handled")
            return None, self._replies(self._refuse(body, err, pm, t_recv)), None
        self.counters.inc(f"accepted.{pm.kind.value}")
        st = self._stats_for(pm.node_id)
        st.accepted(t_recv, len(outcome.detections))
        if pm.kind is MessageKind.REGISTRATION:
            node = self.sessions.nodes.get(pm.node_id)
            st.registered = bool(node and node.registered)
        inbound = Inbound(
            sensor_id=self.sessions.sensor_id(pm.node_id),
            source=SOURCE,
            received_t=t_recv,
            payload=bytes(body),
            detections=tuple(outcome.detections),
        )
        for r in outcome.replies:
            self.counters.inc(f"replies.{reply_kind(r)}")
        return inbound, [frame(r) for r in outcome.replies], outcome.superseded_conn

    def _refuse(
        self, body: bytes, e: InputRejected, pm: ParsedMessage | None, t: float | None
    ) -> bytes | None:
        """The framed ICD answer to a refused message (None: a refused Error is not answered)."""
        t_reply = self.clock.now() if t is None else t
        reply = refusal(self.sessions.own_node_id, body, t_reply, e, pm)
        if reply is None:
            return None
        self.counters.inc(f"replies.{reply_kind(reply)}")
        return frame(reply)

    @staticmethod
    def _replies(reply: bytes | None) -> list[bytes]:
        return [] if reply is None else [reply]

    def _stats_for(self, node_id: str) -> SensorStats:
        st = self._per_node.get(node_id)
        if st is None:
            st = SensorStats(
                self.sessions.sensor_id(node_id),
                SOURCE,
                f"{self.host}:{self.port}",
                self.clock.now(),
            )
            st.state = "receiving"
            self._per_node[node_id] = st
        return st

    def _count(self, node_id: str | None, name: str) -> None:
        self.counters.inc(name)
        if node_id is None:
            return
        if node_id in self._per_node or (not self._listed and node_id in self.sessions.nodes):
            self._stats_for(node_id).counters.inc(name)


# ----------------------------------------------------------------------------- link kind


def default_own_node_id(site: Site) -> str:
    """skywarden's SAPIENT node UUID when the site names none: stable per site name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:skywarden:site:{site.name}"))


def _uuid(v: object, path: str) -> str:
    s = f.string(v, path)
    try:
        uuid.UUID(s)
    except ValueError:
        raise ConfigError(path, f"{s!r} is not a UUID") from None
    return s.lower()


@dataclass(frozen=True)
class SapientLinkConfig(LinkConfig):
    node_id: str = ""  # the UUID of the node that is this sensor
    own_node_id: str | None = None  # skywarden's own node UUID (default: from the site name)
    liveness: SapientLiveness = field(default_factory=SapientLiveness)


@register
class SapientKind(LinkKind):
    """``protocol = "sapient"``: TCP server; nodes connect and register (BSI Flex 335 v2.0).

    Keys: ``node_id`` (the node's UUID, required), ``own_node_id`` (skywarden's UUID),
    ``keepalive_s``, ``idle_timeout_s`` (``core.link_options``). Several sensors on one
    bind address share one server; a node not listed in the site is refused."""

    name = "sapient"
    binds = True
    keys = frozenset({"node_id", "own_node_id"}) | SAPIENT_KEYS
    doc = "TCP server: SAPIENT nodes connect to skywarden and register"

    def parse(self, table: Mapping[str, Any], base: LinkConfig, path: str) -> LinkConfig:
        own = table.get("own_node_id")
        return SapientLinkConfig(
            **base.__dict__,
            node_id=_uuid(f.req(table, "node_id", path), f"{path}.node_id"),
            own_node_id=None if own is None else _uuid(own, f"{path}.own_node_id"),
            liveness=parse_sapient_liveness(table, path),
        )

    def conflict_key(self, m: Member) -> tuple[object, ...]:
        assert isinstance(m.config, SapientLinkConfig)
        return ("sapient", m.config.node_id)

    async def start(self, ctx: LinkContext, members: Sequence[Member]) -> list[Started]:
        out = []
        for (host, port), group in by_endpoint(members).items():
            cfgs = [m.config for m in group if isinstance(m.config, SapientLinkConfig)]
            own = next((c.own_node_id for c in cfgs if c.own_node_id), None)
            sensor_map: dict[str, tuple[str, Vec]] = {}
            node_stats: dict[str, SensorStats] = {}
            for m, c in zip(group, cfgs, strict=True):
                sensor_map[c.node_id] = (m.spec.id, m.spec.position_enu)
                node_stats[c.node_id] = ctx.stats[m.spec.id]
            sessions = SapientSessions(
                ctx.site.origin, own or default_own_node_id(ctx.site), sensor_map
            )
            srv = SapientServer(
                sessions, ctx.ingest, ctx.clock, host, port, node_stats, _lenient(cfgs)
            )
            ctx.bound(group, host, await srv.start())
            out.append(
                Started(srv, srv.stop, srv.stats, f"links.sapient.{srv.port}", srv.sensor_health)
            )
        return out


def _lenient(cfgs: Sequence[SapientLinkConfig]) -> SapientLiveness:
    """One server serves several nodes: the most lenient setting of each (0 = off wins)."""
    if not cfgs:
        return SapientLiveness()

    def pick(values: list[float]) -> float:
        return 0.0 if 0.0 in values else max(values)

    return SapientLiveness(
        pick([c.liveness.keepalive_s for c in cfgs]),
        pick([c.liveness.idle_timeout_s for c in cfgs]),
    )

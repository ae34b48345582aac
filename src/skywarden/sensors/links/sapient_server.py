"""SAPIENT TCP server: edge nodes connect, register, and stream reports (asyncio).

Framing and every rule live in :mod:`skywarden.sensors.sapient`; this module only moves
bytes. Per connection: read -> ``split_frames`` -> ``parse_message`` -> ``SapientSessions``
-> replies written back (``RegistrationAck``) and accepted detections handed to
``on_detections(sensor_id, detections, t_recv)``. A malformed or refused message is counted
(``rejected.<reason>``, per node and in total) and the connection keeps flowing; only a
broken length prefix (no way to resynchronise) closes the connection.

Health per node (``health()``): registered, last report receive time, accepted/rejected
counts. The receive time comes from the injected clock (``core.clock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.observation import Detection
from skywarden.sensors.sapient import (
    ParsedMessage,
    SapientSessions,
    frame,
    parse_message,
    split_frames,
)

log = logging.getLogger(__name__)
OnDetections = Callable[[str, list[Detection], float], None]
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
        on_detections: OnDetections,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.sessions = sessions
        self.on_detections = on_detections
        self.clock = clock
        self.host, self.port = host, port
        self.counters = Counters()
        self._per_node: dict[str, Counters] = {}
        self._server: asyncio.Server | None = None
        self._conn_ids = itertools.count(1)
        self._tasks: set[asyncio.Future[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    def stats(self) -> dict[str, int]:
        return self.counters.snapshot()

    def health(self) -> list[NodeHealth]:
        out = []
        for node_id, node in self.sessions.nodes.items():
            c = self._per_node.get(node_id, Counters()).snapshot()
            rejected = {k.split(".", 1)[1]: v for k, v in c.items() if k.startswith("rejected.")}
            out.append(
                NodeHealth(
                    node_id,
                    self.sessions.sensor_id(node_id),
                    node.registered,
                    node.last_report_t,
                    c.get("accepted", 0),
                    rejected,
                )
            )
        return out

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn_id = next(self._conn_ids)
        self.counters.inc("connections")
        buf = b""
        try:
            while chunk := await reader.read(_READ_BYTES):
                buf += chunk
                try:
                    bodies, buf = split_frames(buf)
                except InputRejected as e:
                    self.counters.inc(f"rejected.{e.reason}")
                    break
                for body in bodies:
                    for reply in self.handle_body(body, conn_id):
                        writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    def handle_body(self, body: bytes, conn_id: int) -> list[bytes]:
        """One message body -> framed replies; counts and delivers (the testable step)."""
        t_recv = self.clock.now()
        pm: ParsedMessage | None = None
        try:
            pm = parse_message(body, t_recv)
            outcome = self.sessions.handle(pm, conn_id)
        except InputRejected as e:
            self._count(pm.node_id if pm else None, f"rejected.{e.reason}")
            return []
        except Exception:  # a parser bug must not stop the stream: count it, keep going
            log.exception("SAPIENT message from %s raised", pm.node_id if pm else "?")
            self._count(pm.node_id if pm else None, "rejected.internal_error")
            return []
        self._count(pm.node_id, "accepted")
        self.counters.inc(f"accepted.{pm.kind.value}")
        if outcome.detections:
            self.on_detections(outcome.detections[0].sensor_id, list(outcome.detections), t_recv)
        return [frame(r) for r in outcome.replies]

    def _count(self, node_id: str | None, name: str) -> None:
        self.counters.inc(name)
        if node_id is not None and node_id in self.sessions.nodes:
            self._per_node.setdefault(node_id, Counters()).inc(name)

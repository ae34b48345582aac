"""A bound UDP socket whose datagrams wait in a bounded queue for an async consumer.

Why: asyncio hands datagrams to a synchronous callback, but an accepted message may only be
counted as taken in once the ingest port has journaled it (an ``await``). The callback
therefore only stamps each datagram with the injected clock and queues it; the link's task
takes everything queued in one go, parses it, and submits one batch. When the journal falls
behind and the queue is full, further datagrams are dropped and counted
(``dropped.queue_full``): UDP has no back-pressure, and an unbounded queue would hide the
loss until memory ran out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from skywarden.core.clock import Clock
from skywarden.core.counters import Counters

QUEUE_MAX = 8192


@dataclass(frozen=True)
class Datagram:
    data: bytes
    addr: tuple[str, int]
    t_recv: float


class DatagramInbox(asyncio.DatagramProtocol):
    """The socket side: stamp, queue, count; never parses."""

    def __init__(self, clock: Clock, counters: Counters, maxsize: int = QUEUE_MAX) -> None:
        self.clock = clock
        self.counters = counters
        self.queue: asyncio.Queue[Datagram] = asyncio.Queue(maxsize)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.counters.inc("link.datagrams")
        host = str(addr[0]) if addr else ""
        port = int(addr[1]) if len(addr) >= 2 and isinstance(addr[1], int) else 0
        try:
            self.queue.put_nowait(Datagram(bytes(data), (host, port), self.clock.now()))
        except asyncio.QueueFull:
            self.counters.inc("dropped.queue_full")

    async def take(self) -> list[Datagram]:
        """Wait for one datagram, then take every one already queued with it."""
        out = [await self.queue.get()]
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


async def bind(host: str, port: int, inbox: DatagramInbox) -> tuple[asyncio.DatagramTransport, int]:
    """Bind ``inbox`` on ``host:port`` (0: a free port); returns the transport and the port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: inbox, local_addr=(host, port))
    return transport, int(transport.get_extra_info("sockname")[1])


class UdpConsumer:
    """A bound datagram socket and the task that consumes its inbox: what every UDP link
    (ASTERIX, Remote ID) starts, and stops by closing the socket and cancelling the task."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.consumer: asyncio.Task[None] | None = None

    async def start(
        self,
        host: str,
        port: int,
        inbox: DatagramInbox,
        run: Callable[[], Coroutine[Any, Any, None]],
        name: str,
    ) -> int:
        """Bind ``inbox`` and start ``run()`` as task ``name-PORT``; returns the bound port."""
        self.transport, bound = await bind(host, port, inbox)
        self.consumer = asyncio.create_task(run(), name=f"{name}-{bound}")
        return bound

    async def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.consumer is not None:
            self.consumer.cancel()
            await asyncio.gather(self.consumer, return_exceptions=True)
            self.consumer = None

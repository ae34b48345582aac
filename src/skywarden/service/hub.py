"""WebSocket fan-out: one bounded queue and one sender task per client; publishing never waits.

Why: the naive broadcast loop (``for ws in clients: await ws.send(...)``) lets one slow
operator laptop on a bad link stall every other screen. Here ``publish`` encodes the picture
once and *offers* it to each client's queue without awaiting; each client's own sender task
drains its queue at the pace of that client's socket.

Back-pressure policy (for a live air picture, fresh beats complete):

- Every message is a whole picture, so nothing is lost by skipping one. When a client's
  queue is full, everything queued for it is dropped (counted in ``ws.dropped``), and the
  newest picture is queued marked ``resync``: the client replaces its picture and carries on
  (``ws.resyncs``). Raise ``ServiceSettings.ws_queue_size`` if screens resync too often.
- A send that takes longer than ``ws_send_timeout_s`` (a client that stopped reading while
  its TCP window is full) closes that client (``ws.stalled``); the console reconnects.

Everything here runs on the event loop thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable

from skywarden.core.counters import Counters
from skywarden.service.schemas import PictureOut

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]


class Outgoing:
    """One queued message: a picture encoded once; the resync variant only when one is needed."""

    def __init__(self, picture: PictureOut) -> None:
        self.seq = picture.seq
        self._picture = picture
        self.text = picture.model_dump_json()
        self._resync_text: str | None = None

    @property
    def resync_text(self) -> str:
        if self._resync_text is None:
            self._resync_text = self._picture.model_copy(update={"resync": True}).model_dump_json()
        return self._resync_text


class ClientChannel:
    """One client's bounded queue. ``offer`` never blocks; see the module docstring."""

    def __init__(self, client_id: int, maxsize: int, counters: Counters) -> None:
        self.id = client_id
        self.queue: asyncio.Queue[tuple[Outgoing, bool]] = asyncio.Queue(maxsize)
        self._counters = counters
        self.sent = 0
        self.dropped = 0

    def offer(self, msg: Outgoing, resync: bool = False) -> None:
        if self.queue.full():
            n = self._drain()
            self.dropped += n
            self._counters.inc("ws.dropped", n)
            self._counters.inc("ws.resyncs")
            log.warning(
                "websocket client %d is behind: dropped %d pictures, resyncing "
                "(raise ws_queue_size if this repeats)",
                self.id,
                n,
            )
            resync = True
        self.queue.put_nowait((msg, resync))

    def _drain(self) -> int:
        n = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            n += 1
        return n

    async def run_sender(self, send: Send, timeout_s: float) -> None:
        """Send queued messages until cancelled; return when a send times out (stalled)."""
        while True:
            msg, resync = await self.queue.get()
            try:
                async with asyncio.timeout(timeout_s):
                    await send(msg.resync_text if resync else msg.text)
            except TimeoutError:
                self._counters.inc("ws.stalled")
                log.warning(
                    "websocket client %d stalled for %.1f s: closing it", self.id, timeout_s
                )
                return
            self.sent += 1
            self._counters.inc("ws.sent")


class PictureHub:
    """The set of connected clients and the latest encoded picture."""

    def __init__(self, queue_size: int = 8, send_timeout_s: float = 5.0) -> None:
        self.queue_size = queue_size
        self.send_timeout_s = send_timeout_s
        self.counters = Counters()
        self.clients: dict[int, ClientChannel] = {}
        self.latest: Outgoing | None = None
        self._ids = itertools.count(1)

    def connect(self) -> ClientChannel:
        """Register a client; it is first sent the latest picture, marked resync."""
        ch = ClientChannel(next(self._ids), self.queue_size, self.counters)
        self.clients[ch.id] = ch
        self.counters.inc("ws.connects")
        if self.latest is not None:
            ch.offer(self.latest, resync=True)
        return ch

    def disconnect(self, ch: ClientChannel) -> None:
        if self.clients.pop(ch.id, None) is not None:
            self.counters.inc("ws.disconnects")

    def publish(self, msg: Outgoing) -> None:
        self.latest = msg
        self.counters.inc("ws.published")
        for ch in list(self.clients.values()):
            ch.offer(msg)

    def stats(self) -> dict[str, int]:
        return {**self.counters.snapshot(), "ws.clients": len(self.clients)}

"""WebSocket fan-out: one bounded queue and one sender task per client; publishing never waits.

Why: the naive broadcast loop (``for ws in clients: await ws.send(...)``) lets one slow
operator laptop on a bad link stall every other screen. Here ``publish`` encodes the picture
once and *offers* it to each client's queue without awaiting; each client's own sender task
drains its queue at the pace of that client's socket.

Back-pressure policy (for a live air picture, fresh beats complete):

- A client is sent the whole picture first (``resync``), then one delta per update, each
  relative to the update before it (``Outgoing``). When a client's queue is full, everything
  queued for it is dropped (counted in ``ws.dropped``), and the newest update is queued as a
  whole picture marked ``resync``: the client replaces its picture, and the deltas that
  follow build on it (``ws.resyncs``). Raise ``ServiceSettings.ws_queue_size`` if screens
  resync too often.
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
from skywarden.service.schemas import DeltaOut, PictureOut

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]


class Outgoing:
    """One queued update, encoded once for every client: a delta against the picture published
    before it (``DeltaOut``), and the whole picture for a client that starts over (resync).

    Between two pictures of a live site most tracks did not change (a radar turns once a
    second, an RF sensor reports now and then), so the delta is what a screen needs: the
    tracks that changed or appeared, the ids that went away, and the (short) alert list.
    """

    def __init__(self, picture: PictureOut, previous: PictureOut | None = None) -> None:
        self.seq = picture.seq
        self.picture = picture
        self._resync_text: str | None = None
        if previous is None:  # nothing to be relative to: the whole picture
            self.text = self.resync_text
            self.is_delta = False
            return
        before = {tr.id: tr for tr in previous.tracks}
        upsert = [tr for tr in picture.tracks if before.get(tr.id) != tr]
        now = {tr.id for tr in picture.tracks}
        delta = DeltaOut(
            seq=picture.seq,
            t=picture.t,
            wall_t=picture.wall_t,
            base_seq=previous.seq,
            upsert=upsert,
            remove=[tid for tid in before if tid not in now],
            alerts=picture.alerts,
            bearings=picture.bearings,
        )
        self.text = delta.model_dump_json()
        self.is_delta = True

    @property
    def resync_text(self) -> str:
        if self._resync_text is None:
            self._resync_text = self.picture.model_copy(update={"resync": True}).model_dump_json()
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

    def publish(self, picture: PictureOut) -> Outgoing:
        """Encode ``picture`` (as a delta against the last one) and offer it to every client."""
        msg = Outgoing(picture, None if self.latest is None else self.latest.picture)
        self.latest = msg
        self.counters.inc("ws.published")
        for ch in list(self.clients.values()):
            ch.offer(msg)
        return msg

    def stats(self) -> dict[str, int]:
        return {**self.counters.snapshot(), "ws.clients": len(self.clients)}

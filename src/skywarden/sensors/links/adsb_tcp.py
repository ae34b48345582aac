"""TCP clients for dump1090/readsb outputs: Beast binary (port 30005) and SBS-1 (30003).

The sockets live here; parsing is in ``sensors.adsb_beast`` / ``adsb_sbs`` / ``adsb_decode``.
A session reads chunks, hands them to the pure splitter (Beast: frames plus remainder; SBS:
lines), times each message with the injected clock and feeds the decoder. Every message the
decoder accepts becomes an :class:`~skywarden.core.inbound.Inbound` (payload: the Beast
frame re-encoded, or the SBS line; detections: the position it yielded, if any); one chunk's
messages go to the ingest port in one ``submit`` before the next chunk is read, so a slow
journal slows the reader (TCP back-pressure) rather than dropping. There is nothing to
acknowledge on these feeds.

The decoder counts into the sensor's :class:`~skywarden.sensors.links.health.TapCounters`
(``decoder.counters`` is set to ``stats.counters``), so rejects by reason show in the
sensor's health and a session knows whether the message it just fed was accepted. A reject
never stops the stream. A session returns when the peer closes; :func:`run_with_reconnect`
is the live policy: reconnect with exponential back-off (0.5 s doubling to 30 s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Protocol

from skywarden.core.clock import Clock
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.core.observation import Detection
from skywarden.sensors.adsb_beast import encode_frame, split_frames
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.adsb_sbs import SbsDecoder
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.registry import LinkContext, LinkKind, Member, Started, register

log = logging.getLogger(__name__)
MAX_LINE = 4096
_READ_BYTES = 65536
BEAST_SOURCE = "adsb-beast"
SBS_SOURCE = "adsb-sbs"


async def beast_session(
    host: str,
    port: int,
    decoder: AdsbDecoder,
    clock: Clock,
    ingest: IngestPort,
    stats: SensorStats,
) -> None:
    """Connect to a Beast output and decode until the peer closes."""
    decoder.counters = tap = stats.counters
    async with connected(host, port, stats) as reader:
        rem = b""
        while chunk := await reader.read(_READ_BYTES):
            tap.inc("link.bytes", len(chunk))
            split = split_frames(rem + chunk)
            rem = split.remainder[-64:]
            for rej in split.rejects:
                stats.rejected(rej.reason)
            t = clock.now()
            batch: list[Inbound] = []
            for f in split.frames:
                tap.inc("link.frames")
                if f.kind == "1":
                    continue  # Mode A/C: no address, nothing to track
                inb = fed(decoder, f.hex, t, stats, BEAST_SOURCE, partial(encode_frame, f))
                if inb is not None:
                    batch.append(inb)
            if batch:
                await submit(ingest, batch, stats)


async def sbs_session(
    host: str,
    port: int,
    decoder: SbsDecoder,
    clock: Clock,
    ingest: IngestPort,
    stats: SensorStats,
) -> None:
    """Connect to a BaseStation output and decode until the peer closes."""
    decoder.counters = stats.counters
    async with connected(host, port, stats) as reader:
        buf = b""
        skipping = False  # inside an over-long line: drop up to its newline
        while chunk := await reader.read(_READ_BYTES):
            stats.counters.inc("link.bytes", len(chunk))
            lines = (buf + chunk).split(b"\n")
            buf = lines.pop()
            if skipping and lines:
                lines.pop(0)
                skipping = False
            if len(buf) > MAX_LINE:
                if not skipping:
                    stats.rejected("sbs_line_too_long")
                buf, skipping = b"", True
            await _sbs_lines(lines, decoder, clock, ingest, stats)
        if buf.strip() and not skipping:
            await _sbs_lines([buf], decoder, clock, ingest, stats)


async def _sbs_lines(
    lines: list[bytes],
    decoder: SbsDecoder,
    clock: Clock,
    ingest: IngestPort,
    stats: SensorStats,
) -> None:
    t = clock.now()
    batch: list[Inbound] = []
    for raw in lines:
        if len(raw) > MAX_LINE:
            stats.rejected("sbs_line_too_long")
            continue
        line = raw.decode("ascii", errors="replace").strip()
        if not line:
            continue
        inb = fed(decoder, line, t, stats, SBS_SOURCE, raw.strip)
        if inb is not None:
            batch.append(inb)
    if batch:
        await submit(ingest, batch, stats)


@asynccontextmanager
async def connected(
    host: str, port: int, stats: SensorStats
) -> AsyncIterator[asyncio.StreamReader]:
    """The TCP connection of one session: the sensor shows "connected" while it is open and
    "disconnected" once it is closed, however the session ended."""
    reader, writer = await asyncio.open_connection(host, port)
    stats.state = "connected"
    try:
        yield reader
    finally:
        stats.state = "disconnected"
        writer.close()


class _Feeds(Protocol):
    sensor_id: str

    def feed(self, msg: str, t: float, /) -> Detection | None: ...


def fed(
    decoder: _Feeds,
    msg: str,
    t: float,
    stats: SensorStats,
    source: str,
    payload: Callable[[], bytes],
) -> Inbound | None:
    """Feed one message: the :class:`Inbound` to journal if the decoder accepted it, else
    None (its reject is counted by reason in ``stats.counters``, the decoder's counters, which
    is also how an accept is seen: the decoder returns None for an accepted message without a
    position). ``payload`` is only built for an accepted message."""
    before = stats.counters.accepts
    det = decoder.feed(msg, t)
    if stats.counters.accepts == before:
        return None
    dets = () if det is None else (det,)
    stats.accepted(t, len(dets))
    return Inbound(decoder.sensor_id, source, t, payload(), dets)


async def submit(ingest: IngestPort, batch: list[Inbound], stats: SensorStats) -> None:
    try:
        await ingest.submit(batch)
    except Exception:
        stats.counters.inc("journal_failed", len(batch))
        raise


async def run_with_reconnect(
    session: Callable[[], Awaitable[None]],
    stats: SensorStats,
    min_backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
) -> None:
    """Run ``session`` forever: after it ends or fails, wait (doubling) and connect again.

    The back-off resets once a session has delivered anything. Cancel the task to stop.
    """
    backoff = min_backoff_s
    try:
        while True:
            seen = stats.counters.get("journaled")
            stats.state = "connecting"
            try:
                await session()
                log.warning("%s: %s closed the connection", stats.sensor_id, stats.endpoint)
            except (OSError, asyncio.IncompleteReadError) as e:
                stats.counters.inc("link.connect_failed")
                log.warning("%s: cannot read %s (%s)", stats.sensor_id, stats.endpoint, e)
            except Exception:
                stats.counters.inc("link.session_failed")
                log.exception("%s: link session failed", stats.sensor_id)
            stats.state = "disconnected"
            stats.counters.inc("link.reconnects")
            if stats.counters.get("journaled") > seen:
                backoff = min_backoff_s
            await asyncio.sleep(backoff)
            backoff = min(max_backoff_s, backoff * 2)
    finally:
        stats.state = "stopped"


# ----------------------------------------------------------------------------- link kinds


def reconnecting(ctx: LinkContext, m: Member, session: Callable[[], Awaitable[None]]) -> Started:
    """A TCP client session under :func:`run_with_reconnect`, as a task that stop() cancels."""
    task = asyncio.create_task(
        run_with_reconnect(session, ctx.stats[m.spec.id]), name=f"link-{m.spec.id}"
    )

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return Started(task, stop)


def bound_session(
    run: Callable[..., Awaitable[None]], decoder: object, ctx: LinkContext, m: Member
) -> Callable[[], Awaitable[None]]:
    """``run(host, port, decoder, clock, ingest, stats)`` bound to one member: the session
    every dump1090 kind (Beast, SBS, AVR) hands :func:`reconnecting`."""
    c = m.config
    return partial(run, c.host, c.port, decoder, ctx.clock, ctx.ingest, ctx.stats[m.spec.id])


class Dump1090Kind(LinkKind):
    """A TCP client to one of dump1090/readsb's outputs: one reconnecting session a sensor."""

    binds = False

    def session(self, ctx: LinkContext, m: Member) -> Callable[[], Awaitable[None]]:
        raise NotImplementedError

    async def start(self, ctx: LinkContext, members: Sequence[Member]) -> list[Started]:
        return [reconnecting(ctx, m, self.session(ctx, m)) for m in members]


@register
class BeastKind(Dump1090Kind):
    """``protocol = "adsb_beast"``: TCP client to dump1090/readsb's Beast output (30005)."""

    name = "adsb_beast"
    default_port = 30005
    doc = "TCP client to dump1090/readsb Beast output (30005)"

    def session(self, ctx: LinkContext, m: Member) -> Callable[[], Awaitable[None]]:
        return bound_session(beast_session, AdsbDecoder(ctx.site.origin, m.spec.id), ctx, m)


@register
class SbsKind(Dump1090Kind):
    """``protocol = "adsb_sbs"``: TCP client to dump1090/readsb's BaseStation output (30003)."""

    name = "adsb_sbs"
    default_port = 30003
    doc = "TCP client to dump1090/readsb BaseStation output (30003)"

    def session(self, ctx: LinkContext, m: Member) -> Callable[[], Awaitable[None]]:
        return bound_session(sbs_session, SbsDecoder(ctx.site.origin, m.spec.id), ctx, m)

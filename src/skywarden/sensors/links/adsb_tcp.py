"""TCP clients for dump1090/readsb outputs: Beast binary (port 30005) and SBS-1 (30003).

The sockets live here; parsing is in ``sensors.adsb_beast`` / ``adsb_sbs`` / ``adsb_decode``.
Each client reads chunks, hands them to the pure splitter (Beast: frames plus remainder;
SBS: lines), times each message with the injected clock and passes Detections to ``sink``.
Splitter rejects are counted in the decoder's counters; the connection keeps going.
``run`` returns when the peer closes the connection (reconnection is the caller's policy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from skywarden.core.clock import Clock
from skywarden.core.observation import Detection
from skywarden.sensors.adsb_beast import split_frames
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.adsb_sbs import SbsDecoder

Sink = Callable[[Detection], None]
MAX_LINE = 4096


async def run_beast_client(
    host: str, port: int, decoder: AdsbDecoder, clock: Clock, sink: Sink
) -> None:
    """Connect to a Beast output and decode until the peer closes."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        rem = b""
        while chunk := await reader.read(65536):
            decoder.counters.inc("link.bytes", len(chunk))
            split = split_frames(rem + chunk)
            rem = split.remainder[-64:]
            for rej in split.rejects:
                decoder.counters.inc(f"rejected.{rej.reason}")
            t = clock.now()
            for f in split.frames:
                decoder.counters.inc("link.frames")
                if f.kind == "1":
                    continue
                det = decoder.feed(f.hex, t)
                if det is not None:
                    sink(det)
    finally:
        writer.close()


async def run_sbs_client(
    host: str, port: int, decoder: SbsDecoder, clock: Clock, sink: Sink
) -> None:
    """Connect to a BaseStation output and decode until the peer closes."""
    reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE * 4)
    try:
        while True:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as e:
                raw = e.partial
                if not raw:
                    break
            except asyncio.LimitOverrunError as e:
                await reader.readexactly(e.consumed)
                decoder.counters.inc("rejected.sbs_line_too_long")
                continue
            line = raw.decode("ascii", errors="replace").strip()
            if line:
                det = decoder.feed(line, clock.now())
                if det is not None:
                    sink(det)
    finally:
        writer.close()

"""ADS-B AVR raw text over TCP: dump1090/readsb's "raw output" port (30002).

A link kind added as one module (the worked example of ``docs/adding-a-sensor.md``). Many
receivers offer only this text feed (dump1090 ``--net-ro-port``, readsb, rtl1090, the
Mode-S Beast's own ASCII mode, most SDR hobby set-ups): one Mode S message per line, hex
between ``*`` and ``;``::

    *8D4840D6202CC371C32CE0576098;
    @016CE3671C7423000D6E9BCE9A0C;      <- MLAT variant: 12 hex digits of 12 MHz
                                           receiver clock, then the message (the clock is
                                           ignored: receive time is skywarden's own)

Parsing is :func:`parse_avr_line` (pure, every refusal a reason); the messages go to the
same decoder as Beast (``sensors.adsb_decode``: rs1090 fields, our CPR), so an aircraft's
position is the same whichever dump1090 port it came through (``tests/test_adsb_avr.py``
checks that against a real dump1090). Counters: ``rejected.avr_*`` per reason,
``link.bytes``, ``link.lines``; the decoder's own (``adsb_crc``, ...) as for Beast. Modes
A/C (4 hex digits) carry no address and are skipped, as on the Beast link.

Site file::

    [sensors.link]
    protocol = "adsb_avr"
    host = "10.0.0.5"        # the receiver running dump1090/readsb
    port = 30002             # default
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable

from skywarden.core.clock import Clock
from skywarden.core.errors import DecodeError
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.links.adsb_tcp import (
    MAX_LINE,
    Dump1090Kind,
    bound_session,
    connected,
    fed,
    submit,
)
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.registry import LinkContext, Member, register

SOURCE = "adsb-avr"
_READ_BYTES = 65536
_HEX = frozenset(string.hexdigits)
_MLAT_DIGITS = 12


def parse_avr_line(line: str) -> str | None:
    """One AVR line -> the Mode S message's hex (upper case), None for Mode A/C.

    Raises :class:`DecodeError` with the reason: ``avr_no_start`` (not ``*`` or ``@``),
    ``avr_no_end`` (no ``;``), ``avr_bad_hex``, ``avr_bad_length`` (not 56 or 112 bits).
    """
    s = line.strip()
    if not s or s[0] not in "*@":
        raise DecodeError("avr_no_start", s[:16])
    end = s.find(";")
    if end < 0:
        raise DecodeError("avr_no_end", s[:16])
    body = s[1:end]
    if s[0] == "@":
        body = body[_MLAT_DIGITS:]
    if not body or not _HEX.issuperset(body):
        raise DecodeError("avr_bad_hex", s[:16])
    if len(body) == 4:
        return None  # Mode A/C: no address, nothing to track
    if len(body) not in (14, 28):
        raise DecodeError("avr_bad_length", f"{len(body)} hex digits")
    return body.upper()


async def avr_session(
    host: str, port: int, decoder: AdsbDecoder, clock: Clock, ingest: IngestPort, st: SensorStats
) -> None:
    """Connect to an AVR output and decode until the peer closes."""
    decoder.counters = tap = st.counters
    async with connected(host, port, st) as reader:
        buf = b""
        while chunk := await reader.read(_READ_BYTES):
            tap.inc("link.bytes", len(chunk))
            lines = (buf + chunk).split(b"\n")
            buf = lines.pop()
            if len(buf) > MAX_LINE:
                st.rejected("avr_line_too_long")
                buf = b""
            t = clock.now()
            batch: list[Inbound] = []
            for raw in lines:
                inb = _line(raw, t, decoder, st)
                if inb is not None:
                    batch.append(inb)
            if batch:
                await submit(ingest, batch, st)


def _line(raw: bytes, t: float, decoder: AdsbDecoder, st: SensorStats) -> Inbound | None:
    """One line -> the message to journal, or None (empty, Mode A/C or rejected+counted)."""
    if not raw.strip():
        return None
    st.counters.inc("link.lines")
    try:
        msg = parse_avr_line(raw.decode("ascii", errors="replace"))
    except DecodeError as e:
        st.rejected(e.reason)
        return None
    if msg is None:
        return None
    return fed(decoder, msg, t, st, SOURCE, raw.strip)


@register
class AvrKind(Dump1090Kind):
    """``protocol = "adsb_avr"``: TCP client to dump1090/readsb's AVR raw output (30002)."""

    name = "adsb_avr"
    default_port = 30002
    doc = "TCP client to dump1090/readsb AVR raw output (30002)"

    def session(self, ctx: LinkContext, m: Member) -> Callable[[], Awaitable[None]]:
        return bound_session(avr_session, AdsbDecoder(ctx.site.origin, m.spec.id), ctx, m)

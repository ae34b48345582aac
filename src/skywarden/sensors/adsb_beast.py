"""Beast binary framing (dump1090/readsb port 30005): a pure frame splitter over bytes.

Owns only the framing; the Mode S payload is decoded in ``adsb_decode``. The format is the
Mode-S Beast receiver's (as emitted by dump1090 ``--net-bo-port``)::

    0x1A | type | MLAT timestamp, 6 B big-endian, 12 MHz ticks | signal, 1 B | payload
    type '1' (0x31): Mode A/C, payload 2 B
    type '2' (0x32): Mode S short (DF0/4/5/11), payload 7 B
    type '3' (0x33): Mode S long (DF16/17/18/20/21/24), payload 14 B
    type '4' (0x34): receiver status, 14 B (dropped, not counted as an error)

Inside a frame (timestamp, signal, payload) every 0x1A byte is doubled (0x1A 0x1A). A single
0x1A followed by anything but 0x1A starts a new frame: the frame being read is rejected as
``beast_truncated`` and the splitter re-synchronises there. Bytes before a 0x1A are
``beast_garbage``; an unknown type byte is ``beast_bad_type``. ``split_frames`` returns the
frames, the rejects (never raised, so one bad byte never stops a stream) and the unconsumed
remainder to prepend to the next chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

from skywarden.core.errors import DecodeError

ESC = 0x1A
PAYLOAD_LEN = {0x31: 2, 0x32: 7, 0x33: 14, 0x34: 14}
MLAT_HZ = 12_000_000.0


@dataclass(frozen=True)
class BeastFrame:
    """One frame: type ('1', '2' or '3'), MLAT ticks (12 MHz), signal (0..255), payload."""

    kind: str
    mlat_ticks: int
    signal: int
    payload: bytes

    @property
    def mlat_s(self) -> float:
        return self.mlat_ticks / MLAT_HZ

    @property
    def hex(self) -> str:
        return self.payload.hex().upper()


@dataclass(frozen=True)
class BeastSplit:
    frames: list[BeastFrame]
    rejects: list[DecodeError]
    remainder: bytes


def _unescape(buf: bytes, start: int, n: int) -> tuple[bytes | None, int]:
    """Read ``n`` unescaped bytes from ``start``: (bytes, next offset), (None, -1) when the
    buffer ends first, or (None, offset of a lone 0x1A) when a new frame begins inside."""
    out = bytearray()
    i = start
    while len(out) < n:
        if i >= len(buf):
            return None, -1
        b = buf[i]
        if b == ESC:
            if i + 1 >= len(buf):
                return None, -1
            if buf[i + 1] != ESC:
                return None, i
            i += 1
        out.append(b)
        i += 1
    return bytes(out), i


def split_frames(buf: bytes) -> BeastSplit:
    """Split ``buf`` into Beast frames; see the module docstring for the grammar."""
    frames: list[BeastFrame] = []
    rejects: list[DecodeError] = []
    i = 0
    n = len(buf)
    while i < n:
        if buf[i] != ESC:
            j = buf.find(bytes([ESC]), i)
            j = n if j < 0 else j
            rejects.append(DecodeError("beast_garbage", f"{j - i} B before a frame", buf[i:j]))
            i = j
            continue
        if i + 1 >= n:
            break
        kind = buf[i + 1]
        if kind not in PAYLOAD_LEN:
            rejects.append(DecodeError("beast_bad_type", f"type byte {kind:#04x}", kind))
            i += 1 if kind == ESC else 2
            continue
        body, nxt = _unescape(buf, i + 2, 7 + PAYLOAD_LEN[kind])
        if body is None:
            if nxt < 0:
                break
            rejects.append(DecodeError("beast_truncated", f"frame at {i} cut by a new frame"))
            i = nxt
            continue
        i = nxt
        if kind == 0x34:
            continue
        frames.append(BeastFrame(chr(kind), int.from_bytes(body[:6], "big"), body[6], body[7:]))
    return BeastSplit(frames, rejects, bytes(buf[i:]))


def encode_frame(f: BeastFrame) -> bytes:
    """The inverse of the splitter for one frame (tests, the simulator, replay)."""
    body = f.mlat_ticks.to_bytes(6, "big") + bytes([f.signal]) + f.payload
    return bytes([ESC, ord(f.kind)]) + body.replace(b"\x1a", b"\x1a\x1a")

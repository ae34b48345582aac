"""Capture files: a pure reader for classic pcap and pcapng, over bytes.

Owns only the file container, not what the packets carry: Remote ID, ASTERIX or anything
else decodes ``Packet.data`` according to ``Packet.linktype``. Written here (rather than
depending on a packet library) because the container is small and fully specified, and a
pure reader can be fuzzed like every other parser.

Classic pcap (libpcap ``pcap-savefile(5)``; draft-ietf-opsawg-pcap)::

    global header, 24 B: magic u32 (a1b2c3d4 = us, a1b23c4d = ns; byte order from it),
                         version u16 u16, thiszone i32, sigfigs u32, snaplen u32, linktype u32
    record header, 16 B: ts_sec u32, ts_frac u32, incl_len u32, orig_len u32; then incl_len B

pcapng (draft-ietf-opsawg-pcapng), a sequence of blocks, all 32-bit aligned::

    block:  type u32, total_length u32, body, total_length u32 (repeated)
    SHB 0x0A0D0D0A: byte-order magic 1a2b3c4d, version u16 u16, section length i64, options
    IDB 0x00000001: linktype u16, reserved u16, snaplen u32, options (if_tsresol = code 9)
    EPB 0x00000006: interface id u32, ts_high u32, ts_low u32, cap_len u32, orig_len u32, data
    SPB 0x00000003: orig_len u32, data (interface 0, no timestamp)
    other blocks are skipped.

Times are seconds since the UNIX epoch as the capture recorded them (never the wall clock).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from skywarden.core.errors import DecodeError

LINKTYPE_ETHERNET = 1
LINKTYPE_IEEE802_11 = 105
LINKTYPE_IEEE802_11_RADIOTAP = 127
LINKTYPE_BLUETOOTH_LE_LL = 251
LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR = 256
LINKTYPE_NORDIC_BLE = 272

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_SHB = 0x0A0D0D0A
_MAX_RECORD = 1 << 20


@dataclass(frozen=True)
class Packet:
    """One captured packet: capture time (UNIX seconds), link type and the captured bytes."""

    t: float
    linktype: int
    data: bytes
    index: int


def read_packets(buf: bytes) -> Iterator[Packet]:
    """Packets of a pcap or pcapng file held in ``buf``; raises :class:`DecodeError`.

    A truncated final record raises after the complete ones have been yielded.
    """
    if len(buf) < 4:
        raise DecodeError("pcap_truncated", "shorter than a magic number")
    if buf[:4] in _PCAP_MAGICS:
        yield from _read_pcap(buf)
    elif struct.unpack_from("<I", buf)[0] == _SHB:
        yield from _read_pcapng(buf)
    else:
        raise DecodeError("pcap_bad_magic", buf[:4].hex())


def _read_pcap(buf: bytes) -> Iterator[Packet]:
    bo, unit = _PCAP_MAGICS[buf[:4]]
    if len(buf) < 24:
        raise DecodeError("pcap_truncated", "global header")
    linktype = struct.unpack_from(bo + "I", buf, 20)[0] & 0x0FFFFFFF
    off, i = 24, 0
    while off < len(buf):
        if off + 16 > len(buf):
            raise DecodeError("pcap_truncated", f"record header at {off}")
        sec, frac, incl, _orig = struct.unpack_from(bo + "IIII", buf, off)
        if incl > _MAX_RECORD or off + 16 + incl > len(buf):
            raise DecodeError("pcap_truncated", f"record at {off} claims {incl} B")
        yield Packet(sec + frac * unit, linktype, bytes(buf[off + 16 : off + 16 + incl]), i)
        off += 16 + incl
        i += 1


@dataclass
class _Iface:
    linktype: int
    tsresol: float


def _tsresol(opts: bytes, bo: str) -> float:
    off = 0
    while off + 4 <= len(opts):
        code, length = struct.unpack_from(bo + "HH", opts, off)
        if code == 0:
            break
        if code == 9 and length >= 1 and off + 5 <= len(opts):
            v = opts[off + 4]
            return float(2.0 ** -(v & 0x7F)) if v & 0x80 else float(10.0 ** -(v & 0x7F))
        off += 4 + ((length + 3) & ~3)
    return 1e-6


def _read_pcapng(buf: bytes) -> Iterator[Packet]:
    bo = "<"
    ifaces: list[_Iface] = []
    off, i = 0, 0
    while off < len(buf):
        if off + 12 > len(buf):
            raise DecodeError("pcapng_truncated", f"block header at {off}")
        btype = struct.unpack_from(bo + "I", buf, off)[0]
        if btype == _SHB:
            magic = buf[off + 8 : off + 12]
            if magic == b"\x4d\x3c\x2b\x1a":
                bo = "<"
            elif magic == b"\x1a\x2b\x3c\x4d":
                bo = ">"
            else:
                raise DecodeError("pcapng_bad_magic", magic.hex())
            ifaces = []
        blen = struct.unpack_from(bo + "I", buf, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > len(buf):
            raise DecodeError("pcapng_bad_block", f"block at {off} length {blen}")
        body = buf[off + 8 : off + blen - 4]
        if btype == 1:
            if len(body) < 8:
                raise DecodeError("pcapng_bad_block", f"IDB at {off}")
            ifaces.append(_Iface(struct.unpack_from(bo + "H", body)[0], _tsresol(body[8:], bo)))
        elif btype == 6:
            pkt = _epb(body, bo, ifaces, off, i)
            yield pkt
            i += 1
        elif btype == 3:
            if not ifaces or len(body) < 4:
                raise DecodeError("pcapng_bad_block", f"SPB at {off}")
            yield Packet(0.0, ifaces[0].linktype, bytes(body[4:]), i)
            i += 1
        off += blen


def _epb(body: bytes, bo: str, ifaces: list[_Iface], off: int, i: int) -> Packet:
    if len(body) < 20:
        raise DecodeError("pcapng_bad_block", f"EPB at {off}")
    iface, hi, lo, cap, _orig = struct.unpack_from(bo + "IIIII", body)
    if iface >= len(ifaces):
        raise DecodeError("pcapng_bad_interface", f"EPB at {off} names interface {iface}")
    if 20 + cap > len(body):
        raise DecodeError("pcapng_bad_block", f"EPB at {off} claims {cap} B")
    ifc = ifaces[iface]
    return Packet(((hi << 32) | lo) * ifc.tsresol, ifc.linktype, bytes(body[20 : 20 + cap]), i)

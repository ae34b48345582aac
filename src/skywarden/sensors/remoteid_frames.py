"""Remote ID radio framing: Bluetooth adverts and Wi-Fi beacon / NAN frames -> F3411 bytes.

Owns the transport layer of ASTM F3411-22a clause 5.4.6 (Bluetooth) and 5.4.7 (Wi-Fi); the
messages themselves are decoded by ``remoteid``. All functions are pure over bytes.

Bluetooth 4 legacy and Bluetooth 5 long-range adverts carry one AD structure::

    len u8 | 0x16 (service data, 16-bit UUID) | 0xFA 0xFF (UUID 0xFFFA, ASTM) |
    0x0D (application code: Open Drone ID) | counter u8 | one message (BT4) or a pack (BT5)

BLE link-layer headers differ by capture hardware (Nordic sniffer header, PHDR, plain LL),
so ``ble_payloads`` finds the AD structure by its 4-byte signature and checks its length byte
fits the frame, instead of trusting a per-vendor header. The Nordic sniffer header (link
type 272: board 1, length 2, version 1 (2 or 3), counter 2, id 1, header length 1, flags 1
(bit 0 = CRC OK), ...) is checked for its CRC flag: a frame that failed CRC is rejected.

Wi-Fi (802.11, after an optional radiotap header, whose length is its bytes 2..3 LE)::

    beacon     FC 0x80 flags | dur 2 | addr1 6 | addr2 (transmitter) 6 | addr3 6 | seq 2 |
               [HT control 4, when the flags' Order bit 0x80 is set] |
               timestamp 8 | interval 2 | capability 2 | information elements
    probe resp FC 0x50 flags | the same header and fixed fields as a beacon (IEEE 802.11-2020
               9.3.3.10/9.3.3.11): a transmitter answering a probe request repeats its beacon's
               vendor IE there, and a receiver on a busy channel hears most packs that way
    vendor IE  0xDD | len u8 | OUI FA:0B:BC (ASD-STAN) | type 0x0D | counter u8 | pack
    NAN SDF    FC 0xD0 | header as above | category 0x04 | action 0x09 | OUI 50:6F:9A |
               type 0x13 | attributes: id u8, len u16 LE, body
    SDA (id 0x03): service ID 6 (= SHA-256("org.opendroneid.remoteid")[:6]) | instance 1 |
               requestor 1 | control 1 | info length 1 | counter u8 | pack
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from skywarden.core.counters import Counters
from skywarden.core.errors import DecodeError, InputRejected
from skywarden.sensors import pcapfile

BLE_SIGNATURE = b"\x16\xfa\xff\x0d"
ASD_STAN_OUI = b"\xfa\x0b\xbc"
WIFI_ALLIANCE_OUI = b"\x50\x6f\x9a"
ODID_APP_CODE = 0x0D
NAN_SERVICE_ID = hashlib.sha256(b"org.opendroneid.remoteid").digest()[:6]


@dataclass(frozen=True)
class RidPayload:
    """F3411 bytes lifted from one radio frame: transport, transmitter address, counter."""

    transport: str  # "bt" | "wifi_beacon" | "wifi_probe" | "wifi_nan" | "udp"
    mac: str
    counter: int
    data: bytes


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def ble_payloads(frame: bytes) -> list[RidPayload]:
    """Every Open Drone ID AD structure in one BLE frame (any link-layer header)."""
    out = []
    start = 1
    while (i := frame.find(BLE_SIGNATURE, start)) >= 0:
        start = i + 1
        length = frame[i - 1]
        end = i + length
        if length < 4 + 25 or end > len(frame):
            continue
        out.append(RidPayload("bt", _ble_adv_address(frame, i), frame[i + 4], frame[i + 5 : end]))
    return out


def _ble_adv_address(frame: bytes, ad_at: int) -> str:
    """The advertiser address if it sits right before the AD list (legacy ADV_IND), else ''."""
    return _mac(frame[ad_at - 7 : ad_at - 1][::-1]) if ad_at >= 8 else ""


def strip_radiotap(frame: bytes) -> bytes:
    if len(frame) < 8 or frame[0] != 0:
        raise DecodeError("radiotap_bad_header", frame[:8].hex())
    n = struct.unpack_from("<H", frame, 2)[0]
    if n < 8 or n > len(frame):
        raise DecodeError("radiotap_bad_length", str(n))
    return frame[n:]


def wifi_payloads(frame: bytes) -> list[RidPayload]:
    """Open Drone ID payloads in one 802.11 frame (beacon or probe-response vendor IE, NAN
    SDF)."""
    if len(frame) < 24:
        return []
    fc0 = frame[0]
    mac = _mac(frame[10:16])
    hdr = 28 if frame[1] & 0x80 else 24  # Order bit: a 4-byte HT control field follows seq
    if fc0 == 0x80:
        return _beacon(frame[hdr + 12 :], mac, "wifi_beacon")
    if fc0 == 0x50:
        return _beacon(frame[hdr + 12 :], mac, "wifi_probe")
    if fc0 == 0xD0 and frame[hdr : hdr + 6] == b"\x04\x09" + WIFI_ALLIANCE_OUI + b"\x13":
        return _nan(frame[hdr + 6 :], mac)
    return []


def _beacon(ies: bytes, mac: str, transport: str) -> list[RidPayload]:
    out = []
    off = 0
    while off + 2 <= len(ies):
        eid, n = ies[off], ies[off + 1]
        body = ies[off + 2 : off + 2 + n]
        if len(body) < n:
            break
        if eid == 0xDD and n >= 5 and body[:3] == ASD_STAN_OUI and body[3] == ODID_APP_CODE:
            out.append(RidPayload(transport, mac, body[4], body[5:]))
        off += 2 + n
    return out


def _nan(attrs: bytes, mac: str) -> list[RidPayload]:
    out = []
    off = 0
    while off + 3 <= len(attrs):
        aid = attrs[off]
        n = struct.unpack_from("<H", attrs, off + 1)[0]
        body = attrs[off + 3 : off + 3 + n]
        if len(body) < n:
            break
        if aid == 0x03 and n >= 11 and body[:6] == NAN_SERVICE_ID:
            info_len = body[9]
            info = body[10 : 10 + info_len]
            if info_len >= 2 and len(info) == info_len:
                out.append(RidPayload("wifi_nan", mac, info[0], info[1:]))
        off += 3 + n
    return out


def payloads_from_packet(linktype: int, frame: bytes) -> list[RidPayload]:
    """Dispatch on the capture link type; frames of other link types yield nothing."""
    if linktype == pcapfile.LINKTYPE_IEEE802_11_RADIOTAP:
        return wifi_payloads(strip_radiotap(frame))
    if linktype == pcapfile.LINKTYPE_IEEE802_11:
        return wifi_payloads(frame)
    if linktype == pcapfile.LINKTYPE_NORDIC_BLE:
        if len(frame) < 9 or frame[3] not in (2, 3):
            raise DecodeError("nordic_ble_bad_header", frame[:9].hex())
        if not frame[8] & 0x01:
            raise DecodeError("ble_crc_bad", "the sniffer marked the packet's CRC as failed")
        return ble_payloads(frame)
    if linktype in (pcapfile.LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR,):
        return ble_payloads(frame)
    return []


def capture_payloads(
    buf: bytes, counters: Counters | None = None
) -> Iterator[tuple[float, RidPayload]]:
    """(capture time, payload) for every Remote ID payload in a pcap/pcapng file's bytes.

    A malformed frame is counted (``rejected.<reason>``) and skipped; a truncated file ends
    the iteration after its last complete packet, counted the same way.
    """
    c = counters if counters is not None else Counters()
    try:
        for pkt in pcapfile.read_packets(buf):
            try:
                found = payloads_from_packet(pkt.linktype, pkt.data)
            except InputRejected as e:
                c.inc(f"rejected.{e.reason}")
                continue
            for p in found:
                yield pkt.t, p
    except InputRejected as e:
        c.inc(f"rejected.{e.reason}")

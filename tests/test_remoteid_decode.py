"""Remote ID: opendroneid golden vectors, captures from the shared data, consistency rule."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from skywarden.core.errors import DecodeError
from skywarden.core.geo import GeoOrigin
from skywarden.core.observation import MeasurementKind
from skywarden.sensors.remoteid import (
    Authentication,
    BasicId,
    Location,
    MessagePack,
    OperatorId,
    SelfId,
    System,
    decode_message,
)
from skywarden.sensors.remoteid_frames import capture_payloads
from skywarden.sensors.remoteid_track import (
    RemoteIdPipeline,
    distance_m,
    serial_valid,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "remoteid"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data absent: {DATA}")


def _vectors() -> dict[str, bytes]:
    text = (DATA / "odid_core_c_inout_vectors.txt").read_text()
    out = {}
    for m in re.finditer(r"^(\w+):\s+((?:[0-9a-f]{2} ){25})", text, re.M):
        out[m.group(1)] = bytes.fromhex(m.group(2))
    return out


@needs_data
def test_opendroneid_vectors_decode_to_documented_values() -> None:
    v = _vectors()
    assert set(v) == {"BasicID", "Location", "Auth0", "Auth1", "SelfID", "System", "OperatorID"}
    b = decode_message(v["BasicID"])
    assert b == BasicId(2, 2, 2, "12345678901234567890")
    loc = decode_message(v["Location"])
    assert isinstance(loc, Location)
    assert loc.status == 2 and loc.direction_deg == 216.0
    assert loc.speed_mps == 5.5 and loc.vspeed_mps == 5.0
    assert loc.lat_deg == pytest.approx(45.5393090, abs=1e-9)
    assert loc.lon_deg == pytest.approx(-122.9663890, abs=1e-9)
    assert (loc.alt_baro_m, loc.alt_geo_m, loc.height_m) == (100.0, 110.0, 80.0)
    assert (loc.h_acc_m, loc.v_acc_m, loc.baro_acc_m, loc.speed_acc_mps) == (3.0, 1.0, 3.0, 1.0)
    assert loc.time_after_hour_s == 360.5 and loc.time_acc_s == pytest.approx(0.2)
    a0 = decode_message(v["Auth0"])
    assert isinstance(a0, Authentication)
    assert (a0.auth_type, a0.page, a0.last_page, a0.length) == (1, 0, 1, 40)
    assert a0.timestamp_unix == 28000000 + 1546300800 and a0.data == b"12345678901234567"
    a1 = decode_message(v["Auth1"])
    assert isinstance(a1, Authentication)
    assert a1.page == 1 and a1.data == b"12345678901234567890123"
    assert decode_message(v["SelfID"]) == SelfId(2, 0, "DronesRUS: Real Estate")
    s = decode_message(v["System"])
    assert isinstance(s, System)
    assert (s.operator_location_type, s.classification_type) == (0, 1)
    assert s.operator_lat_deg == pytest.approx(45.5393190, abs=1e-9)
    assert s.operator_lon_deg == pytest.approx(-122.9663790, abs=1e-9)
    assert (s.area_count, s.area_radius_m, s.area_ceiling_m, s.area_floor_m) == (
        35, 70.0, 176.5, 41.5)  # fmt: skip
    assert (s.ua_category, s.ua_class, s.operator_alt_m) == (2, 4, 20.5)
    assert s.timestamp_unix == 28000000 + 1546300800
    assert decode_message(v["OperatorID"]) == OperatorId(2, 0, "98765432100123456789")
    pack = decode_message(bytes([0xF2, 25, 7]) + b"".join(v.values()))
    assert isinstance(pack, MessagePack) and len(pack.messages) == 7
    assert pack.messages[1] == loc


def test_bad_messages_are_rejected_with_a_reason() -> None:
    with pytest.raises(DecodeError) as e:
        decode_message(b"\x02" * 10)
    assert e.value.reason == "rid_short"
    with pytest.raises(DecodeError) as e:
        decode_message(bytes([0x62]) + bytes(24))
    assert e.value.reason == "rid_bad_type"
    with pytest.raises(DecodeError) as e:
        decode_message(bytes([0xF2, 25, 0]) + bytes(25))
    assert e.value.reason == "rid_pack_bad_count"


def test_serial_numbers_cta_2063_a() -> None:
    assert serial_valid("1588E040445AC004418")
    assert serial_valid("MFG1A0123456789")
    assert not serial_valid("SSEVTFG93700070")  # 'T' is not a length code
    assert not serial_valid("1588E04")


def _run(name: str, origin: GeoOrigin) -> RemoteIdPipeline:
    pl = RemoteIdPipeline(origin, "rid-1")
    pl.dets = []  # type: ignore[attr-defined]
    for t, p in capture_payloads((DATA / name).read_bytes(), pl.counters):
        pl.dets.extend(pl.feed(p, t))  # type: ignore[attr-defined]
    return pl


@needs_data
def test_wifi_beacon_sample_golden_values() -> None:
    pl = _run("odid_wifi_bcn_sample.pcap", GeoOrigin(45.5457, -122.9681, 0.0))
    dets = pl.dets  # type: ignore[attr-defined]
    assert len(dets) == 21 and {d.identity for d in dets} == {"MFG1A0123456789"}
    d = dets[0]
    assert d.attrs["lat_deg"] == pytest.approx(45.5457, abs=1e-4)
    assert d.attrs["lon_deg"] == pytest.approx(-122.9681, abs=1e-4)
    assert d.z[2] == pytest.approx(237.0, abs=0.5)
    assert math.hypot(d.z[3], d.z[4]) == pytest.approx(20.5)
    assert d.attrs["self_id"] == "Recreational"
    assert d.attrs["operator_id"] == "GBR-OP-123ABCD"
    assert d.attrs["operator_lat_deg"] == pytest.approx(45.5444, abs=1e-4)
    assert pl.monitor.findings == []


@needs_data
def test_nan_and_bluetooth_captures_unwrap() -> None:
    pl = _run("odid_wifi_sample.pcap", GeoOrigin(45.545, -122.97, 0.0))
    assert pl.counters.get("accepted.Location") == 31
    dets = pl.dets  # type: ignore[attr-defined]
    assert len({(round(d.z[0], 1), round(d.z[1], 1)) for d in dets}) == 17
    bt = _run("odid_bt5_lr_sample.pcapng", GeoOrigin(60.0, 25.0, 0.0))
    assert bt.counters.get("accepted.BasicId") > 200
    assert bt.counters.get("rejected.rid_no_position") > 200  # lat/lon unknown: no 0N 0E fix
    assert all(abs(float(d.attrs["lat_deg"])) > 1e-6 for d in bt.dets)  # type: ignore[attr-defined]


@needs_data
def test_real_parrot_capture_yields_track_and_operator() -> None:
    origin = GeoOrigin(47.2, 8.73, 500.0)
    pl = _run("parrot_anafi4_real.pcapng", origin)
    dets = pl.dets  # type: ignore[attr-defined]
    serial = "1588E040445AC004418"
    track = [d for d in dets if d.identity == serial]
    assert len(dets) == 1140 and len(track) >= 1120
    assert all(d.kind is MeasurementKind.POSITION_ID for d in track)
    assert [d.t for d in track] == sorted(d.t for d in track)
    assert track[-1].t - track[0].t > 100.0
    pos = {
        (round(float(d.attrs["lat_deg"]), 7), round(float(d.attrs["lon_deg"]), 7)) for d in track
    }
    assert len(pos) > 100
    e = [d.z[0] for d in track]
    n = [d.z[1] for d in track]
    assert max(e) - min(e) < 10.0 and max(n) - min(n) < 10.0
    op = [d.attrs["operator_lat_deg"] for d in track if "operator_lat_deg" in d.attrs]
    assert len(op) >= 1100
    dist = [
        distance_m(float(d.attrs["lat_deg"]), float(d.attrs["lon_deg"]),
                   float(d.attrs["operator_lat_deg"]), float(d.attrs["operator_lon_deg"]))
        for d in track if "operator_lat_deg" in d.attrs
    ]  # fmt: skip
    assert min(dist) > 3.0 and max(dist) < 25.0
    assert pl.monitor.findings == []
    assert "rid_inconsistent" not in track[-1].attrs


@needs_data
def test_spoofed_parrot_capture_is_flagged() -> None:
    pl = _run("parrot_anafi4_spoofed.pcapng", GeoOrigin(47.2, 8.73, 500.0))
    rules = pl.monitor.flagged("1588E040445AC004418")
    assert {"implied_speed", "operator_distance"} <= rules
    assert pl.counters.get("warn.rid_pack_truncated") == 26
    assert all("rid_inconsistent" in d.attrs for d in pl.dets)  # type: ignore[attr-defined]


@needs_data
def test_dji_droneid_frames_are_ignored_quietly() -> None:
    for name in ("mavic_alessa_spoofed.pcapng", "mavic_multiple_spoofed.pcapng"):
        pl = _run(name, GeoOrigin(47.0, 8.0, 0.0))
        assert pl.dets == [] and pl.counters.snapshot() == {}  # type: ignore[attr-defined]

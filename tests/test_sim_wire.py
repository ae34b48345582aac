"""Wire output of the simulator, decoded by skywarden's own adapters (SAPIENT, Beast, Remote ID)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from skywarden.sim import parse_scenario, simulate
from skywarden.sim.wire import WireMessage, cpr_encode, crc24, play, wire_stream

SCEN: dict[str, Any] = {
    "name": "wire",
    "duration_s": 12,
    "origin": {"lat": 47.3563, "lon": 8.5187, "alt_m": 400.0},
    "sensors": [
        {
            "id": "radar",
            "kind": "radar",
            "position_enu_m": [0, 0, 10],
            "max_range_m": 3000,
            "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.01, "radial_mps": 0.5},
            "pd": 1.0,
            "clutter_per_scan": 1,
        },
        {
            "id": "cam",
            "kind": "camera",
            "position_enu_m": [0, 0, 10],
            "max_range_m": 3000,
            "sigma": {"az_rad": 0.01, "el_rad": 0.01},
            "pd": 1.0,
            "range_half_m": 5000,
        },
        {
            "id": "rid",
            "kind": "remote_id",
            "position_enu_m": [0, 0, 5],
            "sigma": {"pos_m": 0.01, "vel_mps": 0.01},
            "pd": 1.0,
        },
        {
            "id": "adsb",
            "kind": "adsb",
            "position_enu_m": [0, 0, 5],
            "sigma": {"pos_m": 0.01, "vel_mps": 0.01},
            "pd": 1.0,
        },
    ],
    "objects": [
        {
            "id": "d",
            "type": "multirotor",
            "remote_id": "1581F4XFC228R00B2B4A",
            "start_enu_m": [400, 300, 80],
            "script": [{"transit": [-400, 300, 80]}],
        },
        {
            "id": "h",
            "type": "helicopter",
            "adsb": {"icao": "4b43ac", "callsign": "REGA1"},
            "speed_mps": 40,
            "waypoints": [[-2000, 500, 500], [2000, 500, 500]],
        },
    ],
}


def _msgs() -> tuple[Any, list[WireMessage]]:
    run = simulate(parse_scenario(SCEN), seed=4)
    return run, list(wire_stream(run, epoch_s=1_700_000_000.0))


def test_crc_and_cpr_known_values() -> None:
    # a DF17 frame from the ADS-B literature: 8D40621D58C382D690C8AC2863A7 (parity checks)
    msg = bytes.fromhex("8D40621D58C382D690C8AC2863A7")
    assert crc24(msg[:11]) == int.from_bytes(msg[11:], "big")
    assert cpr_encode(52.25720214843750, 3.91937255859375, odd=False) == (93000, 51372)


def test_sapient_reports_decode_and_register() -> None:
    from skywarden.sensors.sapient import MessageKind, parse_message, split_frames

    _, msgs = _msgs()
    sap = [m for m in msgs if m.channel == "sapient"]
    bodies, rest = split_frames(b"".join(m.payload for m in sap))
    assert rest == b"" and len(bodies) == len(sap)
    kinds = [parse_message(b, 0.0).kind for b in bodies]
    assert kinds.count(MessageKind.REGISTRATION) == 2
    # a status report on registration, then one per status interval (10 s) per node
    n_status = kinds.count(MessageKind.STATUS_REPORT)
    assert (
        2 * math.floor(SCEN["duration_s"] / 10.0)
        <= n_status
        <= 2 * math.ceil(SCEN["duration_s"] / 10.0)
    )
    assert kinds.count(MessageKind.DETECTION_REPORT) >= 12 * 2


def test_beast_decodes_to_the_true_position() -> None:
    from skywarden.sensors.adsb_beast import split_frames
    from skywarden.sensors.adsb_decode import AdsbDecoder, aircraft_detection

    run, msgs = _msgs()
    beast = b"".join(m.payload for m in msgs if m.channel == "beast")
    split = split_frames(beast)
    assert not split.rejects and split.frames
    dec = AdsbDecoder(run.site.origin, "adsb")
    dets = [d for f in split.frames if (d := dec.feed(f.hex, f.mlat_s)) is not None]
    assert dets, dec.counters.snapshot()
    assert dec.aircraft["4b43ac"].callsign.strip() == "REGA1"  # type: ignore[union-attr]
    last = dets[-1]
    truth = run.world.at(last.t)[run.world.ids.index("h")]
    pos = last.position_enu()
    assert pos is not None
    assert np.hypot(*(pos[:2] - truth[:2])) < 15.0  # CPR quantisation ~5 m
    assert abs(pos[2] - truth[2]) < 10.0  # 25 ft altitude steps
    ac = dec.aircraft["4b43ac"]
    assert ac.gs_kt is not None and abs(ac.gs_kt * 0.514444 - 40.0) < 1.0
    assert aircraft_detection(ac, run.site.origin, "adsb", last.t).identity is not None


def test_remote_id_packs_decode() -> None:
    from skywarden.sensors.remoteid import BasicId, Location, MessagePack, decode_message

    run, msgs = _msgs()
    rid = [m for m in msgs if m.channel == "remoteid"]
    assert len(rid) == 12
    for m in rid:
        pack = decode_message(m.payload)
        assert isinstance(pack, MessagePack)
        basic, loc = pack.messages
        assert isinstance(basic, BasicId) and isinstance(loc, Location)
        assert "1581F4XFC228R00B2B4A" in str(basic)
        assert loc.lat_deg is not None and loc.lon_deg is not None and loc.alt_geo_m is not None
        e, n, u = run.site.origin.to_enu(loc.lat_deg, loc.lon_deg, loc.alt_geo_m)
        assert abs(u - 80.0) < 1.0 and -450 < e < 450 and abs(n - 300.0) < 1.0


def test_play_fast_and_paced_with_injected_clock() -> None:
    _, msgs = _msgs()
    got: list[WireMessage] = []
    assert play(iter(msgs), got.append) == len(msgs)
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(dt: float) -> None:
        sleeps.append(dt)
        clock[0] += dt

    n = play(iter(msgs), lambda m: None, realtime=True, now=lambda: clock[0], sleep=sleep)
    assert n == len(msgs)
    assert abs(clock[0] - (msgs[-1].t - msgs[0].t)) < 1e-6


def test_harder_wire_node_types_system_message_and_pressure_altitude() -> None:
    """Issue 19: SAPIENT node types, Remote ID System message with the operator at the
    take-off point, ADS-B pressure altitude on a high-QNH day with the GNSS-baro difference."""
    import copy

    import rs1090
    from sapient_msg.bsi_flex_335_v2_0 import sapient_message_pb2

    from skywarden.sensors.adsb_beast import split_frames
    from skywarden.sensors.remoteid import MessagePack, System, decode_message

    scen = copy.deepcopy(SCEN)
    scen["sensors"][2]["system_messages"] = True
    scen["sensors"][3]["qnh_hpa"] = 1023.25  # 10 hPa above standard: 83 m lower
    scen["sensors"].append(
        {
            "id": "rf",
            "kind": "rf",
            "position_enu_m": [50, 0, 5],
            "sigma": {"az_rad": 0.03},
            "pd": 1.0,
            "max_range_m": 5000,
        }
    )
    run = simulate(parse_scenario(scen), seed=4)
    msgs = list(wire_stream(run, epoch_s=1_700_000_000.0))
    types = {}
    for m in msgs:
        if m.channel == "sapient":
            sm = sapient_message_pb2.SapientMessage()
            sm.ParseFromString(m.payload[4:])
            if sm.HasField("registration"):
                types[m.sensor_id] = sm.registration.node_definition[0].node_type
    assert types == {"radar": 2, "cam": 4, "rf": 8}  # radar, camera, passive RF
    packs = [decode_message(m.payload) for m in msgs if m.channel == "remoteid"]
    assert packs and all(isinstance(p, MessagePack) for p in packs)
    systems = [x for p in packs for x in p.messages if isinstance(x, System)]  # type: ignore[union-attr]
    assert len(systems) == len(packs)
    s = systems[0]
    assert s.operator_lat_deg is not None and s.operator_lon_deg is not None
    e, n, _ = run.site.origin.to_enu(s.operator_lat_deg, s.operator_lon_deg, 400.0)
    assert abs(e - 400.0) < 1.0 and abs(n - 300.0) < 1.0  # where the drone took off
    assert s.timestamp_unix is not None and abs(s.timestamp_unix - 1_700_000_000) < 20
    split = split_frames(b"".join(m.payload for m in msgs if m.channel == "beast"))
    alts, diffs = [], []
    for f in split.frames:
        d = rs1090.decode(f.hex)
        if d.get("altitude") is not None:
            alts.append(float(d["altitude"]) * 0.3048)
        if d.get("geo_minus_baro") is not None:
            diffs.append(float(d["geo_minus_baro"]) * 0.3048)
    truth_alt = 400.0 + 500.0  # origin altitude + the helicopter's height
    assert alts and all(abs(a - (truth_alt - 83.0)) < 10.0 for a in alts)
    assert diffs and all(abs(x - 83.0) < 8.0 for x in diffs)

"""AdapterSet from a site file: every link bound or connected as its ``link`` table says,
messages journaled through the ingest port, health per sensor in site order, clean stop.

Real sockets on loopback; the peers are the test's own UDP senders and a TCP server that
plays a Beast capture, plus a port where nothing listens (the SBS client must keep trying).
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from adapters_helpers import MemoryIngest, wait_for
from skywarden.core.clock import ManualClock
from skywarden.core.site import parse_site
from skywarden.runtime.live.adapters import AdapterSet
from skywarden.sensors.adsb_beast import encode_frame, split_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BASIC = bytes.fromhex("0222313233343536373839303132333435363738393000000000")[:25]
LOC = bytes.fromhex("12262416 0a42bf241b6ed1b4b6 9808ac087008 6b53 150e0200".replace(" ", ""))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sensor(
    sid: str, kind: str, measures: str, sigma: dict[str, float], link: dict[str, object]
) -> dict[str, object]:
    return {"id": sid, "kind": kind, "measures": measures, "position_enu_m": [0, 0, 5],
            "sigma": sigma, "link": link}  # fmt: skip


def test_adapter_set_runs_every_link_of_a_site() -> None:
    if not (SHARED / "asterix" / "cat048.raw").exists() or not (SHARED / "adsb").is_dir():
        pytest.skip("needs ../shared/data/asterix and ../shared/data/adsb")
    beast_frames = split_frames((SHARED / "adsb" / "sample_dump1090.bin").read_bytes()).frames
    dead_port = _free_port()

    async def scenario() -> None:
        async def serve_beast(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(b"".join(encode_frame(f) for f in beast_frames))
            await w.drain()
            await asyncio.sleep(30)  # stay connected: the link stays "connected"

        beast_srv = await asyncio.start_server(serve_beast, "127.0.0.1", 0)
        beast_port = beast_srv.sockets[0].getsockname()[1]
        xyz = {"x_m": 5.0, "y_m": 5.0, "z_m": 5.0}
        site = parse_site(
            {
                "name": "all-links",
                "origin": {"lat": 45.539, "lon": -122.966, "alt_m": 0.0},
                "sensors": [
                    _sensor("radar", "radar", "range_az_el_radial",
                            {"range_m": 30, "az_rad": 0.002, "el_rad": 0.01, "radial_mps": 1},
                            {"protocol": "asterix_cat048", "port": 0, "sac": 25, "sic": 201}),
                    _sensor("rid", "remote_id", "position_id", {"pos_m": 5.0},
                            {"protocol": "remoteid_udp", "port": 0}),
                    _sensor("beast", "adsb", "position_id", {"pos_m": 30.0},
                            {"protocol": "adsb_beast", "host": "127.0.0.1", "port": beast_port}),
                    _sensor("sbs", "adsb", "position_id", {"pos_m": 30.0},
                            {"protocol": "adsb_sbs", "host": "127.0.0.1", "port": dead_port}),
                    {"id": "plain", "kind": "rf", "measures": "az", "position_enu_m": [0, 0, 0],
                     "sigma": {"az_rad": 0.05}},
                    {"id": "cam", "kind": "camera", "measures": "xyz", "position_enu_m": [0, 0, 0],
                     "sigma": xyz},
                ],
            }
        )  # fmt: skip
        ingest = MemoryIngest()
        links = AdapterSet(site, ingest, ManualClock(1.7e9))
        await links.start()
        try:
            ports = links.bound_ports
            assert set(ports) == {"radar", "rid"}  # only the links that bind report a port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                cat048 = (SHARED / "asterix" / "cat048.raw").read_bytes()
                tx.sendto(cat048, ("127.0.0.1", ports["radar"]))
                tx.sendto(b"\x00garbage", ("127.0.0.1", ports["rid"]))
                tx.sendto(bytes([0xF2, 25, 2]) + BASIC + LOC, ("127.0.0.1", ports["rid"]))
            await wait_for(
                lambda: (
                    {m.sensor_id for m in ingest.messages if m.detections}
                    >= {"radar", "rid", "beast"}
                ),
                10,
            )
            sbs = links.stats_by_sensor["sbs"]
            await wait_for(lambda: sbs.counters.get("link.connect_failed") >= 1)
            health = {h.sensor_id: h for h in links.health()}
            assert list(health) == ["radar", "rid", "beast", "sbs"]  # site order, linked only
            assert health["radar"].state == "receiving" and health["radar"].detections == 1
            assert health["rid"].accepted == 1 and dict(health["rid"].rejected)
            assert health["beast"].state == "connected" and health["beast"].detections == 3
            assert health["sbs"].state in ("connecting", "disconnected")
            assert health["sbs"].accepted == 0
            assert all(h.registered is None for h in health.values())
            assert links.stats()["sensor.radar.journaled"] == 1
        finally:
            await links.stop()
            beast_srv.close()
        assert {h.state for h in links.health()} == {"stopped"}
        # the UDP sockets are closed: their ports can be bound again
        for sid in ("radar", "rid"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", links.bound_ports[sid]))

    asyncio.run(scenario())


def test_a_port_in_use_fails_the_start_and_leaves_nothing_running() -> None:
    async def scenario() -> None:
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        site = parse_site(
            {
                "name": "busy",
                "origin": {"lat": 51.0, "lon": -1.0},
                "sensors": [
                    _sensor("sap", "radar", "xyz", {"x_m": 5.0, "y_m": 5.0, "z_m": 5.0},
                            {"protocol": "sapient", "port": 0,
                             "node_id": "a8654cdf-4328-47de-81fa-c495589e30c9"}),
                    _sensor("rid", "remote_id", "position_id", {"pos_m": 5.0},
                            {"protocol": "remoteid_udp", "port": port}),
                ],
            }
        )  # fmt: skip
        links = AdapterSet(site, MemoryIngest(), ManualClock(0.0))
        try:
            with pytest.raises(OSError):
                await links.start()
        finally:
            busy.close()
        assert {h.state for h in links.health()} == {"stopped"}
        # the SAPIENT server that had started before the failure is closed again
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", links.bound_ports["sap"])

    asyncio.run(scenario())

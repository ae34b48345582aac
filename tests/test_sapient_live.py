"""SAPIENT into the running service: a registered node's detections become a track at
``GET /api/tracks``; a listed node that never registered is refused and counted.

Real peers on loopback: the service (uvicorn, the live runtime with its SQLite journal, the
site's SAPIENT server bound as the site file says) and SAPIENT nodes as TCP clients speaking
length-prefixed protobuf, as a vendor's edge node would.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from live_helpers import free_port, running_service
from sapient_helpers import NODE, OTHER, SKY, detection_latlon, registration, status
from skywarden.core.clock import WallClock
from skywarden.sensors.sapient import SapientMessage, frame
from skywarden.store.records import RawMessage

SITE = f"""
name = "sapient-live"
[origin]
lat = 51.0
lon = -1.0
alt_m = 0.0

[[sensors]]
id = "sapient-radar"
kind = "radar"
measures = "xyz"
position_enu_m = [0, 0, 10]
sigma = {{x_m = 3.0, y_m = 3.0, z_m = 5.0}}
update_s = 0.5
max_range_m = 5000
pd = 0.9
[sensors.link]
protocol = "sapient"
port = 0
node_id = "{NODE}"
own_node_id = "{SKY}"

[[sensors]]
id = "sapient-eo"
kind = "camera"
measures = "xyz"
position_enu_m = [50, 0, 10]
sigma = {{x_m = 3.0, y_m = 3.0, z_m = 5.0}}
[sensors.link]
protocol = "sapient"
port = 0
node_id = "{OTHER}"
"""


async def _read_one(reader: asyncio.StreamReader) -> SapientMessage:
    (n,) = struct.unpack("<I", await asyncio.wait_for(reader.readexactly(4), 10))
    msg = SapientMessage()
    msg.ParseFromString(await reader.readexactly(n))
    return msg


async def _scenario(tmp_path: Path) -> None:
    clock = WallClock()
    async with running_service(SITE, tmp_path) as svc:
        port = svc.source.links.bound_ports["sapient-radar"]
        assert svc.source.links.bound_ports["sapient-eo"] == port  # one server, two nodes

        # the camera node never registers: its detections are refused and counted
        _, w_eo = await asyncio.open_connection("127.0.0.1", port)
        for k in range(3):
            w_eo.write(frame(detection_latlon(node=OTHER, t=clock.now(), n=400 + k)))
        await w_eo.drain()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = [registration(t=clock.now())]
        writer.write(frame(sent[0]))
        await writer.drain()
        ack = await _read_one(reader)
        assert ack.registration_ack.acceptance and ack.node_id == SKY
        sent.append(status(t=clock.now(), lat=51.0, lon=-1.0))
        writer.write(frame(sent[-1]))
        # a drone flying north-east at ~10 m/s, 600 m out, one report every 0.25 s
        for k in range(16):
            lat = 51.0054 + k * 0.25 * 7.0 / 111_200.0
            lon = -0.9990 + k * 0.25 * 7.0 / 70_000.0
            msg = detection_latlon(t=clock.now(), lat=lat, lon=lon, alt=120.0, n=10 + k)
            sent.append(msg)
            writer.write(frame(msg) + (b"\x04\x00\x00\x00junk" if k == 5 else b""))
            await writer.drain()
            await asyncio.sleep(0.25)

        tracks = await svc.poll(
            "/api/tracks?confirmed_only=true",
            lambda b: any("sapient-radar" in t["sensors"] for t in b),
        )
        (tr,) = [t for t in tracks if "sapient-radar" in t["sensors"]]
        assert abs(tr["position"]["lat"] - lat) < 2e-4 and abs(tr["position"]["lon"] - lon) < 3e-4
        assert tr["object_class"] == "drone"

        health = svc.source.sensor_health()
        radar, eo = health["sapient-radar"], health["sapient-eo"]
        assert radar.registered and radar.accepted == 18 and radar.detections == 16
        assert radar.last_report_t is not None and radar.rate_hz > 0
        assert not eo.registered and dict(eo.rejected) == {"unregistered_node": 3}
        assert eo.accepted == 0
        stats = svc.source.links.sapient_servers[0].stats()
        assert stats["rejected.bad_protobuf"] == 1  # the junk frame, same connection went on
        sensors = {s["id"]: s for s in (await svc.http.get("/api/sensors")).json()}
        assert sensors["sapient-radar"]["registered"] is True
        assert sensors["sapient-radar"]["status"] == "ok"
        assert sensors["sapient-eo"]["registered"] is False
        writer.close()
        w_eo.close()
    # everything the node sent and skywarden accepted is in the journal, as received
    raws = [r for r in svc.journal.records(kinds=["raw"]) if isinstance(r, RawMessage)]
    svc.journal.close()
    assert {r.sensor_id for r in raws} == {"sapient-radar"}  # nothing from the refused node
    assert [r.payload for r in raws] == [m.SerializeToString() for m in sent]
    assert all(r.format == "sapient" for r in raws)
    assert sum(len(r.parsed["detections"]) for r in raws) == 16


def test_registered_node_detection_becomes_a_track_unregistered_refused(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path))


def test_skywarden_run_with_a_site_file_serves_its_sapient_node(tmp_path: Path) -> None:
    """The real process: ``skywarden run --site FILE`` binds the SAPIENT port the file names."""
    sap_port, http_port = free_port(), free_port()
    site = tmp_path / "site.toml"
    site.write_text(SITE.replace("port = 0", f"port = {sap_port}"), encoding="utf-8")
    exe = Path(sys.executable).with_name("skywarden")
    proc = subprocess.Popen(
        [str(exe), "run", "--site", str(site), "--port", str(http_port),
         "--journal", str(tmp_path / "j.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    clock = WallClock()
    try:
        sock = None
        for _ in range(300):
            assert proc.poll() is None, proc.communicate()[0]
            try:
                sock = socket.create_connection(("127.0.0.1", sap_port), timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        assert sock is not None
        with sock:
            sock.sendall(frame(registration(t=clock.now())))
            (n,) = struct.unpack("<I", sock.recv(4, socket.MSG_WAITALL))
            ack = SapientMessage()
            ack.ParseFromString(sock.recv(n, socket.MSG_WAITALL))
            assert ack.registration_ack.acceptance
            for k in range(14):
                lat, lon = 51.0054 + k * 1.6e-5, -0.9990 + k * 2.5e-5
                sock.sendall(frame(detection_latlon(t=clock.now(), lat=lat, lon=lon, n=30 + k)))
                time.sleep(0.25)
            url = f"http://127.0.0.1:{http_port}/api/tracks?confirmed_only=true"
            tracks: list[dict[str, object]] = []
            for _ in range(100):
                with urllib.request.urlopen(url, timeout=5) as r:
                    tracks = json.loads(r.read())
                if tracks:
                    break
                time.sleep(0.2)
            assert [t["sensors"] for t in tracks] == [["sapient-radar"]]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "sensor links started: sapient-radar=sapient@127.0.0.1:" in out, out
    assert "Traceback" not in out, out

"""Spoofed Remote ID reaches the operator of a running service: the spoofed Parrot capture's
F3411 packs (drone 24 km from its broadcast operator, jumping kilometres between packs),
sent over UDP as a receiver bridge would, under a whitelisted serial, give the alert
"cooperative identity looks spoofed" at ``GET /api/alerts`` and no friendly track at
``GET /api/tracks``; the journal holds every pack and the decoder's findings."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from live_helpers import running_service
from skywarden.core.counters import Counters
from skywarden.sensors.remoteid_frames import capture_payloads
from skywarden.store.records import RawMessage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "remoteid"
SERIAL = "1588E040445AC004418"
SITE = f"""
name = "rid-spoof-live"
[origin]
lat = 47.2
lon = 8.73
alt_m = 500.0
[[sensors]]
id = "rid-1"
kind = "remote_id"
measures = "position_id"
position_enu_m = [0, 0, 2]
sigma = {{pos_m = 5.0, vel_mps = 1.0}}
update_s = 1.0
[sensors.link]
protocol = "remoteid_udp"
host = "127.0.0.1"
port = 0
[[whitelist]]
remote_id = "{SERIAL}"
note = "the site's own drone"
"""


def test_spoofed_capture_over_udp_alerts_and_shows_no_friend(tmp_path: Path) -> None:
    capture = DATA / "parrot_anafi4_spoofed.pcapng"
    if not capture.exists():
        pytest.skip(f"shared data absent: {capture}")
    packs = [p.data for _, p in capture_payloads(capture.read_bytes(), Counters())]
    assert len(packs) == 26

    async def scenario() -> None:
        async with running_service(SITE, tmp_path) as svc:
            port = svc.source.links.bound_ports["rid-1"]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                for data in packs:  # 5 per second instead of one per two seconds
                    tx.sendto(data, ("127.0.0.1", port))
                    await asyncio.sleep(0.2)
            alerts = await svc.poll(
                "/api/alerts", lambda b: any(a["zone_id"] == "cooperative-identity" for a in b)
            )
            (al,) = [a for a in alerts if a["zone_id"] == "cooperative-identity"]
            assert al["level"] == "warning" and al["track_id"] == f"identity:{SERIAL}"
            text = " ".join(al["reasons"])
            assert f"cooperative identity looks spoofed: {SERIAL}" in text
            assert "operator_distance" in text
            tracks = (await svc.http.get("/api/tracks?confirmed_only=true")).json()
            assert [t for t in tracks if t["identity"] == SERIAL] == []
        raws = [r for r in svc.journal.records(kinds=["raw"]) if isinstance(r, RawMessage)]
        svc.journal.close()
        assert len(raws) == len(packs)
        dets = [d for r in raws for d in r.parsed["detections"]]
        assert len(dets) == len(packs)
        assert all("operator_distance" in d["attrs"]["rid_inconsistent"] for d in dets)
        assert all(d["attrs"]["rid_findings"] for d in dets)

    asyncio.run(scenario())

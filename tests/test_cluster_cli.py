"""The cluster commands as a user runs them: ``skywarden edge`` on an edge leaf node and
``skywarden central --edge ... --http ...`` on the hub; the central HTTP view shows the
edge's tracks and alerts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from nats_helpers import eventually, free_port, hub_and_edge, require_nats_server


def _get(url: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN[0]}"})
    with urllib.request.urlopen(req, timeout=2) as r:
        return json.loads(r.read())


TOKEN = [""]


def _login(port: int, password: str) -> str:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/auth/token",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=2) as r:
        return str(json.loads(r.read())["token"])


def test_edge_and_central_commands(tmp_path: Path) -> None:
    require_nats_server()
    hub, edge = hub_and_edge(tmp_path, "edge-villa")
    port = free_port()
    sw = [sys.executable, "-m", "skywarden.cli.main"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        args = ["--nats", hub.url, "--edge", "villa=edge-villa", "--http", f"127.0.0.1:{port}"]
        central = subprocess.Popen(
            [*sw, "central", *args, "--every", "1"],
            stdout=(tmp_path / "central.log").open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "SKYWARDEN_ADMIN_PASSWORD": "central-admin-pw"},
        )
        procs.append(central)
        site = subprocess.Popen(
            [*sw, "edge", "--nats", edge.url, "--site-id", "villa", "--speed", "40"],
            stdout=(tmp_path / "edge.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append(site)
        url = f"http://127.0.0.1:{port}/api/cluster/sites"

        async def login() -> str:
            return await asyncio.to_thread(_login, port, "central-admin-pw")

        # central's HTTP needs a login: anonymous is refused, the admin gets a token
        TOKEN[0] = asyncio.run(eventually(login, bool, 60, "central's login"))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=2)
        assert refused.value.code == 401

        async def sites() -> Any:
            return await asyncio.to_thread(_get, url)

        got = asyncio.run(
            eventually(
                sites,
                lambda s: bool(s) and s[0]["frames"] > 20 and s[0]["open_alerts"] > 0,
                60,
                "the edge site's frames and an open alert in the central view",
            )
        )
        assert got[0]["site"] == "villa" and got[0]["worker"] == "edge"

        async def picture_of(wanted: str) -> Any:
            return await asyncio.to_thread(_get, f"http://127.0.0.1:{port}{wanted}")

        # tracks and open alerts come and go with the edge's picture (at 40x a track ends in
        # seconds, an alert resolves): waited for, not sampled once after the wait above
        asyncio.run(
            eventually(
                lambda: picture_of("/api/cluster/sites"),
                lambda s: s[0]["tracks"] > 0,
                60,
                "tracks of the edge site in the central view",
            )
        )
        picture = asyncio.run(
            eventually(
                lambda: picture_of("/api/cluster/picture?site=villa"),
                lambda p: bool(p["sites"][0]["alerts"]),
                60,
                "an open alert in the central picture",
            )
        )
        assert picture["sites"][0]["alerts"][0]["level"] in ("advisory", "warning", "alert")
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN[0]}"}
        )
        with urllib.request.urlopen(req, timeout=2) as r:
            metrics = r.read().decode()
        assert 'skywarden_site_frames_total{site="villa"}' in metrics
        for p in procs:
            p.send_signal(signal.SIGINT)
        assert central.wait(20) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        edge.stop()
        hub.stop()

"""The cluster commands as a user runs them: ``skywarden edge`` on an edge leaf node and
``skywarden central --edge ... --http ...`` on the hub; the central HTTP view shows the
edge's tracks and alerts."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from nats_helpers import eventually, free_port, hub_and_edge, require_nats_server


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as r:
        return json.loads(r.read())


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
        )
        procs.append(central)
        site = subprocess.Popen(
            [*sw, "edge", "--nats", edge.url, "--site-id", "villa", "--speed", "40"],
            stdout=(tmp_path / "edge.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append(site)
        url = f"http://127.0.0.1:{port}/api/cluster/sites"

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
        assert got[0]["site"] == "villa" and got[0]["worker"] == "edge" and got[0]["tracks"] > 0
        picture = _get(f"http://127.0.0.1:{port}/api/cluster/picture?site=villa")
        assert picture["sites"][0]["alerts"][0]["level"] in ("advisory", "warning", "alert")
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

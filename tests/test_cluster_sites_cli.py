"""``skywarden site add|update|list|remove`` against a real nats-server: what a worker
would refuse is refused at the door, and add/update never replace each other's work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from nats_helpers import require_nats_server, single_server


def test_site_commands(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)
    sw = [sys.executable, "-m", "skywarden.cli.main", "site"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*sw, *args, "--nats", srv.url], capture_output=True, text=True, timeout=60
        )

    header = {
        "type": "header",
        "format": "skybench/1",
        "name": "north",
        "duration_s": 60,
        "origin": {"lat": 33.31, "lon": 44.36, "alt_m": 34.0},
        "sensors": [
            {
                "id": "r1",
                "kind": "plots",
                "position_enu_m": [0, 0, 0],
                "update_s": 1.0,
                "measures": "xy",
                "sigma": {"x_m": 5.0, "y_m": 5.0},
            }
        ],
        "zones": [
            {
                "id": "home",
                "kind": "protected",
                "center_enu_m": [0, 0],
                "radius_m": 100,
                "ceiling_m": 150,
            }
        ],
    }
    good = tmp_path / "north.json"
    good.write_text(json.dumps(header))
    bad = tmp_path / "bad.json"
    bad_header = json.loads(json.dumps(header))
    bad_header["sensors"][0]["update_s"] = -1
    bad.write_text(json.dumps(bad_header))
    try:
        assert run("list").stdout == ""
        r = run("add", "north", "--header", str(bad))
        assert r.returncode == 2 and "update_s" in r.stderr, r.stderr
        assert run("add", "north", "--header", str(good), "--region", "east").returncode == 0
        r = run("add", "north", "--header", str(good))
        assert r.returncode == 1 and "exists already" in r.stderr
        r = run("update", "south", "--header", str(good))
        assert r.returncode == 1 and "no site south" in r.stderr
        assert run("update", "north", "--header", str(good), "--region", "west").returncode == 0
        rows = [json.loads(x) for x in run("list").stdout.splitlines()]
        assert rows == [{"site": "north", "region": "west", "sensors": 1, "zones": 1, "worker": ""}]
        assert run("add", "bad.token", "--header", str(good)).returncode == 2
        assert run("remove", "north").returncode == 0
        assert run("remove", "north").returncode == 1
        assert run("list").stdout == ""
    finally:
        srv.stop()

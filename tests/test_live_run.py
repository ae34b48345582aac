"""``skywarden run`` as a user starts it: a real process on a free loopback port.

It must show confirmed tracks at ``/api/tracks`` within 30 s and stop cleanly on SIGINT
(exit 0 or 130, no traceback). A second case serves a site file with no traffic.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

SKYWARDEN = Path(sys.executable).parent / "skywarden"

SITE_TOML = """
name = "gatehouse"
[origin]
lat = 51.5
lon = -0.12
alt_m = 20.0
[[sensors]]
id = "radar-1"
kind = "radar"
measures = "range_az_el_radial"
position_enu_m = [0, 0, 8]
sigma = {range_m = 4.0, az_rad = 0.008, el_rad = 0.01, radial_mps = 0.5}
max_range_m = 3000
[[zones]]
id = "house"
kind = "protected"
center_enu_m = [0, 0]
radius_m = 100
ceiling_m = 200
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


def _start(*args: str) -> tuple[subprocess.Popen[str], int]:
    """``skywarden run`` on a free port; a fresh journal in a temp dir unless one is given."""
    port = _free_port()
    if "--journal" not in args:
        args = (*args, "--journal", str(Path(tempfile.mkdtemp(prefix="sw-run-")) / "j.sqlite"))
    proc = subprocess.Popen(
        [str(SKYWARDEN), "run", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, port


def _wait_for(port: int, path: str, proc: subprocess.Popen[str], deadline_s: float, ok: Any) -> Any:
    end = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < end:
        assert proc.poll() is None, "skywarden run exited early"
        try:
            last = _get(port, path)
            if ok(last):
                return last
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{path} not ready within {deadline_s} s; last: {last}")


def _interrupt(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode in (0, 130), out
    assert "Traceback" not in out, out
    return out


def test_run_shows_confirmed_tracks_within_30_s_and_stops_on_sigint() -> None:
    proc, port = _start()
    try:
        tracks = _wait_for(port, "/api/tracks?confirmed_only=true", proc, 30.0, bool)
        assert all(t["confirmed"] for t in tracks)
        assert _get(port, "/api/health")["mode"] == "simulation"
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
        assert b"skywarden" in page
    finally:
        out = _interrupt(proc) if proc.poll() is None else proc.communicate()[0]
    assert "stopped" in out


def test_run_with_a_site_file_serves_it_without_traffic(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(SITE_TOML, encoding="utf-8")
    proc, port = _start("--site", str(site))
    try:
        health = _wait_for(port, "/api/health", proc, 30.0, lambda h: h["status"] == "ok")
        assert health["mode"] == "live"
        assert _get(port, "/api/site")["name"] == "gatehouse"
        assert _get(port, "/api/tracks") == []
    finally:
        out = _interrupt(proc) if proc.poll() is None else proc.communicate()[0]
    assert "sensors post JSON detections to /api/ingest/{sensor_id}" in out


def test_run_with_a_bad_site_file_names_the_field(tmp_path: Path) -> None:
    site = tmp_path / "bad.toml"
    site.write_text(SITE_TOML.replace("lat = 51.5", "lat = 951.5"), encoding="utf-8")
    proc = subprocess.run(
        [str(SKYWARDEN), "run", "--port", str(_free_port()), "--site", str(site)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "origin.lat" in proc.stderr and "Traceback" not in proc.stderr

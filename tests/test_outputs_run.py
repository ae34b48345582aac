"""``skywarden run --outputs FILE`` as a user starts it: alerts reach a web hook receiver.

A real process on the simulated site at 8x with an outputs file naming one web hook whose
bearer token comes from the environment; the receiver (a plain HTTP server) must get a
``raised`` event with that token and the configured header. A bad outputs file, or a
secret's variable missing, stops the process at once with exit code 2 and the field named.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from live_helpers import free_port

SKYWARDEN = Path(sys.executable).parent / "skywarden"


def _outputs(tmp_path: Path, hook_port: int) -> Path:
    f = tmp_path / "outputs.toml"
    f.write_text(
        f"""
[[webhook]]
name = "soc"
url = "http://127.0.0.1:{hook_port}/alerts"
outbox = "{tmp_path / "outbox.sqlite"}"
headers = {{ X-Site = "residence" }}
token_env = "SW_TEST_SOC_TOKEN"
""",
        encoding="utf-8",
    )
    return f


def _run(tmp_path: Path, outputs: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SKYWARDEN), "run", "--port", str(free_port()), "--speed", "8",
         "--journal", str(tmp_path / "j.sqlite"), "--outputs", str(outputs)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip


def test_run_with_outputs_posts_alerts_to_the_web_hook(tmp_path: Path) -> None:
    got: list[tuple[dict[str, Any], str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append((body, self.headers["Authorization"], self.headers["X-Site"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {**os.environ, "SW_TEST_SOC_TOKEN": "s3cret"}
    proc = _run(tmp_path, _outputs(tmp_path, srv.server_address[1]), env)
    try:
        end = time.monotonic() + 45
        while not any(b["kind"] == "raised" for b, _, _ in got):
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < end, "no raised alert reached the web hook in 45 s"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        srv.shutdown()
        srv.server_close()
    assert proc.returncode in (0, 130) and "Traceback" not in out, out[-3000:]
    assert "outputs from" in out and "soc" in out
    body, auth, site = next(g for g in got if g[0]["kind"] == "raised")
    assert auth == "Bearer s3cret" and site == "residence"
    assert body["alert"]["state"] == "raised" and len(body["event_id"]) == 32


def test_run_refuses_bad_outputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tak]]\nhost = "h"\nport = 0\n', encoding="utf-8")
    proc = _run(tmp_path, bad, dict(os.environ))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "tak[0].port" in out, out[-2000:]

    env = {k: v for k, v in os.environ.items() if k != "SW_TEST_SOC_TOKEN"}
    proc = _run(tmp_path, _outputs(tmp_path, free_port()), env)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "soc.token_env" in out and "SW_TEST_SOC_TOKEN" in out, out[
        -2000:
    ]

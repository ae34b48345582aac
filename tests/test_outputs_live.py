"""The live system's outputs against real peers on loopback, in one real run.

The real runtime (``LiveSource`` on the built-in simulated residence site at 8x, the journal,
``create_app`` on uvicorn) with an :class:`OutputSet` of all four output kinds:

- a web hook whose HTTP receiver is *down* when the first alert is raised (the sink retries,
  counted) and comes up later: it then gets that raised event, and the operator's
  acknowledgement (made over the API) after it - nothing lost, in order;
- e-mail to a real SMTP server (``aiosmtpd``);
- CoT to a real TAK server (``taky``), relayed to a second client: track events with MITRE
  type codes and the alert in a track event's remarks;
- SAPIENT to a higher node built from skywarden's own framing and session code: it sees the
  Registration first, then DetectionReports and an Alert, and never a Task.
"""

from __future__ import annotations

import asyncio
import email
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller

from live_helpers import free_port
from skywarden.core.clock import WallClock
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.outputs.config import parse_outputs
from skywarden.runtime.outputs.output_set import OutputSet, OutputsSource
from skywarden.sensors.sapient import SapientSessions, frame, parse_message, split_frames
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from skywarden.store.journal import open_journal
from test_cot_tak import _ANNOUNCE, taky_server  # noqa: F401  (fixture)

HIGHER = "0f8fad5b-d9cb-469f-a165-70867728950e"
USER, PASSWORD = "tester", "tester-password"


class HookReceiver:
    """A plain HTTP server that records each POSTed JSON body (started when the test says)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self._srv: ThreadingHTTPServer | None = None
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                rec.bodies.append(json.loads(self.rfile.read(n)))
                rec.keys.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._handler = Handler

    def start(self) -> None:
        self._srv = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()


class Inbox:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.subjects.append(str(email.message_from_bytes(envelope.content)["Subject"]))
        return "250 OK"


class HigherNode:
    """A SAPIENT higher node: registers skywarden with the project's session code."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.sessions = SapientSessions(simulated_feed(1).site.origin, HIGHER)
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        while chunk := await reader.read(65536):
            bodies, buf = split_frames(buf + chunk)
            for body in bodies:
                pm = parse_message(body, 0.0)  # validated as the standard requires
                self.kinds.append(pm.message.WhichOneof("content") or "")
                for reply in self.sessions.handle(pm).replies:
                    writer.write(frame(reply))
            await writer.drain()
        writer.close()


async def _tak_watcher(port: int, got: bytearray) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_ANNOUNCE)
    await writer.drain()
    try:
        while chunk := await reader.read(65536):
            got.extend(chunk)
    finally:
        writer.close()


async def _until(what: str, ok: Callable[[], bool], timeout_s: float = 40.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not ok():
        if loop.time() > end:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.1)


async def _scenario(tmp_path: Path, tak_port: int) -> None:
    hook = HookReceiver(free_port())
    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    higher = HigherNode()
    higher.server = await asyncio.start_server(higher.handle, "127.0.0.1", 0)
    sap_port = higher.server.sockets[0].getsockname()[1]
    tak_got = bytearray()
    watcher = asyncio.create_task(_tak_watcher(tak_port, tak_got))
    await asyncio.sleep(0.3)  # taky registers the watcher before traffic arrives

    cfg = parse_outputs(
        {
            "queue": {"size": 500},
            "webhook": [
                {
                    "name": "soc",
                    "url": f"http://127.0.0.1:{hook.port}/hook",
                    "outbox": str(tmp_path / "outbox.sqlite"),
                    "base_backoff_s": 0.2,
                    "max_backoff_s": 0.5,
                    "headers": {"X-Site": "residence"},
                }
            ],
            "email": [
                {"host": "127.0.0.1", "port": smtp_port, "from": "sky@x.test", "to": ["d@x.test"]}
            ],
            "tak": [{"host": "127.0.0.1", "port": tak_port, "rate_s": 0.5}],
            "sapient": [
                {"host": "127.0.0.1", "port": sap_port, "destination_id": HIGHER, "rate_s": 0.5}
            ],
        },
        "test",
    )
    journal = open_journal(str(tmp_path / "journal.sqlite"))
    clock = WallClock()
    live = LiveSource(simulated_feed(seed=1), clock, journal, speed=8.0, tick_s=0.2)
    outputs = OutputSet(cfg, live.site, clock)
    source = OutputsSource(live, outputs)
    port = free_port()
    settings = ServiceSettings(
        host="127.0.0.1", port=port, admin_user=USER, admin_password=PASSWORD
    )
    app = create_app(settings, source, clock=clock, ingest=live.ingest)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await _until("service up", lambda: server.started or serving.done(), 20)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            r = await http.post("/api/auth/login", json={"username": USER, "password": PASSWORD})
            http.headers["X-CSRF-Token"] = r.json()["csrf_token"]

            # 1. the web hook receiver is down while the first alert is raised and retried
            await _until("an alert raised", lambda: outputs.counters.get("offered.soc") > 0)
            await _until(
                "the web hook retried", lambda: outputs.stats().get("outputs.soc.retries", 0) > 0
            )
            assert hook.bodies == []
            raised = next(ev for ev in live.machine.pipeline.alerts.history if ev.kind == "raised")
            aid = raised.alert.id
            hook.start()
            await _until("raised event delivered", lambda: any(
                b["kind"] == "raised" and b["alert"]["id"] == aid for b in hook.bodies
            ))  # fmt: skip

            # 2. an operator acknowledgement reaches the sinks too
            r = await http.post(f"/api/alerts/{aid}/ack", json={"by": USER})
            assert r.status_code == 200, r.text
            await _until("ack delivered", lambda: any(
                b["kind"] == "acknowledged" and b["alert"]["id"] == aid for b in hook.bodies
            ))  # fmt: skip
            ack = next(b for b in hook.bodies if b["kind"] == "acknowledged")
            assert ack["by"] == USER and ack["alert"]["state"] == "acknowledged"
            ours = [(b["kind"], b["alert"]["id"]) for b in hook.bodies if b["alert"]["id"] == aid]
            assert ours.index(("raised", aid)) < ours.index(("acknowledged", aid))
            assert len(set(hook.keys)) == len(hook.keys) == len(hook.bodies)

            # 3. e-mail, TAK relay and the SAPIENT higher node
            await _until("mail", lambda: any("raised" in s for s in inbox.subjects))
            await _until("CoT alert relayed", lambda: b"ALERT " + aid.encode() in tak_got)
            await _until("SAPIENT alert", lambda: "alert" in higher.kinds)
            await _until("SAPIENT tracks", lambda: "detection_report" in higher.kinds)

            # the simulated site keeps raising events: the outbox empties between them
            await _until("web hook outbox drained", lambda: (
                outputs.stats().get("outputs.soc.outbox", 1) == 0
            ))  # fmt: skip
            stats = (await http.get("/api/stats")).json()["counters"]
            assert stats["outputs.tak.connected"] == 1.0 and stats["outputs.tak.sent"] > 0
            assert stats["outputs.sapient.registered"] == 1.0
            assert stats["outputs.soc.delivered"] >= 2
            assert stats["outputs.email.sent"] >= 1
            assert stats["machine.scans"] > 0  # the wrapped source's own counters stay
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 20)
        watcher.cancel()
        higher.server.close()
        smtp.stop()
        hook.stop()
        journal.close()

    # CoT: confirmed tracks with MITRE type codes, relayed by taky to the second client
    events = tak_got.decode("utf-8", "replace")
    assert 'uid="skywarden.' in events and 'how="m-f"' in events
    assert any(f'type="{t}' in events for t in ("a-h-A-M-", "a-s-A-M-", "a-u-A-M-"))
    # SAPIENT: registration first (the ack came from the higher node), never a Task
    assert higher.kinds[0] == "registration"
    assert "task" not in higher.kinds
    assert set(higher.kinds) <= {"registration", "detection_report", "alert", "status_report"}


def test_live_outputs_reach_real_peers(tmp_path: Path, taky_server: int) -> None:  # noqa: F811
    asyncio.run(_scenario(tmp_path, taky_server))


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])

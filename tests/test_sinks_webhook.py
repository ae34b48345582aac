"""Web hook sink against a real HTTP receiver on loopback that is down, then comes up.

Nothing is lost while it is down (the outbox keeps every event, in order), retries back off,
each event carries an idempotency key, and an outbox file left by a stopped sink is
delivered by the next one.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from skywarden.alerts.lifecycle import Alert, AlertEvent, AlertLevel, AlertState
from skywarden.alerts.sinks.webhook import WebhookConfig, WebhookSink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A real HTTP server; ``fail_first`` answers 503 to that many POSTs."""

    def __init__(self, port: int, fail_first: int = 0) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []
        self.fail_left = fail_first
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                if rec.fail_left > 0:
                    rec.fail_left -= 1
                    self.send_response(503)
                else:
                    rec.got.append((self.headers["Idempotency-Key"], body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", port), H)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def event(i: int, kind: str = "raised") -> AlertEvent:
    a = Alert(f"A{i}", str(i), "residence", AlertLevel.WARNING, AlertState.RAISED, i, i, 30.0)
    return AlertEvent(kind, float(i), a)


async def wait_for(cond: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def cfg(port: int, outbox: Path) -> WebhookConfig:
    return WebhookConfig(
        url=f"http://127.0.0.1:{port}/hook",
        outbox_path=str(outbox),
        timeout_s=2.0,
        base_backoff_s=0.02,
        max_backoff_s=0.2,
    )


def test_receiver_down_then_up_nothing_lost_in_order(tmp_path: Path) -> None:
    async def run() -> None:
        port = free_port()
        sink = WebhookSink(cfg(port, tmp_path / "outbox.db"))
        await sink.start()
        for i in range(1, 6):
            await sink.send(event(i))
        await sink.send(event(3))  # the same event again is stored once
        await wait_for(lambda: sink.counters.get("retries") >= 3)
        assert sink.pending == 5 and sink.counters.get("delivered") == 0
        rec = await asyncio.to_thread(Receiver, port, 2)  # comes up, first answers 503 twice
        try:
            await wait_for(lambda: sink.pending == 0)
            await sink.send(event(6))
            await wait_for(lambda: len(rec.got) == 6)
        finally:
            await sink.stop()
            await asyncio.to_thread(rec.close)
        ids = [body["alert"]["id"] for _, body in rec.got]
        assert ids == ["A1", "A2", "A3", "A4", "A5", "A6"]
        assert all(k == body["event_id"] and len(k) == 32 for k, body in rec.got)
        assert len({k for k, _ in rec.got}) == 6
        assert sink.counters.get("delivered") == 6

    asyncio.run(run())


def test_outbox_survives_a_restart(tmp_path: Path) -> None:
    async def run() -> None:
        port = free_port()
        box = tmp_path / "outbox.db"
        first = WebhookSink(cfg(port, box))
        await first.start()
        await first.send(event(1))
        await first.send(event(2, "escalated"))
        await wait_for(lambda: first.counters.get("retries") >= 1)
        await first.stop()  # the process goes down with two undelivered events
        rec = await asyncio.to_thread(Receiver, port)
        second = WebhookSink(cfg(port, box))
        try:
            await second.start()
            await wait_for(lambda: len(rec.got) == 2)
        finally:
            await second.stop()
            await asyncio.to_thread(rec.close)
        assert [b["kind"] for _, b in rec.got] == ["raised", "escalated"]

    asyncio.run(run())


def test_outbox_is_bounded_and_counts_what_it_drops(tmp_path: Path) -> None:
    async def run() -> None:
        c = cfg(free_port(), tmp_path / "o.db")
        sink = WebhookSink(WebhookConfig(**{**c.__dict__, "max_pending": 3}))
        for i in range(1, 6):
            await sink.send(event(i))  # not started: nothing is posted
        assert sink.pending == 3 and sink.counters.get("dropped.outbox_full") == 2
        row = sink.outbox.oldest()
        assert row is not None and json.loads(row[2])["alert"]["id"] == "A3"
        await sink.stop()

    asyncio.run(run())

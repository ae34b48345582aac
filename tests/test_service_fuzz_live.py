"""Issue 18 (service) against a running service, as ``skywarden run`` builds it.

``runtime.live.build_server`` (the real ``LiveSource`` on the simulated site, SQLite journal,
uvicorn with the CLI's settings) serves in a thread on a free loopback port. Over real sockets:

- a forged ``X-Forwarded-For`` from loopback is neither believed nor recorded as the client
  (uvicorn's own proxy handling would have believed it: the runtime turns it off);
- a declared 20 MB body is refused with 413 before it is sent, and a chunked one is cut early,
  while ``/api/health`` keeps answering;
- the HTTP fuzzer of ``benchmarks/http_fuzz.py`` (same generator, fewer cases than the
  benchmark's 100,000): no 5xx, no dropped connection, healthy after, journal verifies.
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from skywarden.core.clock import WallClock
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.live.run import build_server
from skywarden.runtime.live.source import LiveSource
from skywarden.store.integrity import verify
from skywarden.store.journal import open_journal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import http_fuzz

ADMIN_PASSWORD = http_fuzz.ADMIN_PASSWORD
CASES = 1500


@dataclass
class Live:
    base: str
    port: int
    token: str
    journal: str
    stop: Callable[[], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    mp = pytest.MonkeyPatch()
    feed = simulated_feed(1)
    sensor = feed.site.sensors[0].id
    mp.setenv("SKYWARDEN_ADMIN_PASSWORD", ADMIN_PASSWORD)
    mp.setenv("SKYWARDEN_SENSOR_TOKENS", f"{sensor}={http_fuzz.SENSOR_TOKEN}")
    mp.delenv("SKYWARDEN_TRUSTED_PROXIES", raising=False)
    path = str(tmp_path_factory.mktemp("fuzz") / "journal.sqlite")
    journal = open_journal(path)
    clock = WallClock()
    port = _free_port()
    source = LiveSource(feed, clock, journal, speed=4.0, tick_s=0.2)
    server = build_server(source, "127.0.0.1", port, clock)
    assert server.config.proxy_headers is False
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(30)

    try:
        for _ in range(1000):
            if server.started:
                break
            time.sleep(0.02)
        assert server.started
        base = f"http://127.0.0.1:{port}"
        r = httpx.post(
            f"{base}/api/auth/token",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        yield Live(base, port, r.json()["access_token"], path, stop)
    finally:
        stop()
        journal.close()
        mp.undo()


def test_forged_forwarded_for_is_not_believed_by_the_running_service(live: Live) -> None:
    codes = []
    for i in range(8):
        r = httpx.post(
            f"{live.base}/api/auth/login",
            json={"username": "nobody-xff", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            timeout=30,
        )
        codes.append(r.status_code)
    assert codes.count(401) <= 5 and codes[-1] == 429  # one address, whatever it claims
    audit = httpx.get(
        f"{live.base}/api/audit",
        headers={"Authorization": f"Bearer {live.token}"},
        timeout=10,
    ).json()
    fails = [a for a in audit if a["what"] == "login_failed" and a["who"] == "nobody-xff"]
    assert fails
    for a in fails:
        assert a["detail"]["client"] == "127.0.0.1"
        assert a["detail"]["claimed_for"].startswith("203.0.113.")


def _request_head(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


def _read_status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_declared_20mb_body_is_413_before_it_is_sent(live: Live) -> None:
    for path in ("/api/auth/login", "/api/whitelist", "/api/ingest/x"):
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
            s.sendall(_request_head(path, "Content-Length: 20000000\r\n"))
            assert _read_status(s) == 413  # answered with no body byte sent
    assert httpx.get(f"{live.base}/api/health", timeout=5).status_code == 200


def test_chunked_20mb_body_is_cut_early_and_health_answers(live: Live) -> None:
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB chunks
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(_request_head("/api/auth/login", "Transfer-Encoding: chunked\r\n"))
        s.settimeout(0.05)
        sent, status = 0, None
        while sent < 20_000_000:
            try:
                s.sendall(chunk)
                sent += len(chunk)
            except OSError:  # the service closed the connection after its 413
                break
            try:
                status = _read_status(s)
                break
            except TimeoutError:
                continue
        s.settimeout(10)
        if status is None:
            status = _read_status(s)
    assert status == 413
    assert sent < 20_000_000 // 2, sent  # cut early, not read to the end
    assert httpx.get(f"{live.base}/api/health", timeout=5).status_code == 200


def test_a_20mb_header_is_431_early_and_a_large_body_in_one_read_is_not(live: Live) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        s.settimeout(0.05)
        sent, status = 0, None
        while sent < 20_000_000 and status is None:
            try:
                s.sendall(b"a" * 65536)
                sent += 65536
                status = _read_status(s)
            except TimeoutError:
                continue
            except OSError:
                break
        s.settimeout(10)
        if status is None:
            status = _read_status(s)
    assert status == 431 and sent < 2_000_000, (status, sent)
    # head and a 200 kB body in one write: the body does not count against the head
    body = b" " * 200_000
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(_request_head("/api/whitelist", f"Content-Length: {len(body)}\r\n") + body)
        assert _read_status(s) == 422  # the JSON check's answer: the body arrived whole
    assert httpx.get(f"{live.base}/api/health", timeout=5).status_code == 200


def test_http_fuzz_through_the_running_service(live: Live) -> None:
    doc = httpx.get(f"{live.base}/openapi.json", timeout=10).json()
    ops = http_fuzz.operations(doc)
    assert len(ops) >= 30  # every route of the API is in the document
    sensor = simulated_feed(1).site.sensors[0].id
    fz = http_fuzz.Fuzzer(ops, live.token, sensor, random.Random(7))
    res = asyncio.run(http_fuzz.send_all(live.base, fz.cases(CASES), clients=8, health_every=300))
    s = res.summary()
    assert s["cases"] == CASES
    assert s["5xx"] == 0, s["examples_5xx"]
    assert s["transport_errors"] == 0, s["examples_transport"]
    assert s["health_failures"] == 0
    assert sum(v for k, v in s["statuses"].items() if 400 <= k < 500) > CASES // 3
    assert httpx.get(f"{live.base}/api/health", timeout=5).json()["status"] == "ok"
    live.stop()  # the last test of the module: verify the journal the service closed
    result = verify(live.journal)
    assert result.ok, result

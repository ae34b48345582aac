"""Hostile bodies against a running ``skywarden run``: does the picture keep flowing?

Run: ``.venv/bin/python benchmarks/bench_hostile_bodies.py`` (``--help`` for the knobs). Not
part of ``make test``. Starts ``skywarden run`` (simulated site, SQLite journal in a temporary
directory) on a free loopback port, connects one picture WebSocket client (anonymous local
viewer) and one ``/api/health`` poller (every 0.2 s), measures ``--calm`` seconds without
attack, then ``--duration`` seconds while ``--clients`` anonymous attackers, each over its own
raw TCP connections, in a loop:

- POST a 20 MB JSON body to ``/api/auth/login`` with its ``Content-Length`` declared, one
  long string or ten million small numbers;
- POST the same 20 MB chunked (no length) to ``/api/auth/login`` and to ``/api/ingest/<id>``;
- POST a 20 MB body to ``/api/whitelist`` and to ``/api/zones`` (chunked);
- POST small poisoned JSON (NaN, lone surrogates, 16 KiB of nesting) to ``/api/auth/token``;
- send 20 MB of random bytes that are not HTTP at all;
- send a request whose one header is 20 MB long.

Each attacker keeps writing its 20 MB until the service answers or closes the connection, then
starts the next request on a new connection. Reported: the largest gap between two picture
messages and the health latencies (median, p99, max, failures), calm and under attack; the
service's peak RSS; requests and bytes the attackers got through. Exit 0 when under attack the
largest WebSocket gap is < 1.5 s and every health request answered.

``--pythonpath DIR`` runs the service from another source tree (e.g. an older commit exported
with ``git archive``) for a before/after comparison with the same clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

MB20 = 20_000_000


@dataclass
class Window:
    ws_times: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0

    def report(self, t0: float, t1: float, from_first: bool = False) -> dict[str, Any]:
        """``from_first``: gaps from the first message in the window (the calm window starts
        with the WebSocket still connecting); else from ``t0``, the stream already flowing."""
        inside = [t for t in self.ws_times if t0 <= t <= t1]
        times = [*([] if from_first else [t0]), *inside, t1]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        hm = sorted(self.health_ms)
        return {
            "seconds": round(t1 - t0, 1),
            "ws_messages": len(inside),
            "ws_max_gap_s": round(max(gaps), 3),
            "health_requests": len(hm) + self.health_failures,
            "health_failures": self.health_failures,
            "health_median_ms": round(statistics.median(hm), 1) if hm else None,
            "health_p99_ms": round(hm[int(0.99 * (len(hm) - 1))], 1) if hm else None,
            "health_max_ms": round(hm[-1], 1) if hm else None,
        }


@dataclass
class Attack:
    requests: int = 0
    bytes_sent: int = 0
    answers: dict[str, int] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _watch_ws(url: str, out: list[float], stop: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.recv(), 1.0)
                out.append(time.monotonic())


async def _poll_health(base: str, win: list[Window], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
        while not stop.is_set():
            t = time.monotonic()
            try:
                r = await http.get("/api/health")
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            w = win[-1]
            if ok:
                w.health_ms.append((time.monotonic() - t) * 1000)
            else:
                w.health_failures += 1
            await asyncio.sleep(0.2)


def _head(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


async def _one(port: int, head: bytes, body: bytes, chunked: bool, st: Attack) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    st.requests += 1
    answer = asyncio.create_task(reader.read(64))
    try:
        writer.write(head)
        step = 1 << 16
        for i in range(0, len(body), step):
            if answer.done():
                break
            part = body[i : i + step]
            writer.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            await writer.drain()
            st.bytes_sent += len(part)
        if chunked and not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except OSError:
        pass  # the service closed the connection (after its answer, or on garbage)
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(asyncio.shield(answer), 30)
    key = "closed"
    if answer.done() and not answer.cancelled() and answer.exception() is None:
        data = answer.result()
        if data.startswith(b"HTTP/") and data.count(b" ") >= 2:
            key = data.split(b" ", 2)[1].decode()
    answer.cancel()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    st.answers[key] = st.answers.get(key, 0) + 1


def _kinds(sensor: str, rng: random.Random) -> list[tuple[bytes, bytes, bool]]:
    big = b'{"username":"' + b"a" * (MB20 - 40) + b'","password":"x"}'
    noise = rng.randbytes(MB20)
    tokens = b'{"username":"a","password":"b","x":[' + b"0," * (MB20 // 2 - 30) + b"0]}"
    return [
        (_head("/api/auth/login", f"Content-Length: {len(tokens)}\r\n"), tokens, False),
        (_head("/api/whitelist", "Transfer-Encoding: chunked\r\n"), tokens, True),
        (_head("/api/auth/login", f"Content-Length: {len(big)}\r\n"), big, False),
        (_head("/api/auth/login", "Transfer-Encoding: chunked\r\n"), big, True),
        (_head(f"/api/ingest/{sensor}", "Transfer-Encoding: chunked\r\n"), big, True),
        (_head("/api/whitelist", "Transfer-Encoding: chunked\r\n"), big, True),
        (_head("/api/zones", "Transfer-Encoding: chunked\r\n"), big, True),
        (b"", noise, False),
        (b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ", big, False),
    ]


POISON = [
    b'{"username":NaN,"password":Infinity}',
    b'{"username":"\\ud800","password":"x"}',
    b"[" * 16000 + b"]" * 16000,
]


async def _attacker(
    port: int, kinds: list[tuple[bytes, bytes, bool]], rng: random.Random, st: Attack, end: float
) -> None:
    while time.monotonic() < end:
        if rng.random() < 0.2:
            p = rng.choice(POISON)
            head = _head("/api/auth/token", f"Content-Length: {len(p)}\r\n")
            await _one(port, head, p, False, st)
        else:
            head, body, chunked = rng.choice(kinds)
            await _one(port, head, body, chunked, st)


async def _attack(port: int, sensor: str, clients: int, duration: float, seed: int) -> Attack:
    """The attackers (run in their own process, so the watchers' timing is not theirs)."""
    rng = random.Random(seed)
    kinds = _kinds(sensor, rng)  # the 20 MB payloads, built once
    st = Attack()
    end = time.monotonic() + duration
    tasks = [_attacker(port, kinds, random.Random(rng.random()), st, end) for _ in range(clients)]
    await asyncio.gather(*tasks)
    return st


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def measure(port: int, sensor: str, pid: int, a: argparse.Namespace) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    ws_times: list[float] = []
    windows = [Window(ws_times)]
    watchers = [
        asyncio.create_task(_watch_ws(f"ws://127.0.0.1:{port}/ws/picture", ws_times, stop)),
        asyncio.create_task(_poll_health(base, windows, stop)),
    ]
    calm0 = time.monotonic()
    await asyncio.sleep(a.calm)
    cmd = ["nice", "-n", str(a.attacker_nice), sys.executable, __file__]
    cmd += ["--attack", f"{port},{sensor}"]
    cmd += ["--clients", str(a.clients), "--duration", str(a.duration), "--seed", str(a.seed)]
    attackers = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    calm1 = time.monotonic()
    cpu0 = _cpu_s(pid)
    windows.append(Window(ws_times))
    rss: list[int] = []
    end = calm1 + a.duration
    while time.monotonic() < end:
        rss.append(_rss_kb(pid))
        await asyncio.sleep(0.5)
    attack1 = time.monotonic()
    cpu1 = _cpu_s(pid)
    out, _ = await attackers.communicate()
    stop.set()
    for t in watchers:
        t.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    st = json.loads(out)
    return {
        "calm": windows[0].report(calm0, calm1, from_first=True),
        "attack": windows[1].report(calm1, attack1),
        "attackers": a.clients,
        "attacker_nice": a.attacker_nice,
        **st,
        "server_cpu_share_attack": round((cpu1 - cpu0) / (attack1 - calm1), 2),
        "server_rss_mb_max": round(max(rss) / 1024, 1) if rss else None,
        "server_rss_mb_start": round(rss[0] / 1024, 1) if rss else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=30.0, help="attack seconds")
    ap.add_argument("--calm", type=float, default=10.0, help="seconds measured before")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pythonpath", help="run the service from this source tree instead")
    ap.add_argument(
        "--attacker-nice",
        type=int,
        default=0,
        help="nice level of the attacker process (on loopback its CPU is the service's "
        "machine's; 10 approximates attackers on other machines)",
    )
    ap.add_argument("--attack", help=argparse.SUPPRESS)  # PORT,SENSOR: the attacker process
    a = ap.parse_args(argv)
    if a.attack:
        port, sensor = a.attack.split(",", 1)
        st = asyncio.run(_attack(int(port), sensor, a.clients, a.duration, a.seed))
        print(
            json.dumps(
                {
                    "attack_requests": st.requests,
                    "attack_mb_sent": round(st.bytes_sent / 1e6, 1),
                    "attack_answers": dict(sorted(st.answers.items())),
                }
            )
        )
        return 0
    from skywarden.runtime.live.feeds import simulated_feed

    sensor = simulated_feed(1).site.sensors[0].id
    tmp = Path(tempfile.mkdtemp(prefix="skywarden-hostile-"))
    port = _free_port()
    env = {**os.environ, "SKYWARDEN_ADMIN_PASSWORD": "hostile-bench-admin-1"}
    if a.pythonpath:
        env["PYTHONPATH"] = a.pythonpath
    cmd = [sys.executable, "-c", "from skywarden.cli.main import entry; entry()"]
    cmd += ["run", "--port", str(port), "--journal", str(tmp / "journal.sqlite")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                if httpx.get(f"http://127.0.0.1:{port}/api/health").json()["status"] == "ok":
                    break
            time.sleep(0.3)
        out = asyncio.run(measure(port, sensor, proc.pid, a))
        out["alive_after"] = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps(out, indent=1))
    ok = out["attack"]["ws_max_gap_s"] < 1.5 and out["attack"]["health_failures"] == 0
    return 0 if ok and out["alive_after"] else 1


if __name__ == "__main__":
    sys.exit(main())

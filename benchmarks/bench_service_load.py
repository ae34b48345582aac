"""Service load on loopback: 50 WebSocket clients, 2,000 detections/s for 60 s, one stalled client.

Run: ``.venv/bin/python benchmarks/bench_service_load.py`` (``--help`` for the knobs). Not part
of ``make test``; prints one summary and exits 0 when the targets hold (p99 < 250 ms for every
reading client, bounded server memory, the stalled client closed), 1 otherwise.

What runs:

- **server** (a child process, ``--serve``): the real app (``create_app``) on uvicorn over a
  ``ScriptedSource``. A producer task on the server's event loop receives 2,000 detections/s
  in ticks of ``--tick`` s; each tick moves ``--tracks`` tracks by the detections assigned to
  them, runs the real ``ThreatAssessor`` and ``AlertManager`` and pushes the picture, stamped
  ``wall_t`` = the arrival time of that tick's detections. (The tracker is not in this loop:
  its cost is measured by ``skywarden bench``; this measures the service path from a picture's
  inputs to the operators' screens.)
- **clients** (this process): 50 ``websockets`` clients, each recording for every picture
  ``receive wall time - wall_t`` (both clocks are this machine's ``time.time``), and one raw
  TCP client that completes the handshake and never reads (``SO_RCVBUF`` 4 KiB).
- **memory**: the server's RSS (``/proc/PID/status``) after warm-up and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
HEAD = re.compile(r'"seq":(\d+),"t":[^,]+,"wall_t":([0-9.eE+-]+)')
SITE = {
    "name": "load-site",
    "origin": {"lat": 51.5, "lon": -0.12, "alt_m": 20.0},
    "sensors": [
        {
            "id": "radar-1",
            "kind": "radar",
            "measures": "range_az_el_radial",
            "position_enu_m": [0, 0, 8],
            "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6},
            "max_range_m": 5000,
        }
    ],
    "zones": [
        {"id": "house", "kind": "protected", "center_enu_m": [0, 0], "radius_m": 150},
        {
            "id": "perimeter",
            "kind": "warning",
            "polygon_enu_m": [[-800, -800], [800, -800], [800, 800], [-800, 800]],
        },
    ],
}


# --------------------------------------------------------------------------- server side


def serve(port: int, tracks: int, det_rate: float, tick_s: float, assess: bool) -> None:
    import uvicorn

    from skywarden.alerts.lifecycle import AlertManager
    from skywarden.core.site import parse_site
    from skywarden.core.track import TrackState, TrackStatus
    from skywarden.service.app import create_app
    from skywarden.service.scripted import ScriptedSource
    from skywarden.service.settings import ServiceSettings
    from skywarden.service.source import Picture
    from skywarden.threat.assess import ThreatAssessor

    site = parse_site(SITE)
    source = ScriptedSource(site)
    settings = ServiceSettings(port=port, admin_password="load-bench-admin")
    app = create_app(settings, source)
    rng = np.random.default_rng(1)
    angle = rng.uniform(0, 2 * np.pi, tracks)
    dist = rng.uniform(300, 3000, tracks)
    speed = rng.uniform(2, 20, tracks)
    pos = np.stack([dist * np.cos(angle), dist * np.sin(angle)], axis=1)
    vel = -pos / np.linalg.norm(pos, axis=1, keepdims=True) * speed[:, None]
    assessor = ThreatAssessor(site)
    alerts = AlertManager()
    counters = {"detections": 0, "pictures": 0, "build_ms_max": 0.0}

    def make_tracks(now: float) -> list[TrackState]:
        out = []
        for i in range(tracks):
            x = np.array([pos[i, 0], pos[i, 1], 60.0, vel[i, 0], vel[i, 1], 0.0])
            out.append(
                TrackState(
                    id=f"T{i}", t=now, x=x, P=np.eye(6) * 25.0, status=TrackStatus.CONFIRMED,
                    class_probs={"drone": 0.8, "bird": 0.2}, sensors=("radar-1",), hits=10,
                    first_t=now - 30.0,
                )
            )  # fmt: skip
        return out

    async def producer() -> None:
        loop = asyncio.get_running_loop()
        per_tick = round(det_rate * tick_s)
        seq = 0
        next_t = loop.time()
        while True:
            next_t += tick_s
            await asyncio.sleep(max(0.0, next_t - loop.time()))
            arrival = time.time()  # the tick's detections arrive now
            owners = rng.integers(0, tracks, per_tick)  # which track each detection updates
            np.add.at(pos, owners, vel[owners] * (tick_s / max(1, per_tick // tracks)))
            far = np.linalg.norm(pos, axis=1) < 50.0
            pos[far] *= 40.0  # a track that reached the centre starts again further out
            trs = make_tracks(arrival)
            # like the runtime's live loop: the numpy/threat work runs in a worker thread
            assessed = await asyncio.to_thread(assessor.assess, trs, arrival) if assess else []
            alerts.update(assessed, arrival)
            seq += 1
            pic = Picture(
                seq=seq,
                t=arrival,
                wall_t=arrival,
                tracks=tuple(trs),
                assessments={a.track_id: a for a in assessed},
                alerts=tuple(alerts.active)[-50:],
            )
            source.push(pic)
            counters["detections"] += per_tick
            counters["pictures"] += 1
            counters["build_ms_max"] = max(counters["build_ms_max"], (time.time() - arrival) * 1e3)

    orig_stats = source.stats

    def stats() -> dict[str, float]:
        return {**orig_stats(), **{f"bench.{k}": float(v) for k, v in counters.items()}}

    source.stats = stats  # type: ignore[method-assign]

    async def main() -> None:
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=2**24)
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        prod = asyncio.create_task(producer())
        await task
        prod.cancel()

    asyncio.run(main())


# --------------------------------------------------------------------------- client side


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


def stalled_client(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            "GET /ws/picture HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    return s


async def reader(port: int, stop: asyncio.Event, lat_ms: list[float], warm_until: float) -> int:
    import websockets

    n = 0
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ws/picture", max_size=2**24, compression=None
    ) as ws:
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            now = time.time()
            m = HEAD.search(msg[:200] if isinstance(msg, str) else msg[:200].decode())
            if m is None or now < warm_until:
                continue
            lat_ms.append((now - float(m.group(2))) * 1e3)
            n += 1
    return n


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


async def drive(a: argparse.Namespace, port: int, server_pid: int) -> dict[str, Any]:
    stop = asyncio.Event()
    warm_until = time.time() + a.warmup
    per_client: list[list[float]] = [[] for _ in range(a.clients)]
    stall = stalled_client(port) if a.stall else None
    tasks = [
        asyncio.create_task(reader(port, stop, per_client[i], warm_until)) for i in range(a.clients)
    ]
    await asyncio.sleep(a.warmup)
    rss0 = rss_kib(server_pid)
    stats0 = get_json(port, "/api/stats")["counters"]
    t0 = time.time()
    rss_samples = [rss0]
    end = time.time() + a.duration
    while time.time() < end:
        await asyncio.sleep(5.0)
        rss_samples.append(rss_kib(server_pid))
    stats1 = get_json(port, "/api/stats")["counters"]
    span = time.time() - t0
    stop.set()
    await asyncio.gather(*tasks)
    if stall is not None:
        stall.close()
    allv = [x for xs in per_client for x in xs]
    client_p99 = [pct(xs, 99) for xs in per_client]
    dets = stats1.get("bench.detections", 0) - stats0.get("bench.detections", 0)
    return {
        "clients": a.clients,
        "stalled_client": bool(a.stall),
        "duration_s": a.duration,
        "threat_assessment": bool(a.assess),
        "tracks": a.tracks,
        "detections_per_s": round(dets / span, 1),
        "pictures_per_s": round(
            (stats1.get("bench.pictures", 0) - stats0.get("bench.pictures", 0)) / span, 2
        ),
        "messages_received": len(allv),
        "latency_ms_median": round(statistics.median(allv), 2) if allv else None,
        "latency_ms_p99": round(pct(allv, 99), 2),
        "latency_ms_max": round(max(allv), 2) if allv else None,
        "worst_client_p99_ms": round(max(client_p99), 2),
        "fewest_messages_one_client": min(len(xs) for xs in per_client),
        "server_rss_mib_start": round(rss0 / 1024, 1),
        "server_rss_mib_end": round(rss_samples[-1] / 1024, 1),
        "server_rss_mib_max": round(max(rss_samples) / 1024, 1),
        "picture_build_ms_max": stats1.get("bench.build_ms_max"),
        "ws_stalled": stats1.get("ws.stalled", 0),
        "ws_resyncs": stats1.get("ws.resyncs", 0),
        "ws_dropped": stats1.get("ws.dropped", 0),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rate", type=float, default=2000.0, help="detections per second")
    p.add_argument("--tracks", type=int, default=100)
    p.add_argument("--tick", type=float, default=0.1, help="s between pictures")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--no-stall", dest="stall", action="store_false")
    p.add_argument(
        "--no-assess", dest="assess", action="store_false", help="skip threat assessment"
    )
    p.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.serve is not None:
        serve(a.serve, a.tracks, a.rate, a.tick, a.assess)
        return 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, str(HERE), "--serve", str(port), "--tracks", str(a.tracks)]
    args += ["--rate", str(a.rate), "--tick", str(a.tick)] + ([] if a.assess else ["--no-assess"])
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                get_json(port, "/api/health")
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    err = server.stderr.read() if server.stderr else ""
                    raise SystemExit(f"server did not start: {err}") from None
                time.sleep(0.2)
        result = asyncio.run(drive(a, port, server.pid))
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps(result, indent=2))
    ok = (
        result["worst_client_p99_ms"] < 250.0
        and result["server_rss_mib_end"] < result["server_rss_mib_start"] * 1.5 + 20
        and (not a.stall or result["ws_stalled"] + result["ws_resyncs"] >= 1)
    )
    print("PASS" if ok else "FAIL: p99 >= 250 ms, memory grew, or the stalled client was kept")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Service load on loopback: 50 WebSocket clients, 2,000 detections/s for 60 s, one stalled client.

Run: ``.venv/bin/python benchmarks/bench_service_load.py --pipeline`` (``--help`` for the
knobs). Not part of ``make test``; prints one summary and exits 0 when the targets hold (p99 <
250 ms for every reading client, bounded server memory, the stalled client closed), 1
otherwise.

Two servers (each a child process, ``--serve``), the same clients:

- ``--pipeline`` (the issue's measurement): the real runtime, as ``skywarden run`` builds it
  (``LiveSource`` + ``build_server``: SQLite journal, record machine, tracker, classifier,
  threat assessment, alert lifecycle, WebSocket deltas) for a site with one 10 Hz radar. This
  process is the radar: every 0.1 s it POSTs one scan (100 moving targets seen with Pd 0.9,
  100 clutter plots; polar plots with the measurement time ``t_k`` = now) to
  ``/api/ingest/radar-1`` with the sensor's token; the runtime answers 202 once the scan is
  journaled. A client has the scan's tracks when it receives the first update whose picture
  time ``t >= t_k``; latency = that receive time - ``t_k`` (one machine, one ``time.time``).
  The runtime steps every ``--tick`` s up to now - ``--lag`` (its reorder window for late
  reports), so the latency includes that window by design; reports later than it are counted
  (``too_late``).
- default (service path only): the app over a ``ScriptedSource``; a producer task moves
  ``--tracks`` tracks in ticks of ``--tick`` s, runs the real ``ThreatAssessor`` and
  ``AlertManager`` and pushes the picture stamped ``wall_t`` = the tick's arrival time; latency
  = receive time - ``wall_t``. The tracker is not in this loop.

Clients (this process): 50 ``websockets`` clients, each recording every update's receive time
and picture time, and one raw TCP client that completes the handshake and never reads
(``SO_RCVBUF`` 4 KiB). Memory: the server's RSS (``/proc/PID/status``) after warm-up and every
5 s to the end.
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
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "tests"))  # support.scripted: a test helper
HEAD = re.compile(r'"seq":(\d+),"t":([0-9.eE+-]+),"wall_t":([0-9.eE+-]+)')
TOKEN = "load-bench-radar-token-0123456789"
RADAR = {
    "id": "radar-1",
    "kind": "radar",
    "measures": "range_az_el_radial",
    "position_enu_m": [0, 0, 8],
    "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6},
    "max_range_m": 5000,
    "update_s": 0.1,
    "pd": 0.9,
    "clutter_per_scan": 100,
    "reports": "scans",  # each POST is one whole scan: a target it lacks was missed
}
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
    from skywarden.service.settings import ServiceSettings
    from skywarden.service.source import Picture
    from skywarden.threat.assess import ThreatAssessor
    from support.scripted import ScriptedSource

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


def serve_pipeline(port: int, tick_s: float, lag_s: float, journal_dir: str) -> None:
    """The runtime exactly as ``skywarden run --site`` builds it, on the load site."""
    from skywarden.core.clock import WallClock
    from skywarden.core.site import parse_site
    from skywarden.runtime.live.feeds import Feed, site_to_dict
    from skywarden.runtime.live.run import build_server
    from skywarden.runtime.live.source import LiveSource
    from skywarden.store.journal import open_journal

    os.environ["SKYWARDEN_SENSOR_TOKENS"] = f"radar-1={TOKEN}"
    site = parse_site({**SITE, "sensors": [RADAR]})
    feed = Feed(site, "live", "load bench site", None, 0.0, "live", {"site": site_to_dict(site)})
    journal = open_journal(str(Path(journal_dir) / "journal.sqlite"))
    clock = WallClock()
    source = LiveSource(feed, clock, journal, tick_s=tick_s, lag_s=lag_s)
    server = build_server(source, "127.0.0.1", port, clock)
    server.config.log_level = "warning"
    asyncio.run(server.serve())


class Radar:
    """The radar this process plays: targets flying in from every side, clutter anywhere."""

    def __init__(self, targets: int, clutter: int, seed: int = 1) -> None:
        rng = self.rng = np.random.default_rng(seed)
        self.clutter = clutter
        ang = rng.uniform(0, 2 * np.pi, targets)
        dist = rng.uniform(800, 4000, targets)
        speed = rng.uniform(3, 25, targets)
        alt = rng.uniform(30, 200, targets)
        self.pos = np.stack([dist * np.sin(ang), dist * np.cos(ang), alt], 1)
        self.vel = np.zeros_like(self.pos)
        self.vel[:, :2] = -self.pos[:, :2] / dist[:, None] * speed[:, None]
        self.t: float | None = None

    def scan(self, t: float) -> bytes:
        dt = 0.0 if self.t is None else t - self.t
        self.t = t
        self.pos += self.vel * dt
        near = np.linalg.norm(self.pos[:, :2], axis=1) < 100.0
        self.pos[near, :2] *= 35.0  # a target that reached the site comes in again from afar
        d = self.pos - np.array([0.0, 0.0, 8.0])
        rng = np.linalg.norm(d, axis=1)
        az = np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360.0
        el = np.degrees(np.arcsin(d[:, 2] / rng))
        rdot = np.einsum("ij,ij->i", d, self.vel) / rng
        r = self.rng
        n = rng.shape[0]
        seen = r.random(n) < 0.9
        noise = [r.normal(0, sd, n) for sd in (5.0, 0.57, 0.86, 0.6)]  # range, az, el, rdot
        plots = np.stack([rng, az, el, rdot], 1)[seen] + np.stack(noise, 1)[seen]
        k = self.clutter
        clutter = np.stack([r.uniform(200, 5000, k), r.uniform(0, 360, k),
                            r.uniform(0.5, 10, k), r.normal(0, 2, k)], 1)  # fmt: skip
        dets = [
            {"polar": {"range_m": p[0], "az_deg": p[1] % 360.0, "el_deg": p[2], "radial_mps": p[3]}}
            for p in np.concatenate([plots, clutter]).round(3).tolist()
        ]
        return json.dumps({"sensor_id": "radar-1", "t": t, "detections": dets}).encode()


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


async def reader(
    port: int, stop: asyncio.Event, got: list[tuple[float, float, float]], warm_until: float
) -> int:
    """Record (receive time, picture time, wall_t) of every update after the warm-up."""
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
            got.append((now, float(m.group(2)), float(m.group(3))))
            n += 1
    return n


async def sender(port: int, stop: asyncio.Event, sent: list[tuple[float, int]], a: Any) -> None:
    """One radar scan every ``1 / scan_hz`` s, POSTed; (t_k, HTTP status) of each."""
    import httpx

    radar = Radar(a.tracks, a.clutter)
    loop = asyncio.get_running_loop()
    period = 1.0 / a.scan_hz
    next_t = loop.time()
    headers = {"X-Sensor-Token": TOKEN, "Content-Type": "application/json"}
    url = f"http://127.0.0.1:{port}/api/ingest/radar-1"
    async with httpx.AsyncClient(timeout=10.0) as http:
        while not stop.is_set():
            next_t += period
            await asyncio.sleep(max(0.0, next_t - loop.time()))
            t_k = time.time()
            r = await http.post(url, content=radar.scan(t_k), headers=headers)
            sent.append((t_k, r.status_code))


def scan_latencies(
    sent: list[tuple[float, int]], got: list[tuple[float, float, float]]
) -> list[float]:
    """For each accepted scan: ms until this client received an update with t >= t_k."""
    if not got:
        return []
    recv = np.array([g[0] for g in got])
    pic_t = np.maximum.accumulate(np.array([g[1] for g in got]))
    out = []
    for t_k, status in sent:
        i = int(np.searchsorted(pic_t, t_k, side="left"))
        if status == 202 and i < len(got) and recv[0] <= t_k:
            out.append(float(recv[i] - t_k) * 1e3)
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


async def drive(a: argparse.Namespace, port: int, server_pid: int) -> dict[str, Any]:
    stop = asyncio.Event()
    warm_until = time.time() + a.warmup
    per_client: list[list[tuple[float, float, float]]] = [[] for _ in range(a.clients)]
    stall = stalled_client(port) if a.stall else None
    tasks = [
        asyncio.create_task(reader(port, stop, per_client[i], warm_until)) for i in range(a.clients)
    ]
    sent: list[tuple[float, int]] = []
    send_stop = asyncio.Event()
    send_task = asyncio.create_task(sender(port, send_stop, sent, a)) if a.pipeline else None
    await asyncio.sleep(a.warmup)
    rss0 = rss_kib(server_pid)
    stats0 = get_json(port, "/api/stats")["counters"]
    n_sent0 = len(sent)
    t0 = time.time()
    rss_samples = [rss0]
    end = time.time() + a.duration
    while time.time() < end:
        await asyncio.sleep(5.0)
        rss_samples.append(rss_kib(server_pid))
    stats1 = get_json(port, "/api/stats")
    span = time.time() - t0
    send_stop.set()
    if send_task is not None:
        await send_task
    await asyncio.sleep(2.0)  # the last scans' updates
    stop.set()
    await asyncio.gather(*tasks)
    if stall is not None:
        stall.close()
    c1 = stats1["counters"]
    window = [x for x in sent[n_sent0:] if x[0] <= t0 + span]
    if a.pipeline:
        lat = [scan_latencies(window, got) for got in per_client]
        dets = len(window) * (0.9 * a.tracks + a.clutter)
        pictures = c1.get("live.steps", 0) - stats0.get("live.steps", 0)
    else:
        lat = [[(g[0] - g[2]) * 1e3 for g in got] for got in per_client]
        dets = c1.get("bench.detections", 0) - stats0.get("bench.detections", 0)
        pictures = c1.get("bench.pictures", 0) - stats0.get("bench.pictures", 0)
    allv = [x for xs in lat for x in xs]
    client_p99 = [pct(xs, 99) for xs in lat]
    out: dict[str, Any] = {
        "server": "runtime (journal, tracker, threat, alerts)" if a.pipeline else "scripted",
        "clients": a.clients,
        "stalled_client": bool(a.stall),
        "duration_s": a.duration,
        "detections_per_s": round(dets / span, 1),
        "pictures_per_s": round(pictures / span, 2),
        "latencies_measured": len(allv),
        "latency_ms_median": round(statistics.median(allv), 2) if allv else None,
        "latency_ms_p99": round(pct(allv, 99), 2),
        "latency_ms_max": round(max(allv), 2) if allv else None,
        "worst_client_p99_ms": round(max(client_p99), 2),
        "fewest_updates_one_client": min(len(xs) for xs in per_client),
        "server_rss_mib_start": round(rss0 / 1024, 1),
        "server_rss_mib_end": round(rss_samples[-1] / 1024, 1),
        "server_rss_mib_max": round(max(rss_samples) / 1024, 1),
        "server_rss_mib_every_5s": [round(x / 1024, 1) for x in rss_samples],
        # steady state: trails, alert history and the restore window fill for their first
        # 120 s (their bounds); growth after that is what "unbounded" would look like
        "server_rss_mib_growth_last_60s": round((rss_samples[-1] - rss_samples[-13]) / 1024, 1)
        if len(rss_samples) >= 13
        else None,
        "ws_stalled": c1.get("ws.stalled", 0),
        "ws_resyncs": c1.get("ws.resyncs", 0),
        "ws_dropped": c1.get("ws.dropped", 0),
    }
    if a.pipeline:
        out.update(
            {
                "tick_s": a.tick,
                "lag_s": a.lag,
                "scans_posted": len(window),
                "scans_refused": sum(1 for _, st in window if st != 202),
                "too_late": c1.get("machine.rejected.too_late", 0),
                **{k[5:]: v for k, v in c1.items() if k.startswith("live.") and "_ms_" in k},
                "confirmed_tracks_end": stats1.get("confirmed_tracks"),
            }
        )
    else:
        out.update({"threat_assessment": bool(a.assess), "tracks": a.tracks})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rate", type=float, default=2000.0, help="detections per second")
    p.add_argument("--pipeline", action="store_true", help="the real runtime (see the doc)")
    p.add_argument("--tracks", type=int, default=100)
    p.add_argument("--clutter", type=int, default=110, help="--pipeline: false plots per scan")
    p.add_argument("--scan-hz", type=float, default=10.0, help="--pipeline: radar scans per s")
    p.add_argument("--lag", type=float, default=0.05, help="--pipeline: reorder window, s")
    p.add_argument("--tick", type=float, default=0.1, help="s between pictures")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--no-stall", dest="stall", action="store_false")
    p.add_argument(
        "--no-assess", dest="assess", action="store_false", help="skip threat assessment"
    )
    p.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--journal-dir", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.serve is not None:
        if a.pipeline:
            serve_pipeline(a.serve, a.tick, a.lag, a.journal_dir)
        else:
            serve(a.serve, a.tracks, a.rate, a.tick, a.assess)
        return 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, str(HERE), "--serve", str(port), "--tracks", str(a.tracks)]
    args += ["--rate", str(a.rate), "--tick", str(a.tick)] + ([] if a.assess else ["--no-assess"])
    tmp = tempfile.TemporaryDirectory(prefix="skywarden-load-")
    if a.pipeline:
        args += ["--pipeline", "--lag", str(a.lag), "--journal-dir", tmp.name]
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
        tmp.cleanup()
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

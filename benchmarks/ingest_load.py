"""The sensors ``bench_ingest.py`` plays: moving targets and one sender per link kind.

Each ``drive_*`` coroutine offers ``a.rate`` messages/s of one detection each until ``stop``
is set, and records in a :class:`Tally` the measurement time of every message it sent (and,
for HTTP, the time to each 202). Kept apart from the runner so each file stays short.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ORIGIN = {"lat": 51.5, "lon": -0.12, "alt_m": 20.0}
NODE = "a8654cdf-4328-47de-81fa-c495589e30c9"
SKY = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"  # skywarden's own SAPIENT node id


# --------------------------------------------------------------------------- targets


class Targets:
    """``n`` objects flying straight at 5-25 m/s within 3 km; where they are at time ``t``."""

    def __init__(self, n: int, t0: float, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        ang = rng.uniform(0, 2 * np.pi, n)
        dist = rng.uniform(500, 2500, n)
        self.p0 = np.stack([dist * np.sin(ang), dist * np.cos(ang), rng.uniform(60, 300, n)], 1)
        heading = rng.uniform(0, 2 * np.pi, n)
        speed = rng.uniform(5, 25, n)
        self.v = np.stack([speed * np.sin(heading), speed * np.cos(heading), np.zeros(n)], 1)
        self.t0 = t0
        self.n = n
        self.rng = rng

    def enu(self, i: int, t: float) -> tuple[float, float, float]:
        p = self.p0[i] + self.v[i] * (t - self.t0) + self.rng.normal(0, 3.0, 3)
        return float(p[0]), float(p[1]), float(p[2])


def json_message(sensor_id: str, t: float, e: float, n: float, u: float) -> bytes:
    det = {"enu": {"e": round(e, 2), "n": round(n, 2), "u": round(u, 2)}}
    return json.dumps({"sensor_id": sensor_id, "t": t, "detections": [det]}).encode()


def token_of(sensor_id: str) -> str:
    return f"bench-token-{sensor_id}-0123456789"


@dataclass
@dataclass
class Tally:
    sent: list[float] = field(default_factory=list)  # measurement time of each message sent
    acks: list[float] = field(default_factory=list)  # seconds to the acknowledgement
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def pace(rate: float, t_start: float) -> Callable[[int], float]:
    """When message number ``k`` is due (seconds on the loop clock) at ``rate`` per second."""
    return lambda k: t_start + k / rate


# --------------------------------------------------------------------------- the senders


async def drive_mqtt(a: argparse.Namespace, port: int, stop: asyncio.Event, tally: Tally) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="ingest-bench-pub")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    loop = asyncio.get_running_loop()
    targets = Targets(a.targets, time.time())
    due = pace(a.rate, loop.time())
    k = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, due(k) - loop.time()))
            t = time.time()
            n = min(500, max(1, int((loop.time() - due(k)) * a.rate) + 1))  # catch up, in steps
            for _ in range(n):
                pub.publish(
                    "bench/cam-00", json_message("cam-00", t, *targets.enu(k % a.targets, t)), qos=1
                )
                tally.sent.append(t)
                k += 1
    finally:
        pub.disconnect()
        pub.loop_stop()


async def drive_sapient(
    a: argparse.Namespace, port: int, stop: asyncio.Event, tally: Tally
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from sapient_helpers import registration  # type: ignore[import-not-found]
    from skywarden.sim.wire import sapient_frame

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sapient_frame(registration(NODE, time.time())))
    await writer.drain()
    await asyncio.sleep(0.5)  # the registration ack
    with contextlib.suppress(Exception):
        await asyncio.wait_for(reader.read(65536), 0.5)
    loop = asyncio.get_running_loop()
    targets = Targets(a.targets, time.time())
    lat0, lon0 = ORIGIN["lat"], ORIGIN["lon"]
    due = pace(a.rate, loop.time())
    k = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, due(k) - loop.time()))
            t = time.time()
            n = min(500, max(1, int((loop.time() - due(k)) * a.rate) + 1))
            chunk = []
            for _ in range(n):
                e, nn, u = targets.enu(k % a.targets, t)
                chunk.append(sapient_frame(sapient_det(t, k, e, nn, u, lat0, lon0)))
                tally.sent.append(t)
                k += 1
            writer.write(b"".join(chunk))
            await writer.drain()
    finally:
        writer.close()


def sapient_det(t: float, k: int, e: float, n: float, u: float, lat0: float, lon0: float) -> Any:
    from sapient_msg.bsi_flex_335_v2_0 import location_pb2

    from skywarden.sensors.sapient import SapientMessage

    m = SapientMessage(node_id=NODE, destination_id=SKY)
    m.timestamp.FromNanoseconds(int(t * 1e9))
    d = m.detection_report
    d.report_id = ulid(k)
    d.object_id = ulid(k % 1000 + 10**9)
    loc = d.location
    loc.x = lon0 + e / (111_320.0 * np.cos(np.radians(lat0)))
    loc.y = lat0 + n / 110_574.0
    loc.z = ORIGIN["alt_m"] + u
    loc.x_error, loc.y_error, loc.z_error = 4e-5, 4e-5, 6.0
    loc.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    loc.datum = location_pb2.LOCATION_DATUM_WGS84_E
    return m


_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(k: int) -> str:
    out = []
    for _ in range(26):
        out.append(_B32[k % 32])
        k //= 32
    return "01" + "".join(reversed(out))[2:]


async def drive_beast(a: argparse.Namespace, port: int, stop: asyncio.Event, tally: Tally) -> None:
    """This process is dump1090: the runtime's link connects to ``port``."""
    from skywarden.sim.wire import adsb_position, beast_frame

    connected: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await connected.put(w)

    server = await asyncio.start_server(on_connect, "127.0.0.1", port)
    writer = await asyncio.wait_for(connected.get(), 30)
    loop = asyncio.get_running_loop()
    targets = Targets(a.targets, time.time())
    lat0, lon0 = ORIGIN["lat"], ORIGIN["lon"]
    icaos = [f"{0x400000 + i:06x}" for i in range(a.targets)]
    due = pace(a.rate, loop.time())
    k = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, due(k) - loop.time()))
            t = time.time()
            n = min(500, max(1, int((loop.time() - due(k)) * a.rate) + 1))
            chunk = []
            for _ in range(n):
                i = k % a.targets
                e, nn, u = targets.enu(i, t)
                lat = lat0 + nn / 110_574.0
                lon = lon0 + e / (111_320.0 * np.cos(np.radians(lat0)))
                odd = (k // a.targets) % 2 == 1
                chunk.append(beast_frame(adsb_position(icaos[i], lat, lon, 300.0 + u, odd), t))
                tally.sent.append(t)
                k += 1
            writer.write(b"".join(chunk))
            await writer.drain()
    finally:
        writer.close()
        server.close()


async def drive_http_single(
    a: argparse.Namespace, port: int, stop: asyncio.Event, tally: Tally
) -> None:
    """``--clients`` keep-alive connections, each ``POST /api/ingest/{id}`` one message per
    request (the route for sensors that cannot batch)."""
    await drive_http_raw(a, port, stop, tally, batch=False)


async def drive_http_raw(
    a: argparse.Namespace, port: int, stop: asyncio.Event, tally: Tally, batch: bool
) -> None:
    """``--clients`` keep-alive HTTP/1.1 connections on bare asyncio streams: httpx costs
    more CPU per request than the server under test, and this process has one core to offer
    thousands of messages a second. ``batch``: every ``--period`` s one NDJSON post of the
    messages due to ``/api/ingest/{id}/batch``; else one message per ``/api/ingest/{id}``."""
    loop = asyncio.get_running_loop()
    targets = Targets(a.targets, time.time())
    per_client = a.rate / a.clients
    n_per = max(1, round(per_client * a.period)) if batch else 1

    async def client(i: int) -> None:
        sid = f"cam-{i:02d}"
        path = f"/api/ingest/{sid}/batch" if batch else f"/api/ingest/{sid}"
        ctype = "application/x-ndjson" if batch else "application/json"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-Sensor-Token: {token_of(sid)}\r\nContent-Type: {ctype}\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        due = loop.time() + (a.period if batch else 1.0 / per_client) * i / a.clients
        k = i
        try:
            while not stop.is_set():
                await asyncio.sleep(max(0.0, due - loop.time()))
                due += n_per / per_client
                t = time.time()
                lines = []
                for _ in range(n_per):
                    lines.append(json_message(sid, t, *targets.enu(k % targets.n, t)))
                    k += a.clients
                body = b"\n".join(lines)
                t_send = time.perf_counter()
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, length = 0, 0
                try:
                    status_line = await reader.readuntil(b"\r\n")
                    status = int(status_line.split()[1])
                    while (h := await reader.readuntil(b"\r\n")) != b"\r\n":
                        if h[:15].lower() == b"content-length:":
                            length = int(h[15:])
                    await reader.readexactly(length)
                except (OSError, asyncio.IncompleteReadError) as e:
                    tally.error(type(e).__name__)
                    return
                if status != 202:
                    tally.error(f"http_{status}")
                    continue
                tally.acks.append(time.perf_counter() - t_send)
                tally.sent.extend([t] * n_per)
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(a.clients)))

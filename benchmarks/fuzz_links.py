"""Fuzz every sensor link of a running ``skywarden run`` through its real socket.

Run (the issue's target, 100,000 inputs per link kind; several minutes on 2 cores)::

    .venv/bin/python benchmarks/fuzz_links.py --n 100000 --seed 1

``--kinds sapient,beast,...`` picks link kinds; ``--json FILE`` writes the report. Exit 0
when every check holds, 1 otherwise. ``tests/test_links_fuzz_live.py`` runs a small version.

What runs: ``skywarden run --site SITE --journal J --port P`` as a child process, with a site
that has one sensor per link kind, and this process as every peer:

=========  ============================================================================
sapient    TCP client of skywarden's SAPIENT server: registers, then length-prefixed
           frames of mutated valid messages (registration, status, detections) and random
           bytes; 1 in 500 a broken length prefix (skywarden closes; we reconnect).
           Replies are read and counted (Error, RegistrationAck, TaskAck)
beast      TCP server skywarden connects to (dump1090 port 30005): Beast frames of DF17
           position/velocity/identification messages, mutated, with random bytes between
sbs        TCP server (dump1090 port 30003): SBS-1 lines, mutated
remoteid   UDP datagrams to skywarden's Remote ID socket: F3411 message packs, mutated
asterix    UDP datagrams to skywarden's CAT048 socket: CAT048 headers over mutated bodies
mqtt       publishes (QoS 0; 1 in 10 QoS 1, acknowledged by skywarden only once
           journaled) on the sensor's topic of a Mosquitto started here: JSON
           detections, structurally mutated (NaN, infinities, huge numbers, surrogates,
           deep nesting, wrong types) and byte-mutated
http       ``POST /api/ingest/{sensor}`` with the sensor's token: the same JSON inputs,
           spread over 4 sensors (the route's per-sensor rate limit, 200/s, is respected)
=========  ============================================================================

One input = one frame, line, datagram, publish or request. UDP and MQTT are paced by the
service's own counters (``/metrics``) so the kernel's socket buffer does not drop inputs
before they reach a parser: the report gives inputs sent and inputs the service counted.
On the stream links (Beast, SBS) mutations erase the boundaries between inputs (a frame
without its escape byte, a line without its newline), so the service counts fewer messages
than were sent; there the report gives bytes written and the bytes the link read.

Checks (each in the report): the process never exits; ``/api/health`` answers 200 all along
(polled every second; the longest answer is reported); no HTTP 5xx; no ``internal_error``
reject (a parser that raised something else than its own rejection) and no ``Traceback`` in
the service's log; after the fuzzing every link still accepts a valid input; the service
stops cleanly on SIGINT and ``skywarden verify`` passes on the journal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sapient_msg.bsi_flex_335_v2_0 import registration_pb2

from skywarden.sensors.sapient import SapientMessage, frame
from skywarden.sim.wire import (
    adsb_ident,
    adsb_position,
    adsb_velocity,
    beast_frame,
    rid_basic_id,
    rid_location,
    rid_pack,
)

# the SAPIENT seeds are the tests' own builders (a real node's messages, hand-built)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sapient_helpers import detection_latlon, registration, status

RADAR = registration_pb2.Registration.NODE_TYPE_RADAR
KINDS = ("sapient", "beast", "sbs", "remoteid", "asterix", "mqtt", "http")
ORIGIN = (51.0, -1.0)
SKY = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f"
NODE = "a8654cdf-4328-47de-81fa-c495589e30c9"
ADMIN = ("admin", "fuzz-admin-password-1")
HTTP_SENSORS = ("cam-h0", "cam-h1", "cam-h2", "cam-h3")
HTTP_RATE_PER_SENSOR = 180.0  # under the route's 200/s per sensor
HTTP_CLIENTS = 4  # concurrent clients per sensor (each paced at the rate / HTTP_CLIENTS)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- mutation


class Mutator:
    """Byte-level mutations of a seed (bit flips, interesting bytes, cuts, splices)."""

    INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x1A, 0x0A, 0x2C)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def bytes(self, seeds: list[bytes]) -> bytes:
        r = self.rng
        if r.random() < 0.08:  # pure noise
            return r.randbytes(r.choice((0, 1, 2, 5, 25, 64, 300, 2000)))
        b = bytearray(r.choice(seeds))
        for _ in range(r.choice((1, 1, 1, 2, 3, 8))):
            op = r.randrange(8)
            if not b:
                b.extend(r.randbytes(4))
            i = r.randrange(len(b))
            if op == 0:
                b[i] ^= 1 << r.randrange(8)
            elif op == 1:
                b[i] = r.choice(self.INTERESTING)
            elif op == 2:
                b[i:i] = r.randbytes(r.randrange(1, 16))
            elif op == 3:
                del b[i : i + r.randrange(1, 16)]
            elif op == 4:
                del b[i:]
            elif op == 5:
                j = r.randrange(len(b))
                b[i:i] = b[j : j + r.randrange(1, 32)]
            elif op == 6:
                other = r.choice(seeds)
                b = b[:i] + bytearray(other[r.randrange(max(1, len(other))) :])
            else:
                b[i : i + 4] = struct.pack("<I", r.choice((0, 1, 0x7FFFFFFF, 0xFFFFFFFF)))
        return bytes(b)


def _weird_value(r: random.Random, depth: int = 0) -> Any:
    choices: list[Callable[[], Any]] = [
        lambda: math.nan,
        lambda: math.inf,
        lambda: -math.inf,
        lambda: 10 ** r.randrange(20, 400),
        lambda: -(2**63) - 1,
        lambda: 1e308 * r.choice((1, -1)),
        lambda: "\ud800",
        lambda: "\udc00x",
        lambda: "",
        lambda: "a" * r.randrange(1, 5000),
        lambda: None,
        lambda: True,
        lambda: [],
        lambda: {},
        lambda: r.random() * 1e4,
        lambda: r.randrange(-(10**6), 10**6),
    ]
    if depth < 2:
        choices.append(lambda: [_weird_value(r, depth + 1) for _ in range(r.randrange(4))])
        choices.append(lambda: {"k": _weird_value(r, depth + 1)})
    return r.choice(choices)()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def json_seed(sensor: str, t: float, r: random.Random) -> dict[str, Any]:
    det = {
        "enu": {"e": r.uniform(-2000, 2000), "n": r.uniform(-2000, 2000), "u": r.uniform(10, 300)},
        "class": r.choice(("drone", "bird", "aircraft", "unknown")),
        "class_conf": r.random(),
    }
    return {"sensor_id": sensor, "t": t, "detections": [det]}


def json_input(sensor: str, t: float, r: random.Random, mut: Mutator) -> bytes:
    """A JSON detection message, valid (10 %), structurally mutated, or byte-mutated."""
    d = json_seed(sensor, t, r)
    x = r.random()
    if x < 0.10:
        return json.dumps(d).encode()
    if x < 0.60:
        paths: list[tuple[Any, str]] = [(d, "sensor_id"), (d, "t"), (d, "detections")]
        det = d["detections"][0]
        paths += [(det, "enu"), (det, "class"), (det, "class_conf")]
        paths += [(det["enu"], k) for k in ("e", "n", "u")]
        for _ in range(r.randrange(1, 4)):
            obj, key = r.choice(paths)
            if r.random() < 0.15:
                obj.pop(key, None)
            else:
                obj[key] = _weird_value(r)
        if r.random() < 0.05:
            d["detections"] = [det] * r.choice((0, 2, 500))
        text = json.dumps(d, allow_nan=True, ensure_ascii=r.random() < 0.5)
        return text.encode("utf-8", "surrogatepass")
    if x < 0.65:
        return _nested(r.choice((100, 1000, 10000))).encode()
    return mut.bytes([json.dumps(d).encode()])


# --------------------------------------------------------------------------- seeds


def sapient_registration(t: float) -> SapientMessage:
    return registration(NODE, t, RADAR, name="fuzz radar", full=False)


def _ulid(r: random.Random) -> str:
    return "01" + "".join(r.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(24))


def sapient_status(t: float, r: random.Random) -> SapientMessage:
    return status(NODE, t, ORIGIN[0], ORIGIN[1], report_id=_ulid(r))


def sapient_detection(t: float, r: random.Random) -> SapientMessage:
    ids = _ulid(r), _ulid(r)
    lon = ORIGIN[1] + r.uniform(-0.02, 0.02)
    lat = ORIGIN[0] + r.uniform(-0.02, 0.02)
    alt = r.uniform(20, 300)
    return detection_latlon(NODE, t, lat, lon, alt, "UAV Rotary Wing", 0.8, ids=ids)


def beast_seeds(t: float, r: random.Random) -> list[bytes]:
    out = []
    for k in range(6):
        icao = f"{r.randrange(1 << 24):06x}"
        lat, lon = ORIGIN[0] + r.uniform(-0.5, 0.5), ORIGIN[1] + r.uniform(-0.5, 0.5)
        out.append(beast_frame(adsb_position(icao, lat, lon, 3000.0, bool(k % 2)), t))
        out.append(beast_frame(adsb_velocity(icao, 100.0, -50.0, 2.0), t))
        out.append(beast_frame(adsb_ident(icao, "FUZZ123"), t))
    return out


def sbs_seeds(r: random.Random) -> list[bytes]:
    out = []
    for _ in range(4):
        icao = f"{r.randrange(1 << 24):06X}"
        lat, lon = ORIGIN[0] + r.uniform(-0.5, 0.5), ORIGIN[1] + r.uniform(-0.5, 0.5)
        day, tod = "2026/12/06", "12:00:00.000"
        out.append(
            f"MSG,3,1,1,{icao},1,{day},{tod},{day},{tod},,11000,,,{lat:.5f},{lon:.5f},,,0,0,0,0".encode()
        )
        out.append(f"MSG,4,1,1,{icao},1,{day},{tod},{day},{tod},,,420,90,,,64,,,,,0".encode())
        out.append(f"MSG,1,1,1,{icao},1,{day},{tod},{day},{tod},FUZZ42,,,,,,,,,,,0".encode())
    return out


def rid_seeds(t: float, r: random.Random) -> list[bytes]:
    out = []
    for k in range(4):
        lat, lon = ORIGIN[0] + r.uniform(-0.01, 0.01), ORIGIN[1] + r.uniform(-0.01, 0.01)
        loc = rid_location(lat, lon, 120.0, 60.0, 5.0, -3.0, 0.5, t)
        basic = rid_basic_id(f"1581F4XFC{k:03d}R00B2B4A")
        out += [rid_pack([basic, loc]), loc, basic]
    return out


def cat048_plot(
    t_unix: float, rho_nm: float, theta_deg: float, sac: int = 0, sic: int = 1
) -> bytes:
    """One CAT048 data block, one record: I048/010 SAC/SIC, /140 time, /020 PSR, /040 polar."""
    tod = round((t_unix % 86400.0) * 128) % (86400 * 128)
    rec = (
        bytes([0xF0, sac, sic])
        + tod.to_bytes(3, "big")
        + bytes([0x20])
        + struct.pack(">HH", round(rho_nm * 256) & 0xFFFF, round(theta_deg / 360 * 65536) & 0xFFFF)
    )
    return bytes([48]) + struct.pack(">H", 3 + len(rec)) + rec


def asterix_seeds(t: float, r: random.Random) -> list[bytes]:
    """Made CAT048 plots (SAC 0 / SIC 1, the site's radar), plus the real capture's block
    when ../shared/data has it (another radar's SAC/SIC: refused as unknown_radar)."""
    seeds = [cat048_plot(t, r.uniform(0.5, 3.0), r.uniform(0, 360)) for _ in range(6)]
    raw = Path(__file__).resolve().parents[2] / "shared" / "data" / "asterix" / "cat048.raw"
    if not raw.is_file():
        raw = Path("/work/shared/data/asterix/cat048.raw")
    if raw.is_file():
        seeds.append(raw.read_bytes()[:4096])
    return seeds


# --------------------------------------------------------------------------- service


def site_toml(ports: dict[str, int], mqtt_port: int, topic: str) -> str:
    sensors = [
        ("sap", "radar", "xyz", {"protocol": "sapient", "port": ports["sapient"], "node_id": NODE,
                                 "own_node_id": SKY}),
        ("beast", "adsb", "position_id", {"protocol": "adsb_beast", "port": ports["beast"]}),
        ("sbs", "adsb", "position_id", {"protocol": "adsb_sbs", "port": ports["sbs"]}),
        ("rid", "remote_id", "position_id",
         {"protocol": "remoteid_udp", "port": ports["remoteid"]}),
        ("ast", "radar", "range_az_el_radial",
         {"protocol": "asterix_cat048", "port": ports["asterix"], "sac": 0, "sic": 1}),
        ("mq", "camera", "xyz", {"protocol": "mqtt_json", "port": mqtt_port, "topic": topic}),
    ] + [(s, "camera", "xyz", None) for s in HTTP_SENSORS]  # fmt: skip
    sigmas = {
        "xyz": "{x_m = 5.0, y_m = 5.0, z_m = 8.0}",
        "position_id": "{pos_m = 10.0}",
        "range_az_el_radial": "{range_m = 30.0, az_rad = 0.002, el_rad = 0.01, radial_mps = 1.0}",
    }
    out = [f'name = "fuzz-{uuid.uuid4().hex[:6]}"', "[origin]", f"lat = {ORIGIN[0]}",
           f"lon = {ORIGIN[1]}", "alt_m = 50.0"]  # fmt: skip
    for sid, kind, measures, link in sensors:
        out += ["[[sensors]]", f'id = "{sid}"', f'kind = "{kind}"', f'measures = "{measures}"',
                "position_enu_m = [0, 0, 5]", f"sigma = {sigmas[measures]}",
                "update_s = 1.0"]  # fmt: skip
        if link:
            out.append("[sensors.link]")
            link = {"host": "127.0.0.1", **link}
            out += [f"{k} = {json.dumps(v)}" for k, v in link.items()]
    return "\n".join(out) + "\n"


@dataclass
class KindResult:
    target: int = 0
    sent: int = 0
    bytes_sent: int = 0  # stream links: what we wrote ...
    bytes_read: int = 0  # ... and what the link's ``link.bytes`` says it read
    counted: int = 0  # what the service's counters say it processed (journaled + rejected)
    seconds: float = 0.0
    replies: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    valid_after: bool = False


@dataclass
class Report:
    n: int
    seed: int
    kinds: dict[str, KindResult] = field(default_factory=dict)
    health_polls: int = 0
    health_failures: int = 0
    health_max_s: float = 0.0
    alive: bool = True
    internal_errors: int = 0
    tracebacks: int = 0
    http_5xx: int = 0
    stop_rc: int | None = None
    verify_rc: int | None = None
    verify_out: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.alive
            and self.health_failures == 0
            and self.internal_errors == 0
            and self.tracebacks == 0
            and self.http_5xx == 0
            and self.stop_rc == 0
            and self.verify_rc == 0
            and all(k.valid_after and k.sent >= k.target for k in self.kinds.values())
        )

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "kinds"}
        d["kinds"] = {k: v.__dict__ for k, v in self.kinds.items()}
        d["ok"] = self.ok
        return d


class Service:
    """``skywarden run`` in a child process, plus an admin HTTP client."""

    def __init__(self, workdir: Path, site: str, http_port: int) -> None:
        self.workdir = workdir
        self.http_port = http_port
        self.journal = workdir / "journal.sqlite"
        (workdir / "site.toml").write_text(site)
        self.log = (workdir / "service.log").open("wb")
        exe = Path(sys.executable).with_name("skywarden")
        env = {**os.environ, "SKYWARDEN_ADMIN_PASSWORD": ADMIN[1]}
        self.proc = subprocess.Popen(
            [str(exe), "run", "--site", str(workdir / "site.toml"), "--port", str(http_port),
             "--journal", str(self.journal), "--snapshot-every", "0"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=30)

    async def ready(self, timeout_s: float = 60.0) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"skywarden run exited: {self.log_text()[-2000:]}")
            try:
                if (await self.http.get("/api/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        r = await self.http.post(
            "/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
        )
        r.raise_for_status()
        self.http.headers["X-CSRF-Token"] = r.json()["csrf_token"]

    async def token(self, sensor: str) -> str:
        r = await self.http.post(f"/api/sensors/{sensor}/token")
        r.raise_for_status()
        return str(r.json()["token"])

    async def metrics(self) -> dict[str, float]:
        text = (await self.http.get("/metrics")).text
        out = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                continue
        return out

    async def counted(self, sensor: str) -> int:
        """Inputs the service's counters say it processed for one sensor's link."""
        m = await self.metrics()
        if sensor == "sap":  # per message, on the server's own counters
            return int(
                sum(
                    v
                    for k, v in m.items()
                    if k.startswith("skywarden_links_sapient_")
                    and ("_accepted_" in k or "_rejected_" in k)
                )
            )
        if sensor == "rid":  # per datagram received
            return int(m.get("skywarden_sensor_rid_link_datagrams", 0.0))
        if sensor == "ast":  # per datagram handled
            return int(m.get("skywarden_links_asterix_datagrams", 0.0))
        pre = f"skywarden_sensor_{sensor}_"
        return int(
            sum(v for k, v in m.items() if k.startswith(pre + "rejected_"))
            + m.get(pre + "journaled", 0.0)
        )

    def log_text(self) -> str:
        self.log.flush()
        return (self.workdir / "service.log").read_text(errors="replace")

    async def stop(self) -> int:
        await self.http.aclose()
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = await asyncio.to_thread(self.proc.wait, 60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        self.log.close()
        return rc


# --------------------------------------------------------------------------- drivers


async def _health_monitor(svc: Service, rep: Report, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{svc.http_port}", timeout=10) as c:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                ok = (await c.get("/api/health")).status_code == 200
            except httpx.HTTPError:
                ok = False
            dt = time.monotonic() - t0
            rep.health_polls += 1
            rep.health_max_s = max(rep.health_max_s, dt)
            if not ok:
                rep.health_failures += 1
            if svc.proc.poll() is not None:
                rep.alive = False
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def _read_replies(reader: asyncio.StreamReader, res: KindResult) -> None:
    buf = b""
    try:
        while chunk := await reader.read(65536):
            buf += chunk
            while len(buf) >= 4:
                (n,) = struct.unpack_from("<I", buf)
                if len(buf) < 4 + n:
                    break
                m = SapientMessage.FromString(buf[4 : 4 + n])
                kind = str(m.WhichOneof("content"))
                res.replies[kind] = res.replies.get(kind, 0) + 1
                buf = buf[4 + n :]
    except (ConnectionError, OSError):
        pass


async def fuzz_sapient(port: int, n: int, rng: random.Random, res: KindResult) -> None:
    mut = Mutator(rng)
    t = time.time()
    seeds = [
        sapient_registration(t).SerializeToString(),
        sapient_status(t, rng).SerializeToString(),
        *(sapient_detection(t, rng).SerializeToString() for _ in range(4)),
    ]
    while res.sent < n:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        rd = asyncio.create_task(_read_replies(reader, res))
        writer.write(frame(sapient_registration(time.time())))
        try:
            while res.sent < n:
                if rng.random() < 0.002:  # a broken length: skywarden answers and closes
                    writer.write(struct.pack("<I", 0xFFFFFFF0))
                    res.sent += 1
                    await writer.drain()
                    break
                body = mut.bytes(seeds) or b"\x00"
                writer.write(struct.pack("<I", len(body)) + body)
                res.sent += 1
                if res.sent % 200 == 0:
                    await writer.drain()
            else:
                writer.write_eof()  # done: skywarden answers what it has, then closes
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        await asyncio.wait_for(rd, 120)
        writer.close()


async def _stream_server(
    chunks: Iterator[bytes], n: int, res: KindResult, go: asyncio.Event,
    writers: list[asyncio.StreamWriter],
) -> asyncio.Server:  # fmt: skip
    """A dump1090-like TCP server: once ``go`` is set, streams ``n`` inputs to skywarden."""

    async def serve(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        writers.append(w)
        try:
            await go.wait()
            while res.sent < n:
                b = next(chunks)
                w.write(b)
                res.sent += 1
                res.bytes_sent += len(b)
                if res.sent % 200 == 0:
                    await w.drain()
            await w.drain()
            await asyncio.sleep(3600)  # stay connected, as dump1090 would
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


async def _paced(
    svc: Service, sensor: str, n: int, res: KindResult, send: Callable[[], None],
    burst: int = 100, backlog: int = 150,
) -> None:  # fmt: skip
    """Send ``n`` inputs in bursts, each once the service's count is within ``backlog`` of
    what was sent (so a socket buffer never overflows); a count that stops moving for 2 s
    does not hold the run (what it missed shows as sent - counted)."""
    base = await svc.counted(sensor)
    while res.sent < n:
        for _ in range(min(burst, n - res.sent)):
            send()
            res.sent += 1
        last, still = -1, 0.0
        while still < 2.0:
            got = await svc.counted(sensor) - base
            if res.sent - got <= backlog:
                break
            if got == last:
                still += 0.02
            last = got
            await asyncio.sleep(0.02)
    for _ in range(50):  # let the tail reach the counters
        if await svc.counted(sensor) - base >= res.sent:
            break
        await asyncio.sleep(0.1)


def _udp_sender(port: int) -> tuple[socket.socket, Callable[[bytes], None]]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(b: bytes) -> None:
        with contextlib.suppress(OSError):  # an oversized datagram: refused by our own kernel
            s.sendto(b, ("127.0.0.1", port))

    return s, send


async def fuzz_udp(
    svc: Service, sensor: str, port: int, seeds: list[bytes], n: int, mut: Mutator,
    res: KindResult,
) -> None:  # fmt: skip
    s, send = _udp_sender(port)
    try:
        # a loopback UDP socket buffer (rmem_default 208 KiB) holds about 90 small datagrams
        # (each costs ~2.3 KiB of skb): keep fewer than that in flight, or the kernel drops
        # what a briefly busy service had not read yet, and that is no parser's fault
        await _paced(svc, sensor, n, res, lambda: send(mut.bytes(seeds)), burst=25, backlog=40)
    finally:
        s.close()
    res.counted = await svc.counted(sensor)


async def run_fuzz(
    n: int, seed: int, kinds: tuple[str, ...], workdir: Path, n_http: int | None = None
) -> Report:
    """Fuzz ``kinds`` with ``n`` inputs each (``n_http`` for the HTTP route) and check."""
    rng = random.Random(seed)
    rep = Report(n, seed)
    wall0 = time.monotonic()
    mut = Mutator(rng)
    ports = {
        "sapient": free_port(),
        "remoteid": free_port(socket.SOCK_DGRAM),
        "asterix": free_port(socket.SOCK_DGRAM),
    }
    t0 = time.time()
    beast_res, sbs_res = KindResult(), KindResult()

    def beast_gen() -> Iterator[bytes]:
        seeds = beast_seeds(t0, rng)
        while True:
            yield mut.bytes(seeds) if rng.random() < 0.9 else rng.choice(seeds)

    def sbs_gen() -> Iterator[bytes]:
        seeds = sbs_seeds(rng)
        while True:
            line = mut.bytes(seeds) if rng.random() < 0.9 else rng.choice(seeds)
            yield line.replace(b"\n", b"") + rng.choice((b"\n", b"\r\n", b"\n", b""))

    go = {"beast": asyncio.Event(), "sbs": asyncio.Event()}
    streams: dict[str, list[asyncio.StreamWriter]] = {"beast": [], "sbs": []}
    beast_srv = await _stream_server(beast_gen(), n, beast_res, go["beast"], streams["beast"])
    sbs_srv = await _stream_server(sbs_gen(), n, sbs_res, go["sbs"], streams["sbs"])
    ports["beast"] = beast_srv.sockets[0].getsockname()[1]
    ports["sbs"] = sbs_srv.sockets[0].getsockname()[1]
    mosq, mqtt_port = start_mosquitto(workdir)
    topic = f"fuzz/{uuid.uuid4().hex[:8]}/mq"
    svc = Service(workdir, site_toml(ports, mqtt_port, topic), free_port())
    stop = asyncio.Event()
    try:
        await svc.ready()
        monitor = asyncio.create_task(_health_monitor(svc, rep, stop))
        for kind in kinds:
            res = rep.kinds.setdefault(kind, KindResult())
            res.target = n_http if kind == "http" and n_http is not None else n
            start = time.monotonic()
            if kind == "sapient":
                await fuzz_sapient(ports["sapient"], n, rng, res)
                res.counted = await svc.counted("sap")
            elif kind in ("beast", "sbs"):
                src = beast_res if kind == "beast" else sbs_res
                go[kind].set()
                while src.sent < n and svc.proc.poll() is None:
                    await asyncio.sleep(0.2)
                key = f"skywarden_sensor_{kind}_link_bytes"
                for _ in range(100):  # until the link has read every byte written
                    if (await svc.metrics()).get(key, 0.0) >= src.bytes_sent:
                        break
                    await asyncio.sleep(0.1)
                res.sent, res.counted = src.sent, await svc.counted(kind)
                res.bytes_sent = src.bytes_sent
                res.bytes_read = int((await svc.metrics()).get(key, 0.0))
            elif kind == "remoteid":
                await fuzz_udp(svc, "rid", ports[kind], rid_seeds(t0, rng), n, mut, res)
            elif kind == "asterix":
                await fuzz_udp(svc, "ast", ports[kind], asterix_seeds(t0, rng), n, mut, res)
            elif kind == "mqtt":
                await fuzz_mqtt(svc, mqtt_port, topic, n, rng, mut, res)
            elif kind == "http":
                await fuzz_http(svc, res.target, rng, mut, res)
                rep.http_5xx += sum(v for k, v in res.status.items() if k.startswith("5"))
            res.seconds = round(time.monotonic() - start, 1)
            if svc.proc.poll() is not None:
                rep.alive = False
                break
        for kind in kinds:
            if rep.alive:
                rep.kinds[kind].valid_after = await valid_after(
                    kind, svc, ports, mqtt_port, topic, streams.get(kind, [])
                )
        m = await svc.metrics()
        rep.internal_errors = int(sum(v for k, v in m.items() if "internal_error" in k))
        rep.dropped = {k: int(v) for k, v in m.items() if "dropped" in k and v}
        stop.set()
        await monitor
    finally:
        stop.set()
        rep.alive = rep.alive and svc.proc.poll() is None
        rep.stop_rc = await svc.stop()
        beast_srv.close()
        sbs_srv.close()
        mosq.terminate()
        mosq.wait(10)
    text = (workdir / "service.log").read_text(errors="replace")
    rep.tracebacks = text.count("Traceback")
    exe = Path(sys.executable).with_name("skywarden")
    v = subprocess.run([str(exe), "verify", str(svc.journal)], capture_output=True, text=True)
    rep.verify_rc, rep.verify_out = v.returncode, (v.stdout + v.stderr)[-400:]
    rep.wall_s = round(time.monotonic() - wall0, 1)
    return rep


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if exe is None:
        raise RuntimeError("mosquitto is not installed (Debian package mosquitto)")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nuser root\n"
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("mosquitto did not start")


async def fuzz_mqtt(
    svc: Service, port: int, topic: str, n: int, rng: random.Random, mut: Mutator,
    res: KindResult,
) -> None:  # fmt: skip
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fuzz-{uuid.uuid4().hex[:6]}")
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        await _paced(
            svc, "mq", n, res,
            lambda: c.publish(
                topic, json_input("mq", time.time(), rng, mut), qos=1 if rng.random() < 0.1 else 0
            ),
        )  # fmt: skip
    finally:
        c.disconnect()
        c.loop_stop()
    res.counted = await svc.counted("mq")


async def fuzz_http(
    svc: Service, n: int, rng: random.Random, mut: Mutator, res: KindResult
) -> None:
    tokens = {s: await svc.token(s) for s in HTTP_SENSORS}
    per = max(1, n // len(HTTP_SENSORS))
    bodies_left = {s: per for s in HTTP_SENSORS}
    bodies_left[HTTP_SENSORS[0]] += n - per * len(HTTP_SENSORS)

    async def worker(sensor: str) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{svc.http_port}", timeout=60) as c:
            hdr = {"Authorization": f"Bearer {tokens[sensor]}", "Content-Type": "application/json"}
            interval = HTTP_CLIENTS / HTTP_RATE_PER_SENSOR
            next_t = time.monotonic()
            while bodies_left[sensor] > 0:
                bodies_left[sensor] -= 1
                body = json_input(sensor, time.time(), rng, mut)
                try:
                    r = await c.post(f"/api/ingest/{sensor}", content=body, headers=hdr)
                    code = str(r.status_code)
                except httpx.HTTPError as e:
                    code = f"error:{type(e).__name__}"
                res.status[code] = res.status.get(code, 0) + 1
                res.sent += 1
                next_t += interval
                wait = next_t - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)

    await asyncio.gather(*(worker(s) for s in HTTP_SENSORS for _ in range(HTTP_CLIENTS)))
    res.counted = sum(v for k, v in res.status.items() if not k.startswith("error"))


async def valid_after(
    kind: str, svc: Service, ports: dict[str, int], mqtt_port: int, topic: str,
    streams: list[asyncio.StreamWriter],
) -> bool:  # fmt: skip
    """After the fuzzing: does the link still take a valid input?"""
    r = random.Random(0)
    now = time.time()
    if kind == "sapient":
        reader, writer = await asyncio.open_connection("127.0.0.1", ports["sapient"])
        writer.write(frame(sapient_registration(now)))
        await writer.drain()
        (k,) = struct.unpack("<I", await asyncio.wait_for(reader.readexactly(4), 10))
        ack = SapientMessage.FromString(await asyncio.wait_for(reader.readexactly(k), 10))
        writer.close()
        return bool(ack.registration_ack.acceptance)
    if kind == "http":
        tok = await svc.token(HTTP_SENSORS[0])
        rr = await svc.http.post(
            f"/api/ingest/{HTTP_SENSORS[0]}",
            content=json.dumps(json_seed(HTTP_SENSORS[0], now, r)).encode(),
            headers={"Authorization": f"Bearer {tok}"},
        )
        return rr.status_code == 202
    sensor = {"beast": "beast", "sbs": "sbs", "remoteid": "rid", "asterix": "ast", "mqtt": "mq"}[
        kind
    ]
    pre = f"skywarden_sensor_{sensor}_journaled"
    before = (await svc.metrics()).get(pre, 0.0)
    if kind == "remoteid":
        s, send = _udp_sender(ports["remoteid"])
        for seed in rid_seeds(now, r):
            send(seed)
        s.close()
    elif kind == "asterix":
        s, send = _udp_sender(ports["asterix"])
        send(cat048_plot(time.time(), 1.5, 45.0))
        s.close()
    elif kind == "mqtt":
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fuzz-ok-{uuid.uuid4().hex[:6]}")
        c.connect("127.0.0.1", mqtt_port)
        c.loop_start()
        info = c.publish(topic, json.dumps(json_seed("mq", now, r)).encode(), qos=1)
        await asyncio.to_thread(info.wait_for_publish, 10)
        c.disconnect()
        c.loop_stop()
    else:
        live = [w for w in streams if not w.is_closing()]
        if not live:
            return False
        r2 = random.Random(1)
        seeds = beast_seeds(now, r2) if kind == "beast" else [x + b"\n" for x in sbs_seeds(r2)]
        live[-1].write(b"\n" + b"".join(seeds))  # the newline ends a half-sent SBS line
        await live[-1].drain()
    for _ in range(100):
        if (await svc.metrics()).get(pre, 0.0) > before:
            return True
        await asyncio.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="inputs per link kind")
    ap.add_argument("--n-http", type=int, help="inputs for the HTTP route (default: --n)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args(argv)
    kinds = tuple(k for k in a.kinds.split(",") if k)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"unknown kinds {bad}; known: {', '.join(KINDS)}")
    workdir = Path(tempfile.mkdtemp(prefix="sw-fuzz-"))
    try:
        rep = asyncio.run(run_fuzz(a.n, a.seed, kinds, workdir, a.n_http))
    finally:
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out = json.dumps(rep.as_dict(), indent=1)
    print(out)
    if a.json:
        Path(a.json).write_text(out)
    return 0 if rep.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

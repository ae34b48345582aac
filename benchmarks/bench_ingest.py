"""Live ingest throughput: a real ``skywarden run`` fed over HTTP and each streaming link.

Run (issue 17's must-show, on an otherwise idle 2-core machine, ~3 min)::

    .venv/bin/python benchmarks/bench_ingest.py --link all --runs 1 --duration 30 \
        --json bench-ingest.json

Not part of ``make test``. Prints one JSON line per run, a markdown table and a summary
(medians over ``--runs``; ``--json FILE`` writes runs and summary), exit 0 when every link
reached ``--rate`` with picture p99 < 250 ms, else 1.

What runs: ``skywarden run --site FILE --journal sqlite (synchronous=FULL)`` in a child
process, exactly as a user starts it, with ``--tick``/``--lag`` from the flags, pinned to
ONE core (``taskset -c 0``, ``--server-cpus``); this process (the load) pins itself, and the
mosquitto it starts, to the other core (``--load-cpus 1``). It plays the sensors and the
operator's console:

- ``http``: ``--clients`` (64) sensors, each one keep-alive HTTP/1.1 connection posting
  ``POST /api/ingest/{id}/batch`` (NDJSON, one message of one detection per line) with its
  own token, paced so all clients together offer ``--rate`` messages/s. Ack latency = the
  time until the 202, which the service sends after the batch's group commit.
- ``http1``: the same 64 keep-alive sensors, each message its own ``POST /api/ingest/{id}``.
  Both HTTP senders are bare asyncio HTTP/1.1 clients (``ingest_load.drive_http_raw``):
  httpx needed more CPU than the load core had (it offered ~1,100 of 5,000 messages/s).
- ``sapient``: one SAPIENT node (BSI Flex 335 v2.0 over TCP, length-prefixed protobuf):
  registration, then one DetectionReport (one detection) per message.
- ``beast``: this process is dump1090: a TCP server on a free port that the runtime's Beast
  link connects to; each message is one ADS-B airborne position frame (DF17, CPR even/odd).
- ``mqtt``: a paho QoS 1 publisher to the mosquitto on 127.0.0.1:1883 (started on a free
  port when none answers); each message is one JSON report of one detection; the runtime's
  link PUBACKs the broker after the journal commit.

The streaming links have no per-message acknowledgement back to the sender (the MQTT PUBACK
the publisher sees is the broker's), so their ack latency is not reported.

Throughput = raw messages journaled with a receive time inside the measured window
(counted in the journal itself after the run) / window length; ``acked_not_journaled``
= messages the senders saw acknowledged (HTTP 202) minus raw rows in the whole journal (must
be 0: journal before ack). Picture latency: one
WebSocket client on ``/ws/picture``; for every message sent at ``t_k`` (its measurement time,
this machine's clock), the time until the first picture whose ``t >= t_k`` arrived; this
includes the runtime's reorder window ``--lag`` by design. Server CPU = the child's
user+system CPU seconds over the window / window length (1.0 = one full core). The machine's
load average is printed with every run: other work on the machine changes these numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ingest_load import (
    NODE,
    ORIGIN,
    SKY,
    Tally,
    Targets,
    drive_beast,
    drive_http_raw,
    drive_http_single,
    drive_mqtt,
    drive_sapient,
    json_message,
    token_of,
)

SKYWARDEN = Path(sys.executable).parent / "skywarden"
HEAD = re.compile(r'"seq":(\d+),"t":([0-9.eE+-]+)')
CAM_SIGMA = "sigma = {x_m = 4.0, y_m = 4.0, z_m = 6.0}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- the site


def site_toml(link: str, clients: int, port: int) -> str:
    head = f'name = "ingest-bench"\n[origin]\nlat = {ORIGIN["lat"]}\nlon = {ORIGIN["lon"]}\n'
    head += f"alt_m = {ORIGIN['alt_m']}\n"
    cam = '[[sensors]]\nid = "{id}"\nkind = "camera"\nmeasures = "xyz"\n'
    cam += "position_enu_m = [0, 0, 10]\n" + CAM_SIGMA.replace("{", "{{").replace("}", "}}") + "\n"
    if link in ("http", "http1"):
        return head + "".join(cam.format(id=f"cam-{i:02d}") for i in range(clients))
    if link == "mqtt":
        return (
            head
            + cam.format(id="cam-00")
            + (
                f'[sensors.link]\nprotocol = "mqtt_json"\nhost = "127.0.0.1"\nport = {port}\n'
                'topic = "bench/cam-00"\n'
            )
        )
    if link == "sapient":
        return head + (
            '[[sensors]]\nid = "node-1"\nkind = "radar"\nmeasures = "xyz"\nreports = "objects"\n'
            "position_enu_m = [0, 0, 10]\n" + CAM_SIGMA + "\n"
            f'[sensors.link]\nprotocol = "sapient"\nhost = "127.0.0.1"\nport = {port}\n'
            f'node_id = "{NODE}"\nown_node_id = "{SKY}"\n'
        )
    if link == "beast":
        return head + (
            '[[sensors]]\nid = "adsb-1"\nkind = "adsb"\nmeasures = "position_id"\n'
            "position_enu_m = [0, 0, 10]\nsigma = {pos_m = 30.0, vel_mps = 3.0}\n"
            f'[sensors.link]\nprotocol = "adsb_beast"\nhost = "127.0.0.1"\nport = {port}\n'
        )
    raise ValueError(link)


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    journal: Path
    log: Path

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_server(tmp: Path, site: str, a: argparse.Namespace, tokens: str) -> Server:
    (tmp / "site.toml").write_text(site, encoding="utf-8")
    port = free_port()
    journal = tmp / "journal.sqlite"
    log = tmp / "server.log"
    env = {**os.environ, "SKYWARDEN_SENSOR_TOKENS": tokens, "OMP_NUM_THREADS": "1"}
    pin = ["taskset", "-c", a.server_cpus] if a.server_cpus else []
    cmd = [*pin, str(SKYWARDEN), "run", "--site", str(tmp / "site.toml"), "--port", str(port)]
    cmd += ["--journal", str(journal), "--tick", str(a.tick), "--lag", str(a.lag)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    srv = Server(proc, port, journal, log)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"skywarden run exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return srv
        time.sleep(0.2)
    srv.stop()
    raise RuntimeError("skywarden run did not listen within 60 s")


def journaled_between(journal: Path, t0: float, t1: float) -> int:
    con = sqlite3.connect(journal)
    try:
        q = "SELECT count(*) FROM journal WHERE kind = 'raw' AND t >= ? AND t < ?"
        return int(con.execute(q, (t0, t1)).fetchone()[0])
    finally:
        con.close()


def load_pin(a: argparse.Namespace) -> list[str]:
    return ["taskset", "-c", a.load_cpus] if a.load_cpus else []


# --------------------------------------------------------------------------- measuring


async def picture_reader(
    port: int, ready: asyncio.Event, stop: asyncio.Event, got: list[tuple[float, float]]
) -> None:
    import websockets

    while not stop.is_set():  # the server may close a client it found slow: reconnect
        try:
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/picture",
                max_size=2**24,
                compression=None,
                open_timeout=60,
                ping_interval=None,  # a saturated server answers pings late: do not hang up
            ) as ws:
                ready.set()
                while not stop.is_set():
                    try:
                        msg = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    now = time.time()
                    m = HEAD.search(msg[:200] if isinstance(msg, str) else msg[:200].decode())
                    if m is not None:
                        got.append((now, float(m.group(2))))
        except websockets.ConnectionClosed:
            continue


def picture_latencies(sent: list[float], got: list[tuple[float, float]]) -> list[float]:
    """ms from each message's time to the first picture with t >= it (unmatched: dropped)."""
    if not got:
        return []
    recv = np.array([g[0] for g in got])
    pic_t = np.maximum.accumulate(np.array([g[1] for g in got]))
    ts = np.asarray(sent)
    idx = np.searchsorted(pic_t, ts, side="left")
    ok = (idx < len(got)) & (recv[0] <= ts)
    return list((recv[idx[ok]] - ts[ok]) * 1e3)


# --------------------------------------------------------------------------- one run


def profile(a: argparse.Namespace, srv: Server, link: str) -> subprocess.Popen[bytes] | None:
    """``--profile DIR``: py-spy samples the server (every thread) over the measured window."""
    if not a.profile:
        return None
    out = Path(a.profile) / f"{link}-{srv.proc.pid}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["py-spy", "record", "--pid", str(srv.proc.pid), "--duration", str(int(a.duration))]
    cmd += ["--rate", "97", "--format", "raw", "--nonblocking", "-o", str(out)]
    exe = Path(sys.executable).parent / "py-spy"
    cmd[0] = str(exe) if exe.exists() else "py-spy"
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def mqtt_broker(tmp: Path, a: argparse.Namespace) -> tuple[int, subprocess.Popen[bytes] | None]:
    with contextlib.suppress(OSError):
        socket.create_connection(("127.0.0.1", 1883), timeout=0.5).close()
        return 1883, None
    exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if exe is None:
        raise RuntimeError("no MQTT broker on 127.0.0.1:1883 and no mosquitto to start")
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([*load_pin(a), exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return port, proc


async def one_run(link: str, a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{link}-"))
    broker: subprocess.Popen[bytes] | None = None
    link_port = free_port()
    if link == "mqtt":
        link_port, broker = mqtt_broker(tmp, a)
    tokens = ",".join(f"cam-{i:02d}={token_of(f'cam-{i:02d}')}" for i in range(a.clients))
    srv = start_server(tmp, site_toml(link, a.clients, link_port), a, tokens)
    tally = Tally()
    stop_send, stop_read = asyncio.Event(), asyncio.Event()
    got: list[tuple[float, float]] = []
    try:
        ready = asyncio.Event()
        reader = asyncio.create_task(picture_reader(srv.port, ready, stop_read, got))
        await asyncio.wait_for(ready.wait(), 60)
        if link == "http":
            sender = asyncio.create_task(drive_http_raw(a, srv.port, stop_send, tally, True))
        elif link == "http1":
            sender = asyncio.create_task(drive_http_single(a, srv.port, stop_send, tally))
        elif link == "mqtt":
            sender = asyncio.create_task(drive_mqtt(a, link_port, stop_send, tally))
        elif link == "sapient":
            await asyncio.sleep(1.0)  # the server binds its SAPIENT port after start-up
            sender = asyncio.create_task(drive_sapient(a, link_port, stop_send, tally))
        else:
            sender = asyncio.create_task(drive_beast(a, link_port, stop_send, tally))
        await asyncio.sleep(a.warmup)
        n_sent0, n_ack0 = len(tally.sent), len(tally.acks)
        t0, cpu0, load0 = time.time(), srv.cpu_s(), os.getloadavg()[0]
        spy = profile(a, srv, link)
        await asyncio.sleep(a.duration)
        if spy is not None:
            spy.wait()
        t1, cpu1 = time.time(), srv.cpu_s()
        n_sent1, n_ack1 = len(tally.sent), len(tally.acks)
        stop_send.set()
        await sender
        await asyncio.sleep(max(1.0, 3 * a.lag))  # the last messages' pictures
        stop_read.set()
        await reader
    finally:
        srv.stop()
        if broker is not None:
            broker.terminate()
            broker.wait(10)
    journaled = journaled_between(srv.journal, t0, t1)
    journaled_all = journaled_between(srv.journal, 0.0, 1e12)
    acked_all = len(tally.sent) if link.startswith("http") else None
    window = [t for t in tally.sent[n_sent0:n_sent1] if t0 <= t < t1]
    lat = picture_latencies(window, got)
    acks = [x * 1e3 for x in tally.acks[n_ack0:n_ack1]]
    span = t1 - t0
    if journaled == 0:
        print(srv.log.read_text()[-3000:], file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "link": link,
        "offered_per_s": a.rate,
        "sent_per_s": round(len(window) / span, 1),
        "journaled_per_s": round(journaled / span, 1),
        "ack_ms_p50": round(float(np.percentile(acks, 50)), 2) if acks else None,
        "ack_ms_p99": round(float(np.percentile(acks, 99)), 2) if acks else None,
        "picture_ms_p50": round(float(np.percentile(lat, 50)), 1) if lat else None,
        "picture_ms_p99": round(float(np.percentile(lat, 99)), 1) if lat else None,
        "pictures": len(got),
        "server_cpu_cores": round((cpu1 - cpu0) / span, 2),
        # the capacity of one core at this work: journaled messages per server CPU second
        "msgs_per_cpu_s": round(journaled / (cpu1 - cpu0), 1) if cpu1 > cpu0 else None,
        "errors": tally.errors,
        "acked_not_journaled": None if acked_all is None else max(0, acked_all - journaled_all),
        "load_avg_1m": round(load0, 2),
    }


def stages() -> None:
    """``--stages``: CPU time (``time.process_time``, so other load on the machine does not
    count) per message of each step of the ingest path for one-detection JSON messages,
    in this process without HTTP or the pipeline: parse, journal form, encode, commit
    (batches of 100, SQLite synchronous=FULL). Median of 5 passes over 5,000 messages."""
    from skywarden.core.inbound import Inbound
    from skywarden.core.site import parse_site
    from skywarden.runtime.live.ingest import raw_record
    from skywarden.sensors.json_detections import parse_json_detections
    from skywarden.store.journal import encode, open_journal

    site = parse_site(
        {
            "name": "stages",
            "origin": ORIGIN,
            "sensors": [
                {
                    "id": "cam-00",
                    "kind": "camera",
                    "measures": "xyz",
                    "position_enu_m": [0, 0, 10],
                    "sigma": {"x_m": 4, "y_m": 4, "z_m": 6},
                }
            ],
        }
    )
    sensor = site.sensor_map["cam-00"]
    t0 = time.time()
    targets = Targets(50, t0)
    lines = [json_message("cam-00", t0 + i * 1e-3, *targets.enu(i % 50, t0)) for i in range(5000)]
    out: dict[str, float] = {}

    def cpu_us(name: str, f: Callable[[], object]) -> None:
        runs = []
        for _ in range(5):
            c = time.process_time()
            f()
            runs.append(time.process_time() - c)
        out[name] = round(statistics.median(runs) / len(lines) * 1e6, 1)

    reps = [parse_json_detections(x, sensor, site.origin) for x in lines]
    cpu_us("parse_us", lambda: [parse_json_detections(x, sensor, site.origin) for x in lines])
    inb = [Inbound("cam-00", "json", t0, x, r.detections) for x, r in zip(lines, reps, strict=True)]
    cpu_us("journal_form_us", lambda: [raw_record(m) for m in inb])
    recs = [raw_record(m) for m in inb]
    cpu_us("encode_us", lambda: encode(recs))
    enc = encode(recs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-stages-"))
    journal = open_journal(f"sqlite://{tmp}/j.sqlite")

    def commit() -> None:
        for k in range(0, len(enc), 100):
            journal.append_encoded(enc[k : k + 100])

    cpu_us("commit_us", commit)
    journal.close()
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(out.values())
    out["total_us"] = round(total, 1)
    out["msgs_per_cpu_s"] = round(1e6 / total, 0)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps({"stages": out}), flush=True)


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(vals), 2) if vals else None


LINKS = ["http", "http1", "sapient", "beast", "mqtt"]
COLUMNS = (
    ("link", "link"),
    ("journaled_per_s", "journaled msgs/s"),
    ("msgs_per_cpu_s", "msgs per server CPU-s"),
    ("server_cpu_cores", "server cores"),
    ("picture_ms_p50", "picture p50 ms"),
    ("picture_ms_p99", "picture p99 ms"),
    ("ack_ms_p99", "ack p99 ms"),
    ("acked_not_journaled", "acked, not journaled"),
    ("load_avg_1m", "load (1 min)"),
)


def markdown(summary: list[dict[str, Any]]) -> str:
    """The summary as a markdown table (one row per link, medians over the runs)."""
    rows = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for s in summary:
        cells = []
        for key, _ in COLUMNS:
            v = s.get(key)
            cells.append(
                "-" if v is None else ", ".join(map(str, v)) if isinstance(v, list) else str(v)
            )
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--link", choices=[*LINKS, "all"], default="all")
    p.add_argument("--rate", type=float, default=5000.0, help="messages/s offered")
    p.add_argument("--clients", type=int, default=64, help="HTTP sensors (keep-alive clients)")
    p.add_argument("--period", type=float, default=0.1, help="s between one client's batches")
    p.add_argument("--targets", type=int, default=50, help="objects in the air")
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tick", type=float, default=0.1, help="skywarden run --tick")
    p.add_argument("--lag", type=float, default=0.1, help="skywarden run --lag (reorder window)")
    p.add_argument("--server-cpus", default="0", help="taskset -c for the server ('' = none)")
    p.add_argument("--load-cpus", default="1", help="CPUs of this process and its broker")
    p.add_argument("--json", help="also write every run and the summary to this file")
    p.add_argument("--profile", help="directory for py-spy raw profiles of the server")
    p.add_argument("--stages", action="store_true", help="CPU per message of each ingest step")
    a = p.parse_args()
    if a.stages:
        stages()
        return 0
    if a.load_cpus:
        os.sched_setaffinity(0, {int(c) for c in a.load_cpus.split(",")})
    links = LINKS if a.link == "all" else [a.link]
    ok = True
    summary = []
    every: list[dict[str, Any]] = []
    for link in links:
        runs = []
        for _ in range(a.runs):
            r = asyncio.run(one_run(link, a))
            print(json.dumps(r), flush=True)
            runs.append(r)
        every.extend(runs)
        s: dict[str, Any] = {"link": link, "runs": len(runs)}
        for key in ("journaled_per_s", "ack_ms_p50", "ack_ms_p99", "picture_ms_p50"):
            s[key] = median_of(runs, key)
        s["picture_ms_p99"] = median_of(runs, "picture_ms_p99")
        s["server_cpu_cores"] = median_of(runs, "server_cpu_cores")
        s["msgs_per_cpu_s"] = median_of(runs, "msgs_per_cpu_s")
        lost = [r["acked_not_journaled"] for r in runs if r["acked_not_journaled"] is not None]
        s["acked_not_journaled"] = sum(lost) if lost else None
        s["load_avg_1m"] = [r["load_avg_1m"] for r in runs]
        summary.append(s)
        ok = ok and (s["journaled_per_s"] or 0) >= 0.98 * a.rate
        ok = ok and (s["picture_ms_p99"] or 1e9) < 250.0
    print(markdown(summary), flush=True)
    print(json.dumps({"summary": summary, "target_met": ok}), flush=True)
    if a.json:
        out = {"args": vars(a), "runs": every, "summary": summary, "target_met": ok}
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

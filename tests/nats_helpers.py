"""Real ``nats-server`` processes for the cluster tests: one server, a three-node JetStream
cluster, or a hub with a leaf-node edge. Each gets free loopback ports and its own temporary
store; the machine's default server on 4222 is never touched."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
T = TypeVar("T")


def require_nats_server() -> None:
    if not os.path.exists(NATS_SERVER):
        pytest.skip("nats-server not installed (Debian package nats-server)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NatsServer:
    name: str
    directory: Path
    conf: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def start(self) -> NatsServer:
        path = self.directory / "server.conf"
        path.write_text(self.conf)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([NATS_SERVER, "-c", str(path)], stdout=log, stderr=log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


def single_server(tmp: Path, name: str = "nats", jetstream_extra: str = "") -> NatsServer:
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = (
        f'server_name: {name}\nlisten: "127.0.0.1:{port}"\n'
        f'jetstream {{ store_dir: "{d}/js" {jetstream_extra} }}\n'
    )
    return NatsServer(name, d, conf, port).start()


def cluster3(tmp: Path) -> list[NatsServer]:
    """Three servers routed into one JetStream cluster (R3 streams possible)."""
    ports = [free_port() for _ in range(3)]
    routes = [free_port() for _ in range(3)]
    servers = []
    for i in range(3):
        d = tmp / f"n{i}"
        d.mkdir(parents=True, exist_ok=True)
        others = ", ".join(f'"nats-route://127.0.0.1:{routes[j]}"' for j in range(3) if j != i)
        conf = (
            f'server_name: n{i}\nlisten: "127.0.0.1:{ports[i]}"\n'
            f'jetstream {{ store_dir: "{d}/js" }}\n'
            f'cluster {{ name: sw, listen: "127.0.0.1:{routes[i]}", routes: [{others}] }}\n'
        )
        servers.append(NatsServer(f"n{i}", d, conf, ports[i]))
    for s in servers:
        s.start()
    return servers


def hub_and_edge(tmp: Path, domain: str) -> tuple[NatsServer, NatsServer]:
    """A central hub (JetStream domain ``hub``) and an edge leaf node with its own domain."""
    hp, lp, ep = free_port(), free_port(), free_port()
    hd, ed = tmp / "hub", tmp / "edge"
    hd.mkdir(parents=True, exist_ok=True)
    ed.mkdir(parents=True, exist_ok=True)
    hub = NatsServer(
        "hub",
        hd,
        f'server_name: hub\nlisten: "127.0.0.1:{hp}"\n'
        f'jetstream {{ store_dir: "{hd}/js", domain: hub }}\n'
        f'leafnodes {{ listen: "127.0.0.1:{lp}" }}\n',
        hp,
    )
    edge = NatsServer(
        "edge",
        ed,
        f'server_name: edge\nlisten: "127.0.0.1:{ep}"\n'
        f'jetstream {{ store_dir: "{ed}/js", domain: {domain} }}\n'
        f'leafnodes {{ reconnect: 1, remotes: [ {{ url: "nats-leaf://127.0.0.1:{lp}" }} ] }}\n',
        ep,
    )
    return hub.start(), edge.start()


async def eventually(
    fn: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float, what: str
) -> T:
    """Poll ``fn`` until ``ok`` holds (a deadline on a functional wait, not a timing test)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    err: Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = await fn()
            if ok(last):
                return last
        except Exception as e:  # the cluster may be electing a leader
            err = e
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}: last={last!r} error={err!r}")


async def read_stream(js: Any, stream: str, subject: str) -> list[tuple[int, str, bytes]]:
    """Every stored message of ``stream`` on ``subject`` (wildcards allowed), in order."""
    from nats.js.api import ConsumerConfig, DeliverPolicy

    info = await js.stream_info(stream)
    last = int(info.state.last_seq)
    out: list[tuple[int, str, bytes]] = []
    if info.state.messages == 0:
        return out
    sub = await js.subscribe(
        subject,
        stream=stream,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    try:
        while True:
            try:
                m = await sub.next_msg(timeout=2.0)
            except Exception:
                break
            seq = int(m.metadata.sequence.stream)
            out.append((seq, m.subject, m.data))
            if seq >= last or m.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return out

"""Real ``nats-server`` processes for the cluster tests: one server, a three-node JetStream
cluster, or a hub with a leaf-node edge. Each gets free loopback ports and its own temporary
store; the machine's default server on 4222 is never touched."""

from __future__ import annotations

import asyncio
import logging
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
log = logging.getLogger(__name__)


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
    """Poll ``fn`` until ``ok`` holds (a deadline on a functional wait, not a timing test).

    On the deadline it says how many attempts failed and with which first and last error, so
    a failure explains itself (a bare last error hid whether every attempt failed alike)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    first_err: Exception | None = None
    err: Exception | None = None
    attempts = failed = 0
    while time.monotonic() < deadline:
        attempts += 1
        try:
            last = await fn()
            if ok(last):
                return last
        except Exception as e:  # the cluster may be electing a leader
            failed += 1
            first_err = first_err or e
            err = e
            log.warning("waiting for %s: attempt %d failed: %r", what, attempts, e)
        await asyncio.sleep(0.25)
    raise AssertionError(
        f"timed out waiting for {what} after {attempts} attempts ({failed} raised): "
        f"last={last!r} error={err!r} first error={first_err!r}"
    )


async def kill_a_follower(
    nc: Any, servers: list[NatsServer], stream: str, timeout: float
) -> tuple[Any, Any, NatsServer]:
    """SIGKILL a replica of ``stream`` that does not lead it, after moving the client to a
    connection that never was on that node (only the cluster's reaction to the kill is under
    test, not a client's reconnect): the new client, its JetStream context (``timeout``) and
    the killed server. ``nc`` is closed."""
    import nats

    leader = (await nc.jetstream().stream_info(stream)).cluster.leader
    victim = next(s for s in servers if s.name != leader)
    await nc.close()
    nc = await nats.connect(servers=[s.url for s in servers if s is not victim])
    victim.kill()
    return nc, nc.jetstream(timeout=timeout), victim


class ReadBackError(RuntimeError):
    """A stream could not be read back completely; the message carries the stream's cluster
    state (leader, replicas and when each was last seen) at the failure."""


async def cluster_state(js: Any, stream: str) -> str:
    """The stream's leader, each replica's currency, lag and last contact, its sequence
    range and the server the client is connected to: what a failed read needs to explain."""
    nc = getattr(js, "_nc", None)
    url = getattr(nc, "connected_url", None)
    where = f"client on {url.netloc if url else None}"
    try:
        info = await js.stream_info(stream)
    except Exception as e:
        return f"{where}; stream_info({stream}) failed too: {e!r}"
    st = info.state
    text = f"{where}; {stream} seq {st.first_seq}..{st.last_seq} ({st.messages} msgs)"
    c = info.cluster
    if c is None:
        return text + "; not clustered"
    peers = ", ".join(
        f"{p.name} current={p.current} offline={p.offline} lag={p.lag} "
        f"seen={(p.active or 0) / 1e9:.1f}s ago"
        for p in c.replicas or []
    )
    return text + f"; leader={c.leader} replicas: {peers or 'none'}"


async def read_stream(js: Any, stream: str, subject: str) -> list[tuple[int, str, bytes]]:
    """Every message of ``stream`` on ``subject`` (wildcards allowed) stored when called, in
    order; raises :class:`ReadBackError` (with the cluster state) rather than return part.

    Read with the stream's own get-next-message request (``STREAM.MSG.GET`` with
    ``next_by_subj``), answered by the stream's leader, not through a consumer: after a node
    of a three-node cluster is killed, nats-server 2.9 keeps placing about one new R1
    consumer in four (ordered consumers are R1) on the dead peer, which it does not mark
    offline for minutes, and that consumer's creation times out (docs/scale.md, session 19).
    The ordered consumer this helper used also ended its read on any 2 s gap in delivery
    and returned what it had, silently.

    How many to read is the stream's own count on the subject (``subjects_filter``). The
    server counts it just after the stream's state, so a message stored in between (a silent
    site's tick) may be counted beyond ``last_seq``: the count, not the last sequence, bounds
    the read (the streams here only grow: limits retention, nothing deleted)."""
    from nats.js.errors import NotFoundError

    info = await js.stream_info(stream, subjects_filter=subject)
    expected = sum((info.state.subjects or {}).values())
    out: list[tuple[int, str, bytes]] = []
    seq = max(1, int(info.state.first_seq))
    while len(out) < expected:
        try:
            m = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:  # nothing on the subject at or after seq
            break
        except Exception as e:
            state = await cluster_state(js, stream)
            log.warning("reading %s %s failed at seq %d: %r; %s", stream, subject, seq, e, state)
            raise ReadBackError(f"{stream} {subject} at seq {seq}: {e!r}; {state}") from e
        out.append((int(m.seq), str(m.subject), bytes(m.data or b"")))
        seq = int(m.seq) + 1
    if len(out) != expected:
        state = await cluster_state(js, stream)
        raise ReadBackError(
            f"{stream} {subject}: read {len(out)} of the {expected} stored messages; {state}"
        )
    return out

"""``skywarden gateway``: a pooled site's sensor links, store-and-forward to the raw stream.

A pooled site has no tracker of its own, but it has sensors (a radar's ASTERIX, a SAPIENT
node, an ADS-B receiver, ...). The gateway runs that site's links exactly as
``skywarden run --site`` does (``runtime.adapters.AdapterSet``), and between the sensors and
the cluster it keeps the project's rule, *journaled before acknowledged*:

1. every accepted message is committed to a local journal (SQLite by default, group commit)
   and only then acknowledged to its sensor, so a link to the cluster that is down, slow or
   electing a leader never makes a sensor's message lost or refused;
2. a forwarder publishes the journal's raw messages to ``skywarden.site.<site>.raw.<sensor>``
   in journal order, each with ``Nats-Msg-Id = <site>:<gateway>:<journal seq>``, waits for the
   stream's acknowledgement (retrying with backoff for as long as it takes), and records how
   far it got in a cursor file beside the journal;
3. after a restart (or SIGKILL) it resumes from the cursor: the few messages published after
   the last cursor write are sent again with the same ids, and JetStream's duplicate window
   stores them once.

Forwarding lag (messages journaled but not yet acknowledged by the stream) and the cursor are
in ``counters`` and the gateway's periodic summary line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError

from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.topology import check_token, raw_subject, sensor_token
from skywarden.runtime.live.ingest import Delivered, JournalingIngest
from skywarden.store.journal import Journal
from skywarden.store.records import RawMessage, detections_of

log = logging.getLogger(__name__)


def read_cursor(path: Path) -> int:
    """The journal seq up to which the stream has acknowledged everything (0: nothing)."""
    try:
        return int(json.loads(path.read_text())["forwarded_seq"])
    except FileNotFoundError:
        return 0
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: unreadable forwarding cursor ({e}); fix or remove it") from None


def write_cursor(path: Path, seq: int) -> None:
    """Atomically: a crash leaves the old or the new cursor, never a torn one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as f:
        f.write(json.dumps({"forwarded_seq": seq}))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def inbound_of(rec: RawMessage) -> Inbound:
    """A journaled message as the adapter handed it over (bytes, parse, time)."""
    return Inbound(rec.sensor_id, rec.format, rec.t, rec.payload, tuple(detections_of(rec)))


@dataclass
class Forwarder:
    """Publishes what the journal holds beyond ``cursor`` to the raw stream, in seq order."""

    js: JetStreamContext
    journal: Journal
    site_id: str
    gateway_id: str
    cursor_path: Path
    page: int = 500
    publish_timeout_s: float = 2.0
    counters: Counters = field(default_factory=Counters)
    cursor: int = 0
    journaled: int = 0  # highest journal seq seen (delivered or read)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        check_token(self.site_id)
        self.cursor = read_cursor(self.cursor_path)
        self.journaled = self.cursor

    async def deliver(self, items: Sequence[Delivered]) -> None:
        """The ingest port's hand-over after each commit: wake the forwarder (no copy kept;
        the journal is the queue)."""
        if items:
            self.journaled = max(self.journaled, items[-1][0])
            self._wake.set()

    @property
    def lag(self) -> int:
        return max(0, self.journaled - self.cursor)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            moved = await self.forward_some()
            if not moved:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.5)

    async def forward_some(self) -> int:
        """One page of the journal after the cursor (``read`` takes seq > from_seq), published
        and acknowledged; the count."""
        entries = await asyncio.to_thread(
            lambda: list(
                itertools.islice(
                    self.journal.read(kinds=("raw",), from_seq=self.cursor, page=self.page),
                    self.page,
                )
            )
        )
        if not entries:
            return 0
        for e in entries:
            rec = e.record
            assert isinstance(rec, RawMessage)
            await self._publish(e.seq, inbound_of(rec))
            self.journaled = max(self.journaled, e.seq)
        self.cursor = entries[-1].seq
        await asyncio.to_thread(write_cursor, self.cursor_path, self.cursor)
        self.counters.inc("forwarded", len(entries))
        return len(entries)

    async def _publish(self, seq: int, m: Inbound) -> None:
        subject = raw_subject(self.site_id, sensor_token(m.sensor_id))
        data = codec.encode_raw(self.site_id, m)
        headers = {"Nats-Msg-Id": f"{self.site_id}:{self.gateway_id}:{seq}"}
        delay = 0.1
        while True:
            try:
                ack = await self.js.publish(
                    subject, data, timeout=self.publish_timeout_s, headers=headers
                )
                if getattr(ack, "duplicate", False):
                    self.counters.inc("duplicate")
                return
            except (TimeoutError, NatsError) as e:
                if isinstance(e, APIError) and e.code not in (None, 503):
                    raise
                self.counters.inc("publish_retry")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


async def run_gateway(
    access: Any,
    site: Site,
    site_id: str,
    journal: Journal,
    cursor_path: Path,
    clock: Clock,
    stop: asyncio.Event,
    gateway_id: str = "gw",
    every_s: float = 5.0,
    drain_s: float = 30.0,
) -> Forwarder:
    """Links -> local journal -> (acknowledged to the sensor) -> forwarder -> raw stream.

    The links start before NATS is reached: a gateway whose cluster is unreachable still
    accepts and journals, and forwards once it connects."""
    from skywarden.runtime.cluster.connect import connect
    from skywarden.runtime.live.adapters import AdapterSet

    nc_box: list[Any] = []
    ingest = JournalingIngest(journal)
    links = AdapterSet(site, ingest, clock)
    await ingest.start()
    await links.start()
    forwarder: Forwarder | None = None
    forwarding = asyncio.Event()  # set: the forwarder's loop stops (after the drain below)
    task: asyncio.Task[None] | None = None
    try:
        nc = await connect(access, reconnect_time_wait=0.5)
        nc_box.append(nc)
        forwarder = Forwarder(nc.jetstream(timeout=5.0), journal, site_id, gateway_id, cursor_path)
        ingest.set_deliver(forwarder.deliver)
        task = asyncio.create_task(forwarder.run(forwarding))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            print(json.dumps(_summary(site_id, forwarder, links, clock)), flush=True)
    finally:
        # graceful: no more input, everything journaled, then forward what is left (bounded)
        await links.stop()
        await ingest.stop()
        if forwarder is not None and task is not None:
            forwarding.set()
            await asyncio.wait({task}, timeout=10.0)
            with contextlib.suppress(TimeoutError, NatsError):
                await asyncio.wait_for(_drain(forwarder), drain_s)
            print(json.dumps(_summary(site_id, forwarder, links, clock)), flush=True)
        for nc in nc_box:
            with contextlib.suppress(Exception):
                await nc.drain()
    assert forwarder is not None
    return forwarder


async def _drain(f: Forwarder) -> None:
    while await f.forward_some():
        pass


def _summary(site_id: str, f: Forwarder, links: Any, clock: Clock) -> dict[str, Any]:
    return {
        "site": site_id,
        "forwarded_seq": f.cursor,
        "lag": f.lag,
        "counters": f.counters.snapshot(),
        "sensors": {k: s.snapshot(clock.now()).accepted for k, s in links.stats_by_sensor.items()},
    }

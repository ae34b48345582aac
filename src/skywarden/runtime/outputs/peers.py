"""Connections to the systems that take skywarden's fused picture: a TAK server and a SAPIENT node.

Both carry tracks as well as alerts, so unlike the alert-only sinks (web hook, e-mail, behind
``alerts.dispatch.AlertDispatcher``) they are fed the picture itself, throttled to one per
``rate_s`` and encoded in a worker thread (a geodetic conversion per track costs ~0.3 ms:
a thousand tracks must not hold the event loop). Each peer is one :class:`PeerOutput`: a
bounded queue of encoded messages (when full the *oldest* is dropped and counted
``dropped``: a live picture prefers fresh over complete) drained by one task that connects,
sends, and on any failure closes, backs off (``0.5 s * 2**n``, capped at 30 s) and
reconnects, keeping the message it was sending so nothing already queued is lost while the
peer is down. The pipeline only ever calls the non-blocking ``picture``/``alert``; a slow or
dead peer fills its own queue, nothing else.

- :class:`TakPeer` sends CoT XML events (``alerts.sinks.cot.build_cot_xml``) over a
  ``pytak.protocol_factory`` TCP connection: one event per confirmed track per period, type
  code from class and affiliation (:func:`affiliation`), and on an alert transition the
  track's event at once with the alert in its remarks.
- :class:`SapientPeer` is skywarden as a node to a higher node (``alerts.sinks.sapient``):
  on every connection its Registration first, then DetectionReports of the confirmed tracks
  and an ``Alert`` per alert transition. What the higher node sends back is read and counted
  by kind (``received.registration_ack`` ...) and never acted upon: there is no path from a
  received message to any action, and nothing here can encode a tasking message.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import logging
import threading
from typing import Any

import pytak  # type: ignore[import-untyped]

from skywarden.alerts.lifecycle import AlertEvent, AlertLevel
from skywarden.alerts.sinks.cot import Affiliation, CotInfo, build_cot_xml
from skywarden.alerts.sinks.sapient import SapientUplink, UpwardPeer, ulid
from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.geo import GeoOrigin
from skywarden.core.track import TrackState
from skywarden.runtime.outputs.config import SapientOutput, TakOutput
from skywarden.sensors.sapient import SapientMessage, frame, split_frames
from skywarden.service.source import Picture
from skywarden.threat.assess import ThreatAssessment, ThreatLevel

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0


def affiliation(a: ThreatAssessment | None, object_class: str) -> Affiliation:
    """CoT affiliation of a track: whitelisted -> friend, alert -> hostile, warning or a
    suspicious identity -> suspect, a confident bird/aircraft -> neutral, else unknown."""
    if a is not None:
        if a.friendly or a.identity_status == "friendly":
            return Affiliation.FRIEND
        if a.level >= ThreatLevel.ALERT:
            return Affiliation.HOSTILE
        if a.level >= ThreatLevel.WARNING or a.identity_status == "suspicious":
            return Affiliation.SUSPECT
    if object_class in ("bird", "aircraft"):
        return Affiliation.NEUTRAL
    return Affiliation.UNKNOWN


def _track_of(pic: Picture, track_id: str) -> TrackState | None:
    for tr in pic.tracks:
        if tr.id == track_id:
            return tr
    return None


class PeerOutput:
    """A bounded queue of encoded messages and the task that delivers them (see module doc)."""

    def __init__(self, name: str, rate_s: float, queue_size: int, clock: Clock) -> None:
        self.name = name
        self.rate_s = rate_s
        self.clock = clock
        self.counters = Counters()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self.connected = False
        self.last_sent_t: float | None = None
        self.last_error = ""
        self._next_picture = float("-inf")
        self._latest: Picture | None = None  # the newest picture not yet encoded
        self._picture_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- the pipeline side (never blocks) -----------------------------------------------
    def put(self, data: bytes) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.counters.inc("dropped")
        self.queue.put_nowait(data)
        self.counters.inc("queued")

    def picture(self, pic: Picture, now: float) -> None:
        """Hand the picture to the encoder if ``rate_s`` has passed since the last one.

        O(1) on the loop: encoding (a geodetic conversion and a message per track, ~0.1-0.5
        ms each) runs in a worker thread. If the encoder is still busy with an earlier
        picture when a new one is due, the waiting one is replaced (``pictures_skipped``).
        """
        if now < self._next_picture:
            return
        self._next_picture = now + self.rate_s
        if self._latest is not None:
            self.counters.inc("pictures_skipped")
        self._latest = pic
        self._picture_due.set()

    def encode_picture(self, pic: Picture) -> list[bytes]:
        return [self.encode_track(tr, pic) for tr in pic.tracks if tr.confirmed]

    async def _encode(self) -> None:
        while True:
            await self._picture_due.wait()
            self._picture_due.clear()
            pic, self._latest = self._latest, None
            if pic is None:
                continue
            try:
                msgs = await asyncio.to_thread(self.encode_picture, pic)
            except Exception as exc:  # one bad track must not end the output
                self.counters.inc("encode_errors")
                log.warning("output %s could not encode picture %d: %s", self.name, pic.seq, exc)
                continue
            for m in msgs:
                self.put(m)
            self.counters.inc("pictures")

    def alert(self, ev: AlertEvent, pic: Picture) -> None:
        data = self.encode_alert(ev, pic)
        if data is None:
            self.counters.inc("alerts_without_track")
            return
        self.put(data)
        self.counters.inc("alerts")

    def encode_track(self, tr: TrackState, pic: Picture) -> bytes:
        raise NotImplementedError

    def encode_alert(self, ev: AlertEvent, pic: Picture) -> bytes | None:
        raise NotImplementedError

    # -- the connection side -------------------------------------------------------------
    async def _connect(self) -> None:
        raise NotImplementedError

    async def _write(self, data: bytes) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name=f"output-{self.name}"),
                asyncio.create_task(self._encode(), name=f"output-{self.name}-encode"),
            ]

    async def stop(self, drain_s: float = 2.0) -> None:
        if not self._tasks:
            return
        if self.connected:  # give what is queued a moment to leave
            loop = asyncio.get_running_loop()
            end = loop.time() + drain_s
            while not self.queue.empty() and self.connected and loop.time() < end:
                await asyncio.sleep(0.02)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self._close()
        self.connected = False

    async def _run(self) -> None:
        attempt = 0
        held: bytes | None = None  # the message a failed write was sending: sent first next time
        while True:
            try:
                await self._connect()
                self.connected, attempt = True, 0
                self.counters.inc("connects")
                log.info("output %s connected", self.name)
                while True:
                    if held is None:
                        held = await self.queue.get()
                    await self._write(held)
                    held = None
                    self.counters.inc("sent")
                    self.last_sent_t = self.clock.now()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, reset, timeout: back off and reconnect
                self.connected = False
                self.counters.inc("errors")
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                with contextlib.suppress(Exception):
                    await self._close()
                delay = min(_MAX_BACKOFF_S, 0.5 * 2.0 ** min(attempt, 10))
                attempt += 1
                log.info("output %s: %s; reconnect in %.1f s", self.name, self.last_error, delay)
                await asyncio.sleep(delay)

    def health(self) -> dict[str, float]:
        out = {k: float(v) for k, v in self.counters.snapshot().items()}
        out["connected"] = 1.0 if self.connected else 0.0
        out["pending"] = float(self.queue.qsize())
        if self.last_sent_t is not None:
            out["last_sent_t"] = self.last_sent_t
        return out


class TakPeer(PeerOutput):
    """CoT events to a TAK server over TCP (``pytak``)."""

    def __init__(self, cfg: TakOutput, origin: GeoOrigin, queue_size: int, clock: Clock) -> None:
        super().__init__(cfg.name, cfg.rate_s, queue_size, clock)
        self.cfg, self.origin = cfg, origin
        self._writer: Any = None
        self._draining: asyncio.Task[None] | None = None

    def _info(self, tr: TrackState, pic: Picture, threat: str | None = None) -> CotInfo:
        a = pic.assessments.get(tr.id)
        if threat is None and a is not None and a.level >= ThreatLevel.WATCH:
            threat = f"{a.level.name.lower()} (score {a.score:.2f})"
        return CotInfo(affiliation(a, tr.best_class), threat, None, self.cfg.stale_s)

    def encode_track(self, tr: TrackState, pic: Picture) -> bytes:
        return build_cot_xml(tr, self.origin, self._info(tr, pic))

    def encode_alert(self, ev: AlertEvent, pic: Picture) -> bytes | None:
        tr = _track_of(pic, ev.alert.track_id)
        if tr is None:
            return None
        a = ev.alert
        text = f"ALERT {a.id} {ev.kind}: {a.level.value}, zone {a.zone_id}"
        if ev.by:
            text += f" by {ev.by}"
        return build_cot_xml(tr, self.origin, self._info(tr, pic, text))

    async def _connect(self) -> None:
        cfg = configparser.ConfigParser()
        cfg["skywarden"] = {"COT_URL": self.cfg.url}
        reader, self._writer = await asyncio.wait_for(
            pytak.protocol_factory(cfg["skywarden"]), 10.0
        )
        self._draining = asyncio.create_task(self._drain(reader), name=f"{self.name}-read")

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        """Read and discard what the server relays to us (other clients' events): unread, it
        would fill the socket and stall the server's sends to us. Returns when it closes."""
        while chunk := await reader.read(65536):
            self.counters.inc("received_bytes", len(chunk))

    async def _write(self, data: bytes) -> None:
        if self._writer.is_closing() or (self._draining is not None and self._draining.done()):
            raise ConnectionResetError("TAK server closed the connection")
        self._writer.write(data)
        await asyncio.wait_for(self._writer.drain(), 10.0)

    async def _close(self) -> None:
        if self._draining is not None:
            self._draining.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._draining
            self._draining = None
        w, self._writer = self._writer, None
        if w is not None:
            w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(w.wait_closed(), 2.0)


class SapientPeer(PeerOutput):
    """skywarden as a SAPIENT node to one higher node over TCP (length-prefixed protobuf)."""

    def __init__(
        self, cfg: SapientOutput, own_node_id: str, origin: GeoOrigin, queue_size: int, clock: Clock
    ) -> None:
        super().__init__(cfg.name, cfg.rate_s, queue_size, clock)
        self.cfg = cfg
        self.uplink = SapientUplink(own_node_id, UpwardPeer(cfg.destination_id), origin)
        self._uplink_lock = threading.Lock()  # its report counter: loop and encoder thread
        self.registered = False
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._status: asyncio.Task[None] | None = None

    def encode_track(self, tr: TrackState, pic: Picture) -> bytes:
        with self._uplink_lock:
            return self.uplink.track_report(tr)

    def encode_alert(self, ev: AlertEvent, pic: Picture) -> bytes | None:
        a = ev.alert
        text = f"{a.level.value} {ev.kind}: track {a.track_id} zone {a.zone_id} ({a.object_class})"
        if a.reasons:
            text += ": " + "; ".join(a.reasons)
        prio = "high" if a.level is AlertLevel.ALERT else "medium"
        with self._uplink_lock:
            raw = self.uplink.alert(
                ev.t, a.id, text, prio, _track_of(pic, a.track_id), active=ev.kind != "resolved"
            )
        # one alert keeps one alert_id through its transitions (raised ... resolved)
        (body,), _ = split_frames(raw)
        m = SapientMessage.FromString(body)
        m.alert.alert_id = ulid(a.raised_t, f"alert/{a.id}")
        return frame(m)

    async def _connect(self) -> None:
        reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.cfg.host, self.cfg.port), 10.0
        )
        self.registered = False
        self._reading = asyncio.create_task(self._read(reader), name=f"{self.name}-read")
        with self._uplink_lock:
            registration = self.uplink.registration(
                self.clock.now(), status_every_s=self.cfg.status_s
            )
        await self._write(registration)
        self.counters.inc("registrations")
        self._status = asyncio.create_task(self._status_loop(), name=f"{self.name}-status")

    async def _status_loop(self) -> None:
        """The StatusReport the registration promises, every ``status_s`` while connected
        (a higher node that hears nothing for a few intervals may treat the node as lost)."""
        first = True
        while True:
            with self._uplink_lock:
                data = self.uplink.status_report(self.clock.now(), first)
            await self._write(data)
            self.counters.inc("status_reports")
            first = False
            await asyncio.sleep(self.cfg.status_s)

    async def _write(self, data: bytes) -> None:
        w = self._writer
        if w is None or w.is_closing() or (self._reading is not None and self._reading.done()):
            raise ConnectionResetError("SAPIENT peer closed the connection")
        w.write(data)
        await asyncio.wait_for(w.drain(), 10.0)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """Count what the higher node sends (acks); nothing it sends triggers any action."""
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            bodies, buf = split_frames(buf + chunk)
            for body in bodies:
                try:
                    m = SapientMessage.FromString(body)
                except Exception:
                    self.counters.inc("received.undecodable")
                    continue
                kind = m.WhichOneof("content") or "empty"
                self.counters.inc(f"received.{kind}")
                if kind == "registration_ack":
                    self.registered = bool(m.registration_ack.acceptance)

    async def _close(self) -> None:
        if self._status is not None:
            self._status.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._status
            self._status = None
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reading
            self._reading = None
        w, self._writer = self._writer, None
        if w is not None:
            w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(w.wait_closed(), 2.0)
        self.registered = False

    def health(self) -> dict[str, float]:
        out = super().health()
        out["registered"] = 1.0 if self.registered else 0.0
        return out

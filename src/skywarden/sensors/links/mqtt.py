"""MQTT subscriber for JSON detections: QoS 1, acknowledged only after the journal.

Why MQTT: simple integrations (a camera box, an acoustic array, a home-made RF sniffer)
already publish to a broker. One site sensor = one topic. The message body is parsed by the
same JSON detection parser as the HTTP POST route (``parse`` is handed in by the runtime),
so there is one JSON schema, not two.

Delivery guarantee: the subscription is QoS 1 on a persistent session (``clean_session``
off, a stable client id), and the client runs with paho's manual acknowledgement: the
PUBACK for a message is sent only after the batch holding it was journaled by the ingest
port. If skywarden dies before that, the broker still holds the message and delivers it
again when skywarden reconnects. A message the parser rejects is counted by reason and
acknowledged (delivering it again would only reject it again). If the journal refuses a
batch, nothing in it is acknowledged and the client reconnects, so the broker redelivers.

Threads: paho's network loop runs in its own thread (``loop_start``); its callbacks only
stamp the receive time with the injected clock and hand the message to the event loop
(``call_soon_threadsafe``). Parsing, journaling and acknowledging happen on the loop.
The broker's in-flight window (Mosquitto ``max_inflight_messages``, 20 by default) bounds
how many unacknowledged messages can be waiting, which is the back-pressure.

Who may feed a sensor (``core.link_options.MqttSecurity``): skywarden logs in with a user
name and a password read from the environment variable the site names, over TLS when the
site gives a CA (the broker's certificate is verified, host name included) and, for mutual
TLS, a client certificate and key. The broker's ACL is what stops a stranger or another
sensor's account from publishing on this sensor's topic (``docs/links-security.md``);
skywarden's side of that binding: a message is accepted only from the one topic this
sensor was given (a persistent session can still carry a subscription of an older
configuration: such a message is refused as ``wrong_topic``, counted, acknowledged and the
stale subscription dropped), and only when every detection in it names this sensor.
A refused login is counted (``link.auth_refused``), a failed TCP/TLS connection too
(``link.connect_failed``); paho keeps retrying with back-off, so a fixed broker is picked
up without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from skywarden.core import config_fields as f
from skywarden.core.clock import Clock
from skywarden.core.errors import ConfigError, InputRejected
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.core.link_options import MQTT_KEYS, MqttSecurity, parse_mqtt_security
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.registry import (
    JsonParse,
    LinkConfig,
    LinkContext,
    LinkKind,
    Member,
    Started,
    register,
)

log = logging.getLogger(__name__)
SOURCE = "json"

#: ``parse(payload, t_recv)`` -> the detections one JSON message carries; raises InputRejected.
__all__ = ["JsonParse", "MqttJsonKind", "MqttJsonLink", "MqttLinkConfig"]


def _tls_context(sec: MqttSecurity) -> ssl.SSLContext:
    """The client's TLS context (TLS 1.2 at least) from the link's CA and client certificate
    files: one function for connecting and for the start-up check of the files, so the check
    loads exactly what the connection will (OSError or ssl.SSLError when a file will not)."""
    ctx = ssl.create_default_context(cafile=sec.ca_file)
    if sec.cert_file is not None:
        ctx.load_cert_chain(sec.cert_file, sec.key_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@dataclass(frozen=True)
class _Received:
    payload: bytes
    topic: str
    mid: int
    qos: int
    t_recv: float


class MqttJsonLink:
    """One topic on one broker feeding one site sensor."""

    def __init__(
        self,
        host: str,
        port: int,
        topic: str,
        sensor_id: str,
        parse: JsonParse,
        clock: Clock,
        ingest: IngestPort,
        stats: SensorStats,
        client_id: str | None = None,
        security: MqttSecurity | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.host, self.port, self.topic = host, port, topic
        self.sensor_id = sensor_id
        self.parse = parse
        self.clock = clock
        self.ingest = ingest
        self.stats = stats
        self.client_id = client_id or f"skywarden-{sensor_id}"
        self.security = security or MqttSecurity()
        self._environ = os.environ if environ is None else environ
        self._queue: asyncio.Queue[_Received] = asyncio.Queue()
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        self._answered = False  # the broker answered the current attempt's CONNECT

    # -- paho thread ---------------------------------------------------------------------
    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if getattr(rc, "is_failure", False):
            self._from_thread(self._refused, str(rc), int(getattr(rc, "value", -1)))
            return
        client.subscribe(self.topic, qos=1)
        self._from_thread(self._set_state, "connected")

    def _on_subscribe(self, _c: paho.Client, _u: Any, _mid: int, _rc: Any, _p: Any) -> None:
        self._from_thread(self.subscribed.set)

    def _on_connect_fail(self, _c: paho.Client, _u: Any) -> None:
        self._from_thread(self._connect_failed)

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self._from_thread(self._disconnected)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        item = _Received(
            bytes(msg.payload), str(msg.topic), int(msg.mid), int(msg.qos), self.clock.now()
        )
        self._from_thread(self._queue.put_nowait, item)

    def _from_thread(self, fn: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    # -- event loop ----------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state == "connected":
            self._answered = True
        self.stats.state = state

    def _refused(self, reason: str, code: int) -> None:
        self._answered = True
        # MQTT 3.1.1 CONNACK 4/5, MQTT 5 0x86/0x87: bad user name or password / not authorised
        auth = code in (4, 5, 0x86, 0x87) or "password" in reason or "authori" in reason
        self.stats.counters.inc("link.auth_refused" if auth else "link.connect_refused")
        self.stats.state = "disconnected"
        log.warning("MQTT %s: the broker refused the connection: %s", self.topic, reason)

    def _connect_failed(self) -> None:
        """TCP refused, TLS handshake failed (wrong CA, no TLS on the port, bad host name)."""
        self.stats.counters.inc("link.connect_failed")
        self.stats.state = "disconnected"

    def _disconnected(self) -> None:
        if not self._answered:  # the link dropped before any CONNACK: e.g. plain MQTT on TLS
            self.stats.counters.inc("link.connect_failed")
        self._answered = False
        self.stats.state = "disconnected"
        self.subscribed.clear()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            manual_ack=True,
        )
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 30)
        self._secure(c)
        self._client = c
        self.stats.state = "connecting"
        c.connect_async(self.host, self.port, keepalive=30)
        c.loop_start()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.sensor_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        c, self._client = self._client, None
        if c is not None:
            c.disconnect()
            await asyncio.to_thread(c.loop_stop)
        self.stats.state = "stopped"
        self._loop = None

    def _secure(self, c: paho.Client) -> None:
        """Credentials and TLS from the site's link table; ConfigError names what is wrong."""
        sec = self.security
        if sec.username is not None:
            c.username_pw_set(sec.username, sec.password(self._environ))
            if not sec.tls and self.host not in ("127.0.0.1", "::1", "localhost"):
                log.warning("MQTT %s: the password goes to %s unencrypted", self.topic, self.host)
        if not sec.tls:
            return
        try:
            ctx = _tls_context(sec)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError("link.ca_file/cert_file/key_file", f"cannot load: {e}") from None
        c.tls_set_context(ctx)

    def handle(self, payload: bytes, t_recv: float, topic: str | None = None) -> Inbound | None:
        """One message body -> what to journal, or None (rejected and counted)."""
        if topic is not None and topic != self.topic:
            self.stats.rejected("wrong_topic")
            client = self._client
            if client is not None:  # a subscription left from an older configuration
                client.unsubscribe(topic)
            return None
        try:
            dets = tuple(self.parse(payload, t_recv))
        except InputRejected as e:
            self.stats.rejected(e.reason)
            return None
        except Exception:  # a parser bug must not stop the subscription
            log.exception("MQTT %s: parser raised", self.topic)
            self.stats.rejected("internal_error")
            return None
        bad = [d for d in dets if d.sensor_id != self.sensor_id]
        if bad:
            self.stats.rejected("wrong_sensor")
            return None
        self.stats.accepted(t_recv, len(dets))
        self.stats.state = "receiving"
        return Inbound(self.sensor_id, SOURCE, t_recv, payload, dets)

    async def _take(self) -> list[_Received]:
        out = [await self._queue.get()]
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    async def _run(self) -> None:
        while True:
            items = await self._take()
            batch = [inb for it in items if (inb := self.handle(it.payload, it.t_recv, it.topic))]
            if batch:
                try:
                    await self.ingest.submit(batch)
                except Exception:
                    log.exception(
                        "MQTT %s: the journal refused %d message(s)", self.topic, len(batch)
                    )
                    self.stats.counters.inc("journal_failed", len(batch))
                    await self._redeliver()
                    continue
            client = self._client
            for it in items:
                if client is not None and it.qos > 0:
                    client.ack(it.mid, it.qos)

    async def _redeliver(self) -> None:
        """Drop the connection without acknowledging: the broker sends the messages again."""
        client = self._client
        if client is None:
            return
        self.stats.counters.inc("link.reconnects")
        await asyncio.to_thread(client.reconnect)


# ----------------------------------------------------------------------------- link kind


@dataclass(frozen=True)
class MqttLinkConfig(LinkConfig):
    topic: str = ""
    security: MqttSecurity = field(default_factory=MqttSecurity)


@register
class MqttJsonKind(LinkKind):
    """``protocol = "mqtt_json"``: subscribe to one topic of a broker; JSON detections.

    Keys: ``topic`` (required, no wildcards), ``username``, ``password_env``, ``tls``,
    ``ca_file``, ``cert_file``, ``key_file`` (``core.link_options``)."""

    name = "mqtt_json"
    binds = False
    default_port = 1883
    keys = frozenset({"topic"}) | MQTT_KEYS
    doc = "MQTT subscriber: generic JSON detections on a topic"

    def parse(self, table: Mapping[str, Any], base: LinkConfig, path: str) -> LinkConfig:
        topic = f.string(f.req(table, "topic", path), f"{path}.topic")
        if any(c in topic for c in "+#"):
            raise ConfigError(f"{path}.topic", "must be one topic (no + or # wildcards)")
        return MqttLinkConfig(
            **base.__dict__, topic=topic, security=parse_mqtt_security(table, path)
        )

    def conflict_key(self, m: Member) -> tuple[object, ...]:
        assert isinstance(m.config, MqttLinkConfig)
        return ("mqtt", m.config.host, m.config.port, m.config.topic)

    def check_secrets(self, config: LinkConfig, environ: Mapping[str, str]) -> None:
        assert isinstance(config, MqttLinkConfig)
        sec = config.security
        sec.password(environ)
        if sec.tls:
            try:
                _tls_context(sec)
            except (OSError, ssl.SSLError) as e:
                raise ConfigError("link", f"TLS files: {e}") from None

    async def start(self, ctx: LinkContext, members: Sequence[Member]) -> list[Started]:
        out = []
        for m in members:
            c = m.config
            assert isinstance(c, MqttLinkConfig)
            mq = MqttJsonLink(
                c.host,
                c.port,
                c.topic,
                m.spec.id,
                ctx.json_parser(m.spec, ctx.site),
                ctx.clock,
                ctx.ingest,
                ctx.stats[m.spec.id],
                client_id=f"skywarden-{ctx.site.name}-{m.spec.id}",
                security=c.security,
            )
            await mq.start()
            out.append(Started(mq, mq.stop))
        return out

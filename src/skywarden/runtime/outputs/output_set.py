"""The live system's mouth: alerts and the fused picture to the systems an installation runs.

:class:`OutputSet` is built from an :class:`~skywarden.runtime.outputs.config.OutputsConfig`
(``skywarden run --outputs FILE``) and owns:

- an :class:`~skywarden.alerts.dispatch.AlertDispatcher` for the alert-only sinks (web hook
  with its durable outbox, e-mail), one bounded queue and worker per sink;
- one :class:`~skywarden.runtime.outputs.peers.PeerOutput` per TAK server and SAPIENT
  higher node, fed the picture (throttled) and every alert transition, each with its own
  bounded queue and reconnecting connection.

How it hears the pipeline, without touching the live loop: it subscribes to the source's
pictures (the same hook the WebSocket hub uses; listeners run on the loop thread, once per
processed batch, including the batch that applied an operator's acknowledge or resolve).
Alert transitions are the picture's ``events``: every transition the engine returned since
the previous picture (``Engine.drain_events``), so every transition reaches the sinks even
when one batch stepped several frames and only the last was published. Transitions replayed
from the journal at start were delivered by the previous process: the restore discards
them, and the first picture after it carries none.

:class:`OutputsSource` wraps the live source for ``create_app``: the app's lifespan starts
it (sinks first, then the source, then the subscription: no event of this run is offered
before the sinks run) and stops it (source first, so its last pictures are handed on, then
the outputs, which drain their queues). Its ``stats()`` adds one counter set and health
snapshot per output (``outputs.<name>.connected``, ``.pending``, ``.sent`` ...). Everything
else (``ingest``, ``journal``, ``sensor_health`` of a linked source) is the wrapped source's.

Nothing here can task an effector: outputs only report (``tests/test_sapient_task_guard.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from skywarden.alerts.dispatch import AlertDispatcher, AlertSink, DispatcherConfig
from skywarden.alerts.lifecycle import Alert
from skywarden.alerts.sinks.mail import EmailSink
from skywarden.alerts.sinks.push import PushConfig, PushSink
from skywarden.alerts.sinks.webhook import WebhookConfig, WebhookSink
from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.errors import ConfigError
from skywarden.core.site import Site
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.outputs.config import (
    EmailOutput,
    OutputsConfig,
    PushOutput,
    WebhookOutput,
)
from skywarden.runtime.outputs.peers import PeerOutput, SapientPeer, TakPeer
from skywarden.service.source import Listener, Picture, Unsubscribe


def _env(var: str | None, field: str, env: Mapping[str, str]) -> str | None:
    if var is None:
        return None
    value = env.get(var)
    if value is None:
        raise ConfigError(field, f"environment variable {var} is not set")
    return value


def _webhook(o: WebhookOutput, env: Mapping[str, str]) -> WebhookSink:
    headers = dict(o.headers)
    token = _env(o.token_env, f"{o.name}.token_env", env)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if o.outbox != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(o.outbox)), exist_ok=True)
    cfg = WebhookConfig(
        url=o.url,
        outbox_path=o.outbox,
        timeout_s=o.timeout_s,
        base_backoff_s=o.base_backoff_s,
        max_backoff_s=o.max_backoff_s,
        headers=tuple(sorted(headers.items())),
    )
    return WebhookSink(cfg, o.name)


def _email(o: EmailOutput, env: Mapping[str, str]) -> EmailSink:
    password = _env(o.password_env, f"{o.name}.password_env", env)
    return EmailSink(dataclasses.replace(o.mail, password=password), o.name)


def _push(o: PushOutput, env: Mapping[str, str]) -> PushSink:
    secret = _env(o.urls_env, f"{o.name}.urls_env", env)
    urls = o.urls + tuple(secret.split() if secret else ())
    if not urls:
        raise ConfigError(f"{o.name}.urls_env", f"environment variable {o.urls_env} is empty")
    return PushSink(PushConfig(urls, o.kinds, min_interval_s=o.min_interval_s), o.name)


def own_node_id(site: Site) -> str:
    """skywarden's SAPIENT node UUID when the outputs file names none (the links' default)."""
    from skywarden.runtime.live.adapters import default_own_node_id

    return default_own_node_id(site)


class OutputSet:
    """Every configured output, fed from one live source (see the module doc)."""

    def __init__(
        self,
        cfg: OutputsConfig,
        site: Site,
        clock: Clock,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.cfg = cfg
        self.clock = clock
        self.counters = Counters()
        self.sinks: list[AlertSink] = [_webhook(o, env) for o in cfg.webhooks]
        self.sinks += [_email(o, env) for o in cfg.emails]
        self._latest: Picture | None = None
        for push in (_push(o, env) for o in cfg.pushes):
            push.locate = self._locate  # where the track is in the picture that raised it
            self.sinks.append(push)
        self.dispatcher = AlertDispatcher(
            self.sinks, DispatcherConfig(queue_size=cfg.queue_size), self.counters
        )
        self.peers: list[PeerOutput] = [
            TakPeer(o, site.origin, cfg.queue_size, clock) for o in cfg.taks
        ]
        self.peers += [
            SapientPeer(o, o.node_id or own_node_id(site), site.origin, cfg.queue_size, clock)
            for o in cfg.sapients
        ]
        self._unsubscribe: Unsubscribe | None = None

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Start the sinks and the peer connections (before the source starts)."""
        await self.dispatcher.start()
        for p in self.peers:
            await p.start()

    def attach(self, source: LiveSource) -> None:
        """Follow ``source``'s pictures from now on."""
        self._unsubscribe = source.subscribe(self.on_picture)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.dispatcher.stop()
        for p in self.peers:
            await p.stop()

    # -- the pipeline side (loop thread, never blocks) ----------------------------------
    def _locate(self, track_id: str) -> tuple[float, float] | None:
        pic = self._latest
        for tr in pic.tracks if pic is not None else ():
            if tr.id == track_id:
                return (float(tr.x[0]), float(tr.x[1]))
        return None

    def on_picture(self, pic: Picture) -> None:
        self._latest = pic
        events = pic.events
        if events:
            self.counters.inc("outputs.alert_events", len(events))
            self.dispatcher.offer(events)
        now = asyncio.get_running_loop().time()
        for p in self.peers:
            for ev in events:
                p.alert(ev, pic)
            p.picture(pic, now)

    # -- what the service shows ---------------------------------------------------------
    def health(self) -> dict[str, dict[str, float]]:
        """Per output: its counters, ``connected``/``pending`` and its last delivery."""
        out: dict[str, dict[str, float]] = {}
        snap = self.counters.snapshot()
        for s in self.sinks:
            h = {k.split(".", 1)[0]: float(v) for k, v in snap.items() if k.endswith(f".{s.name}")}
            h["pending"] = float(self.dispatcher.pending(s.name))
            if isinstance(s, WebhookSink):
                h.update({k: float(v) for k, v in s.counters.snapshot().items()})
                h["outbox"] = float(s.pending)
            elif isinstance(s, EmailSink | PushSink):
                h.update({k: float(v) for k, v in s.counters.snapshot().items()})
            out[s.name] = h
        for p in self.peers:
            out[p.name] = p.health()
        return out

    def stats(self) -> dict[str, float]:
        out = {f"outputs.{name}.{k}": v for name, h in self.health().items() for k, v in h.items()}
        out["outputs.alert_events"] = float(self.counters.get("outputs.alert_events"))
        return out


class OutputsSource:
    """A live source with its outputs, for ``create_app`` (a ``PictureSource``)."""

    def __init__(self, inner: LiveSource, outputs: OutputSet) -> None:
        self.inner = inner
        self.outputs = outputs

    @property
    def site(self) -> Site:
        return self.inner.site

    @property
    def mode(self) -> str:
        return self.inner.mode

    def current(self) -> Picture | None:
        return self.inner.current()

    def subscribe(self, listener: Listener) -> Unsubscribe:
        return self.inner.subscribe(listener)

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        return await self.inner.acknowledge(alert_id, by)

    async def resolve(self, alert_id: str, by: str) -> Alert:
        return await self.inner.resolve(alert_id, by)

    def stats(self) -> Mapping[str, float]:
        return {**self.inner.stats(), **self.outputs.stats()}

    def track_chip(self, track_id: str) -> Mapping[str, Any] | None:
        """``ChipSource``, spelled out rather than left to ``__getattr__``: the API asks
        ``isinstance(src, ChipSource)``, and a runtime protocol check that looks attributes
        up statically (Python 3.12 on) does not see forwarded ones, so there the chip endpoint
        answered 404 whenever ``skywarden run --outputs`` wrapped the live source."""
        return self.inner.track_chip(track_id)

    async def start(self) -> None:
        await self.outputs.start()
        try:
            await self.inner.start()
        except BaseException:
            await self.outputs.stop()
            raise
        self.outputs.attach(self.inner)  # no await between the restore and this

    async def stop(self) -> None:
        try:
            await self.inner.stop()
        finally:
            await self.outputs.stop()

    def __getattr__(self, name: str) -> Any:
        # optional protocols of the wrapped source (sensor_health ...) and its ports
        if name in ("inner", "outputs"):
            raise AttributeError(name)
        return getattr(self.inner, name)

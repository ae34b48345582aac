"""Push notifications to phones through apprise (ntfy, Signal, Telegram, Matrix, SMS gateways...).

Why apprise: one maintained library (BSD-2-Clause) speaks the notification services people
actually have on their phones, each named by a URL (``ntfy://host/topic``,
``tgram://bot-token/chat-id``, ``signal://host:port/from/to``, ``json://host:port/path`` for
anything that takes a JSON POST). The outputs file names the URLs (secret ones through an
environment variable); this sink sends one short notification per raised or escalated alert.

Message: title ``ALERT: drone -> house`` (level, class, zone), body the household sentence
(:func:`skywarden.alerts.wording.warning_sentence`: "drone, 400 m north-west, about 26 s: take
shelter") and the alert and track ids. The position comes from ``locate(track_id)`` (the
outputs set hands in a lookup over the latest picture); without one the sentence leaves the
direction out rather than guess.

Pacing: at most one notification per ``min_interval_s`` (default 1 s) to each service; apprise's
own default spacing (5.5 s for most services) would hold back a second alert that long.

Delivery: apprise's ``notify`` (blocking HTTP) runs in a worker thread; False from it (any URL
failed) is retried ``retries`` times with exponential backoff, then raised to the dispatcher,
which counts it (``failed.<name>``). Like e-mail, a push is a prompt, not a record: the web
hook with its outbox is the guaranteed channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skywarden.alerts.lifecycle import AlertEvent
from skywarden.alerts.wording import warning_sentence
from skywarden.core.counters import Counters
from skywarden.core.errors import ConfigError

Locate = Callable[[str], tuple[float, float] | None]


@dataclass(frozen=True)
class PushConfig:
    urls: tuple[str, ...]
    kinds: frozenset[str] = frozenset({"raised", "escalated"})
    retries: int = 2
    base_backoff_s: float = 0.5
    min_interval_s: float | None = 1.0  # per service; None keeps apprise's (5.5 s for most)


class PushDeliveryError(RuntimeError):
    """apprise reported that at least one service did not take the notification."""


def build_apprise(
    urls: tuple[str, ...], field: str = "push.urls", min_interval_s: float | None = None
) -> Any:
    """An ``apprise.Apprise`` with every URL added; an URL apprise cannot parse is refused.

    ``min_interval_s``: the least time between two notifications to one service. apprise
    spaces them 5.5 s apart by default for most services (to stay inside public services'
    rate limits): a second alert right after a first would reach the phone 5.5 s late.
    """
    import apprise

    ap = apprise.Apprise()
    for i, u in enumerate(urls):
        if not ap.add(u):
            scheme = u.split("://", 1)[0] if "://" in u else u[:12]
            raise ConfigError(f"{field}[{i}]", f"apprise does not accept this URL ({scheme}://...)")
    if min_interval_s is not None:
        for service in ap:
            service.request_rate_per_sec = min_interval_s  # seconds per request, despite the name
    return ap


def push_text(ev: AlertEvent, en: tuple[float, float] | None) -> tuple[str, str]:
    """(title, body) of the notification for one alert event (pure)."""
    a = ev.alert
    level = a.level.value
    title = f"{level.upper()}: {a.object_class.replace('_', ' ')} -> {a.zone_id}"
    if ev.kind == "escalated":
        title += " (escalated)"
    body = warning_sentence(a.object_class, level, en, a.time_to_enter_s)
    return title, f"{body}\n(alert {a.id}, track {a.track_id})"


class PushSink:
    def __init__(
        self,
        config: PushConfig,
        name: str = "push",
        counters: Counters | None = None,
        locate: Locate | None = None,
    ) -> None:
        if not config.urls:
            raise ValueError("push sink needs at least one URL")
        self.cfg = config
        self.name = name
        self.counters = counters or Counters()
        self.locate = locate
        self._ap = build_apprise(config.urls, f"{name}.urls", config.min_interval_s)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, event: AlertEvent) -> None:
        if event.kind not in self.cfg.kinds:
            self.counters.inc("skipped.kind")
            return
        en = self.locate(event.alert.track_id) if self.locate is not None else None
        title, body = push_text(event, en)
        for attempt in range(self.cfg.retries + 1):
            ok = await asyncio.to_thread(self._ap.notify, body=body, title=title)
            if ok:
                self.counters.inc("sent")
                return
            if attempt == self.cfg.retries:
                self.counters.inc("failed")
                raise PushDeliveryError(f"{self.name}: a push service refused the notification")
            self.counters.inc("retries")
            await asyncio.sleep(self.cfg.base_backoff_s * 2.0**attempt)

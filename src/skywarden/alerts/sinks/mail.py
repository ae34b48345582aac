"""E-mail sink: one message per alert event, sent over SMTP (stdlib ``smtplib``).

Message layout (RFC 5322 via ``email.message.EmailMessage``)::

    From: <sender>            To: <recipients, comma separated>
    Subject: [skywarden] ALERT raised: track 12 -> residence (drone)
    Message-ID: <event_id@skywarden>     (the idempotency key: a re-sent mail is recognisable)
    X-Skywarden-Event: <event_id>

    Plain-text body: event kind, level, state, zone, track, class, time to enter, reasons,
    acknowledged by/when; then the JSON payload of ``event_payload``.

Only the kinds in ``kinds`` are mailed (by default raised and escalated: what someone must
act on); SMTP runs in a worker thread with a timeout, STARTTLS and login when configured. A
failed send is retried ``retries`` times with exponential backoff, then the failure is raised
to the dispatcher, which counts it. Mail is not the place for guaranteed delivery: the web
hook with its outbox is.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from skywarden.alerts.dispatch import event_payload
from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.counters import Counters


@dataclass(frozen=True)
class EmailConfig:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    retries: int = 3
    base_backoff_s: float = 1.0
    kinds: frozenset[str] = frozenset({"raised", "escalated"})


def build_message(ev: AlertEvent, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """The mail for one alert event (pure)."""
    body = event_payload(ev)
    a = ev.alert
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = (
        f"[skywarden] {a.level.value.upper()} {ev.kind}: track {a.track_id} -> {a.zone_id}"
        f" ({a.object_class})"
    )
    msg["Message-ID"] = f"<{body['event_id']}@skywarden>"
    msg["X-Skywarden-Event"] = str(body["event_id"])
    tte = "-" if a.time_to_enter_s is None else f"{a.time_to_enter_s:.0f} s"
    lines = [
        f"Alert {a.id} {ev.kind} at t={ev.t:.1f} s",
        f"Level: {a.level.value}   State: {a.state.value}",
        f"Zone: {a.zone_id}   Track: {a.track_id}   Class: {a.object_class}",
        f"Time to enter: {tte}",
    ]
    if a.reasons:
        lines.append("Why: " + "; ".join(a.reasons))
    if a.acknowledged_by:
        lines.append(f"Acknowledged by {a.acknowledged_by} at t={a.acknowledged_t}")
    lines += ["", json.dumps(body, indent=2)]
    msg.set_content("\n".join(lines) + "\n")
    return msg


class EmailSink:
    def __init__(self, config: EmailConfig, name: str = "email", counters: Counters | None = None):
        if not config.recipients:
            raise ValueError("e-mail sink needs at least one recipient")
        self.cfg = config
        self.name = name
        self.counters = counters or Counters()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _send_blocking(self, msg: EmailMessage) -> None:
        c = self.cfg
        with smtplib.SMTP(c.host, c.port, timeout=c.timeout_s) as smtp:
            if c.starttls:
                smtp.starttls()
            if c.username is not None:
                smtp.login(c.username, c.password or "")
            smtp.send_message(msg, from_addr=c.sender, to_addrs=list(c.recipients))

    async def send(self, event: AlertEvent) -> None:
        if event.kind not in self.cfg.kinds:
            self.counters.inc("skipped.kind")
            return
        msg = build_message(event, self.cfg.sender, self.cfg.recipients)
        for attempt in range(self.cfg.retries + 1):
            try:
                await asyncio.to_thread(self._send_blocking, msg)
                self.counters.inc("sent")
                return
            except (OSError, smtplib.SMTPException):
                if attempt == self.cfg.retries:
                    self.counters.inc("failed")
                    raise
                self.counters.inc("retries")
                await asyncio.sleep(self.cfg.base_backoff_s * 2.0**attempt)

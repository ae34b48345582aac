"""E-mail sink against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import email
import socket
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from skywarden.alerts.lifecycle import Alert, AlertEvent, AlertLevel, AlertState
from skywarden.alerts.sinks.mail import EmailConfig, EmailSink


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(raw))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ev(kind: str, level: AlertLevel = AlertLevel.WARNING) -> AlertEvent:
    a = Alert(
        "A7", "12", "residence", level, AlertState.RAISED, 5.0, 5.0, 42.0, "drone",
        ("likely drone enters warning zone warning in 3 s",),
    )  # fmt: skip
    return AlertEvent(kind, 5.0, a)


def test_mail_reaches_a_real_smtp_server() -> None:
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        sink = EmailSink(
            EmailConfig("127.0.0.1", port, "skywarden@site.test", ("ops@site.test", "duty@x.test"))
        )
        asyncio.run(sink.send(ev("raised")))
        asyncio.run(sink.send(ev("acknowledged")))  # not mailed by default
        asyncio.run(sink.send(ev("escalated", AlertLevel.ALERT)))
    finally:
        ctl.stop()
    assert len(inbox.messages) == 2
    sender, rcpts, msg = inbox.messages[0]
    assert sender == "skywarden@site.test" and rcpts == ["ops@site.test", "duty@x.test"]
    assert msg["Subject"] == "[skywarden] WARNING raised: track 12 -> residence (drone)"
    assert msg["X-Skywarden-Event"] and msg["Message-ID"].startswith("<")
    raw = msg.get_payload(decode=True)
    assert isinstance(raw, bytes)
    text = raw.decode()
    assert "Time to enter: 42 s" in text and "likely drone enters warning zone" in text
    assert inbox.messages[1][2]["Subject"].startswith("[skywarden] ALERT escalated")
    assert sink.counters.get("sent") == 2 and sink.counters.get("skipped.kind") == 1


def test_mail_server_down_retries_then_fails() -> None:
    port = free_port()  # nobody listens
    sink = EmailSink(
        EmailConfig("127.0.0.1", port, "a@b.test", ("c@d.test",), retries=2, base_backoff_s=0.01)
    )
    with pytest.raises(OSError):
        asyncio.run(sink.send(ev("raised")))
    assert sink.counters.get("retries") == 2 and sink.counters.get("failed") == 1

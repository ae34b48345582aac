"""Web hook sink: alert events as HTTP POST JSON, through a durable ordered outbox.

Wire format: one ``POST <url>`` per alert event, ``Content-Type: application/json``, the
body :func:`skywarden.alerts.dispatch.event_payload` (``event_id``, ``kind``, ``t``, ``by``,
``alert`` {...}) and the header ``Idempotency-Key: <event_id>``. Any 2xx is success.

Delivery is *at least once, in order*:

- ``send`` appends the event to an outbox, a SQLite table (``seq`` autoincrement, ``key``
  unique, ``body``) committed before ``send`` returns; the same event offered twice is stored
  once (``INSERT OR IGNORE`` on the key). With a file path the outbox survives a restart:
  a new sink on the same file delivers what the old one could not.
- One delivery task takes the *oldest* row, posts it, and deletes it only after a 2xx. On a
  connection error, a timeout, 408, 429 or 5xx it waits and retries the same row (exponential
  backoff ``base_s * 2**n`` capped at ``max_backoff_s``), so while the receiver is down
  nothing is lost and nothing overtakes. A receiver that answers a 4xx refuses that event
  for good: it is counted (``rejected.http_<code>``), logged and removed so one bad event
  cannot wedge the queue.
- The outbox is bounded (``max_pending``): past it the oldest row is dropped and counted
  (``dropped.outbox_full``) - a receiver down for that long gets the newest alerts.

A receiver de-duplicates on ``Idempotency-Key``: a POST whose answer was lost is sent again.
HTTP is stdlib ``http.client`` in a worker thread (one request at a time, with a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import sqlite3
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from skywarden.alerts.dispatch import event_payload
from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.counters import Counters

log = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox ("
    "seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, body BLOB NOT NULL)"
)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    outbox_path: str = ":memory:"  # a file path makes the outbox survive a restart
    timeout_s: float = 5.0
    base_backoff_s: float = 0.5
    max_backoff_s: float = 60.0
    max_pending: int = 10_000
    headers: tuple[tuple[str, str], ...] = ()


class Outbox:
    """The durable FIFO of undelivered bodies (thread-safe: used from a worker thread)."""

    def __init__(self, path: str | Path, max_pending: int) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self.max_pending = max_pending

    def put(self, key: str, body: bytes) -> int:
        """Append; returns how many old rows were dropped to stay within ``max_pending``."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO outbox(key, body) VALUES (?, ?)", (key, body))
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            drop = max(0, int(n) - self.max_pending)
            if drop:
                self._db.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                    (drop,),
                )
            self._db.execute("COMMIT")
            return drop

    def oldest(self) -> tuple[int, str, bytes] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT seq, key, body FROM outbox ORDER BY seq LIMIT 1"
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def delete(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Retry(Exception):
    """A transient failure: keep the row, back off, try again."""


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    """One blocking POST; returns the status code (raises OSError on connection failure)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"web hook url must be http(s)://host/..., got {url!r}")
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = cls(u.hostname, u.port, timeout=timeout_s)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return int(resp.status)
    finally:
        conn.close()


class WebhookSink:
    """An :class:`~skywarden.alerts.dispatch.AlertSink` posting to one URL."""

    def __init__(
        self, config: WebhookConfig, name: str = "webhook", counters: Counters | None = None
    ) -> None:
        self.cfg = config
        self.name = name
        self.counters = counters or Counters()
        self.outbox = Outbox(config.outbox_path, config.max_pending)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self.outbox)

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._deliver(), name=f"webhook-{self.name}")
            self._wake.set()  # rows left by an earlier run go first

    async def send(self, event: AlertEvent) -> None:
        body = event_payload(event)
        raw = json.dumps(body, separators=(",", ":")).encode()
        dropped = await asyncio.to_thread(self.outbox.put, str(body["event_id"]), raw)
        if dropped:
            self.counters.inc("dropped.outbox_full", dropped)
        self.counters.inc("queued")
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.outbox.close()

    async def _post_one(self, key: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        headers.update(dict(self.cfg.headers))
        try:
            status = await asyncio.to_thread(_post, self.cfg.url, body, headers, self.cfg.timeout_s)
        except OSError as exc:  # refused, reset, unreachable, timeout
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= status < 300:
            return
        if status in (408, 429) or status >= 500:
            raise _Retry(f"HTTP {status}")
        self.counters.inc(f"rejected.http_{status}")
        log.error("web hook %s refused event %s with HTTP %d: dropped", self.name, key, status)

    async def _deliver(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            row = await asyncio.to_thread(self.outbox.oldest)
            if row is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            seq, key, body = row
            try:
                await self._post_one(key, body)
            except _Retry as exc:
                attempt += 1
                self.counters.inc("retries")
                delay = min(
                    self.cfg.max_backoff_s, self.cfg.base_backoff_s * 2.0 ** min(attempt - 1, 30)
                )
                log.info("web hook %s: %s; retry %d in %.1f s", self.name, exc, attempt, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                continue
            attempt = 0
            await asyncio.to_thread(self.outbox.delete, seq)
            self.counters.inc("delivered")

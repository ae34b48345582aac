"""Fan alert events out to sinks, each behind its own bounded queue.

Why a dispatcher: the live loop produces alert events once a second and must never wait on
a mail server or a web hook. ``AlertDispatcher.offer(events)`` only puts the events into one
bounded ``asyncio.Queue`` per sink and returns at once; one worker task per sink drains its
queue and awaits ``sink.send(event)``. A slow or dead sink therefore fills only its own
queue: when that is full the *oldest* queued event for that sink is dropped and counted
(``dropped.<sink>``), the other sinks go on untouched. Sinks that must not lose anything
(the web hook) keep their own durable outbox, so their ``send`` is a quick local append.

Lifecycle: ``await start()`` starts the sinks and the workers; ``await stop()`` lets each
worker finish what is queued (up to ``drain_s``), then stops the sinks. ``offer`` must be
called from the event loop's thread (the live loop is a coroutine on it).

Payload: :func:`event_payload` is the one JSON shape every sink sends, with an idempotency
key per alert event (a hash of the event itself, stable across restarts and retries) so a
receiver can drop the duplicates that at-least-once delivery produces.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from skywarden.alerts.lifecycle import AlertEvent
from skywarden.core.counters import Counters

log = logging.getLogger(__name__)


class AlertSink(Protocol):
    """Something alert events go to. ``send`` may take time; it raises on failure."""

    name: str

    async def start(self) -> None: ...

    async def send(self, event: AlertEvent) -> None: ...

    async def stop(self) -> None: ...


def event_payload(ev: AlertEvent) -> dict[str, Any]:
    """The JSON object sinks send for one alert event (idempotency key included)."""
    a = ev.alert
    body: dict[str, Any] = {
        "kind": ev.kind,
        "t": ev.t,
        "by": ev.by,
        "alert": {
            "id": a.id,
            "track_id": a.track_id,
            "zone_id": a.zone_id,
            "level": a.level.value,
            "state": a.state.value,
            "raised_t": a.raised_t,
            "updated_t": a.updated_t,
            "time_to_enter_s": a.time_to_enter_s,
            "object_class": a.object_class,
            "reasons": list(a.reasons),
            "acknowledged_by": a.acknowledged_by,
            "acknowledged_t": a.acknowledged_t,
            "resolved_t": a.resolved_t,
        },
    }
    canon = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    body["event_id"] = hashlib.sha256(canon).hexdigest()[:32]
    return body


@dataclass(frozen=True)
class DispatcherConfig:
    queue_size: int = 1000  # per sink
    drain_s: float = 5.0  # how long stop() waits for queued events


class AlertDispatcher:
    def __init__(
        self,
        sinks: Iterable[AlertSink],
        config: DispatcherConfig | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.cfg = config or DispatcherConfig()
        self.sinks = list(sinks)
        names = [s.name for s in self.sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique, got {names}")
        self.counters = counters or Counters()
        self._queues: dict[str, asyncio.Queue[AlertEvent]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def pending(self, sink_name: str) -> int:
        q = self._queues.get(sink_name)
        return 0 if q is None else q.qsize()

    async def start(self) -> None:
        if self._running:
            return
        for s in self.sinks:
            await s.start()
            q: asyncio.Queue[AlertEvent] = asyncio.Queue(self.cfg.queue_size)
            self._queues[s.name] = q
            self._tasks[s.name] = asyncio.create_task(self._worker(s, q), name=f"sink-{s.name}")
        self._running = True

    def offer(self, events: Iterable[AlertEvent]) -> None:
        """Queue ``events`` for every sink; never blocks, never raises on a full queue."""
        evs = list(events)
        if not evs:
            return
        if not self._running:
            self.counters.inc("dropped.not_started", len(evs))
            return
        for name, q in self._queues.items():
            for ev in evs:
                if q.full():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        q.get_nowait()
                        q.task_done()
                    self.counters.inc(f"dropped.{name}")
                q.put_nowait(ev)
            self.counters.inc(f"offered.{name}", len(evs))

    async def _worker(self, sink: AlertSink, q: asyncio.Queue[AlertEvent]) -> None:
        while True:
            ev = await q.get()
            try:
                await sink.send(ev)
                self.counters.inc(f"sent.{sink.name}")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sink failure must never kill the worker
                self.counters.inc(f"failed.{sink.name}")
                log.warning("sink %s failed on %s %s: %s", sink.name, ev.kind, ev.alert.id, exc)
            finally:
                q.task_done()

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        for name, task in self._tasks.items():
            q = self._queues[name]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(q.join(), self.cfg.drain_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._queues.clear()
        for s in self.sinks:
            try:
                await s.stop()
            except Exception as exc:
                log.warning("sink %s did not stop cleanly: %s", s.name, exc)

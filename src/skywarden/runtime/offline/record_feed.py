"""Record a feed into a journal without real time: what the live runtime would have written.

:func:`record_feed` plays a :class:`~skywarden.runtime.live.feeds.Feed` from ``t0`` for
``duration_s`` of site time through the same pieces the live loop uses — each due line as
the ``Inbound`` the feed adapter submits (journaled as the ``RawMessage`` the ingest port
writes), a ``TickRecord`` every ``tick_s``, the :class:`Engine`'s outputs after each
input — with no event loop and no waiting. Operator actions can be scripted
(``actions(frame_t, active_alerts) -> [OperatorAction]``), as a duty officer would press
acknowledge. Reports, exports and demos use it to get a realistic journal in seconds;
``skywarden replay`` over the result reproduces it like a live record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from skywarden.alerts.lifecycle import Alert
from skywarden.core.errors import StateError
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.restore import START_KEY, code_digest
from skywarden.runtime.live.feeds import Feed, LineClock, line_inbound
from skywarden.runtime.live.ingest import raw_record
from skywarden.service.source import UnknownAlertError
from skywarden.store.journal import Journal
from skywarden.store.records import ConfigChange, OperatorAction, Record, TickRecord

ActionScript = Callable[[float, Sequence[Alert]], Sequence[OperatorAction]]


@dataclass(frozen=True)
class OfflineRecord:
    messages: int
    ticks: int
    outputs: int
    actions: int
    t0: float
    t1: float


def record_feed(
    feed: Feed,
    journal: Journal,
    t0: float,
    duration_s: float,
    tick_s: float = 0.5,
    actions: ActionScript | None = None,
) -> OfflineRecord:
    """Play ``duration_s`` of ``feed`` from site time ``t0`` into ``journal`` (see module doc)."""
    machine = Engine(feed.site)
    start = ConfigChange(
        t0,
        "runtime",
        START_KEY,
        None,
        {
            "mode": feed.mode,
            "site": feed.site.name,
            "site_ref": dict(feed.site_ref),
            "restore_from_t": None,
            "restore_last_seq": 0,
            "code_digest": code_digest(),
        },
        note=f"offline record of {feed.description}",
    )
    machine.set_run(journal.append(start))
    lines = LineClock(feed, t0)
    sensors = feed.site.sensor_map
    n_msgs = n_ticks = n_out = n_act = 0
    t = t0
    while t < t0 + duration_s:
        t += tick_s
        batch: list[Record] = []
        for line in lines.take_until(t):
            m = line_inbound(line, sensors, feed.source)
            machine.inbound(m)
            batch.append(raw_record(m))
        tick = TickRecord(t)
        machine.tick(t)
        batch.append(tick)
        n_msgs += len(batch) - 1
        n_ticks += 1
        if actions is not None:
            for a in actions(t, machine.pipeline.alerts.active):
                with contextlib.suppress(UnknownAlertError, StateError):
                    machine.act(a)  # a refused press is journaled all the same
                batch.append(a)
                n_act += 1
        outputs = machine.drain()
        machine.drain_events()  # nobody follows an offline record: its records say it all
        n_out += len(outputs)
        journal.append_many(batch + outputs)
    return OfflineRecord(n_msgs, n_ticks, n_out, n_act, t0, t)

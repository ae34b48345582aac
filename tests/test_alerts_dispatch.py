"""The dispatcher: every sink gets every event; a stalled sink never delays the others and
drops (counted) only its own oldest events when its queue is full."""

from __future__ import annotations

import asyncio

from skywarden.alerts.dispatch import AlertDispatcher, DispatcherConfig, event_payload
from skywarden.alerts.lifecycle import Alert, AlertEvent, AlertLevel, AlertState


def event(i: int) -> AlertEvent:
    a = Alert(f"A{i}", str(i), "z", AlertLevel.WARNING, AlertState.RAISED, i, i)
    return AlertEvent("raised", float(i), a)


class Collect:
    def __init__(self, name: str, gate: asyncio.Event | None = None, fail: bool = False):
        self.name = name
        self.gate = gate
        self.fail = fail
        self.got: list[str] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, e: AlertEvent) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("receiver gone")
        self.got.append(e.alert.id)


def test_slow_sink_does_not_stall_the_others() -> None:
    async def run() -> None:
        gate = asyncio.Event()
        fast, slow, broken = Collect("fast"), Collect("slow", gate), Collect("broken", fail=True)
        d = AlertDispatcher([fast, slow, broken], DispatcherConfig(queue_size=3, drain_s=1.0))
        await d.start()
        assert fast.started and slow.started
        for i in range(1, 9):
            d.offer([event(i)])  # returns at once even though "slow" never finishes a send
            await asyncio.sleep(0)
        for _ in range(100):
            if len(fast.got) == 8:
                break
            await asyncio.sleep(0.01)
        assert fast.got == [f"A{i}" for i in range(1, 9)]
        assert slow.got == [] and d.counters.get("dropped.slow") > 0
        assert d.counters.get("failed.broken") == 8 and d.counters.get("dropped.fast") == 0
        gate.set()
        await d.stop()
        # slow kept its first (in flight) event and the newest that fitted its queue
        assert slow.got[0] == "A1" and slow.got[-1] == "A8" and len(slow.got) <= 4
        assert d.counters.get("dropped.slow") == 8 - len(slow.got)
        assert fast.stopped and slow.stopped and not d.running

    asyncio.run(run())


def test_offer_before_start_is_counted_not_raised() -> None:
    d = AlertDispatcher([Collect("x")])
    d.offer([event(1), event(2)])
    assert d.counters.get("dropped.not_started") == 2


def test_payload_key_is_stable_and_distinguishes_events() -> None:
    a, b = event_payload(event(1)), event_payload(event(1))
    assert a["event_id"] == b["event_id"]
    assert event_payload(event(2))["event_id"] != a["event_id"]

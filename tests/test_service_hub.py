"""The WebSocket hub's back-pressure policy: a stalled client never delays the others."""

from __future__ import annotations

import asyncio
import json

from skywarden.service.hub import ClientChannel, Outgoing, PictureHub
from skywarden.service.schemas import PictureOut


def _msg(seq: int) -> Outgoing:
    return Outgoing(PictureOut(seq=seq, t=float(seq), wall_t=0.0, tracks=[], alerts=[]))


async def _stalled_and_fast_client() -> None:
    hub = PictureHub(queue_size=4, send_timeout_s=0.2)
    fast, slow = hub.connect(), hub.connect()
    got_fast: list[dict[str, object]] = []
    got_slow: list[dict[str, object]] = []
    release = asyncio.Event()

    async def send_fast(text: str) -> None:
        got_fast.append(json.loads(text))

    async def send_slow(text: str) -> None:
        await release.wait()  # a client that stopped reading: its socket send never completes
        got_slow.append(json.loads(text))

    fast_task = asyncio.create_task(fast.run_sender(send_fast, 10.0))
    slow_task = asyncio.create_task(slow.run_sender(send_slow, 10.0))
    try:
        await _publish_and_check(hub, slow, got_fast, got_slow, release)
    finally:
        release.set()
        fast_task.cancel()
        slow_task.cancel()
        await asyncio.gather(fast_task, slow_task, return_exceptions=True)


async def _publish_and_check(
    hub: PictureHub,
    slow: ClientChannel,
    got_fast: list[dict[str, object]],
    got_slow: list[dict[str, object]],
    release: asyncio.Event,
) -> None:
    for seq in range(1, 21):
        hub.publish(_msg(seq))  # never awaits a client
        for _ in range(3):
            await asyncio.sleep(0)
    # the fast client saw every picture, in order, while the slow one was stuck
    assert [m["seq"] for m in got_fast] == list(range(1, 21))
    assert got_slow == []
    assert slow.dropped > 0 and hub.counters.get("ws.resyncs") > 0
    assert slow.queue.qsize() <= 4
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    # once it reads again it gets the newest picture marked resync (older ones were dropped)
    assert got_slow[-1]["seq"] == 20
    assert any(m["resync"] for m in got_slow)


def test_stalled_client_is_resynced_and_never_stalls_the_others() -> None:
    asyncio.run(_stalled_and_fast_client())


async def _send_timeout_closes() -> None:
    hub = PictureHub(queue_size=2, send_timeout_s=0.05)
    ch = hub.connect()

    async def never(text: str) -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(ch.run_sender(never, hub.send_timeout_s))
    hub.publish(_msg(1))
    await asyncio.wait_for(task, 2.0)  # the sender gives up on its own
    assert hub.counters.get("ws.stalled") == 1


def test_a_send_that_blocks_past_the_timeout_ends_the_client() -> None:
    asyncio.run(_send_timeout_closes())


def test_new_client_starts_with_the_latest_picture_as_resync() -> None:
    async def go() -> None:
        hub = PictureHub()
        hub.publish(_msg(7))
        ch = hub.connect()
        msg, resync = ch.queue.get_nowait()
        assert msg.seq == 7 and resync
        assert json.loads(msg.resync_text)["resync"] is True
        hub.disconnect(ch)
        assert hub.stats()["ws.clients"] == 0

    asyncio.run(go())

"""The WebSocket hub: a stalled client never delays the others; deltas rebuild the picture."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from service_helpers import PictureMaker, make_site, standard_tracks, track
from skywarden.service import convert
from skywarden.service.hub import ClientChannel, PictureHub
from skywarden.service.schemas import PictureOut


def _msg(seq: int) -> PictureOut:
    return PictureOut(seq=seq, t=float(seq), wall_t=0.0, tracks=[], alerts=[])


def apply(picture: dict[str, Any] | None, msg: dict[str, Any]) -> dict[str, Any]:
    """What the console's feed.js does with one message (kept in step with it)."""
    if msg["type"] == "picture":
        return msg
    assert picture is not None and msg["type"] == "delta"
    assert msg["base_seq"] == picture["seq"], "a delta must build on the picture before it"
    tracks = {tr["id"]: tr for tr in picture["tracks"]}
    for tr in msg["upsert"]:
        tracks[tr["id"]] = tr
    for tid in msg["remove"]:
        del tracks[tid]
    return {**picture, **{k: msg[k] for k in ("seq", "t", "wall_t", "alerts")},
            "tracks": list(tracks.values()), "resync": False}  # fmt: skip


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    key = lambda p: sorted(p["tracks"], key=lambda tr: tr["id"])  # noqa: E731
    return key(a) == key(b) and a["alerts"] == b["alerts"] and a["seq"] == b["seq"]


def _pictures() -> list[PictureOut]:
    """Five updates of a small site: tracks move, one appears, one goes away, one stays put."""
    site = make_site()
    pm = PictureMaker(site)
    out = []
    for k in range(5):
        t = 100.0 + k
        trs = standard_tracks(t)
        trs[1] = track("T2", -800.0, 800.0, -5.0, 5.0, 100.0)  # not updated: identical
        if k >= 2:
            trs.append(track("T9", 100.0 * k, 50.0, 1.0, 0.0, t))  # appears
        if k >= 3:
            trs = [tr for tr in trs if tr.id != "T3"]  # goes away
        out.append(convert.picture_out(pm.make(trs, t), site.origin))
    return out


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


def test_deltas_rebuild_every_picture_and_carry_only_what_changed() -> None:
    async def go() -> None:
        hub = PictureHub(queue_size=16)
        ch = hub.connect()
        pics = _pictures()
        for p in pics:
            hub.publish(p)
        got = []
        while not ch.queue.empty():
            msg, resync = ch.queue.get_nowait()
            got.append(json.loads(msg.resync_text if resync else msg.text))
        assert got[0]["type"] == "picture" and [m["type"] for m in got[1:]] == ["delta"] * 4
        picture = None
        for m, p in zip(got, pics, strict=True):
            picture = apply(picture, m)
            assert _same(picture, json.loads(p.model_dump_json()))
        upserts = [{tr["id"] for tr in m["upsert"]} for m in got[1:]]
        assert all("T2" not in u for u in upserts)  # unchanged: not sent again
        assert "T9" in upserts[1] and got[3]["remove"] == ["T3"]

    asyncio.run(go())


def test_a_client_that_fell_behind_gets_a_picture_then_deltas_that_build_on_it() -> None:
    async def go() -> None:
        hub = PictureHub(queue_size=2)
        ch = hub.connect()
        pics = _pictures()
        for p in pics[:4]:
            hub.publish(p)  # the client reads nothing: its queue overflows
        assert ch.dropped > 0
        picture = None
        first = True
        while not ch.queue.empty():
            msg, resync = ch.queue.get_nowait()
            assert resync == first  # a whole picture first, deltas after it
            picture = apply(picture, json.loads(msg.resync_text if resync else msg.text))
            first = False
        assert picture is not None and _same(picture, json.loads(pics[3].model_dump_json()))
        hub.publish(pics[4])
        msg, resync = ch.queue.get_nowait()
        assert not resync
        picture = apply(picture, json.loads(msg.text))
        assert _same(picture, json.loads(pics[4].model_dump_json()))

    asyncio.run(go())

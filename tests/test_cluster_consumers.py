"""Hedged ordered-consumer creation (``consumers.subscribe_ordered``) after a node kill.

nats-server 2.9.10 goes on placing about one new R1 consumer of an R3 stream in three or
four on a SIGKILLed peer, and that creation is never answered: ``js.subscribe(...,
ordered_consumer=True)`` (what central and a taking-over worker called) then times out.
The hedged creation sends another request while none has answered and binds the first
that does; every consumer it binds must be on a live peer and deliver the whole stream."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import BadRequestError

from nats_helpers import cluster3, eventually, kill_a_follower, require_nats_server
from skywarden.runtime.cluster.consumers import create_hedged, ordered_config, subscribe_ordered

CREATIONS = 12  # one request each (the old call) all answered: ~(0.7)^12 ~ 1.4 %
BACKLOG = 40


def test_every_consumer_created_after_a_node_kill_is_on_a_live_peer_and_complete(
    tmp_path: Path,
) -> None:
    require_nats_server()
    servers = cluster3(tmp_path)

    async def main() -> None:
        nc = await nats.connect(servers=[s.url for s in servers])
        js = nc.jetstream(timeout=10.0)
        cfg = StreamConfig(name="HC", subjects=["hc.>"], num_replicas=3)
        await eventually(lambda: js.add_stream(cfg), lambda _: True, 30, "R3 stream")
        for i in range(BACKLOG):
            await eventually(
                lambda i=i: js.publish("hc.a", str(i).encode(), headers={"Nats-Msg-Id": str(i)}),
                lambda _: True,
                30,
                f"message {i}",
            )
        nc, js, victim = await kill_a_follower(nc, servers, "HC", 10.0)

        async def read_all() -> tuple[str | None, list[bytes]]:
            got: list[bytes] = []
            full = asyncio.Event()

            async def cb(msg: Any) -> None:
                got.append(msg.data)
                if len(got) >= BACKLOG:
                    full.set()

            start = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=1)
            sub = await subscribe_ordered(js, "hc.a", "HC", cb, start, 10_000, 1.0)
            try:
                host = (await js.consumer_info("HC", sub._consumer)).cluster.leader
                await asyncio.wait_for(full.wait(), 30.0)  # a functional deadline
            finally:
                await sub.unsubscribe()
            return host, got

        # the kill may have taken the meta leader: wait until the cluster answers at all
        await eventually(read_all, lambda _: True, 60, "a consumer after the kill")
        want = [str(i).encode() for i in range(BACKLOG)]
        for n in range(CREATIONS):
            host, got = await read_all()  # the call itself must not fail
            assert host is not None and host != victim.name, (n, host)
            assert got == want, n
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        for s in servers:
            s.stop()


class FakeJsm:
    """``add_consumer`` whose first request is answered only when ``release`` is set."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.configs: list[ConsumerConfig] = []
        self.release = asyncio.Event()
        self.deleted: list[str] = []
        self.fail_with = fail_with

    async def add_consumer(self, stream: str, config: ConsumerConfig, timeout: float) -> Any:
        self.configs.append(config)
        n = len(self.configs)
        if self.fail_with is not None:
            raise self.fail_with
        if n == 1:
            await self.release.wait()
        return SimpleNamespace(name=f"c{n}", config=config)

    async def delete_consumer(self, stream: str, name: str) -> bool:
        self.deleted.append(name)
        return True


def test_a_creation_never_answered_is_hedged_and_a_late_answer_deleted() -> None:
    async def main() -> None:
        jsm = FakeJsm()
        js: Any = SimpleNamespace(_jsm=jsm, delete_consumer=jsm.delete_consumer)
        inboxes = iter(f"_INBOX.{i}" for i in range(100))
        cfg = ordered_config(ConsumerConfig(), "s.x", 1.0)
        made = await create_hedged(js, "S", cfg, lambda: next(inboxes), hedge_s=0.01)
        assert made.attempts == 2 and made.info.name == "c2"
        assert made.config.deliver_subject == "_INBOX.1"  # bound to the winner's own inbox
        assert [c.deliver_subject for c in jsm.configs] == ["_INBOX.0", "_INBOX.1"]
        assert all(dataclasses.replace(c, deliver_subject=None) == cfg for c in jsm.configs)
        jsm.release.set()  # the loser answers after all: it is deleted, not left pushing
        await eventually(lambda: asyncio.sleep(0, jsm.deleted), lambda d: d == ["c1"], 10, "del")

    asyncio.run(main())


def test_a_bad_request_is_not_retried() -> None:
    async def main() -> None:
        jsm = FakeJsm(BadRequestError(code=400, description="bad"))
        js: Any = SimpleNamespace(_jsm=jsm, delete_consumer=jsm.delete_consumer)
        with pytest.raises(BadRequestError):
            await create_hedged(js, "S", ConsumerConfig(), lambda: "_INBOX.x", hedge_s=0.01)
        assert len(jsm.configs) == 1

    asyncio.run(main())

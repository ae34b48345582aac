"""The cluster tests' read-back helper (``nats_helpers.read_stream``) after a node is killed.

nats-server 2.9 keeps placing about one new R1 consumer in four on a SIGKILLed peer of an
R3 stream (it is not marked offline for minutes) and that consumer's creation times out;
the helper read through an ordered consumer, and timeouts for 30 s in a row are the likely
cause of ``test_cluster_nats3``'s one failure. It now reads with the stream's
get-next-message request (answered by the stream's leader) and never returns part of what
is stored."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats
import pytest
from nats.js.api import StreamConfig

from nats_helpers import (
    ReadBackError,
    cluster3,
    eventually,
    kill_a_follower,
    read_stream,
    require_nats_server,
)

READS = 20  # with the old helper each read failed with p ~ 1/4: all 20 passing ~ 3e-3


def test_every_read_back_after_a_node_kill_is_complete(tmp_path: Path) -> None:
    require_nats_server()
    servers = cluster3(tmp_path)

    async def main() -> None:
        nc = await nats.connect(servers=[s.url for s in servers])
        js = nc.jetstream(timeout=5.0)
        cfg = StreamConfig(name="RB", subjects=["rb.>"], num_replicas=3)
        await eventually(lambda: js.add_stream(cfg), lambda _: True, 30, "R3 stream")

        async def put(i: int) -> object:  # the message id makes a retried publish store once
            subject = f"rb.{'ab'[i % 2]}.{'xy'[i % 3 == 0]}"
            return await js.publish(subject, str(i).encode(), headers={"Nats-Msg-Id": str(i)})

        for i in range(300):
            await eventually(functools.partial(put, i), bool, 30, f"message {i} stored")
        want = [(i + 1, f"rb.{'ab'[i % 2]}.x", str(i).encode()) for i in range(300) if i % 3 != 0]
        nc, js, _ = await kill_a_follower(nc, servers, "RB", 5.0)
        for n in range(READS):
            assert await read_stream(js, "RB", "rb.*.x") == want, n
        assert await read_stream(js, "RB", "rb.none.*") == []
        await nc.close()

    try:
        asyncio.run(main())
    finally:
        for s in servers:
            s.stop()


class _FailingJs:
    """Three messages stored on the subject; the get of the second one times out."""

    async def stream_info(self, stream: str, subjects_filter: str | None = None) -> Any:
        state = SimpleNamespace(first_seq=1, last_seq=3, messages=3, subjects={"s.a": 3})
        return SimpleNamespace(state=state, cluster=None)

    async def get_msg(self, stream: str, seq: int, subject: str, next: bool) -> Any:
        if seq >= 2:
            raise TimeoutError
        return SimpleNamespace(seq=seq, subject="s.a", data=b"x")


def test_a_read_that_stops_part_way_raises_with_the_cluster_state() -> None:
    with pytest.raises(ReadBackError, match=r"at seq 2: TimeoutError\(\).*not clustered"):
        asyncio.run(read_stream(_FailingJs(), "S", "s.*"))


class _GrowingJs:
    """Counted three on the subject but last_seq 2: the server counts the subjects just after
    the state, and a tick was stored in between."""

    async def stream_info(self, stream: str, subjects_filter: str | None = None) -> Any:
        state = SimpleNamespace(first_seq=1, last_seq=2, messages=2, subjects={"s.a": 3})
        return SimpleNamespace(state=state, cluster=None)

    async def get_msg(self, stream: str, seq: int, subject: str, next: bool) -> Any:
        return SimpleNamespace(seq=seq, subject="s.a", data=b"x")


def test_a_message_counted_after_the_state_is_read_too() -> None:
    got = asyncio.run(read_stream(_GrowingJs(), "S", "s.*"))
    assert [q for q, _, _ in got] == [1, 2, 3]

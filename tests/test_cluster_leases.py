"""Leases against a real nats-server: a refused renewal is checked against the stored key
before the site is given up, and the topology start-up retries while JetStream is not up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import pytest

from nats_helpers import NatsServer, free_port, require_nats_server, single_server
from skywarden.runtime.cluster.leases import renew_or_reread
from skywarden.runtime.cluster.topology import (
    LEASES_BUCKET,
    TopologyConfig,
    ensure_topology_retrying,
)


def _v(worker: str) -> bytes:
    return json.dumps({"worker": worker}).encode()


def test_refused_renewal_rereads_before_giving_up(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        try:
            js = nc.jetstream(timeout=5.0)
            await ensure_topology_retrying(js, TopologyConfig(lease_ttl_s=30.0), give_up_s=5)
            kv = await js.key_value(LEASES_BUCKET)
            rev = await kv.create("s1", _v("w1"))
            # an update stored although its acknowledgement never reached us (a leader
            # election): our revision is now stale, but the lease is still ours
            stored = await kv.update("s1", _v("w1"), last=rev)
            new = await renew_or_reread(kv, "s1", _v("w1"), rev)
            assert new is not None and new > stored
            assert (await kv.get("s1")).revision == new
            # another worker holds it: lost, and the key is left as it is
            await kv.put("s1", _v("w2"))
            assert await renew_or_reread(kv, "s1", _v("w1"), new) is None
            assert json.loads((await kv.get("s1")).value or b"")["worker"] == "w2"
            # the key vanished (expired while the bucket had no leader): taken again
            await kv.create("s2", _v("w1"))
            await kv.purge("s2")
            again = await renew_or_reread(kv, "s2", _v("w1"), 1)
            assert again is not None
            assert json.loads((await kv.get("s2")).value or b"")["worker"] == "w1"
        finally:
            await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()


def test_topology_start_up_retries_until_jetstream_is_up(tmp_path: Path) -> None:
    """The first attempts meet a server without JetStream; the server is restarted with it
    during the backoff, and the same call then succeeds on the reconnected client."""
    require_nats_server()
    port = free_port()
    d = tmp_path / "n"
    d.mkdir()
    plain = NatsServer("plain", d, f'listen: "127.0.0.1:{port}"\n', port).start()
    with_js = NatsServer(
        "js", d, f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{d}/js" }}\n', port
    )
    sleeps: list[float] = []

    async def main() -> None:
        nc = await nats.connect(
            f"nats://127.0.0.1:{port}", max_reconnect_attempts=-1, reconnect_time_wait=0.1
        )

        async def sleep(s: float) -> None:
            sleeps.append(s)
            if len(sleeps) == 2:
                plain.stop()
                await asyncio.to_thread(with_js.start)
            await asyncio.sleep(s)

        try:
            js = nc.jetstream(timeout=1.0)
            await ensure_topology_retrying(js, TopologyConfig(), give_up_s=30, sleep=sleep)
            assert (await js.stream_info("SKYWARDEN_RAW")).config.name == "SKYWARDEN_RAW"
        finally:
            await nc.close()

    try:
        asyncio.run(main())
    finally:
        plain.stop()
        with_js.stop()
    assert len(sleeps) >= 2
    assert sleeps[:3] == pytest.approx([0.25, 0.5, 1.0][: len(sleeps[:3])])


def test_topology_gives_up_after_its_deadline(tmp_path: Path) -> None:
    require_nats_server()
    port = free_port()
    d = tmp_path / "n"
    d.mkdir()
    plain = NatsServer("plain", d, f'listen: "127.0.0.1:{port}"\n', port).start()

    async def main() -> None:
        nc = await nats.connect(f"nats://127.0.0.1:{port}")

        async def sleep(s: float) -> None:
            await asyncio.sleep(0)

        try:
            with pytest.raises(Exception):  # noqa: B017 - whichever JetStream error it was
                await ensure_topology_retrying(
                    nc.jetstream(timeout=0.5), TopologyConfig(), give_up_s=1.0, sleep=sleep
                )
        finally:
            await nc.close()

    try:
        asyncio.run(main())
    finally:
        plain.stop()

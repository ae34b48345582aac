"""Who a worker counts dead, against a real nats-server (issue 24, take-over speed).

A survivor counts a worker dead once its heartbeat is a lease TTL old, and wakes just after
that worker's leases are due to expire; but only while its own heartbeat comes back through
the ``sw_workers`` watcher. While that view is stale (the bucket electing a leader after a
node kill) every other worker would look dead, and claiming then would race the owners'
keepers re-creating their leases, so nobody is counted dead.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import nats

from nats_helpers import eventually, require_nats_server, single_server
from skywarden.core.clock import WallClock
from skywarden.runtime.cluster.worker import Worker, WorkerConfig

TTL = 2.0


def test_a_silent_worker_is_dead_only_on_a_fresh_view(tmp_path: Path) -> None:
    require_nats_server()
    srv = single_server(tmp_path)

    async def main() -> None:
        nc = await nats.connect(srv.url)
        w = Worker(nc, WorkerConfig("w1", lease_ttl_s=TTL), wall=WallClock().now)
        await w._setup()
        try:
            loop = asyncio.get_running_loop()
            await w.kv_workers.put("w9", b"{}")
            await w.kv_leases.put("s1", json.dumps({"worker": "w9"}).encode())
            await eventually(
                lambda: asyncio.sleep(0, w.v_workers.written_at()),
                lambda seen: "w9" in seen,
                10,
                "w9's heartbeat in the view",
            )
            await asyncio.sleep(2 * TTL)  # w9 falls silent; w1 has written no heartbeat yet
            now = loop.time()
            assert not w._view_fresh(now)
            assert w._alive(now) == {"w1", "w9"}  # a stale view declares nobody dead
            assert w._suspect_expiries(now) == math.inf

            async def beat() -> float:
                """w1's own heartbeat, as its keeper writes it, back through the watcher."""
                await w.kv_workers.put("w1", b"{}")
                await eventually(
                    lambda: asyncio.sleep(0, w._view_fresh(loop.time())),
                    bool,
                    10,
                    "w1's own heartbeat back through the watcher",
                )
                return loop.time()

            now = await beat()
            assert w._alive(now) == {"w1"}
            # a lease of the silent worker written now: the loop is to wake when it expires
            await w.kv_leases.put("s1", json.dumps({"worker": "w9"}).encode())
            await eventually(
                lambda: asyncio.sleep(0, w.v_leases.written_at().get("s1", 0.0)),
                lambda at: at > now,
                10,
                "the new lease in the view",
            )
            now = await beat()
            due = w._suspect_expiries(now)
            assert due == w.v_leases.written_at()["s1"] + TTL
            assert 0 < w._wait_s(now) <= w.cfg.tick_s
            # the silent worker's heartbeat returns: alive, and no longer suspect
            await w.kv_workers.put("w9", b"{}")
            await eventually(
                lambda: asyncio.sleep(0, w.v_workers.written_at().get("w9", 0.0)),
                lambda at: at > now,
                10,
                "w9's heartbeat again",
            )
            now = await beat()
            assert w._alive(now) == {"w1", "w9"}
            assert w._suspect_expiries(now) == math.inf
        finally:
            for v in (w.v_sites, w.v_leases, w.v_workers):
                await v.stop()
            await nc.close()

    try:
        asyncio.run(main())
    finally:
        srv.stop()

"""Entry points behind ``skywarden worker``, ``skywarden central`` and ``skywarden edge``.

Each runs an asyncio loop until SIGINT/SIGTERM, then shuts down gracefully (a worker hands
its sites back with a final frame and snapshot; SIGKILL is the ungraceful case the lease
expiry covers).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from skywarden.runtime.cluster.topology import TopologyConfig
from skywarden.runtime.cluster.worker import WorkerConfig, run_worker


def _serve(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
    return 0


def urls_of(text: str) -> list[str]:
    return [u.strip() for u in text.split(",") if u.strip()]


def worker(
    nats_urls: str,
    worker_id: str,
    lease_ttl_s: float = 5.0,
    flush_s: float = 0.2,
    snapshot_s: float = 5.0,
    replicas: int = 1,
) -> int:
    cfg = WorkerConfig(
        worker_id=worker_id,
        lease_ttl_s=lease_ttl_s,
        flush_s=flush_s,
        snapshot_s=snapshot_s,
        topology=TopologyConfig(replicas=replicas, lease_ttl_s=lease_ttl_s),
    )
    return _serve(lambda stop: run_worker(urls_of(nats_urls), cfg, stop))

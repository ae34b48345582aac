"""Entry points behind ``skywarden worker``, ``skywarden central`` and ``skywarden edge``.

Each runs an asyncio loop until SIGINT/SIGTERM, then shuts down gracefully (a worker hands
its sites back with a final frame and snapshot; SIGKILL is the ungraceful case the lease
expiry covers).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from skywarden.runtime.cluster.connect import NatsAccess, connect
from skywarden.runtime.cluster.topology import TopologyConfig
from skywarden.runtime.cluster.worker import WorkerConfig, run_worker

if TYPE_CHECKING:
    from skywarden.service.sessions import SensorTokens
    from skywarden.service.users import UserStore
    from skywarden.store.accounts import AccountTables
    from skywarden.store.journal import Journal


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


def _access(nats: str | NatsAccess) -> NatsAccess:
    return nats if isinstance(nats, NatsAccess) else NatsAccess.of(nats)


def worker(
    nats_urls: str | NatsAccess,
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
    return _serve(lambda stop: run_worker(_access(nats_urls), cfg, stop))


def central(
    nats_urls: str | NatsAccess,
    edges: list[str],
    journal_url: str | None = None,
    every_s: float = 5.0,
    replicas: int = 1,
    http: str | None = None,
) -> int:
    """Aggregate every site into one picture; print a one-line summary every ``every_s``.

    ``edges`` are ``site=domain`` pairs: each gets a mirror of its edge stream.
    """
    import json

    from skywarden.runtime.cluster.central import CentralFeed, CentralPicture
    from skywarden.runtime.cluster.topology import (
        ensure_edge_mirror,
        ensure_topology_retrying,
    )

    pairs = [e.split("=", 1) for e in edges]

    async def main(stop: asyncio.Event) -> None:
        journal = None
        if journal_url:
            from skywarden.store.journal import open_journal

            journal = open_journal(journal_url)
        nc = await connect(_access(nats_urls))
        js = nc.jetstream()
        await ensure_topology_retrying(js, TopologyConfig(replicas=replicas))
        for site, domain in pairs:
            await ensure_edge_mirror(js, site, domain, TopologyConfig(replicas=replicas))
        picture = CentralPicture(journal)
        feed = CentralFeed(js, picture, nc=nc)
        await feed.start(edges=[s for s, _ in pairs])
        server = None
        if http:
            import uvicorn

            from skywarden.runtime.cluster.metrics import exposition
            from skywarden.service.auth import build_security
            from skywarden.service.cluster_api import cluster_app
            from skywarden.service.sessions import SessionStore
            from skywarden.service.settings import ServiceSettings

            host, _, port = http.rpartition(":")
            # the site service's accounts and roles; nothing for anonymous local clients
            settings = ServiceSettings(host=host or "127.0.0.1", local_viewer=False)
            users, tokens, tables = _persistent_accounts(journal)
            sec = build_security(settings, users, tokens)
            if tables is not None:  # bearer tokens too outlive a restart or fail-over
                sessions = SessionStore(settings.session_ttl_s, tables=tables)
                sec = dataclasses.replace(sec, sessions=sessions)
            from skywarden.core.clock import WallClock
            from skywarden.runtime.cluster.operator import CentralOps

            ops = CentralOps(js, WallClock().now, picture)
            app = cluster_app(picture, lambda: exposition(picture), sec, ops=ops)
            cfg = uvicorn.Config(app, host=host or "127.0.0.1", port=int(port))
            server = uvicorn.Server(cfg)
            serving = asyncio.create_task(server.serve())
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)
                v = picture.view()
                summary = {
                    "sites": len(v["sites"]),
                    "tracks": sum(len(s["tracks"]) for s in v["sites"]),
                    "open_alerts": sum(len(s["alerts"]) for s in v["sites"]),
                    "counters": v["counters"],
                }
                print(json.dumps(summary), flush=True)
        finally:
            if server is not None:
                server.should_exit = True
                await serving
            await feed.stop()
            await nc.drain()
            if journal is not None:
                journal.close()

    return _serve(main)


def _persistent_accounts(
    journal: Journal | None,
) -> tuple[UserStore | None, SensorTokens | None, AccountTables | None]:
    """Central's accounts, roles and login sessions in its journal's database
    (``store.accounts``), as ``skywarden run`` keeps its accounts: a central restarted, or
    another central started on the same PostgreSQL journal after a fail-over, accepts the same
    users with the same roles and the bearer tokens issued before, and refuses a removed user
    and a closed session (the first admin is created only while the table is empty). Without
    ``--journal`` central has no durable store: all of it lives in memory."""
    if journal is None:
        logging.warning("central: no --journal: accounts live in memory and end with central")
        return None, None, None
    from skywarden.service.sessions import SensorTokens
    from skywarden.service.users import UserStore
    from skywarden.store.accounts import AccountTables

    tables = AccountTables(journal.database)
    return UserStore(tables=tables), SensorTokens(tables), tables


def edge(
    nats_url: str | NatsAccess, site_id: str, scenario: str, seed: int | None, speed: float
) -> int:
    """Track a simulated site locally and publish to the site's own (leaf-node) NATS."""
    from skywarden.runtime.cluster.edge import run_edge
    from skywarden.runtime.cluster.feed import sim_reports
    from skywarden.sim import load_scenario, simulate

    run = simulate(load_scenario(scenario), seed)

    async def main(stop: asyncio.Event) -> None:
        e = await run_edge(nats_url, site_id, run.site, sim_reports(run), speed, stop)
        logging.info("edge %s: %s", site_id, e.counters.snapshot())

    return _serve(main)


def site(
    nats_urls: str | NatsAccess,
    action: str,
    site_id: str | None,
    header_path: str | None,
    region: str,
    replicas: int = 1,
) -> int:
    """``skywarden site add|update|list|remove``: 0 done, 1 refused by the registry, 2 a
    mistake in the command or the header (said on stderr with the field)."""
    import json
    import sys

    from skywarden.core.errors import ConfigError
    from skywarden.runtime.cluster import registry
    from skywarden.runtime.cluster.topology import ensure_topology_retrying

    try:
        header: dict[str, object] = {}
        if action in ("add", "update"):
            if header_path is None:
                raise ConfigError("--header", "required for add and update")
            header = registry.read_header(header_path)
        if site_id is None and action != "list":
            raise ConfigError("SITE", f"'site {action}' needs a site id")
    except ConfigError as e:
        print(f"skywarden site {action}: {e}", file=sys.stderr)
        return 2

    async def main() -> int:
        nc = await connect(_access(nats_urls), max_reconnect_attempts=3)
        try:
            js = nc.jetstream(timeout=5.0)
            await ensure_topology_retrying(js, TopologyConfig(replicas=replicas), give_up_s=20)
            if action == "list":
                for entry in await registry.listing(js):
                    print(json.dumps(entry.to_dict()))
            elif action == "add":
                await registry.add(js, str(site_id), header, region)
            elif action == "update":
                await registry.update(js, str(site_id), header, region)
            else:
                await registry.remove(js, str(site_id))
        except registry.RegistryError as e:
            print(f"skywarden site {action}: {e}", file=sys.stderr)
            return 1
        except ConfigError as e:
            print(f"skywarden site {action}: {e}", file=sys.stderr)
            return 2
        finally:
            await nc.close()
        return 0

    return asyncio.run(main())


def gateway(
    nats_urls: str | NatsAccess,
    site_path: str,
    site_id: str,
    journal_url: str,
    cursor_path: str,
    gateway_id: str,
    every_s: float = 5.0,
) -> int:
    """``skywarden gateway``: the site file's links, journaled locally, forwarded to the raw
    stream (``gateway.py``). Exit 2 for a site file or id that is wrong."""
    import sys
    from pathlib import Path

    from skywarden.core.clock import WallClock
    from skywarden.core.errors import ConfigError
    from skywarden.core.site import load_site
    from skywarden.runtime.cluster.gateway import run_gateway
    from skywarden.runtime.cluster.topology import check_token
    from skywarden.store.journal import open_journal

    try:
        site = load_site(site_path)
        check_token(site_id)
        check_token(gateway_id, "gateway id")
        if not any(s.link is not None for s in site.sensors):
            raise ConfigError("sensors", f"{site_path}: no sensor has a [link]: nothing to run")
    except ConfigError as e:
        print(f"skywarden gateway: {e}", file=sys.stderr)
        return 2
    if journal_url.startswith("sqlite:///"):
        Path(journal_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    Path(cursor_path).parent.mkdir(parents=True, exist_ok=True)
    journal = open_journal(journal_url)

    async def main(stop: asyncio.Event) -> None:
        await run_gateway(
            _access(nats_urls),
            site,
            site_id,
            journal,
            Path(cursor_path),
            WallClock(),
            stop,
            gateway_id=gateway_id,
            every_s=every_s,
        )

    try:
        return _serve(main)
    finally:
        journal.close()

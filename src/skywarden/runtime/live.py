"""``skywarden run``: the service on uvicorn, fed by the live loop.

With no site file it plays the built-in simulated residence site in real time (``feeds``),
so a new user sees tracks and alerts within seconds of ``make run``. With ``--site FILE`` it
serves that site with no traffic until sensor adapters are wired in, and says so.

Ctrl-C (SIGINT) or SIGTERM: uvicorn stops accepting, closes the WebSockets, the lifespan
stops the live loop, and ``serve`` returns 0 without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import uvicorn

from skywarden.core.clock import WallClock
from skywarden.core.errors import ConfigError
from skywarden.runtime.feeds import Feed, simulated_feed, site_feed
from skywarden.runtime.live_source import LiveSource
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings

log = logging.getLogger("skywarden")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def make_feed(site_path: str | Path | None, seed: int) -> Feed:
    if site_path is None:
        return simulated_feed(seed)
    feed = site_feed(site_path)
    log.warning(
        "site %r loaded from %s: no simulated traffic, and no sensor adapters are wired yet, "
        "so the picture stays empty (run without --site for the simulated demo site)",
        feed.site.name,
        site_path,
    )
    return feed


def build_server(feed: Feed, host: str, port: int, speed: float) -> uvicorn.Server:
    settings = ServiceSettings(host=host, port=port)
    clock = WallClock()
    app = create_app(settings, LiveSource(feed, clock, speed=speed), clock=clock)
    cfg = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=3,
        ws_ping_interval=20.0,
    )
    return uvicorn.Server(cfg)


def serve(
    site_path: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    speed: float = 1.0,
    seed: int = 1,
) -> int:
    """Run until interrupted; return the process exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        feed = make_feed(site_path, seed)
    except ConfigError as e:
        log.error("cannot load the site: %s", e)
        return 2
    server = build_server(feed, host, port, speed)
    log.info(
        "serving the console at http://%s:%d/ (%s); Ctrl-C stops", host, port, feed.description
    )
    # uvicorn re-raises the SIGINT it handled once it has shut down cleanly
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve())
    if not server.started:
        log.error("the service did not start (is port %d already in use?)", port)
        return 1
    log.info("stopped")
    return 0

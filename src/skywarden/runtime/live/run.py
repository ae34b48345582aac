"""``skywarden run``: the service on uvicorn, fed by the live loop, everything journaled.

With no site file it plays the built-in simulated residence site in real time (``feeds``),
so a new user sees tracks and alerts within seconds of ``make run``. With ``--site FILE`` it
serves that site; its sensors post detections to ``POST /api/ingest/{sensor_id}`` (JSON), and
each sensor with a ``link`` table is heard over it (SAPIENT, ASTERIX, ADS-B, Remote ID, MQTT:
``runtime.live.adapters``). ``--outputs FILE`` sends alerts and the fused picture on to web hooks,
e-mail, TAK and a SAPIENT higher node (``runtime.outputs.output_set``; file layout in
``runtime.outputs.config``).

The journal (``--journal URL``; default ``./var/skywarden.sqlite``, created on demand;
``postgresql://...`` works too) records every accepted message before it is acknowledged,
every tick, operator action, track state and alert transition; on start the last
``--restore-window`` seconds of it are replayed so the picture survives a restart.

Ctrl-C (SIGINT) or SIGTERM: uvicorn stops accepting, closes the WebSockets, the lifespan
stops the live loop (flushing the journal), and ``serve`` returns 0 without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from skywarden.core.clock import WallClock
from skywarden.core.errors import ConfigError
from skywarden.runtime.live.feeds import (
    SIM_CAMERAS,
    Feed,
    config_feed,
    simulated_feed,
    site_feed,
    site_to_dict,
)
from skywarden.runtime.live.retention import RetentionConfig
from skywarden.runtime.live.source import LiveSource
from skywarden.runtime.outputs.config import OutputsConfig, load_outputs
from skywarden.service.app import create_app
from skywarden.service.headlimit import BoundedHttpToolsProtocol
from skywarden.service.sessions import SensorTokens
from skywarden.service.settings import ServiceSettings
from skywarden.service.source import PictureSource
from skywarden.service.users import UserStore
from skywarden.sim.ptz import PtzSpec
from skywarden.store.accounts import AccountTables
from skywarden.store.journal import Journal, open_journal
from skywarden.store.records import ConfigChange, OperatorAction

if TYPE_CHECKING:
    from skywarden.runtime.config_file import SkywardenConfig

log = logging.getLogger("skywarden")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEFAULT_JOURNAL = "var/skywarden.sqlite"
TRUSTED_PROXIES_ENV = "SKYWARDEN_TRUSTED_PROXIES"  # e.g. "10.0.0.5,192.168.1.0/24"


def make_feed(site_path: str | Path | None, seed: int, cameras: tuple[PtzSpec, ...] = ()) -> Feed:
    """``cameras``: the configured PTZ cameras (``[[cue.cameras]]``); the built-in simulated
    site plays them (instead of its own roof camera), a real site gets them as sensors."""
    if site_path is None:
        return simulated_feed(seed, cameras=cameras or SIM_CAMERAS)
    feed = with_cameras(site_feed(site_path), cameras)
    log.info(
        "site %r loaded from %s: no simulated traffic; sensors post JSON detections to "
        "/api/ingest/{sensor_id} (%s)",
        feed.site.name,
        site_path,
        ", ".join(s.id for s in feed.site.sensors) or "no sensors",
    )
    return feed


def with_cameras(feed: Feed, cameras: tuple[PtzSpec, ...]) -> Feed:
    """A real site's feed with its slew-to-cue cameras added as camera sensors (and in the
    journaled site, so replay and reports rebuild the same site). No simulated world looks
    through them: what a real camera sees reaches the system over its own link."""
    if not cameras:
        return feed
    from skywarden.runtime.cue.controller import camera_site

    site = camera_site(feed.site, cameras)
    ref = {**{k: v for k, v in feed.site_ref.items() if k == "path"}, "site": site_to_dict(site)}
    return dataclasses.replace(feed, site=site, site_ref=ref, cameras=cameras)


class RuntimeAudit:
    """The service's audit trail into the journal (hash-chained with everything else).

    Acknowledge and resolve are left out: the runtime journals them itself, with who, as
    inputs it then applies (``LiveSource``), so the record already holds them once, in
    order; a second copy would be fed back as a second press on replay. Everything else
    (logins, failed logins, tokens, zone/whitelist/user changes) is appended as the service
    wrote it; replay ignores those kinds of record.
    """

    _RUNTIME_ACTIONS = frozenset({"ack", "acknowledge", "resolve"})

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def record(self, entry: OperatorAction | ConfigChange) -> None:
        if isinstance(entry, OperatorAction) and entry.action in self._RUNTIME_ACTIONS:
            return
        self.journal.append(entry)


class QuietIngestLog(logging.Filter):
    """Drops uvicorn's access-log line for each accepted sensor message (2xx on /api/ingest/).

    At thousands of sensor posts a second the line per post cost more than the route itself
    (formatting and writing on the event loop) and buried every other line; refusals (4xx,
    5xx) and every other route are still logged, and each sensor's counts are in its health.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        a = record.args
        if isinstance(a, tuple) and len(a) == 5 and a[1] == "POST":
            status = a[4]
            ok = isinstance(status, int) and status < 300
            return not (ok and str(a[2]).startswith("/api/ingest/"))
        return True


def build_server(
    source: LiveSource,
    host: str,
    port: int,
    clock: WallClock | None = None,
    outputs: OutputsConfig | None = None,
    basemap: str | None = None,
    dem: str | None = None,
    service: Mapping[str, Any] | None = None,
) -> uvicorn.Server:
    """``service``: further ``ServiceSettings`` fields (``skywarden.toml``'s ``[service]``)."""
    proxies = os.environ.get(TRUSTED_PROXIES_ENV, "")
    try:
        settings = ServiceSettings(
            **{
                "trusted_proxies": tuple(p for p in proxies.split(",") if p.strip()),
                **(service or {}),
                "host": host,
                "port": port,
                "basemap": basemap,
                "dem": dem,
            }
        )
    except ValueError as e:
        raise ConfigError(TRUSTED_PROXIES_ENV, str(e)) from None
    clock = clock or WallClock()
    served: PictureSource = source
    if outputs is not None and not outputs.empty:
        # the outputs pull in the TAK and SAPIENT libraries: only when configured
        from skywarden.runtime.outputs.output_set import OutputSet, OutputsSource

        served = OutputsSource(source, OutputSet(outputs, source.site, clock))
    accounts = AccountTables(source.journal.database)  # accounts and tokens outlive a restart
    app = create_app(
        settings,
        served,
        clock=clock,
        users=UserStore(tables=accounts),
        sensor_tokens=SensorTokens(accounts),
        ingest=source.ingest,
        replay=source.journal,
        audit=RuntimeAudit(source.journal),
    )
    cfg = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=3,
        ws_ping_interval=20.0,
        # X-Forwarded-For is the app's to judge (service.clientaddr: trusted_proxies only);
        # uvicorn's own handling believes any loopback peer by default
        proxy_headers=False,
        http=BoundedHttpToolsProtocol,  # a request head over 64 KiB is 431, not a loop stall
    )
    logging.getLogger("uvicorn.access").addFilter(QuietIngestLog())
    # What exists now (modules, the app, the site) lives as long as the process: freeze it
    # out of the cyclic collector's sight, so a full collection scans only what the live
    # loop allocates. ~85,000 startup objects made every gen-2 pass cost ~30 ms more,
    # landing on whichever picture was being built (measured with gc.callbacks).
    gc.collect()
    gc.freeze()
    return uvicorn.Server(cfg)


def serve(
    site_path: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    speed: float = 1.0,
    seed: int = 1,
    journal_url: str = DEFAULT_JOURNAL,
    restore_window_s: float = 120.0,
    snapshot_s: float = 10.0,
    outputs_path: str | Path | None = None,
    retention: RetentionConfig | None = None,
    tick_s: float = 0.5,
    lag_s: float = 0.5,
    basemap: str | None = None,
    dem: str | None = None,
    config: SkywardenConfig | None = None,
) -> int:
    """Run until interrupted; return the process exit code.

    ``config`` (``skywarden.toml``) gives the site, outputs, pipeline settings and further
    service settings where ``site_path``/``outputs_path`` do not (flags win)."""
    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    cameras = () if config is None else config.cameras
    specs = tuple(c.spec for c in cameras)
    try:
        if site_path is None and config is not None and config.site is not None:
            feed = with_cameras(config_feed(config.site, config.source), specs)
        else:
            feed = make_feed(site_path, seed, specs)
    except ConfigError as e:
        log.error("cannot load the site: %s", e)
        return 2
    try:  # the ONVIF heads of [[cue.cameras]]: their passwords from the environment
        from skywarden.runtime.cue.config import onvif_drivers

        drivers = onvif_drivers(cameras, os.environ)
    except ConfigError as e:
        log.error("cannot set up the cue cameras: %s", e)
        return 2
    if drivers:
        log.info("slew-to-cue drives ONVIF cameras: %s", ", ".join(sorted(drivers)))
    try:
        outputs = None if outputs_path is None else load_outputs(outputs_path)
    except ConfigError as e:
        log.error("cannot load the outputs: %s", e)
        return 2
    if outputs is None and config is not None:
        outputs, outputs_path = config.outputs, config.source
    if outputs is not None:
        log.info("outputs from %s: %s", outputs_path, ", ".join(outputs.names) or "none")
    try:
        journal: Journal = open_journal(journal_url)
    except Exception as e:
        log.error("cannot open the journal %s: %s", journal_url, e)
        return 2
    clock = WallClock()
    try:
        cls = LiveSource
        if any(s.link is not None for s in feed.site.sensors):
            # the links pull in every wire-format library: only when the site has any
            from skywarden.runtime.live.adapters import LinkedLiveSource

            cls = LinkedLiveSource
        try:
            source = cls(
                feed,
                clock,
                journal,
                speed=speed if feed.passes is not None else 1.0,
                restore_window_s=restore_window_s,
                snapshot_s=snapshot_s,
                retention=retention,
                tick_s=tick_s,
                lag_s=lag_s,
                config=None if config is None else config.pipeline,
                cue_drivers=drivers,
            )
        except ConfigError as e:  # e.g. an MQTT password variable is not set
            log.error("cannot start the sensor links: %s", e)
            return 2
        try:
            service = None if config is None else config.service
            server = build_server(source, host, port, clock, outputs, basemap, dem, service)
        except ConfigError as e:  # e.g. a secret's environment variable is not set
            log.error("cannot build the service (outputs, basemap, DEM): %s", e)
            return 2
        log.info(
            "serving the console at http://%s:%d/ (%s); journal %s; Ctrl-C stops",
            host,
            port,
            feed.description,
            journal_url,
        )
        # uvicorn re-raises the SIGINT it handled once it has shut down cleanly
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(server.serve())
    finally:
        journal.close()
    if not server.started:
        log.error("the service did not start (is port %d already in use?)", port)
        return 1
    log.info("stopped")
    return 0

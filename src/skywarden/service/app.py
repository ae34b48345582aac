"""``create_app(settings, source)``: the FastAPI application, its lifespan and its static console.

The lifespan owns the long-lived resources (starlette ``docs/lifespan.md``): it starts the
picture source, subscribes the WebSocket hub to it, and on shutdown unsubscribes, closes the
WebSockets and stops the source. The service holds no pipeline logic: whatever implements
``source.PictureSource`` (the runtime's live loop, a replay, a test's ``ScriptedSource``) is
injected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from skywarden.core.clock import Clock, WallClock
from skywarden.core.inbound import IngestPort
from skywarden.service import (
    admin_api,
    api,
    apidocs,
    auth_api,
    convert,
    errors,
    household,
    metrics,
    tiles,
    ws,
)
from skywarden.service import ingest as ingest_routes
from skywarden.service import replay as replay_routes
from skywarden.service.audit import AuditSink
from skywarden.service.auth import build_security
from skywarden.service.bodylimit import (
    ASGIApp,
    BodyLimitMiddleware,
    BodyLimits,
    Message,
    Receive,
    Scope,
    Send,
)
from skywarden.service.health import HttpHealth
from skywarden.service.hub import PictureHub
from skywarden.service.replay import ReplayStore
from skywarden.service.sessions import SensorTokens
from skywarden.service.settings import ServiceSettings
from skywarden.service.source import Picture, PictureSource
from skywarden.service.state import ServiceState
from skywarden.service.users import UserStore


def static_dir() -> Path:
    return Path(str(resources.files("skywarden.service").joinpath("static")))


_HEADERS = {
    "X-Frame-Options": "DENY",  # no framing: a hostile page cannot overlay the Resolve button
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in _HEADERS.items()]


class SecurityHeaders:
    """Adds ``_HEADERS`` to every HTTP answer that lacks them (a page may carry a stricter CSP).

    A pure ASGI middleware: starlette's ``BaseHTTPMiddleware`` (``app.middleware("http")``)
    runs each request through an extra task and memory stream, which on the sensor ingest
    path cost more than the route itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in _RAW_HEADERS if k not in have]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: ServiceSettings | None = None,
    source: PictureSource | None = None,
    clock: Clock | None = None,
    *,
    users: UserStore | None = None,
    sensor_tokens: SensorTokens | None = None,
    audit: AuditSink | None = None,
    ingest: IngestPort | None = None,
    replay: ReplayStore | None = None,
) -> FastAPI:
    """Build the app. ``source`` is required to serve; it is an argument so tests inject one.

    ``users`` (accounts; empty or None: a first admin is created, see ``auth.bootstrap_admin``),
    ``sensor_tokens`` and ``audit`` (e.g. ``audit.JournalAudit(journal)``) let the runtime
    supply persistent ones; by default they live in memory. ``ingest`` is the runtime's
    ``IngestPort`` behind ``POST /api/ingest/{sensor_id}`` (503 without one).
    """
    if source is None:
        raise ValueError("create_app needs a PictureSource (the runtime provides one)")
    cfg = settings or ServiceSettings()
    st = ServiceState(
        cfg,
        source,
        clock or WallClock(),
        PictureHub(cfg.ws_queue_size, cfg.ws_send_timeout_s),
        build_security(cfg, users, sensor_tokens, audit),
    )
    st.http_health = HttpHealth(st.clock.now())
    st.basemap = tiles.MBTiles(cfg.basemap) if cfg.basemap else None
    st.dem = tiles.MBTiles(cfg.dem, "dem") if cfg.dem else None
    st.household_token = household.token_of(cfg)

    def on_picture(pic: Picture) -> None:
        st.hub.publish(convert.picture_out(pic, source.site.origin))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        unsubscribe = source.subscribe(on_picture)
        await source.start()
        if (first := source.current()) is not None and st.hub.latest is None:
            on_picture(first)  # a picture made before start: new clients get it at once
        try:
            yield
        finally:
            st.shutting_down.set()
            unsubscribe()
            await source.stop()

    app = FastAPI(
        title="skywarden",
        summary="Counter-drone early warning: the fused air picture, threats and alerts.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # apidocs serves /docs from local files; redoc would load a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if cfg.docs else None,
    )
    app.state.skywarden = st
    counters = st.security.counters
    limits = BodyLimits(cfg.body_limit_ingest, cfg.body_limit_auth, cfg.body_limit_default)
    app.add_middleware(BodyLimitMiddleware, limits=limits, counters=counters)
    app.add_middleware(SecurityHeaders)  # added last: outermost, on every answer
    errors.install(app, counters)
    app.state.ingest = ingest
    app.state.replay = replay  # GET /api/replay reads the journal through it (404 without)
    # the ingest routes first: every sensor message walks the route list until it matches,
    # and at thousands of posts a second that walk was 7 % of the server's CPU samples
    app.include_router(ingest_routes.router)
    app.include_router(api.router)
    app.include_router(auth_api.router)
    app.include_router(admin_api.router)
    app.include_router(ws.router)
    app.include_router(metrics.router)
    app.include_router(replay_routes.router)
    app.include_router(tiles.router)
    app.include_router(household.router)
    if cfg.docs:
        apidocs.install(app)
    app.mount("/", StaticFiles(directory=static_dir(), html=True), name="console")
    return app

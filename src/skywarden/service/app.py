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
from skywarden.service import api, convert, metrics, ws
from skywarden.service.hub import Outgoing, PictureHub
from skywarden.service.settings import ServiceSettings
from skywarden.service.source import Picture, PictureSource
from skywarden.service.state import ServiceState


def static_dir() -> Path:
    return Path(str(resources.files("skywarden.service").joinpath("static")))


def create_app(
    settings: ServiceSettings | None = None,
    source: PictureSource | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app. ``source`` is required to serve; it is an argument so tests inject one."""
    if source is None:
        raise ValueError("create_app needs a PictureSource (the runtime provides one)")
    cfg = settings or ServiceSettings()
    st = ServiceState(
        cfg, source, clock or WallClock(), PictureHub(cfg.ws_queue_size, cfg.ws_send_timeout_s)
    )

    def on_picture(pic: Picture) -> None:
        st.hub.publish(Outgoing(convert.picture_out(pic, source.site.origin)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        unsubscribe = source.subscribe(on_picture)
        await source.start()
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
    )
    app.state.skywarden = st
    app.include_router(api.router)
    app.include_router(ws.router)
    app.include_router(metrics.router)
    app.mount("/", StaticFiles(directory=static_dir(), html=True), name="console")
    return app

"""What the app's lifespan owns, in one typed object reachable from every route."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, WebSocket

from skywarden.core.clock import Clock
from skywarden.service.auth import Security
from skywarden.service.hub import PictureHub
from skywarden.service.settings import ServiceSettings
from skywarden.service.source import PictureSource


@dataclass
class ServiceState:
    settings: ServiceSettings
    source: PictureSource
    clock: Clock
    hub: PictureHub
    security: Security
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)
    edit_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    basemap: Any = None  # tiles.MBTiles when one is configured
    dem: Any = None  # tiles.MBTiles of terrain-RGB tiles, for hill shading
    http_health: Any = None  # health.HttpHealth: the HTTP ingest's per-sensor tallies
    household_token: str = ""  # the read-only household page's token (household.py)


async def get_state(request: Request) -> ServiceState:  # async: no threadpool hop per request
    st: ServiceState = request.app.state.skywarden
    return st


def ws_state(ws: WebSocket) -> ServiceState:
    st: ServiceState = ws.app.state.skywarden
    return st

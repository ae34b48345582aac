"""WebSocket ``/ws/picture``: the whole picture after every update (``schemas.PictureOut``).

The first message is the current picture with ``resync: true``; every later one replaces the
previous. Per-client queueing and the slow-client policy are the hub's (``hub``). Messages
from the client are read only to notice that it went away.

Access: a viewer, authenticated as for REST (session cookie, ``Authorization: Bearer``, or a
local viewer; ``auth.resolve``). A browser always sends ``Origin`` on a WebSocket handshake and
WebSockets are not covered by the same-origin policy, so a handshake whose ``Origin`` is not
this service's own host is refused (cross-site WebSocket hijacking). Refusals close the
handshake with 403 before it is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from skywarden.service.auth import SESSION_COOKIE, Principal, resolve
from skywarden.service.state import ServiceState, ws_state

router = APIRouter()


async def _drain_incoming(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: nothing can ride on a user's credentials
    return urlsplit(origin).netloc.lower() == ws.headers.get("host", "").lower()


def _principal(st: ServiceState, ws: WebSocket) -> Principal | None:
    auth = ws.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    try:
        return resolve(
            st.security, st.clock.now(), "GET", ws.headers, bearer, ws.cookies.get(SESSION_COOKIE)
        )
    except HTTPException:
        return None


@router.websocket("/ws/picture")
async def picture(ws: WebSocket) -> None:
    st = ws_state(ws)
    if not _same_origin(ws) or _principal(st, ws) is None:
        st.security.counters.inc("auth.ws_refused")
        await ws.close(code=1008)
        return
    await ws.accept()
    ch = st.hub.connect()
    tasks = [
        asyncio.create_task(ch.run_sender(ws.send_text, st.hub.send_timeout_s)),
        asyncio.create_task(_drain_incoming(ws)),
        asyncio.create_task(st.shutting_down.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        st.hub.disconnect(ch)
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await t
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close()

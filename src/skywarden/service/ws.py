"""WebSocket ``/ws/picture``: the whole picture after every update (``schemas.PictureOut``).

The first message is the current picture with ``resync: true``; every later one replaces the
previous. Per-client queueing and the slow-client policy are the hub's (``hub``). Messages
from the client are read only to notice that it went away.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from skywarden.service.state import ws_state

router = APIRouter()


async def _drain_incoming(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()


@router.websocket("/ws/picture")
async def picture(ws: WebSocket) -> None:
    st = ws_state(ws)
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

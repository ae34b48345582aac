"""A deliberately stalled WebSocket client over real loopback TCP does not delay the others.

uvicorn serves the app in this process; one client connects and never reads, so its socket
buffers fill and its sends block; a second client reads normally. Large pictures (every track
moving, so every delta is large too) are pushed quickly. The reading client must receive
every update in order, while the stalled one is resynced or closed by its own sender task.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket

import uvicorn
import websockets

from service_helpers import PictureMaker, make_site, track
from skywarden.core.track import TrackState
from skywarden.service.app import create_app
from skywarden.service.settings import ServiceSettings
from support.scripted import ScriptedSource

N_PICTURES = 40
N_TRACKS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stalled_client(port: int) -> socket.socket:
    """A raw TCP client with a tiny receive buffer that completes the WebSocket handshake and
    then never reads again: the server's sends to it block once the buffers fill."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(b"0123456789abcdef").decode()
    s.sendall(
        (
            "GET /ws/picture HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    return s


async def _scenario() -> None:
    source = ScriptedSource(make_site())
    settings = ServiceSettings(ws_queue_size=4, ws_send_timeout_s=1.0)
    app = create_app(settings, source)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=2**24)
    )
    serve = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    hub = app.state.skywarden.hub
    pm = PictureMaker(source.site)

    def tracks(k: int) -> list[TrackState]:  # every track moves: every delta carries them all
        t = 100.0 + k
        return [track(f"T{i}", 2000.0 + i + k, -2000.0 + i, 1.0, 0.0, t) for i in range(N_TRACKS)]

    url = f"ws://127.0.0.1:{port}/ws/picture"
    try:
        stalled = await asyncio.to_thread(_stalled_client, port)
        reader = await websockets.connect(url, max_size=2**24)
        while len(hub.clients) < 2:
            await asyncio.sleep(0.01)
        got: list[int] = []

        async def read_all() -> None:
            while len(got) < N_PICTURES:
                got.append(json.loads(await reader.recv())["seq"])

        read_task = asyncio.create_task(read_all())
        for k in range(N_PICTURES):
            source.push(pm.make(tracks(k), 100.0 + k))
            await asyncio.sleep(0.02)
        await asyncio.wait_for(read_task, 20.0)
        assert got == list(range(1, N_PICTURES + 1))
        stats = hub.stats()
        assert stats.get("ws.resyncs", 0) + stats.get("ws.stalled", 0) >= 1, stats
        await reader.close()
        stalled.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serve, 10.0)


def test_stalled_client_over_tcp_does_not_delay_the_reader() -> None:
    asyncio.run(_scenario())

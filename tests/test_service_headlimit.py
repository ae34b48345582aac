"""``headlimit.BoundedHttpToolsProtocol`` fed byte chunks directly (no socket timing involved).

A whole request (head and a 200 kB body) arriving in one read is served, however large the
read; a head that keeps growing past 64 KiB over several reads is answered 431 and closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from skywarden.service.headlimit import MAX_HEAD_BYTES, BoundedHttpToolsProtocol


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


async def _app(scope: Any, receive: Any, send: Any) -> None:
    size = 0
    while True:
        msg = await receive()
        size += len(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _feed(chunks: list[bytes]) -> _Transport:
    async def run() -> _Transport:
        config = uvicorn.Config(_app, log_level="warning", lifespan="off")
        config.load()
        proto = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
        t = _Transport()
        proto.connection_made(t)
        for c in chunks:
            if t.closed:
                break
            proto.data_received(c)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        return t

    return asyncio.run(run())


def _request(body: bytes) -> bytes:
    return b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_whole_requests_in_one_read_are_served_however_large() -> None:
    big = _request(b"x" * 200_000)
    t = _feed([big + big[:100], big[100:]])  # two requests; the first read holds one and more
    assert t.out.count(b"HTTP/1.1 200") == 2 and b"200000" in t.out
    assert b"431" not in t.out and not t.closed


def test_a_head_growing_past_the_limit_is_431_and_closed() -> None:
    chunks = [b"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: "] + [b"a" * 16_384] * 100
    t = _feed(chunks)
    assert t.out.startswith(b"HTTP/1.1 431") and t.closed
    assert BoundedHttpToolsProtocol.refused >= 1
    # a head just under the limit, then completed: served
    head = b"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES - 2000)
    t = _feed([head[:30_000], head[30_000:], b"\r\n\r\n"])
    assert t.out.startswith(b"HTTP/1.1 200"), t.out[:60]

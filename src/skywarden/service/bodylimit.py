"""Request bodies bounded per route while they stream in (HTTP 413), and strict JSON (422).

A pure ASGI middleware in front of every HTTP route (WebSockets pass through):

1. The route's limit (``BodyLimits.for_path``): sensor ingest, login, everything else. A
   ``Content-Length`` above it is answered **413** at once, before a byte of the body is read;
   a malformed one is 400.
2. The body is read from the receive stream, counting bytes; the first chunk that crosses the
   limit ends the read with 413 (chunked uploads too). So a client can make the service hold
   at most one limit's worth of bytes per request, never its whole upload. uvicorn closes the
   connection after a response sent before its body was drained.
3. A body FastAPI would parse as JSON (no ``Content-Type``, or ``application/json`` /
   ``*+json``) on a route that takes JSON is checked by ``strictjson.check_json`` (NaN,
   infinities, lone surrogates, huge integers, deep nesting are refused with a **422** shaped
   like FastAPI's validation errors, the reason named, the input never echoed). Bodies larger
   than ``thread_above`` bytes are parsed in a worker thread, so the event loop (the picture
   WebSocket, ``/api/health``) never waits on a large parse.
4. The route then receives the buffered body unchanged.

Every refusal is counted (``body.too_large``, ``body.bad_length``, ``body.json_<reason>``) in
the ``Counters`` shown by ``GET /api/stats``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.service.strictjson import check_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# routes whose body is not FastAPI's to parse: the handler parses it itself (and refuses it
# with its own reason, counted per sensor)
_RAW_PREFIXES = ("/api/ingest/",)


@dataclass(frozen=True)
class BodyLimits:
    """Largest body accepted, bytes, by route family (``ServiceSettings`` supplies them)."""

    ingest: int = 1_000_000
    auth: int = 16_384
    default: int = 262_144

    def for_path(self, path: str) -> int:
        if path.startswith("/api/ingest/"):
            return self.ingest
        if path.startswith("/api/auth/"):
            return self.auth
        return self.default


class _TooLarge(Exception):
    pass


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI parses a body without a Content-Type as JSON
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


async def _answer(send: Send, status: int, detail: Any, close: bool) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limits: BodyLimits | None = None,
        counters: Counters | None = None,
        thread_above: int = 65_536,
    ) -> None:
        self.app = app
        self.limits = limits or BodyLimits()
        self.counters = counters if counters is not None else Counters()
        self.thread_above = thread_above

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limits.for_path(path)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            text = length.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                self.counters.inc("body.bad_length")
                await _answer(send, 400, "malformed Content-Length", close=True)
                return
            if int(text) > limit:
                await self._too_large(send, limit)
                return
        try:
            body, disconnected = await self._read(receive, limit)
        except _TooLarge:
            await self._too_large(send, limit)
            return
        if body and not path.startswith(_RAW_PREFIXES):
            ctype = headers.get(b"content-type")
            if _is_json(ctype.decode("latin-1") if ctype is not None else None):
                reason = await self._json_refusal(body)
                if reason is not None:
                    self.counters.inc(f"body.json_{reason[0]}")
                    msg = f"{reason[0]}: {reason[1]}"
                    err = {"loc": ["body"], "msg": msg, "type": "json_invalid"}
                    await _answer(send, 422, [err], close=False)
                    return
        await self.app(scope, _replay(body, disconnected, receive), send)

    async def _too_large(self, send: Send, limit: int) -> None:
        self.counters.inc("body.too_large")
        await _answer(send, 413, f"request body larger than {limit} bytes", close=True)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return b"".join(chunks), True
            chunk: bytes = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            if chunk:
                chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks), False

    async def _json_refusal(self, body: bytes) -> tuple[str, str] | None:
        try:
            if len(body) > self.thread_above:
                await asyncio.to_thread(check_json, body)
            else:
                check_json(body)
        except InputRejected as e:
            return e.reason, e.detail
        return None


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
